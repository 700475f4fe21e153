"""Fuzz the readers, the chunker and the store with hypothesis; print examples tried and failures.

    python benchmarks/fuzz.py [--examples 3000] [--seconds 300] [--seed 0] [--only load chunk ...]

Targets (each takes a fixed share of ``--examples`` and of the ``--seconds`` budget):

- ``load``: ``load_corpus`` on generated corpus folders of ``.txt``, ``.md`` (YAML front
  matter), ``.html``, ``.json`` and ``.jsonl`` files, gzipped or not: arbitrary bytes, JSON and
  YAML values, lone surrogates (``"\\ud800"`` in JSON and YAML), combining marks, zero-width
  characters, CRLF and lone CR, very long lines and words, BOMs, other encodings, alias bombs,
  corrupt gzip. It must never raise, every string it returns must encode as UTF-8, article ids
  must be unique, metadata values bounded, every file accounted for (an article or a problem),
  and the good records planted beside the bad ones must load with their exact text.
- ``chunk``, ``chunk-small``: ``chunk_article`` on any text with the real all-MiniLM-L6-v2
  tokenizer, at the index's sizes (254/40) and at the smallest the settings allow (17-40) that
  cut many sentences:
  ``chunk.text == text[start:end]``, chunks in order, overlapping by whole units, every
  sentence covered, no chunk over the limit when the model's tokenizer counts it.
- ``store``: ``ArticleStore.put_article`` then every read gives back the article and its chunks
  exactly (offsets, ``chunk_text``, terms), also after reopening read-only.
- ``sync``: ``sync_index`` (fake embedder, real Chroma) on generated corpora, twice: it never
  fails, the good articles are indexed, and the second sync changes nothing.

Each failure is counted under its property (or exception type and the line that raised it);
the smallest example of each is shrunk by hypothesis and printed. Exit status 1 if any failed.
``tests/test_fuzz.py`` runs the same properties on a few examples.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import html
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakes: the fake embedder of the sync target

from assistant import Settings, load_corpus, open_index, sync_index  # noqa: E402
from assistant.chunking import chunk_article, split_sentences  # noqa: E402
from assistant.corpus import MAX_META_CHARS  # noqa: E402
from assistant.embedding import load_tokenizer, resolve_model_path  # noqa: E402
from assistant.store import ArticleStore  # noqa: E402
from assistant.text import keyword_tokens  # noqa: E402
from assistant.types import Article, Chunk, chunk_id  # noqa: E402

# --- text -----------------------------------------------------------------------------------
WORDS = (
    "The ferry to Osterlund sailed on Monday . Dr. Roe met U.S. officials at 3.5 p.m. "
    "J. K. Smith said “Yes,” 1,200 jobs (Reuters) e.g. don’t — … Vellin Gazette strike"
).split()
ODD = (
    *"\u0301 \u0308\u0308\u0308 \u200b \u200c \u200d \u2060 \ufeff \u202e \u00ad".split(),
    *("\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x00", "\x1b[31m", "\t"),
    *("\r\n", "\r", "\n", "\n\n", " ", "   ", ". ", "! ", "? ", "?! ", "。", "...", "…"),
    *("\ufffd", "\U0001f600", "👩\u200d👩\u200d👧", "e\u0301", "ﬁ", "İ", "ß", "中文报道"),
    *('"', "'", "“", "”", "‘", "’", "(", ")", "[", "]", "---", "# ", "\\", "{{", "%s"),
    *("<b>", "</p>", "&amp;", "&#0;", "<script>alert(1)</script>", "[x](javascript:alert(1))"),
)
RUNS = ("a", "ab ", "The ferry sailed. ", "中", "!", "\u0301", "\u200b", "x\u0301", "😀", "a.")
GLUE = ("", " ", ",", "/", "-", "_", ".", ":", "\u200b", "\ufffd")  # no space: a URL, a path
SURROGATE = st.characters(categories=["Cs"])  # lone UTF-16 surrogates: not encodable as UTF-8


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, picked in proportion to its weight."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda i: pool[i])


def texts(*, surrogates: bool = False, long: bool = True, pieces: int = 20) -> Any:
    """Text built of arbitrary characters, words, odd characters and (rarely) very long runs."""
    piece = weighted(
        (3, st.text(max_size=12)),
        (3, st.sampled_from(WORDS).map(lambda w: w + " ")),
        (3, st.sampled_from(ODD)),
        (1 if surrogates else 0, SURROGATE),
    )
    word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=14)
    unit = st.sampled_from(RUNS) | st.builds(str.__add__, word, st.sampled_from(GLUE))
    run = st.builds(lambda s, n: s * (n // len(s)), unit, st.integers(300, 30_000))
    long_run = weighted((12, st.just("")), (1 if long else 0, run))
    return st.builds(
        lambda parts, run, first: run + "".join(parts) if first else "".join(parts) + run,
        st.lists(piece, max_size=pieces),
        long_run,
        st.booleans(),
    )


def prose(n: int) -> str:
    return f"Sentinel report {n}: the ferry to Osterlund sailed again on Monday after the storm."


# --- corpus folders -------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """A good article planted in a file: its key after ``#`` (None: the file itself), text, title."""

    key: str | None
    text: str
    title: str


