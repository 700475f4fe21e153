"""Write one segment of the index (see ``segments``): the articles of a sync, or the live
articles of segments merged into one.

A ``SegmentWriter`` fills a new folder: each article's text, chunks and keyword terms in the
segment's store, its chunks' vectors in a Chroma collection of its own (embedded: in the
folder's ``chroma/``; on a server: a collection named after the segment) and in
``vectors.npz``, its reported speech and MinHash signature (found here, once per article), then
the BM25 postings, and flushes it all. Nothing reads a segment before a manifest names it, and no manifest names it before
``finish`` returns, so a segment a crash left half-written is never read: the next sync
deletes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import VERSION, VERSION_KEY, analysed_with_this_version
from .attribution import Speech, find_speech
from .config import Settings
from .errors import IndexStoreError
from .generations import OPENING_FILE, crash_point, fsync_tree, opening
from .keyword import write_keywords
from .reader import backend, chroma_client, fingerprint, first_query, get_collection
from .segments import SegmentRef, write_vectors
from .store import ArticleStore
from .syndication import signature
from .text import keyword_tokens
from .types import Article, Chunk


def collection_name(settings: Settings, folder: Path) -> str:
    if settings.chroma_host:  # one server holds every segment: name each one
        return f"{settings.collection}-{folder.name}-{secrets.token_hex(3)}"
    return settings.collection if len(settings.collection) >= 3 else f"{settings.collection}-idx"


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
        "locator": article.locator,
    }
    for key in ("source", "published", "published_ts", "url", "author"):
        value = getattr(article, key)
        if value is not None:
            meta[key] = value
    return meta


class SegmentWriter:
    """Writes a new segment into ``folder``: ``add`` articles, then ``finish`` (or ``close``
    to give up: the caller deletes the folder)."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder
        folder.mkdir()
        (folder / OPENING_FILE).touch()  # there before any reader, also on a disk made read-only
        self.client = chroma_client(settings, folder)
        self.store = ArticleStore(folder)
        self.store.set_meta("collection", collection_name(settings, folder))
        self.collection = get_collection(
            self.client, self.store.get_meta("collection"), create=True
        )
        self._batch = self.client.get_max_batch_size()
        self._pending: list[tuple[Article, Chunk, Sequence[float]]] = []
        self.ids: list[str] = []
        self.article_ids: list[str] = []
        self.terms: list[list[str]] = []
        self.vectors: list[Sequence[float]] = []

    def add(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        terms: Sequence[Sequence[str]],
        *,
        speech: Sequence[Speech] | None = None,
        minhash: np.ndarray | None = None,
        analysed: bool = False,
    ) -> None:
        """Add one article with its chunks, their vectors and keyword terms. Its speech and
        signature are found here unless given with ``analysed=True`` (copied from a segment
        analysed by this version)."""
        self.store.put_article(article, chunks, terms)
        if not analysed:
            speech, minhash = find_speech(article.text), signature(article.text)
        self.store.put_speech(article.id, speech or (), VERSION)
        self.store.put_signature(article.id, minhash)
        for chunk, vector, words in zip(chunks, vectors, terms, strict=True):
            self._pending.append((article, chunk, vector))
            self.ids.append(chunk.id)
            self.article_ids.append(article.id)
            self.terms.append(list(words))
            self.vectors.append(vector)
        if len(self._pending) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for begin in range(0, len(pending), self._batch):
            part = pending[begin : begin + self._batch]
            self.collection.add(
                ids=[c.id for _a, c, _v in part],
                embeddings=[list(v) for _a, _c, v in part],
                documents=[c.text for _a, c, _v in part],
                metadatas=[chunk_metadata(a, c) for a, c, _v in part],
            )

    def finish(self) -> SegmentRef:
        """Write what is left, the BM25 postings and the facts; flush the folder to disk."""
        self._flush()
        crash_point("segment-chroma")
        self.store.set_meta("fingerprint", fingerprint(self.settings))
        self.store.set_meta("backend", backend(self.settings))
        self.store.set_meta(VERSION_KEY, VERSION)
        self.store.commit()
        crash_point("segment-store")
        write_keywords(self.folder, self.ids, self.article_ids, self.terms)
        write_vectors(self.folder, self.ids, self.article_ids, self.vectors)
        if not self.settings.chroma_host:  # Chroma's writes of a first query happen here
            first_query(self.collection)
        if self.collection.count() != len(self.ids):
            raise IndexStoreError(
                f"Chroma holds {self.collection.count()} chunks of segment {self.folder.name} "
                f"but its store {len(self.ids)}; the new index was not used. Run "
                "'briefing index --rebuild'"
            )
        self.close()
        fsync_tree(self.folder)
        crash_point("segment-done")
        return SegmentRef(self.folder.name, len(self.ids))

    def close(self) -> None:
        self.store.close()
        self.client.close()


def copy_live(
    settings: Settings,
    writer: SegmentWriter,
    source: Path,
    removed: frozenset[str],
    report: Callable[[int], None] = lambda n: None,
) -> None:
    """Add the live articles of the segment in ``source`` to ``writer``: their rows, their
    vectors read back from Chroma (nothing is embedded again), their speech and signature
    copied when this analysis version found them (else found again).

    ``source`` may also be a generation of the older layout (format 1), which a segment's
    folder was modelled on: a store, a ``chroma/`` folder and the collection's name."""
    with opening(source), ArticleStore(source, readonly=True) as store:
        client = chroma_client(settings, source)
        try:
            collection = get_collection(client, store.get_meta("collection"))
            found = store.signatures()  # None in a store of the older layout
            analysed = analysed_with_this_version(store) and found is not None
            minhashes = found or {}
            live = [a for a in store.articles() if a.id not in removed]
            for begin in range(0, len(live), _ARTICLES_PER_READ):
                part = live[begin : begin + _ARTICLES_PER_READ]
                rows = {a.id: store.article_chunks(a.id) for a in part}
                ids = [c.id for chunks in rows.values() for c, _t in chunks]
                got = collection.get(ids=ids, include=["embeddings"]) if ids else {"ids": []}
                vectors = dict(zip(got["ids"], got.get("embeddings", []), strict=True))
                if len(vectors) != len(ids):
                    raise IndexStoreError(
                        f"{source.name} lacks the vectors of {len(ids) - len(vectors)} of its "
                        "chunks; rebuild the index with 'briefing index --rebuild'"
                    )
                for article in part:
                    chunks = [c for c, _t in rows[article.id]]
                    terms = [t for _c, t in rows[article.id]]
                    if any(t is None for t in terms):  # a store written before terms were kept
                        terms = keyword_tokens([c.text for c in chunks])
                    writer.add(
                        article,
                        chunks,
                        [vectors[c.id] for c in chunks],
                        terms,
                        speech=[s for _aid, s in store.speech(article.id)],
                        minhash=minhashes.get(article.id),
                        analysed=analysed,
                    )
                report(len(part))
        finally:
            client.close()


_ARTICLES_PER_READ = 100
"""Articles whose vectors are read back from Chroma in one request while merging."""
