"""Read article files into ``Article`` objects: parse, validate, hash.

A corpus is a folder (walked recursively, hidden entries skipped) or one file. Formats:

- ``.md``/``.markdown``/``.txt``: optional YAML front matter, then the article text.
- ``.html``/``.htm``: the main text and metadata, extracted with trafilatura.
- ``.json`` (a list of records or one record) and ``.jsonl`` (a record per line), optionally
  gzipped: records like ``{title, body, source, published_at, url, author}``.

A bad file or record never stops the load: it becomes a ``Problem`` that says what is wrong
and what to do, and the other articles are still read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.dates import parse_date
from assistant.errors import CorpusError
from assistant.types import Article, CorpusLoad, Problem

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES

_DATE_KEYS = ("published", "published_at", "date")
_BOM = b"\xef\xbb\xbf"


class _Unreadable(Exception):
    """Internal: this file or record cannot be used; the message is the Problem's reason."""


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as strings, so a bad date is a warning, not a YAML error."""


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


# --- public API ---------------------------------------------------------------------------


def load_corpus(
    path: Path, *, max_file_bytes: int = 50_000_000, prefer: Collection[str] = ()
) -> CorpusLoad:
    """Read every supported file under ``path`` (a folder or one file) into Articles.

    Raises ``CorpusError`` only if ``path`` itself cannot be used; every bad file or record
    becomes a ``Problem`` and the others are still loaded. Of articles with the same text only
    one is kept: the first whose id is in ``prefer`` (e.g. already indexed), else the first read.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(
            f"corpus path '{root}' does not exist; create it and add article files "
            "or point BRIEFING_CORPUS at your articles"
        )
    problems: list[Problem] = []
    if root.is_file():
        files = [(root, root.name)]
    elif root.is_dir():
        files = _list_files(root, problems)
    else:
        raise CorpusError(f"corpus path '{root}' is neither a file nor a folder")

    read: list[Article] = []
    for file, locator in files:
        for item in _read_file(file, locator, max_file_bytes):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                read.append(item)
    keeper: dict[str, Article] = {}
    for item in read:
        first = keeper.setdefault(item.text, item)
        if item.id in prefer and first.id not in prefer:
            keeper[item.text] = item
    articles = []
    for item in read:
        kept = keeper[item.text]
        if kept is item:
            articles.append(item)
        else:
            problems.append(
                Problem(item.locator, f"same text as {kept.locator}; remove one of the two copies")
            )
    for problem in problems:
        logger.debug("corpus problem: %s", problem)
    logger.info("read %d articles from %s (%d problems)", len(articles), root, len(problems))
    return CorpusLoad(articles=tuple(articles), problems=tuple(problems))


# --- finding and reading files ------------------------------------------------------------


def _list_files(root: Path, problems: list[Problem]) -> list[tuple[Path, str]]:
    """Every non-hidden file under root with its locator, sorted by locator."""

    def unreadable_dir(exc: OSError) -> None:
        where = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
        problems.append(Problem(where, f"cannot read folder: {exc.strerror}; check permissions"))

    found: list[tuple[Path, str]] = []
    for folder, dirnames, filenames in os.walk(root, onerror=unreadable_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            file = Path(folder, name)
            if not name.startswith(".") and file.is_file():
                found.append((file, file.relative_to(root).as_posix()))
    return sorted(found, key=lambda pair: pair[1])


def _suffix(path: Path) -> str:
    """The format suffix, lower-case; gzipped files keep both parts (``.jsonl.gz``)."""
    if path.name.lower().endswith(".gz"):
        return "".join(path.suffixes[-2:]).lower()
    return path.suffix.lower()


def _read_file(file: Path, locator: str, max_bytes: int) -> Iterator[Article | Problem]:
    suffix = _suffix(file)
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            shown = f"extension '{suffix}'" if suffix else "file without an extension"
            raise _Unreadable(
                f"unsupported {shown}; supported: {', '.join(SUPPORTED_SUFFIXES)} "
                "(convert it or move it out of the corpus folder)"
            )
        text = _read_text(file, max_bytes, gzipped=suffix.endswith(".gz"))
        if suffix in TEXT_SUFFIXES:
            yield from _text_article(text, locator, markdown=suffix != ".txt")
        elif suffix in HTML_SUFFIXES:
            yield from _html_article(text, locator)
        else:
            records = _jsonl_records(text) if suffix in JSONL_SUFFIXES else _json_records(text)
            yield from _collection(records, locator, line_numbers=suffix in JSONL_SUFFIXES)
    except _Unreadable as exc:
        yield Problem(locator, str(exc))
    except Exception as exc:  # a parser bug on one odd file must not stop the whole corpus
        logger.warning("unexpected error reading %s", locator, exc_info=True)
        yield Problem(locator, f"unexpected error while reading it ({exc!r}); please report this")


def _read_text(file: Path, max_bytes: int, *, gzipped: bool) -> str:
    """The file's text, checked: size, gzip, NUL bytes, UTF-8 (BOM dropped), not empty."""
    too_big = "raise BRIEFING_MAX_FILE_BYTES or split the file"
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise _Unreadable(f"file is {size:,} bytes, over the limit of {max_bytes:,}; {too_big}")
        data = file.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"cannot read the file: {exc.strerror}; check its permissions") from exc
    where = ""
    if gzipped:
        data = _gunzip(data, max_bytes, too_big)
        where = " after gunzip"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _Unreadable(
            f"binary file (NUL byte at offset {nul}{where}); "
            "only text, HTML and JSON articles are read"
        )
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(
            f"not valid UTF-8 (byte 0x{data[skipped + exc.start]:02x} at offset "
            f"{skipped + exc.start}{where}); save it as UTF-8"
        ) from exc
    if not text.strip():
        raise _Unreadable("file is empty; add the article text or delete the file")
    return text


