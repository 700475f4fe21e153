"""Read article files into ``Article`` objects: parse, validate, hash.

A corpus is a folder (walked recursively, hidden entries skipped) or one file. Formats:

- ``.md``/``.markdown``/``.txt``: optional YAML front matter, then the article text.
- ``.html``/``.htm``: the main text and metadata, extracted with trafilatura.
- ``.json`` (a list of records or one record) and ``.jsonl`` (a record per line), optionally
  gzipped: records like ``{title, body, source, published_at, url, author}``.

A bad file or record never stops the load: it becomes a ``Problem`` that says what is wrong
and what to do, and the other articles are still read. Hostile input is bounded the same way:

- Only regular files whose real path (every link resolved) lies inside the corpus folder are
  read; links out of it, broken links, loops, FIFOs, sockets and devices are reported, never
  opened, and their Problems say to ``forget`` what the index holds under their names.
  Links to folders are not followed. (``corpus_files``: listing and reading files.)
- Front matter is capped in size, nesting and alias expansion (a YAML "billion laughs" is
  refused before it is built; ``frontmatter``), and every metadata value in length.
- Lone UTF-16 surrogates (a JSON ``"\\ud800"``) are replaced with U+FFFD, so every string
  returned encodes as UTF-8; a date out of range is a warning on its own article only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from .corpus_files import Unreadable, list_files, read_text, shown
from .dates import parse_date
from .errors import CorpusError
from .frontmatter import FrontMatterError, split_front_matter
from .types import Article, CorpusLoad, FileRecord, Problem

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES

_DATE_KEYS = ("published", "published_at", "date")
_META_KEYS = ("title", "source", "url", "author")
_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_META_CHARS = 2_000
"""Longest title, source, url, author or date value accepted (URLs run to about 2,000)."""


# --- public API ---------------------------------------------------------------------------


def load_corpus(
    path: Path,
    *,
    max_file_bytes: int = 50_000_000,
    prefer: Collection[str] = (),
    remembered: Mapping[str, FileRecord] | None = None,
) -> CorpusLoad:
    """Read every supported file under ``path`` (a folder or one file) into Articles.

    Raises ``CorpusError`` only if ``path`` itself cannot be used; every bad file or record
    becomes a ``Problem`` and the others are still loaded. Of articles with the same text only
    one is kept: the first whose id is in ``prefer`` (e.g. already indexed), else the first read.

    ``remembered`` (locator -> ``FileRecord`` of an earlier load, made with the same
    ``read_key``) spares reading a file whose stamp (size, times, inode) has not changed: its
    articles are listed in ``CorpusLoad.unchanged`` instead. The caller vouches that those
    articles are still what the record says (the writer checks them against the index).
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(
            f"corpus path '{root}' does not exist; create it and add article files "
            "or point BRIEFING_CORPUS at your articles"
        )
    problems: list[Problem] = []
    if root.is_file():  # named by the caller: read even if it is a link to elsewhere
        files = [(os.path.realpath(root), shown(root.name))]
    elif root.is_dir():
        files = list_files(root, problems)
    else:
        raise CorpusError(f"corpus path '{root}' is neither a file nor a folder")

    recent = time.time_ns() - int(RACY_SECONDS * 1e9)
    read: list[_Read] = []
    for file, locator in files:
        stamp = _stamp(file) if remembered is not None else None
        known = remembered.get(locator) if remembered is not None else None
        if known is not None and known.stamp == stamp:
            read.append(_Read(known, ()))
            continue
        items = list(_read_file(file, locator, max_file_bytes))
        articles = tuple(a for a in items if isinstance(a, Article))
        problems.extend(p for p in items if isinstance(p, Problem))
        rows = tuple((a.id, a.locator, a.content_hash, _text_key(a.text)) for a in articles)
        # Only a clean read is remembered: a file with problems is read (and reported) again.
        clean = stamp is not None and len(articles) == len(items) and stamp[1] < recent
        read.append(_Read(FileRecord(locator, stamp or (), rows), articles, remember=clean))

    keeper: dict[str, tuple[str, str]] = {}  # text hash -> (id, locator) of the copy kept
    for entry in read:
        for aid, where, _hash, text_key in entry.record.articles:
            first = keeper.setdefault(text_key, (aid, where))
            if aid in prefer and first[0] not in prefer:
                keeper[text_key] = (aid, where)
    articles, unchanged, remember = [], [], []
    for entry in read:
        lost = False
        for n, (aid, where, _hash, text_key) in enumerate(entry.record.articles):
            kept = keeper[text_key]
            if kept[0] != aid:
                lost = True
                problems.append(
                    Problem(where, f"same text as {kept[1]}; remove one of the two copies")
                )
            elif entry.articles:
                articles.append(entry.articles[n])
            else:
                unchanged.append(aid)
        if entry.remember and not lost:
            remember.append(entry.record)
    # Reasons quote names and values: keep them storable too (repr already escapes most).
    problems = [
        dataclasses.replace(p, path=shown(p.path), reason=shown(p.reason)) for p in problems
    ]
    for problem in problems:
        logger.debug("corpus problem: %s", problem)
    logger.info(
        "read %d articles from %s (%d problems, %d unchanged files not read again)",
        len(articles) + len(unchanged),
        root,
        len(problems),
        sum(1 for entry in read if not entry.articles and entry.record.articles),
    )
    return CorpusLoad(
        articles=tuple(articles),
        problems=tuple(problems),
        unchanged=tuple(unchanged),
        files=tuple(remember),
    )