@dataclass(frozen=True)
class File:
    name: str
    data: bytes
    expect: tuple[Expect, ...] = ()

    def __repr__(self) -> str:
        shown = self.data if len(self.data) <= 400 else self.data[:400] + b"..."
        return (
            f"File({self.name!r}, {len(self.data):,} bytes: {shown!r}, expect={len(self.expect)})"
        )


DATES = (
    "2023-11-02", "2023-11-27T08:45:59Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00",
    "2023-02-30", "1e400", "-1", "Mon, 27 Nov 2023 08:45:59 +0000", "November 27, 2023", "",
)  # fmt: skip
URLS = ("record-1", "record-2", "record-3", "https://x.example/a", "javascript:alert(1)", "")
META_KEYS = (
    "title",
    "body",
    "text",
    "source",
    "published",
    "published_at",
    "date",
    "url",
    "author",
)
YAML_LINES = (
    "title: Harbour report", "a: &a [1, 2]", "b: *a", "c: [*a, *a, *a]", "d: *undefined",
    "!!python/object/apply:os.system ['true']", "e: !!binary aGk=", "<<: *a", "? [k]\n: v", "{",
    "[", "- item", "key: 'unterminated", 'title: "\\ud800 lone"', 'title: "\\uD83D\\uDE00"',
    "\t- tab", "%YAML 1.1", "...", "title:", ": no key", "published: 9999-12-31T23:00:00-05:00",
    "published: 2023-02-30", "published: 1e400", "published: .nan", "url: " + "x" * 2500,
    "source: &s Vellin", "author: [*s, *s]", "title: !!int 12", "date: 2023-11-02 08:45:59",
)  # fmt: skip


def json_value() -> Any:
    scalar = st.one_of(
        texts(surrogates=True, long=False, pieces=8),
        st.sampled_from(DATES),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
    )
    return st.recursive(
        scalar,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=6,
    )


def records() -> Any:
    """A JSON record: mostly the known keys, with text, dates, URLs or any JSON value."""
    value = json_value()
    text = weighted((3, texts(surrogates=True)), (1, value))
    fields = {
        "title": value,
        "body": text,
        "text": text,
        "source": value,
        "published": st.sampled_from(DATES) | value,
        "published_at": st.sampled_from(DATES) | value,
        "url": weighted((3, st.sampled_from(URLS)), (1, value)),
        "author": value,
        "extra": value,
    }
    record = st.fixed_dictionaries({}, optional=fields)
    return weighted((6, record), (1, value))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sentinel(n: int) -> tuple[dict[str, str], Expect]:
    url = f"https://sentinel.example/{n}"
    record = {"title": f"Sentinel {n}", "body": prose(n), "url": url, "published": "2023-11-02"}
    return record, Expect(url, prose(n), f"Sentinel {n}")


