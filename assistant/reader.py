"""Read the index in use: the one module that queries it.

``open_index`` opens the generation ``CURRENT`` names (see ``generations``): the segments its
manifest lists (see ``segments``), each a store, BM25 postings and a Chroma collection, less
the articles removed from them since. It checks the index was built with the settings in use.
An ``Index`` serves every read a question makes: article texts and headers (``catalog``), BM25
over all segments with statistics of the whole index (``keyword_search``) and the nearest
vectors of all segments (``dense_search``). The writer (``writer.sync_index``) makes
generations; nothing here writes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import manifest_groups
from .attribution import Speech
from .config import Settings
from .embedding import model_identity
from .errors import IndexMismatchError, IndexStoreError
from .generations import Lease, lease_current, opening
from .keyword import KEYWORD_VERSION, KeywordIndex
from .memo import ArticleCodes, IdentityMemo
from .segments import Manifest, SegmentRef, has_manifest, read_vectors
from .store import ArticleStore
from .syndication import Syndication, carried_by
from .types import Article, Chunk, Filters, Passage, Quote

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""1: one folder per generation, copied whole by each sync; 2: segments and a manifest."""
SPLITTER_VERSION = "sentences-v1"


def fingerprint(settings: Settings) -> dict[str, Any]:
    """Everything that changes what the index holds; a mismatch means: rebuild."""
    return {
        "format": FORMAT_VERSION,
        "embedding_model": model_identity(settings.embedding_model),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "splitter": SPLITTER_VERSION,
        "keyword": KEYWORD_VERSION,
    }


def backend(settings: Settings) -> str:
    if settings.chroma_host:
        return f"chroma-server://{settings.chroma_host}:{settings.chroma_port}"
    return "embedded"


# -- Chroma -------------------------------------------------------------------------------------
def chroma_client(settings: Settings, generation: Path, folder: Path | None = None) -> Any:
    """A Chroma client: on the server settings name, else on ``folder`` (default: the
    generation's ``chroma/``)."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise IndexStoreError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
                f" ({exc}); start it with 'chroma run --path DIR --port {settings.chroma_port}'"
                " or unset BRIEFING_CHROMA_HOST to use the embedded store"
            ) from exc
    path = folder or generation / "chroma"
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def get_collection(client: Any, name: str, *, create: bool = False) -> Any:
    if create:
        return client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
    return client.get_collection(name, embedding_function=None)


def check_compatible(meta: dict[str, Any], settings: Settings, generation: Path) -> None:
    """Raise ``IndexMismatchError`` unless the generation's ``meta`` (its manifest's, or an
    old generation's store meta) says it was built with ``settings``."""
    built, wanted = meta.get("fingerprint"), fingerprint(settings)
    if built != wanted:
        changed = sorted(
            k for k in set(built or {}) | set(wanted) if (built or {}).get(k) != wanted.get(k)
        )
        raise IndexMismatchError(
            f"The index in {generation.parent} was built with other settings "
            f"({', '.join(f'{k}: {(built or {}).get(k)!r} -> {wanted.get(k)!r}' for k in changed)}); "
            "rebuild it with 'briefing index --rebuild'"
            + (
                " (or just 'briefing index': an index of the older layout is converted "
                "without embedding anything again)"
                if changed == ["format"]
                else ""
            )
        )
    if meta.get("backend") != backend(settings):
        raise IndexMismatchError(
            f"The index in {generation.parent} lives in {meta.get('backend')}, but the "
            f"settings point at {backend(settings)}; rebuild it with 'briefing index --rebuild'"
        )


def read_meta(generation: Path) -> dict[str, Any]:
    """The facts of a generation: its manifest's, or, for a generation of the older layout
    (one folder per generation, format 1), its store's."""
    if has_manifest(generation):
        return Manifest.read(generation).meta
    with ArticleStore(generation, readonly=True) as store:
        return {k: store.get_meta(k) for k in ("fingerprint", "backend")}


@dataclass(frozen=True)
class _ChunkRow:
    article_id: str
    start: int
    end: int
    spans: str
    """The sentence spans as stored (JSON): read when a passage needs them, not at opening."""

    @cached_property
    def sentences(self) -> tuple[tuple[int, int], ...]:
        return tuple(tuple(span) for span in json.loads(self.spans))