def _gunzip(data: bytes, max_bytes: int, too_big: str) -> bytes:
    """Decompress at most max_bytes (+1 to notice more), so a gzip bomb is never expanded."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            plain = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _Unreadable(f"not a valid gzip file ({exc}); re-compress it with gzip") from exc
    if len(plain) > max_bytes:
        raise _Unreadable(f"more than {max_bytes:,} bytes after gunzip; {too_big}")
    return plain


# --- formats ------------------------------------------------------------------------------


def _text_article(raw: str, locator: str, *, markdown: bool) -> Iterator[Article | Problem]:
    meta, body = _split_front_matter(_normalize(raw))
    if not body.strip():
        raise _Unreadable("front matter but no article text after it; add the text below it")
    yield from _article(locator, body, meta, markdown=markdown)


def _split_front_matter(text: str) -> tuple[Mapping[str, Any], str]:
    """(front matter mapping, body). No front matter unless the first line is exactly ``---``."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "...")), None)
    if end is None:
        raise _Unreadable(
            "front matter opened by '---' on line 1 is never closed; "
            "add a line '---' after it, or remove the first line"
        )
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_FrontMatterLoader)
    except (yaml.YAMLError, ValueError) as exc:
        raise _Unreadable(f"front matter is not valid YAML: {_yaml_error(exc)}; fix it") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise _Unreadable(
            f"front matter is a YAML {type(meta).__name__}, not a mapping; "
            "write it as 'key: value' lines (title, source, published, url, author)"
        )
    return meta, "\n".join(lines[end + 1 :])


def _yaml_error(exc: Exception) -> str:
    """The YAML error on one line, with the line number counted in the whole file."""
    mark = getattr(exc, "problem_mark", None)
    what = " ".join(filter(None, [getattr(exc, "context", None), getattr(exc, "problem", None)]))
    if mark is None or not what:
        return " ".join(str(exc).split())
    return f"{what} (line {mark.line + 2}, column {mark.column + 1})"


def _html_article(html: str, locator: str) -> Iterator[Article | Problem]:
    import trafilatura  # heavy (about 0.3 s): loaded only when a corpus holds HTML

    text = trafilatura.extract(html, include_comments=False)
    if not text or not text.strip():
        raise _Unreadable(
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
        raise _Unreadable(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; fix the file"
        ) from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise _Unreadable(
            f"JSON holds a {type(data).__name__}; expected a list of records or one record object"
        )
    yield from enumerate(data, 1)


def _jsonl_records(text: str) -> Iterator[tuple[int, Any]]:
    """(line number, record) per non-blank line; a bad line gives an _Unreadable instead."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        record: Any
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}"
            record = _Unreadable(f"{reason}; fix or remove that line")
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
        if isinstance(record, _Unreadable):
            yield Problem(where, str(record))
            continue
        if not isinstance(record, dict):
            yield Problem(where, f"{what} is a {type(record).__name__}, not an object; skip it")
            continue
        text = record.get("body") if _has_text(record.get("body")) else record.get("text")
        if not _has_text(text):
            yield Problem(where, f"{what} has no text; give it a non-empty 'body' or 'text'")
            continue
        url = _as_str(record.get("url"))
        key = url if url and url not in used_keys else f"record-{n}"
        used_keys.add(key)
        yield from _article(f"{locator}#{key}", text, record)
    if count == 0:
        yield Problem(locator, "holds no records; add some or delete the file")


# --- building an Article ------------------------------------------------------------------


def _article(
    locator: str, text: str, meta: Mapping[str, Any], *, markdown: bool = False
) -> Iterator[Article | Problem]:
    """The Article, preceded by a warning if its date cannot be read (it is kept undated)."""
    text = _normalize(text).strip()
    published, published_ts, warning = _published(meta, locator)
    if warning is not None:
        yield warning
    title = _as_str(meta.get("title")) or _first_line(text, markdown=markdown)
    source, url, author = (_as_str(meta.get(key)) for key in ("source", "url", "author"))
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
    parsed = parse_date(meta[key])
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
            return title
    return text.split("\n", 1)[0].strip()
