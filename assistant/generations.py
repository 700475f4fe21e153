"""Index generations on disk: the CURRENT pointer, its atomic swap, and the sync lock.

A generation is a folder ``gen-NNNNNN`` whose manifest lists the segments of one complete
index (see ``segments``). ``CURRENT`` names the one in use; it is only ever replaced whole (write a temporary file, fsync, rename, fsync the folder),
so a reader sees either the old generation or the new one, never a mix.

Readers and syncs of other processes meet through two lock files in each generation:

- ``readers.lock`` in a generation: every open ``Index`` holds a shared lock on it (its
  *lease*) until it is closed; a sync deletes an old generation only when it can take the lock
  exclusively, and a segment only when no generation left lists it, so a server that has not
  moved to the new generation yet keeps a whole index.
- ``opening.lock`` in a segment: Chroma writes into its folder when a client starts and on the
  first query (its bookkeeping and the HNSW files), so a reader opening a segment and a sync
  reading its vectors to merge it take turns on this lock.

``crash_point(name)`` marks each stage of a sync where a ``kill -9`` must leave a usable index.
It does nothing unless the test hook ``BRIEFING_CRASH_AT`` names that point; then the process
kills itself with SIGKILL there (``tests/test_index_crash.py`` does this to real
``briefing index`` processes, one point at a time).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexBusyError, IndexMissingError, IndexStoreError

LEASE_FILE = "readers.lock"
OPENING_FILE = "opening.lock"

CURRENT_FILE = "CURRENT"
_GEN = re.compile(r"^gen-(\d{6})$")

CRASH_ENV = "BRIEFING_CRASH_AT"
CRASH_POINTS = {
    "generation-made": "the new generation's folder exists, its manifest not yet",
    "segment-chroma": "a new segment's chunks are in its Chroma collection",
    "segment-store": "a new segment's articles and chunks are committed to its store",
    "segment-done": "a new segment's BM25 postings are written and it is flushed to disk",
    "merged": "segments merged into one new segment are written",
    "manifest": "the new generation's manifest is written and flushed",
    "before-swap": "CURRENT's replacement is written and flushed, not yet renamed",
    "after-swap": "CURRENT names the new generation; old ones are not deleted yet",
    "cleanup": "an old or half-written generation or segment is about to be deleted",
}
"""The stages of a sync, in the order a sync passes them, where ``crash_point`` can kill it."""


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process here if ``BRIEFING_CRASH_AT`` is ``name``; else nothing."""
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}; add it to CRASH_POINTS")
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return index_dir / name if _GEN.match(name) and (index_dir / name).is_dir() else None


def list_generations(index_dir: Path) -> list[Path]:
    found = [p for p in index_dir.iterdir() if _GEN.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: p.name)


def point_current_at(index_dir: Path, generation: Path) -> None:
    tmp = index_dir / f".{CURRENT_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(generation.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    crash_point("before-swap")
    os.replace(tmp, index_dir / CURRENT_FILE)
    crash_point("after-swap")
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


@contextmanager
def sync_lock(index_dir: Path) -> Iterator[None]:
    """Held while a sync runs; ``IndexBusyError`` if another one holds it."""
    try:
        handle = open(index_dir / "lock", "w")  # closed by the with below
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise IndexStoreError(
            f"Cannot write in {index_dir} ({exc.strerror}): the index is read-only. It still "
            "answers questions; to sync it, make the folder writable or copy it elsewhere and "
            "set BRIEFING_INDEX_DIR"
        ) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusyError(
                f"Another sync of {index_dir} is running; wait for it to finish and try again"
            ) from exc
        yield  # the lock goes with the file handle, also when the process is killed


def next_generation(index_dir: Path) -> Path:
    """The folder for a new generation, numbered after every one on disk."""
    existing = list_generations(index_dir)
    number = int(existing[-1].name.removeprefix("gen-")) + 1 if existing else 1
    return index_dir / f"gen-{number:06d}"


def _lock_fd(path: Path) -> int | None:
    """A descriptor to lock ``path`` with (made if missing); None on a read-only disk where it
    is missing (no sync can run there, so there is nothing to take turns with)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if path.parent.is_dir():
            return None
        raise


class Lease:
    """A reader's shared lock on one generation, which a sync will not delete while it is held."""

    def __init__(self, generation: Path, fd: int | None) -> None:
        self.generation = generation
        self._fd = fd

    def release(self) -> None:
        """Let syncs delete the generation; releasing twice is fine."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops its lock


def lease_current(index_dir: Path, attempts: int = 5) -> Lease:
    """A lease on the generation ``CURRENT`` names, taken so that a sync cannot delete it.

    A sync deletes a generation while it holds its lock exclusively: taking the shared lock
    waits for that, and a generation found gone afterwards sends us back to ``CURRENT``.
    Raises ``IndexMissingError`` when no index was built.
    """
    for _ in range(attempts):
        generation = current_generation(index_dir)
        if generation is None:
            break
        try:
            fd = _lock_fd(generation / LEASE_FILE)
        except FileNotFoundError:  # deleted between reading CURRENT and here
            continue
        if fd is None:
            return Lease(generation, None)
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_nlink and (generation / LEASE_FILE).exists():
            return Lease(generation, fd)
        os.close(fd)  # the generation was deleted while we waited: read CURRENT again
    raise IndexMissingError(f"No index in {index_dir}; build it with 'briefing index'")


@contextmanager
def unleased(generation: Path) -> Iterator[bool]:
    """Whether no reader holds a lease on ``generation``; while True, none can take one."""
    try:
        fd = _lock_fd(generation / LEASE_FILE)
    except FileNotFoundError:
        yield True
        return
    if fd is None:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def opening(generation: Path) -> Iterator[None]:
    """Exclusive while a reader opens ``generation`` or a sync copies it (see the module)."""
    fd = _lock_fd(generation / OPENING_FILE)
    if fd is None:  # a read-only disk: nothing writes there, nothing to take turns with
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