@st.composite
def collection(draw: Any, n: int) -> tuple[str, bytes, tuple[Expect, ...]]:
    """A .json or .jsonl file (maybe gzipped, maybe corrupt) with a good record among the bad."""
    lines = draw(st.booleans())
    rows = draw(st.lists(records(), max_size=4))
    good, expect = sentinel(n)
    rows.insert(draw(st.integers(0, len(rows))), good)
    ascii_only = draw(st.booleans())  # False: a lone surrogate is written as invalid UTF-8

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if lines:
        junk = st.sampled_from(["", "   ", "{", "not json", "[1, 2]", '"a string"', "null"])
        out = [dump(row) for row in rows]
        for _ in range(draw(st.integers(0, 2))):
            out.insert(draw(st.integers(0, len(out))), draw(junk))
        text, suffix = draw(st.sampled_from(["\n", "\r\n"])).join(out), ".jsonl"
    else:
        shape = draw(st.sampled_from(["list", "list", "one", "other"]))
        body: Any = rows if shape == "list" else good if shape == "one" else draw(json_value())
        text, suffix = dump(body), ".json"
        expect = expect if shape != "other" else None
    data = text.encode("utf-8", "surrogatepass")
    expects = (expect,) if expect and _utf8(data) else ()
    if draw(st.booleans()):
        data, suffix = gzip.compress(data, mtime=0), suffix + ".gz"
        if draw(st.integers(0, 3)) == 0:  # corrupt: cut short
            data, expects = data[: draw(st.integers(0, max(0, len(data) - 1)))], ()
    return suffix, data, expects


@st.composite
def front_matter_file(draw: Any) -> tuple[str, bytes, tuple[Expect, ...]]:
    """A .md or .txt file: optional YAML front matter (generated or hostile), then text."""
    if draw(st.booleans()):
        meta = draw(st.dictionaries(st.sampled_from(META_KEYS) | st.text(max_size=6), json_value()))
        try:
            front = yaml.safe_dump(meta, allow_unicode=draw(st.booleans()))
        except yaml.YAMLError:
            front = "title: x\n"
    else:
        raw = st.sampled_from(YAML_LINES) | texts(long=False, pieces=5)
        front = "\n".join(draw(st.lists(raw, max_size=6)))
        depth = draw(st.integers(0, 3)) * 40
        front += "\nk: " + "[" * depth + "]" * depth if depth else ""
        if draw(st.integers(0, 5)) == 0:  # a billion laughs
            levels = [f'l0: &l0 ["{"x" * 20}"]']
            levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
            front = "\n".join(levels)
    body = draw(texts(surrogates=True))
    shape = draw(st.sampled_from(["closed", "closed", "unclosed", "none"]))
    text = {"closed": f"---\n{front}\n---\n{body}", "unclosed": f"---\n{front}\n{body}"}.get(
        shape, body
    )
    if draw(st.booleans()):
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    return draw(st.sampled_from([".md", ".txt", ".markdown"])), text.encode(encoding, errors), ()


@st.composite
def html_file(draw: Any) -> tuple[str, bytes, tuple[Expect, ...]]:
    def field() -> str:
        value = draw(texts(long=False, pieces=6))
        return html.escape(value) if draw(st.booleans()) else value

    paragraphs = "".join(f"<p>{field()}</p>" for _ in range(draw(st.integers(0, 4))))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{field()}</title>"
        f"<meta property='og:site_name' content='{field()}'>"
        f"<meta name='date' content='{draw(st.sampled_from(DATES))}'></head><body><article>"
        f"<h1>{field()}</h1>{paragraphs}<script>alert(1)</script></article></body></html>"
    )
    data = page.encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([".html", ".htm"])), data, ()


def raw_file() -> Any:
    suffixes = [".txt", ".md", ".html", ".json", ".jsonl", ".json.gz", ".jsonl.gz", ".pdf", ""]
    return st.tuples(st.sampled_from(suffixes), st.binary(max_size=300), st.just(()))


NAMES = ("a", "Ünï\u0301 b", "sub/c", "d#e", "record-1", "x" * 120, "\u202ertl")