class Catalog:
    """Chunk spans and article headers of an index, in memory, for filters and passages.

    Built once per ``Index`` (``Index.catalog``); keeps up to ``cache_size`` article texts.
    """

    def __init__(self, index: Index, cache_size: int = 256) -> None:
        self.index = index
        self.cache_size = cache_size
        self.articles: dict[str, Article] = {}
        self.chunks: dict[str, _ChunkRow] = {}
        for segment in index.segments:
            self.articles.update((a.id, a) for a in segment.article_headers())
            self.chunks.update(
                (cid, _ChunkRow(aid, s, e, sents))
                for cid, aid, s, e, sents in segment.chunk_spans()
            )
        self.sources: tuple[str, ...] = tuple(
            sorted({a.source for a in self.articles.values() if a.source})
        )
        self._texts: dict[str, str] = {}
        self._speech: dict[str, tuple[Speech, ...]] = {}
        self._allowed: dict[tuple[Filters, tuple[str, ...]], frozenset[str] | None] = {}

    @cached_property
    def stories(self) -> dict[str, Syndication]:
        """article id -> the wire story it is one copy of (only articles with copies)."""
        return {aid: g for g in manifest_groups(self.index.manifest.meta) for aid in g.article_ids}

    def speech(self, article_id: str) -> tuple[Speech, ...]:
        """The reported speech found in an article at index time, in text order."""
        found = self._speech.get(article_id)
        if found is None:
            found = tuple(s for _aid, s in self.index.speech(article_id))
            if len(self._speech) >= self.cache_size:
                self._speech.clear()
            self._speech[article_id] = found
        return found

    def speech_at(self, article_id: str, start: int, end: int) -> Speech | None:
        """The reported speech whose span holds most of ``[start, end)`` of an article."""
        best, most = None, 0
        for speech in self.speech(article_id):
            shared = min(end, speech.end) - max(start, speech.start)
            if shared > most:
                best, most = speech, shared
        return best if most * 2 >= end - start else None

    def attributed(self, quote: Quote) -> Quote:
        """``quote`` with who said it (found at index time) and who carried its wire story."""
        story = self.stories.get(quote.article_id)
        quote = replace(quote, carried_by=carried_by(story) if story else None)
        speech = self.speech_at(quote.article_id, quote.start, quote.end)
        if speech is None:
            return replace(quote, speaker=None, role=None)
        return replace(quote, speaker=speech.speaker, role=speech.role)

    def date_span(self) -> tuple[str | None, str | None]:
        """The first and last publication dates (ISO) of the articles, None when undated."""
        dates = sorted(a.published for a in self.articles.values() if a.published)
        return (dates[0], dates[-1]) if dates else (None, None)

    def article_text(self, article_id: str) -> str:
        text = self._texts.get(article_id)
        if text is None:
            article = self.index.article(article_id)
            text = article.text if article else ""
            if len(self._texts) >= self.cache_size:
                self._texts.clear()
            self._texts[article_id] = text
        return text

    def allowed_articles(
        self, filters: Filters, sources: Sequence[str] = ()
    ) -> frozenset[str] | None:
        """Article ids passing the filters (and, if given, from one of ``sources``); None = all.

        The same filters give the same set (a few hundred kept), so the searches can keep
        what they derive from it (``IdentityMemo``)."""
        key = (filters, tuple(sources))
        found = self._allowed.get(key, False)
        if found is False:
            found = self._allowed_now(filters, sources)
            if len(self._allowed) >= 256:
                self._allowed = {}
            self._allowed[key] = found
        return found

    def _allowed_now(self, filters: Filters, sources: Sequence[str]) -> frozenset[str] | None:
        wanted_sources: set[str] | None = None
        for group in (filters.sources, sources):
            if group:
                wanted_sources = (
                    set(group) if wanted_sources is None else wanted_sources & set(group)
                )
        if wanted_sources is None and filters.is_empty():
            return None
        allowed: Collection[str] | None = None
        if wanted_sources is not None:
            allowed = set().union(*(self._by_source.get(s, ()) for s in wanted_sources))
        if filters.article_ids:
            named = self.articles.keys() & set(filters.article_ids)
            allowed = named if allowed is None else allowed & named
        if filters.start_ts is not None or filters.end_ts is not None:
            times, ids = self._by_time
            low = 0 if filters.start_ts is None else bisect_left(times, filters.start_ts)
            high = len(ids) if filters.end_ts is None else bisect_left(times, filters.end_ts)
            allowed = set(ids[low:high]) if allowed is None else allowed.intersection(ids[low:high])
        return frozenset(allowed)

    @cached_property
    def _by_source(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for a in self.articles.values():
            if a.source:
                found.setdefault(a.source, set()).add(a.id)
        return found

    @cached_property
    def _by_time(self) -> tuple[list[int], list[str]]:
        """Publication times in order, and the dated articles' ids in that order."""
        dated = sorted(
            (a.published_ts, a.id) for a in self.articles.values() if a.published_ts is not None
        )
        return [ts for ts, _ in dated], [aid for _, aid in dated]

    def passage(self, chunk_id: str, score: float, stages: dict[str, float]) -> Passage:
        row = self.chunks[chunk_id]
        a = self.articles[row.article_id]
        return Passage(
            chunk_id=chunk_id,
            article_id=row.article_id,
            start=row.start,
            end=row.end,
            text=self.article_text(row.article_id)[row.start : row.end],
            title=a.title,
            source=a.source,
            published=a.published,
            url=a.url,
            sentences=row.sentences,
            score=score,
            stages=stages,
        )


class Segment:
    """One segment of the generation read: its store, its Chroma collection, and the articles
    removed from it since it was written (read past: they are in no answer).

    Chroma writes into an embedded store's folder when a client starts and on its first
    query; a reader does both under the segment's ``opening`` lock, as a sync that reads the
    segment's vectors to merge it does.
    """

    def __init__(self, settings: Settings, folder: Path, ref: SegmentRef) -> None:
        self.settings = settings
        self.folder = folder
        self.ref = ref
        self.removed = frozenset(ref.removed)
        self.codes: ArticleCodes | None = None  # the index's, shared by its searches
        self._private: Path | None = None  # a copy of a read-only segment's vectors
        self.store = ArticleStore(folder, readonly=True)
        try:
            with opening(folder):
                self._client = self._open_chroma()
                self.collection = get_collection(self._client, self.store.get_meta("collection"))
                if not settings.chroma_host:
                    first_query(self.collection)
        except BaseException:
            self.store.close()
            self._drop_private()
            raise
        self.live_articles: frozenset[str] = frozenset(self.store.manifest()) - self.removed
        self.dead_chunks: frozenset[str] = frozenset(self.store.chunk_ids(self.removed))

    def _open_chroma(self) -> Any:
        """The Chroma client; on a disk this process may not write, on a private copy.

        An embedded Chroma store writes into its folder whenever a client starts (it has no
        read-only mode: chroma-core/chroma#1438), so a read-only index is read from a copy of
        its ``chroma/`` folder in the temporary folder, deleted on ``close()``.
        """
        folder = self.folder / "chroma"
        if self.settings.chroma_host or _writable(folder):
            return chroma_client(self.settings, self.folder)
        self._private = Path(tempfile.mkdtemp(prefix="briefing-readonly-"))
        shutil.copytree(folder, self._private / "chroma")
        logger.info("%s is read-only: reading its vectors from a copy in %s", folder, self._private)
        return chroma_client(self.settings, self.folder, self._private / "chroma")

    def _drop_private(self) -> None:
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def article_headers(self) -> list[Article]:
        return [a for a in self.store.article_headers() if a.id not in self.removed]

    def chunk_spans(self) -> list[tuple[str, str, int, int, str]]:
        return [row for row in self.store.chunk_spans() if row[1] not in self.removed]

    def dense_search(
        self, vector: Sequence[float], k: int, allowed: Collection[str] | None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine distance) of the ``k`` live chunks nearest ``vector``.

        Among a few articles (``allowed``: a source, a period), every one of their chunks is
        compared with ``vector`` (``vectors.npz``): exact, and far cheaper than Chroma's filter
        on article ids (10-30 ms a query on 609 articles). Over all of them, Chroma's HNSW index
        answers; removed chunks are still in it: a few are read past (asking for ``k`` more than
        there are of them), many are filtered out by Chroma (``$nin``), which costs more per
        query; a sync writes a segment again once a quarter of it is removed."""
        if allowed is not None:
            return self._compare(vector, k, allowed)
        if not self.live_articles:
            return []
        where: dict[str, Any] | None = None
        extra = self.ref.dead
        if self.ref.dead > _READ_PAST:
            where, extra = {"article_id": {"$nin": sorted(self.removed)}}, 0
        found = self.collection.query(
            query_embeddings=[list(vector)],
            n_results=max(1, min(k + extra, self.ref.chunks)),
            where=where,
            include=["distances"],
        )
        rows = zip(found["ids"][0], found["distances"][0], strict=True)
        return [(cid, d) for cid, d in rows if cid not in self.dead_chunks][:k]

    def _compare(
        self, vector: Sequence[float], k: int, articles: Collection[str]
    ) -> list[tuple[str, float]]:
        if not articles or k <= 0:
            return []
        vectors = self._vectors
        rows = vectors.rows.get(articles, vectors.rows_of)
        if not len(rows):
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        if len(rows) * _GATHER_SHARE < len(vectors.unit):
            similarity = vectors.unit[rows] @ query  # a copy of few rows
        else:  # many rows: one product over all of them, kept for the question's next search
            similarity = vectors.similarity(query)[rows]
        best = np.arange(len(rows))
        if k < len(rows):  # the k best and every row tied with the k-th, then in order
            best = np.flatnonzero(similarity >= np.partition(similarity, -k)[-k])
        best = best[np.argsort(-similarity[best], kind="stable")][:k]
        return [(vectors.ids[rows[i]], float(1.0 - similarity[i])) for i in best]

    @cached_property
    def _vectors(self) -> _Vectors:
        """The segment's vectors, made unit length, and whose each row is."""
        matrix, ids, article_ids = read_vectors(self.folder)
        unit = matrix.astype(np.float32, copy=False)  # freshly read: normalised in place
        norms = np.linalg.norm(unit, axis=1, keepdims=True)
        unit /= np.where(norms > 0, norms, 1.0)
        live = [a if a not in self.removed else "" for a in article_ids]  # "": no article
        codes = self.codes or ArticleCodes(live)
        return _Vectors(unit, ids, codes, codes.of(live))

    def warm(self) -> None:
        self._vectors  # noqa: B018 - read on the first search among a few articles

    def close(self) -> None:
        self.store.close()
        self._client.close()
        self._drop_private()


class _Vectors:
    """A segment's vectors for exact search among some of its articles: ``unit`` (row per
    chunk, unit length), ``ids`` (chunk id per row) and ``row_code`` (the number ``codes``
    gives the row's article; a removed article's rows have one no article has)."""

    def __init__(
        self, unit: np.ndarray, ids: list[str], codes: ArticleCodes, row_code: np.ndarray
    ) -> None:
        self.unit, self.ids, self.codes, self.row_code = unit, ids, codes, row_code
        self._last: tuple[bytes, np.ndarray] | None = None
        # row lists, up to 800 KB each at 100k chunks: kept for the last 16 allowed sets
        self.rows: IdentityMemo[Collection[str], np.ndarray] = IdentityMemo(16)

    def rows_of(self, articles: Collection[str]) -> np.ndarray:
        """The rows of the live chunks of ``articles``, in order."""
        return np.flatnonzero(self.codes.mask(articles)[self.row_code])

    def similarity(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every row to the unit vector ``query``. The last one is kept:
        a question searches among a period's, then each source's articles with one vector."""
        key = query.tobytes()
        last = self._last
        if last is None or last[0] != key:
            last = self._last = (key, self.unit @ query)  # one tuple: safe to share by threads
        return last[1]


_GATHER_SHARE = 8
"""Fewer rows than one in this many: score just those rows, else all rows (a copy of many
scattered rows costs more than one product over the whole matrix)."""
_READ_PAST = 256
"""Removed chunks a segment's dense search reads past before it asks Chroma to filter them."""
_NO_ROWS = np.zeros(0, dtype=np.int64)


class Index:
    """A read-only handle on the current generation: articles, chunks, vectors, keywords.

    One ``Index`` may be shared by any number of threads. Each segment's article store takes
    turns on its one SQLite connection (see ``ArticleStore``). Chroma's clients are queried
    from several threads at once, unguarded: its maintainers call the local clients thread safe
    (chroma-core/chroma#1215, #1240), the server client's ``httpx.Client`` "can be shared
    between threads", and ``tests/test_threads.py`` asks from 8 threads at once. The BM25
    postings are numpy arrays that a search only reads; they are loaded once, under a lock.
    ``close()`` may be called more than once; ``closed`` says whether it was.
    """

    def __init__(self, settings: Settings, generation: Path, lease: Lease | None = None) -> None:
        self.settings = settings
        self.generation = generation
        self._lease = lease
        self._keywords: KeywordIndex | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()  # the lazy loads and close
        self._closed = False
        self.segments: list[Segment] = []
        try:
            if not has_manifest(generation):
                check_compatible(read_meta(generation), settings, generation)
            self.manifest = Manifest.read(generation)
            check_compatible(self.manifest.meta, settings, generation)
            for ref in self.manifest.segments:
                self.segments.append(Segment(settings, generation.parent / ref.name, ref))
        except BaseException:
            for segment in self.segments:
                segment.close()
            if lease is not None:
                lease.release()
            raise
        self._holder = {aid: s for s in self.segments for aid in s.live_articles}
        self.codes = ArticleCodes(sorted(self._holder))  # shared by the searches
        for segment in self.segments:
            segment.codes = self.codes

    @property
    def keywords(self) -> KeywordIndex:
        if self._keywords is None:
            with self._lock:  # the first questions of several threads load it once
                if self._keywords is None:
                    parts = [(s.folder, s.removed) for s in self.segments]
                    self._keywords = KeywordIndex(parts, self.codes)
        return self._keywords

    @property
    def catalog(self) -> Catalog:
        """Article headers, chunk spans and a cache of article texts, read once."""
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = Catalog(self, self.settings.article_cache)
        return self._catalog

    @property
    def closed(self) -> bool:
        return self._closed

    def keyword_search(
        self, query: str, k: int, allowed: Collection[str] | None = None
    ) -> list[str]:
        """Chunk ids ranked by BM25 among the ``allowed`` articles (None: all of them)."""
        if allowed is not None and not allowed:
            return []
        return [cid for cid, _score in self.keywords.search(query, k, allowed)]

    def dense_search(
        self, vector: Sequence[float], k: int, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) nearest ``vector``, among the ``allowed`` articles."""
        if allowed is not None and not allowed:
            return []
        found = [hit for s in self.segments for hit in s.dense_search(vector, k, allowed)]
        found.sort(key=lambda hit: hit[1])
        return [(cid, 1.0 - d) for cid, d in found[:k]]

    def article(self, article_id: str) -> Article | None:
        segment = self._holder.get(article_id)
        return segment.store.article(article_id) if segment else None

    def speech(self, article_id: str | None = None) -> list[tuple[str, Speech]]:
        """(article id, span) of the reported speech of one article or of all, in text order."""
        if article_id is not None:
            segment = self._holder.get(article_id)
            return segment.store.speech(article_id) if segment else []
        rows = [row for s in self.segments for row in s.store.speech() if row[0] in self._holder]
        return sorted(rows, key=lambda row: (row[0], row[1].start))

    def articles(self) -> list[Article]:
        found = [a for s in self.segments for a in s.store.articles() if a.id not in s.removed]
        return sorted(found, key=lambda a: a.locator)

    def chunks(self) -> list[Chunk]:
        found = [
            c for s in self.segments for c in s.store.chunks() if c.article_id not in s.removed
        ]
        locators = {a.id: a.locator for a in self.catalog.articles.values()}
        return sorted(found, key=lambda c: (locators[c.article_id], c.start))

    def count_articles(self) -> int:
        return len(self._holder)

    def count_chunks(self) -> int:
        return self.manifest.total_chunks()

    def status(self) -> dict[str, Any]:
        return {
            "generation": self.generation.name,
            "articles": self.count_articles(),
            "chunks": self.count_chunks(),
            "segments": len(self.segments),
            "built_at": self.manifest.meta.get("built_at"),
            "backend": self.manifest.meta.get("backend"),
        }

    def warm(self) -> None:
        """Load now what the first question would: the catalog, the BM25 postings, each
        segment's vectors (at 100,000 chunks, seconds). An ``Assistant`` calls it before it
        moves its questions to a new generation, so only the question that found the new
        generation (none, after its own ``sync``) waits for it."""
        self.catalog  # noqa: B018 - loaded on first use
        self.keywords  # noqa: B018
        for segment in self.segments:
            segment.warm()

    def close(self) -> None:
        """Release the stores and the Chroma clients; closing twice is fine."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for segment in self.segments:
            segment.close()
        if self._lease is not None:
            self._lease.release()  # a sync may delete this generation now

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(settings: Settings | None = None) -> Index:
    """Open the index in use. Raises ``IndexMissingError`` if none was built yet.

    The ``Index`` holds a lease on its generation (``generations.lease_current``): a sync in
    any process leaves that generation whole until the Index is closed.
    """
    settings = settings or Settings()
    lease = lease_current(settings.index_dir)
    return Index(settings, lease.generation, lease)


def first_query(collection: Any) -> None:
    """Query an embedded collection once: Chroma's writes on a first query (it loads the HNSW
    index and saves it back) then happen where the caller chose, not under a later question."""
    sample = collection.peek(limit=1)
    vectors = sample.get("embeddings")
    if vectors is not None and len(vectors):
        collection.query(query_embeddings=[list(vectors[0])], n_results=1, include=[])


def _writable(folder: Path) -> bool:
    """Whether this process may write into ``folder`` (also False on a read-only mount)."""
    try:
        read_only_mount = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
    return not read_only_mount and os.access(folder, os.W_OK)