def read_key(path: Path, max_file_bytes: int) -> str:
    """What a ``FileRecord`` depends on besides the file: the corpus folder, the code that
    reads files (its source, trafilatura's version) and the size limit. Records made under
    another key are not to be trusted."""
    try:
        html_reader = importlib.metadata.version("trafilatura")
    except importlib.metadata.PackageNotFoundError:
        html_reader = "none"
    where = os.path.realpath(path)
    digest = hashlib.sha256(f"{where}|{max_file_bytes}|{html_reader}".encode())
    for module in _READING_MODULES:
        digest.update(Path(__file__).with_name(module).read_bytes())
    return digest.hexdigest()[:16]


RACY_SECONDS = 3.0
"""A file modified this recently is not remembered: a second change within the same
timestamp tick could leave its size and times as they were (FAT keeps times to 2 s)."""

_READING_MODULES = ("corpus.py", "corpus_files.py", "frontmatter.py", "dates.py")


@dataclasses.dataclass(frozen=True)
class _Read:
    """One file of a load: read now (``articles``, in the order of ``record.articles``), or
    not read, as ``record`` remembers it."""

    record: FileRecord
    articles: tuple[Article, ...]
    remember: bool = True


def _stamp(file: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(file)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# --- one file -----------------------------------------------------------------------------


def _suffix(path: Path) -> str:
    """The format suffix, lower-case; gzipped files keep both parts (``.jsonl.gz``)."""
    if path.name.lower().endswith(".gz"):
        return "".join(path.suffixes[-2:]).lower()
    return path.suffix.lower()


def _read_file(file: str, locator: str, max_bytes: int) -> Iterator[Article | Problem]:
    """The articles of one file; ``file`` is its real path, the format is the locator's."""
    suffix = _suffix(Path(locator))
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            what = f"extension '{suffix}'" if suffix else "file without an extension"
            raise Unreadable(
                f"unsupported {what}; supported: {', '.join(SUPPORTED_SUFFIXES)} "
                "(convert it or move it out of the corpus folder)"
            )
        text = read_text(file, max_bytes, gzipped=suffix.endswith(".gz"))
        if suffix in TEXT_SUFFIXES:
            yield from _text_article(text, locator, markdown=suffix != ".txt")
        elif suffix in HTML_SUFFIXES:
            yield from _html_article(text, locator)
        else:
            records = _jsonl_records(text) if suffix in JSONL_SUFFIXES else _json_records(text)
            yield from _collection(records, locator, line_numbers=suffix in JSONL_SUFFIXES)
    except Unreadable as exc:
        yield Problem(locator, str(exc))
    except Exception as exc:  # a parser bug on one odd file must not stop the whole corpus
        logger.warning("unexpected error reading %s", locator, exc_info=True)
        yield Problem(locator, f"unexpected error while reading it ({exc!r}); please report this")


# --- formats ------------------------------------------------------------------------------


def _text_article(raw: str, locator: str, *, markdown: bool) -> Iterator[Article | Problem]:
    try:
        meta, body = split_front_matter(_normalize(raw))
    except FrontMatterError as exc:
        raise Unreadable(str(exc)) from exc
    if not body.strip():
        raise Unreadable("front matter but no article text after it; add the text below it")
    yield from _article(locator, body, meta, markdown=markdown)


def _html_article(html: str, locator: str) -> Iterator[Article | Problem]:
    import trafilatura  # heavy (about 0.3 s): loaded only when a corpus holds HTML

    text = trafilatura.extract(html, include_comments=False)
    if not text or not text.strip():
        raise Unreadable(
            "no article text found in the HTML; check that the page holds the article "
            "itself (not a script-rendered shell), or save the text as .md"
        )
    found = trafilatura.extract_metadata(html)
    fields = {"title": "title", "author": "author", "published": "date", "url": "url"}
    meta = {key: getattr(found, attr, None) for key, attr in fields.items()}
    meta["source"] = getattr(found, "sitename", None)
    yield from _article(locator, text, meta)


def _json_records(text: str) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; fix the file"
        ) from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise Unreadable(
            f"JSON holds a {type(data).__name__}; expected a list of records or one record object"
        )
    yield from enumerate(data, 1)