@st.composite
def corpora(draw: Any, max_files: int = 5) -> tuple[File, ...]:
    """A corpus folder: generated files, plus a good .md and .txt that must always load."""
    files = []
    for n in range(draw(st.integers(1, max_files))):
        kind = weighted(
            (3, collection(n)), (3, front_matter_file()), (1, html_file()), (1, raw_file())
        )
        suffix, data, expect = draw(kind)
        files.append(File(f"{n:02}-{draw(st.sampled_from(NAMES))}{suffix}", data, expect))
    title = "Market day returns"
    good = f"---\ntitle: {title}\npublished: 2023-11-02\n---\n{prose(98)}\n"
    files.append(File("zz-good.md", good.encode(), (Expect(None, prose(98), title),)))
    plain = f"Harbour\n\n{prose(99)}"
    files.append(File("zz-good.txt", plain.encode(), (Expect(None, plain, "Harbour"),)))
    return tuple(files)


def write_corpus(folder: Path, files: tuple[File, ...]) -> None:
    folder.mkdir(parents=True)
    for file in files:
        path = folder / file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data)


# --- properties: each check returns (property, detail) pairs, empty when all hold ------------
Failures = list[tuple[str, str]]


def encodes(value: str | None) -> bool:
    try:
        (value or "").encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_load(files: tuple[File, ...]) -> Failures:
    with temporary() as tmp:
        write_corpus(tmp / "corpus", files)
        load = load_corpus(tmp / "corpus")
    failures: Failures = []
    for problem in load.problems:
        if not (encodes(problem.path) and encodes(problem.reason)):
            failures.append(("problem encodes as UTF-8", repr(problem)))
    ids = [article.id for article in load.articles]
    if len(set(ids)) != len(ids):
        dup = sorted({a.locator for a in load.articles if ids.count(a.id) > 1})
        failures.append(("article ids unique", f"{dup}"))
    for article in load.articles:
        strings = [article.id, article.locator, article.title, article.text, article.content_hash]
        strings += [article.source, article.published, article.url, article.author]
        if not all(map(encodes, strings)):
            failures.append(("article encodes as UTF-8", article.locator))
        if not article.text or article.text != article.text.strip() or "\r" in article.text:
            failures.append(
                ("text non-empty, stripped, LF", f"{article.locator}: {article.text!r:.80}")
            )
        for key in ("title", "source", "url", "author", "published"):
            if len(getattr(article, key) or "") > MAX_META_CHARS:
                size = len(getattr(article, key))
                failures.append((f"{key} within {MAX_META_CHARS:,} chars", f"{size:,} chars"))
        if (article.published is None) != (article.published_ts is None) or (
            article.published
            and datetime.fromisoformat(article.published).timestamp() != article.published_ts
        ):
            failures.append(("published matches published_ts", article.locator))
    loaded = {a.locator: a for a in load.articles}
    mentioned = {p.path.split("#")[0] for p in load.problems} | {
        locator.split("#")[0] for locator in loaded
    }
    for file in files:
        if file.name.split("#")[0] not in mentioned and file.name not in mentioned:
            failures.append(("every file is an article or a problem", file.name))
        for expect in file.expect:
            locator = file.name if expect.key is None else f"{file.name}#{expect.key}"
            got = loaded.get(locator)
            if got is None or (got.text, got.title) != (expect.text, expect.title):
                failures.append(("good records beside bad ones load", locator))
    return failures


@dataclass(frozen=True)
class ChunkCase:
    text: str
    max_tokens: int
    overlap: int

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 300 else self.text[:300] + "..."
        return f"ChunkCase({text!r} ({len(self.text):,} chars), {self.max_tokens}, {self.overlap})"


def chunk_cases(*, small: bool = False) -> Any:
    """Any text, at the index's sizes (254 pieces, 40 overlap) or at small ones."""
    # chunk_tokens must be over 16 (config.Settings): a window of a piece or two cannot hold
    # every cut of a word ("OA" alone is two pieces)
    sizes = st.tuples(st.integers(17, 40), st.integers(0, 40)) if small else st.just((254, 40))
    text = texts(long=not small)  # small windows cut even short texts into many chunks
    return st.builds(lambda t, s: ChunkCase(t, *s), text, sizes)


