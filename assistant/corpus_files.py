"""Find the article files in a corpus folder and read their text, safely.

``list_files`` walks the folder without opening anything (so a FIFO cannot block it) and
returns only regular files whose real path, every link resolved, lies inside the folder.
Everything else that is not hidden becomes a ``Problem`` naming the entry and what to do:

- a link out of the folder (to a file or a folder), a broken link, a loop of links, a FIFO,
  socket, device or other special file is skipped with ``forget=True``: it must never be
  indexed, so what the index holds under its name goes too;
- a link to a folder inside is not followed, and a second link to a file already read is
  not read twice (warnings: nothing is lost);
- an entry that cannot be examined (permissions, I/O) is skipped, and the index keeps what it
  holds from it: the next sync may read it.

``read_text`` opens one listed file without following links or blocking, and returns its text
checked: at most ``max_bytes`` (also after gunzip, so a gzip bomb is never expanded), no NUL
bytes, UTF-8, not empty. Every failure is an ``Unreadable`` whose message is the reason to show.
Every string returned (locators, reasons) encodes as UTF-8: see ``shown``.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import zlib
from pathlib import Path

from .types import Problem

_BOM = b"\xef\xbb\xbf"


class Unreadable(Exception):
    """This file or record cannot be used; the message is the Problem's reason."""


def list_files(root: Path, problems: list[Problem]) -> list[tuple[str, str]]:
    """(real path, locator) of every file to read under root, sorted by locator.

    Every path is resolved: only regular files whose real path lies inside the corpus folder
    are read, and every other entry that is not hidden becomes a Problem (nothing is opened to
    find out, so a FIFO cannot block the load). Links to folders are not followed.

    A link to a file inside the corpus is fine, but the file is read once: under its own name
    if the walk meets it, else under the first link's name (say the file is in a hidden folder,
    as git-annex keeps them). The other links are warnings, not "skipped": nothing is lost, and
    a skipped name would keep whatever the index already holds under it (writer._plan), so the
    index would hold the file twice.
    """
    inside = os.path.realpath(root)

    def unreadable_dir(exc: OSError) -> None:
        where = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
        problems.append(Problem(where, f"cannot read folder: {exc.strerror}; check permissions"))

    found: list[tuple[str, str, bool]] = []  # (locator, real path, reached through a link)
    for folder, dirnames, filenames in os.walk(root, onerror=unreadable_dir):
        # One realpath per folder: a file that is not a link is really in its folder's real path.
        real_folder = os.path.realpath(folder)
        prefix = Path(folder).relative_to(root).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in [d for d in dirnames if os.path.islink(os.path.join(folder, d))]:
            dirnames.remove(name)  # os.walk would not descend either; say so instead
            locator = _locator(prefix + name, problems)
            problems.append(_folder_link(os.path.join(folder, name), locator, inside))
        for name in filenames:
            if name.startswith("."):
                continue
            locator = _locator(prefix + name, problems)
            real = os.path.join(real_folder, name)
            checked = _regular_file(os.path.join(folder, name), real, locator, inside)
            if isinstance(checked, Problem):
                problems.append(checked)
            else:
                found.append((locator, *checked))
    found.sort()
    own_names = {real: locator for locator, real, linked in found if not linked}
    first_link: dict[str, str] = {}
    files = []
    for locator, real, linked in found:
        if linked and real in own_names:
            reason = (
                f"is a link to {own_names[real]}, which is read under its own name; "
                "nothing to do (remove the link to silence this)"
            )
        elif linked and first_link.setdefault(real, locator) != locator:
            reason = (
                f"is a link to the same file as {first_link[real]}, which is read under that "
                "name; remove one of the two links"
            )
        else:
            files.append((real, locator))
            continue
        problems.append(Problem(locator, reason, skipped=False))
    return files


def _locator(name: str, problems: list[Problem]) -> str:
    """name as a locator; one that is not UTF-8 is shown escaped, with a warning."""
    escaped = shown(name)
    if escaped != name:
        problems.append(
            Problem(
                escaped,
                "the file name is not valid UTF-8 (shown here with \\x escapes); it is read "
                "under this name, but rename it so the name shows as written",
                skipped=False,
            )
        )
    return escaped