def _jsonl_records(text: str) -> Iterator[tuple[int, Any]]:
    """(line number, record) per non-blank line; a bad line gives an Unreadable instead."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        record: Any
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}"
            record = Unreadable(f"{reason}; fix or remove that line")
        yield number, record


def _collection(
    records: Iterable[tuple[int, Any]], locator: str, *, line_numbers: bool
) -> Iterator[Article | Problem]:
    """Articles from (position, record) pairs; each bad record is a Problem of its own."""
    used_keys: set[str] = set()
    count = 0
    for n, record in records:
        count += 1
        where, what = f"{locator}#{n}", f"{'line' if line_numbers else 'record'} {n}"
        if isinstance(record, Unreadable):
            yield Problem(where, str(record))
            continue
        if not isinstance(record, dict):
            yield Problem(where, f"{what} is a {type(record).__name__}, not an object; skip it")
            continue
        text = record.get("body") if _has_text(record.get("body")) else record.get("text")
        if not _has_text(text):
            yield Problem(where, f"{what} has no text; give it a non-empty 'body' or 'text'")
            continue
        url = _repaired(_as_str(record.get("url")) or "")[0]
        key = url if url and url not in used_keys else f"record-{n}"
        while key in used_keys:  # a url may itself read "record-2"
            key += "'"
        used_keys.add(key)
        try:  # one record's bad field must not cost the records after it
            built = list(_article(f"{locator}#{key}", text, record))
        except Unreadable as exc:
            yield Problem(where, f"{what}: {exc}")
            continue
        except Exception as exc:
            logger.warning("unexpected error reading %s", where, exc_info=True)
            yield Problem(
                where, f"unexpected error while reading {what} ({exc!r}); please report this"
            )
            continue
        yield from built
    if count == 0:
        yield Problem(locator, "holds no records; add some or delete the file")


# --- building an Article ------------------------------------------------------------------


def _article(
    locator: str, text: str, meta: Mapping[str, Any], *, markdown: bool = False
) -> Iterator[Article | Problem]:
    """The Article, preceded by warnings: a date it cannot read (it is kept undated), text it
    repaired. Raises Unreadable if a metadata value is over ``MAX_META_CHARS``."""
    fields = {key: _as_str(meta.get(key)) for key in _META_KEYS}
    for key, value in [*fields.items(), *((key, meta.get(key)) for key in _DATE_KEYS)]:
        if isinstance(value, str) and len(value) > MAX_META_CHARS:
            raise Unreadable(
                f"'{key}' is {len(value):,} characters long, over the limit of "
                f"{MAX_META_CHARS:,} for a metadata value; shorten it"
            )
    # Repair first: every offset into the text is taken later, on the repaired text.
    text, text_repaired = _repaired(text)
    repaired = ["text"] if text_repaired else []
    for key, value in fields.items():
        if value is not None:
            fields[key], changed = _repaired(value)
            repaired += [key] if changed else []
    text = _normalize(text).strip()
    published, published_ts, warning = _published(meta, locator)
    if warning is not None:
        yield warning
    if repaired:
        names = sorted(repaired, key=["title", "text", *_META_KEYS].index)
        yield Problem(
            locator,
            f"{_and(names)} held lone UTF-16 surrogates (like a JSON '\\ud800' escape), "
            "replaced with U+FFFD; fix them in the file",
            skipped=False,
        )
    title = fields["title"] or _first_line(text, markdown=markdown)
    # Metadata is one line: a line break in a title could forge a line of the answer text.
    source, url, author = (_one_line(fields[key]) for key in ("source", "url", "author"))
    title = _one_line(title) or title
    content = {
        "title": title,
        "text": text,
        "source": source,
        "published": published,
        "url": url,
        "author": author,
    }
    yield Article(
        id=hashlib.sha1(locator.encode("utf-8")).hexdigest()[:16],
        locator=locator,
        title=title,
        text=text,
        source=source,
        published=published,
        published_ts=published_ts,
        url=url,
        author=author,
        content_hash=_content_hash(content),
    )


def _published(
    meta: Mapping[str, Any], locator: str
) -> tuple[str | None, int | None, Problem | None]:
    """(ISO date, epoch seconds, None), or (None, None, a warning) if the date is unreadable."""
    key = next((key for key in _DATE_KEYS if _given(meta.get(key))), None)
    if key is None:
        return None, None, None
    try:
        parsed = parse_date(meta[key])
    except (OverflowError, ValueError, OSError):  # 9999-12-31T23:00-05:00 is year 10000 in UTC
        reason = (
            f"the date {meta[key]!r} in '{key}' is out of range (years 1 to 9999 in UTC); "
            "write it like 2023-11-27 or 2023-11-27T08:45:59Z (the article is kept without a date)"
        )
        return None, None, Problem(locator, reason, skipped=False)
    if parsed is None:
        reason = (
            f"cannot read the date {meta[key]!r} in '{key}'; write it like 2023-11-27 or "
            "2023-11-27T08:45:59Z (the article is kept without a date)"
        )
        return None, None, Problem(locator, reason, skipped=False)
    return parsed[0], parsed[1], None


def _content_hash(fields: Mapping[str, str | None]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))  # ASCII: faster
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _normalize(text: str) -> str:
    """Line ends as LF (CRLF and lone CR converted)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _given(value: object) -> bool:
    return _has_text(value) if isinstance(value, str) else value is not None


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _as_str(value: object) -> str | None:
    """A metadata value as a stripped string; lists (several authors) are joined; else None."""
    if isinstance(value, list | tuple):
        parts = [part for part in map(_as_str, value) if part]
        return ", ".join(parts) or None
    if isinstance(value, str | int | float | date) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _first_line(text: str, *, markdown: bool) -> str:
    """The first non-empty line, without Markdown heading marks when markdown is True."""
    for line in text.split("\n"):
        title = line.strip().lstrip("#").strip() if markdown else line.strip()
        if title:
            return _shortened(title)
    return text.split("\n", 1)[0].strip()