def tokenizer() -> Any:
    return load_tokenizer(resolve_model_path("all-MiniLM-L6-v2"))


def check_chunks(case: ChunkCase) -> Failures:
    text, limit = case.text, case.max_tokens
    article = Article(id="a1", locator="a.txt", title="t", text=text)
    chunks = chunk_article(article, tokenizer(), max_tokens=limit, overlap_tokens=case.overlap)
    failures: Failures = []
    sentences = split_sentences(text)
    if any(s >= e or text[s].isspace() or text[e - 1].isspace() for s, e in sentences):
        failures.append(("sentences non-empty, trimmed", f"{sentences[:5]}"))
    counts = tokenizer().count([c.text for c in chunks])
    for chunk, count in zip(chunks, counts, strict=True):
        if chunk.text != text[chunk.start : chunk.end] or chunk.id != chunk_id("a1", *span(chunk)):
            failures.append(("chunk.text == text[start:end]", f"{span(chunk)}"))
        if count > limit or chunk.n_tokens > limit:
            failures.append(("chunk within the token limit", f"{count} > {limit} at {span(chunk)}"))
        units = chunk.sentences
        if not units or (units[0][0], units[-1][1]) != span(chunk):
            failures.append(("chunk spans its units", f"{span(chunk)} {units[:3]}"))
        if any(a[1] > b[0] for a, b in zip(units, units[1:], strict=False)):
            failures.append(("units in order", f"{units[:5]}"))
        for s, e in units:  # a sentence, or a piece of one cut to fit the window
            i = bisect.bisect_right(sentences, (s, len(text) + 1)) - 1
            if i < 0 or not sentences[i][0] <= s < e <= sentences[i][1]:
                failures.append(("units lie within one sentence", f"{(s, e)}"))
    for before, after in zip(chunks, chunks[1:], strict=False):
        first = after.sentences[0]
        carried = [u for u in before.sentences if u[0] >= first[0]]
        if after.start <= before.start or after.end <= before.end:
            failures.append(("chunks in order", f"{span(before)} then {span(after)}"))
        elif first[0] < before.end and (carried != list(after.sentences[: len(carried)])):
            failures.append(("overlap is whole units", f"{span(before)} then {span(after)}"))
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    for s, e in sentences:
        missed = [i for i in range(s, e) if not covered[i] and not text[i].isspace()]
        if missed:
            lost = "".join(text[i] for i in missed[:20])
            failures.append(("chunks cover every sentence", f"{len(missed)} chars, {lost!r}"))
            break
    return failures


def span(chunk: Chunk) -> tuple[int, int]:
    return chunk.start, chunk.end


STORE_TEXT = texts(surrogates=False, long=False)
OPTIONAL = st.none() | texts(long=False, pieces=6)


@st.composite
def store_cases(draw: Any) -> tuple[tuple[Article, list[Chunk]], ...]:
    """1-3 articles with any valid text and metadata, each with its chunks."""
    out = []
    for n in range(draw(st.integers(1, 3))):
        text = draw(st.text() | STORE_TEXT)
        article = Article(
            id=f"{n}-{draw(st.text(max_size=8))}",
            locator=draw(st.text(max_size=20)),
            title=draw(st.text(max_size=40)),
            text=text,
            source=draw(OPTIONAL),
            published=draw(OPTIONAL),
            published_ts=draw(st.none() | st.integers(-(2**63), 2**63 - 1)),
            url=draw(OPTIONAL),
            author=draw(OPTIONAL),
            content_hash=draw(st.text(max_size=64)),
        )
        limit = draw(st.sampled_from([254, 8]))
        out.append(
            (article, chunk_article(article, tokenizer(), max_tokens=limit, overlap_tokens=2))
        )
    return tuple(out)