def _regular_file(path: str, real: str, locator: str, inside: str) -> tuple[str, bool] | Problem:
    """(real path, is a link) for a regular file inside the corpus, else the Problem.

    ``real`` is the real path if ``path`` is not a link. lstat and stat only: opening a FIFO
    would block. What must never be indexed (a link out, a broken link or loop, a special file)
    is a Problem with ``forget`` set; a failure to look (permissions, I/O) is not.
    """
    linked = False
    try:
        mode = os.lstat(path).st_mode
        linked = stat.S_ISLNK(mode)
        if linked:
            real = os.path.realpath(path, strict=True)
            mode = os.stat(real).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(
                locator,
                "is a link in a loop of links that never reaches a file; remove it",
                forget=True,
            )
        if linked and isinstance(exc, FileNotFoundError):
            return Problem(
                locator,
                f"is a broken link (its target {_link_target(path)} does not exist); "
                "point it at an article file or remove it",
                forget=True,
            )
        # Maybe a passing failure: the index keeps what it holds under this name.
        return Problem(locator, f"cannot read it: {exc.strerror}; check its permissions")
    if not _within(real, inside):
        return Problem(
            locator,
            f"links outside the corpus folder to {real}; copy the file into the corpus instead",
            forget=True,
        )
    if not stat.S_ISREG(mode):
        what = "links to" if linked else "is"
        return Problem(
            locator,
            f"{what} {_file_kind(mode)}, not a regular file; only article files are read "
            "(remove it from the corpus folder)",
            forget=True,
        )
    return real, linked


def _within(real: str, folder: str) -> bool:
    """Whether the real path ``real`` is ``folder`` or lies under it."""
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _folder_link(link: str, locator: str, inside: str) -> Problem:
    """Why a link to a folder is not followed: skipped (and forgotten) if it leads outside."""
    real = os.path.realpath(link)
    if not _within(real, inside):
        return Problem(
            locator,
            f"links outside the corpus folder to the folder {real}; "
            "copy its files into the corpus instead",
            forget=True,
        )
    target = shown(Path(real).relative_to(inside).as_posix())
    return Problem(
        locator,
        f"links to the folder '{target}' in the corpus; links to folders are not followed "
        "(the files there are read under their own paths), so remove the link",
        skipped=False,
    )


def _link_target(link: str) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "a folder" if stat.S_ISDIR(mode) else "a special file"


def read_text(file: str, max_bytes: int, *, gzipped: bool) -> str:
    """The file's text, checked: size, gzip, NUL bytes, UTF-8 (BOM dropped), not empty."""
    too_big = "raise BRIEFING_MAX_FILE_BYTES or split the file"
    # The listing checked that this is a regular file; if it has since become a link or a FIFO,
    # O_NOFOLLOW fails and O_NONBLOCK returns at once rather than following or blocking.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        with open(os.open(file, flags | getattr(os, "O_BINARY", 0)), "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise Unreadable("is no longer a regular file (it changed during the load)")
            if info.st_size > max_bytes:
                raise Unreadable(
                    f"file is {info.st_size:,} bytes, over the limit of {max_bytes:,}; {too_big}"
                )
            data = stream.read(info.st_size + 1)  # not max_bytes + 1: that buffer is allocated
            if len(data) > info.st_size:  # it grew after fstat, or its size is not known
                data += stream.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror}; check its permissions") from exc
    if len(data) > max_bytes:
        raise Unreadable(f"file is over the limit of {max_bytes:,} bytes; {too_big}")
    where = ""
    if gzipped:
        data = _gunzip(data, max_bytes, too_big)
        where = " after gunzip"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Unreadable(
            f"binary file (NUL byte at offset {nul}{where}); "
            "only text, HTML and JSON articles are read"
        )
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"not valid UTF-8 (byte 0x{data[skipped + exc.start]:02x} at offset "
            f"{skipped + exc.start}{where}); save it as UTF-8"
        ) from exc
    if not text.strip():
        raise Unreadable("file is empty; add the article text or delete the file")
    return text


def _gunzip(data: bytes, max_bytes: int, too_big: str) -> bytes:
    """Decompress at most max_bytes (+1 to notice more), so a gzip bomb is never expanded."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            plain = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise Unreadable(f"not a valid gzip file ({exc}); re-compress it with gzip") from exc
    if len(plain) > max_bytes:
        raise Unreadable(f"more than {max_bytes:,} bytes after gunzip; {too_big}")
    return plain


def shown(text: str) -> str:
    """text that encodes as UTF-8: bytes a file name could not decode (``surrogateescape``)
    become ``\\xe9`` escapes, any other surrogate a ``\\ud800`` escape."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