def _repaired(value: str) -> tuple[str, bool]:
    """(value with lone UTF-16 surrogates replaced by U+FFFD, whether any was), so it encodes.

    JSON gives lone surrogates (``"\\ud800"``); YAML also gives a valid pair as two code points
    (``"\\ud83d\\ude00"``): the UTF-16 round trip joins a pair into its character (no loss, no
    warning) and replaces each lone one with U+FFFD, one for one.
    """
    if not _SURROGATE.search(value):
        return value, False
    fixed = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, fixed.count("\ufffd") > value.count("\ufffd")


def _and(names: list[str]) -> str:
    """``title``, ``title and url``, ``title, text and url``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


_TITLE_FROM_TEXT_CHARS = 200
"""A title taken from the text's first line is cut to this length: that line may be a whole
paragraph, and every chunk of the article carries its title in Chroma."""


def _shortened(line: str) -> str:
    if len(line) <= _TITLE_FROM_TEXT_CHARS:
        return line
    cut = line[:_TITLE_FROM_TEXT_CHARS].rsplit(" ", 1)[0] or line[:_TITLE_FROM_TEXT_CHARS]
    return cut.rstrip(" ,;:") + "…"


def _one_line(value: str | None) -> str | None:
    """``value`` with every run of whitespace, line breaks included, made one space."""
    return None if value is None else " ".join(value.split()) or None