def check_store(case: tuple[tuple[Article, list[Chunk]], ...]) -> Failures:
    failures: Failures = []
    all_chunks = [c for _a, chunks in case for c in chunks]
    terms = keyword_tokens([c.text for c in all_chunks]) if all_chunks else []
    wanted_terms = {c.id: t for c, t in zip(all_chunks, terms, strict=True)}
    with temporary() as tmp:
        with ArticleStore(tmp) as store:
            for article, chunks in case:
                store.put_article(article, chunks, [wanted_terms[c.id] for c in chunks])
            store.commit()
        for readonly in (False, True):
            with ArticleStore(tmp, readonly=readonly) as store:
                for article, _chunks in case:
                    if store.article(article.id) != article:
                        failures.append(("article() round-trips", f"{article.id!r}"))
                by_id = {c.id: c for c in store.chunks()}
                for chunk in all_chunks:
                    if by_id.get(chunk.id) != chunk:
                        failures.append(("chunks() round-trip", f"{chunk.id!r}"))
                    if store.chunk_text(chunk.id) != chunk.text:
                        got = store.chunk_text(chunk.id)
                        failures.append(
                            ("chunk_text() exact", f"{chunk.text!r:.60} -> {got!r:.60}")
                        )
                if dict(store.chunk_terms()) != wanted_terms:
                    failures.append(("terms round-trip", ""))
                headers = {a.id: a for a in store.article_headers()}
                if len(headers) != len(case) or any(a.text for a in headers.values()):
                    failures.append(("article_headers() without text", ""))
    return failures


def check_sync(files: tuple[File, ...]) -> Failures:
    from tests.fakes import HashEmbedder

    failures: Failures = []
    with temporary() as tmp:
        write_corpus(tmp / "corpus", files)
        settings = Settings(corpus=tmp / "corpus", index_dir=tmp / "index")
        first = sync_index(settings, embedder=HashEmbedder())
        second = sync_index(settings, embedder=HashEmbedder())
        if (second.added, second.updated, second.removed) != (0, 0, 0):
            failures.append(("a second sync changes nothing", second.summary()))
        with open_index(settings) as index:
            held = {a.locator: a for a in index.articles()}
            texts_ = {a.id: a.text for a in held.values()}
            for chunk in index.chunks():
                if texts_[chunk.article_id][chunk.start : chunk.end] != chunk.text:
                    failures.append(("indexed chunk offsets exact", chunk.id))
    for file in files:
        for expect in file.expect:
            locator = file.name if expect.key is None else f"{file.name}#{expect.key}"
            if locator not in held:
                failures.append(("good articles are indexed", f"{locator} ({first.summary()})"))
    return failures


@contextmanager
def temporary() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="briefing-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- running --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    name: str
    examples: float
    """Share of ``--examples``."""
    seconds: float
    """Share of ``--seconds``."""
    strategy: Callable[[], Any]
    check: Callable[[Any], Failures]


TARGETS = (
    Target("load", 0.45, 0.45, corpora, check_load),
    Target("chunk", 0.15, 0.08, chunk_cases, check_chunks),
    Target("chunk-small", 0.15, 0.07, lambda: chunk_cases(small=True), check_chunks),
    Target("store", 0.22, 0.15, store_cases, check_store),
    Target("sync", 0.03, 0.25, lambda: corpora(max_files=3), check_sync),
)


def failures_of(target: Target, example: Any) -> Failures:
    """The check's failures, or the exception it raised as one (named by where it was raised)."""
    try:
        return target.check(example)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/assistant/" in f.filename] or frames
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}"
        return [(f"raises {type(exc).__name__} at {where}", f"{exc}"[:300])]


class _OutOfTime(BaseException):
    """Ends a hypothesis run when its time is up (a BaseException: hypothesis lets it pass)."""


class _Shrinking(Exception):
    """Raised for a kind of failure not seen before, so that hypothesis shrinks that example."""


@dataclass
class Result:
    tried: int = 0
    failed: int = 0
    files: int = 0
    seconds: float = 0.0
    shrinking: float = 0.0
    stopped: bool = False
    kinds: dict[str, list[Any]] = field(default_factory=dict)
    """property -> [failing examples, smallest example, its detail]"""


def fuzz(
    target: Target, examples: int, seconds: float, run_seed: int, shrink_seconds: float
) -> Result:
    """Try ``examples`` generated examples (fewer if ``seconds`` run out); count every failure.

    The first failure of each kind is shrunk by hypothesis (for at most ``shrink_seconds``, time
    and steps not counted); the run then goes on with the next seed, counting that kind.
    """
    result = Result()
    started = time.perf_counter()
    shrinking: list[Any] = []  # [kind, since] while a new kind of failure is being shrunk
    for attempt in range(100):
        left = examples - result.tried
        if left <= 0 or result.stopped:
            break
        shrinking.clear()

        @seed(run_seed + attempt)
        @settings(
            max_examples=left,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink] if shrink_seconds else [Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
        )
        @given(target.strategy())
        def run(example: Any) -> None:
            now = time.perf_counter()
            if shrinking and now - shrinking[1] > shrink_seconds:
                raise _OutOfTime
            if not shrinking and now - started - result.shrinking > seconds:
                result.stopped = True
                raise _OutOfTime
            found = failures_of(target, example)
            if not shrinking:  # a generated example (the others are shrink steps)
                result.tried += 1
                result.failed += bool(found)
                if isinstance(example, tuple):
                    result.files += sum(isinstance(item, File) for item in example)
                for kind, detail in found:
                    entry = result.kinds.setdefault(kind, [0, example, detail])
                    if entry[0] == 0 and shrink_seconds and not shrinking:
                        shrinking[:] = [kind, now]
                    entry[0] += 1
            for kind, detail in found:
                keep_smaller(result.kinds[kind], example, detail)
                if shrinking and kind == shrinking[0]:
                    raise _Shrinking(kind)  # one place: hypothesis shrinks failures by origin

        try:
            run()
        except (_OutOfTime, _Shrinking):
            pass
        except (HypothesisException, ExceptionGroup) as exc:  # a flaky failure: say so, go on
            print(f"  ({target.name}: hypothesis ended a run: {exc!r:.300})", file=sys.stderr)
        if shrinking:
            result.shrinking += time.perf_counter() - shrinking[1]
    result.seconds = time.perf_counter() - started
    return result


def keep_smaller(entry: list[Any], example: Any, detail: str) -> None:
    if len(repr(example)) < len(repr(entry[1])):
        entry[1:] = [example, detail]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000, help="in total, shared by target")
    parser.add_argument(
        "--seconds", type=float, default=300, help="time budget in total, shrinking aside"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=[t.name for t in TARGETS])
    parser.add_argument("--shrink-seconds", type=float, default=20, help="per kind of failure")
    parser.add_argument("--no-shrink", action="store_true", help="print failures as found")
    args = parser.parse_args()
    if args.examples < 1 or args.seconds <= 0 or args.shrink_seconds < 0:
        parser.error("--examples and --seconds must be positive, --shrink-seconds not negative")

    chosen = [t for t in TARGETS if not args.only or t.name in args.only]
    examples_share = sum(t.examples for t in chosen)
    seconds_share = sum(t.seconds for t in chosen)
    shrink_seconds = 0 if args.no_shrink else args.shrink_seconds
    tokenizer()  # loaded once, outside the timings
    tried = failed = 0
    for target in chosen:
        examples = max(1, round(args.examples * target.examples / examples_share))
        seconds = args.seconds * target.seconds / seconds_share
        result = fuzz(target, examples, seconds, args.seed, shrink_seconds)
        tried, failed = tried + result.tried, failed + result.failed
        files = f" ({result.files:,} files)" if result.files else ""
        stopped = ", time budget reached" if result.stopped else ""
        print(
            f"{target.name:6} {result.tried:6,} examples{files}, {result.failed:5,} failed; "
            f"{result.seconds - result.shrinking:.1f} s (+{result.shrinking:.1f} s shrinking"
            f"{stopped})",
            flush=True,
        )
        for kind, (count, example, detail) in sorted(result.kinds.items()):
            print(f"  {count:5,} x {kind}: {detail}\n        e.g. {example!r:.1500}", flush=True)
    print(f"total  {tried:6,} examples, {failed:5,} failed (goal 0)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
