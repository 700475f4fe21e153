"""Write the index: bring it in line with the corpus, one new generation per change.

Layout of ``index_dir`` (see index/README.md)::

    CURRENT          the name of the generation in use, replaced atomically
    gen-000007/      one complete index: store.sqlite, bm25/, chroma/ (embedded store only)
    lock             held while a sync runs

A sync never writes into the generation in use. It copies it to a new ``gen-N+1`` folder (on a
Chroma server: a new collection), applies the changes there, flushes everything, and only then
points ``CURRENT`` at it with an atomic rename. A run killed at any moment leaves ``CURRENT``
naming a complete index; the next run deletes the half-written generation and starts again
from the complete one, so no chunk is ever duplicated or orphaned. The previous generation is
kept until the next sync, so readers that opened it keep working.
"""

from __future__ import annotations

import errno
import logging
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis import analyse, needs_analysis
from .chunking import chunk_article
from .config import Settings
from .corpus import load_corpus
from .embedding import (
    Embedder,
    SentenceEmbedder,
    load_tokenizer,
    max_seq_length,
    resolve_model_path,
)
from .errors import (
    ConfigError,
    CorpusError,
    IndexStoreError,
)
from .generations import (
    LOCK_FILES,
    crash_point,
    current_generation,
    fsync_tree,
    list_generations,
    next_generation,
    opening,
    point_current_at,
    sync_lock,
    unleased,
)
from .keyword import build_keyword_index
from .onnx_encoder import LightQueries, export_for_queries
from .reader import (
    backend,
    check_compatible,
    chroma_client,
    fingerprint,
    first_query,
    get_collection,
)
from .store import ArticleStore
from .text import keyword_tokens
from .types import Article, Chunk, IndexReport, Problem

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "chunking", "embedding" or "writing"."""


# -- Chroma --------------------------------------------------------------------------------------
def _collection_name(settings: Settings, generation: Path) -> str:
    if settings.chroma_host:  # one server holds many generations: name each one
        return f"{settings.collection}-{generation.name}-{secrets.token_hex(3)}"
    return settings.collection if len(settings.collection) >= 3 else f"{settings.collection}-idx"


def _copy_vectors(source: Any, target: Any, batch: int) -> None:
    total = source.count()
    for offset in range(0, total, batch):
        page = source.get(
            include=["embeddings", "documents", "metadatas"], limit=batch, offset=offset
        )
        target.add(
            ids=page["ids"],
            embeddings=page["embeddings"],
            documents=page["documents"],
            metadatas=page["metadatas"],
        )


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
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


# -- sync ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    added: list[Article]
    updated: list[Article]
    removed: list[str]


def _plan(
    articles: Sequence[Article], old: dict[str, tuple[str, str]], problems: Sequence[Problem]
) -> _Plan:
    new = {a.id: a for a in articles}
    # A file (or a folder) that failed to read this run keeps what the index already holds
    # from it, unless it must never be indexed (``Problem.forget``).
    failed = {p.path.split("#")[0] for p in problems if p.skipped and not p.forget}

    def kept(locator: str) -> bool:
        path = locator.split("#")[0]
        return "." in failed or path in failed or any(path.startswith(f"{f}/") for f in failed)

    added = [a for a in articles if a.id not in old]
    updated = [a for a in articles if a.id in old and old[a.id][0] != a.content_hash]
    removed = [aid for aid, (_h, loc) in old.items() if aid not in new and not kept(loc)]
    return _Plan(added, updated, removed)


def sync_index(
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Bring the index in line with the corpus: add new, re-embed changed, delete removed.

    An unchanged corpus is a no-op (no model is loaded). Files that cannot be read are listed
    in ``report.problems`` and everything else is still indexed. Raises ``IndexMismatchError``
    if the index was built with other settings and ``rebuild`` is False.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    if not Path(settings.corpus).exists():  # say so before anything is made on disk
        raise CorpusError(
            f"corpus path '{settings.corpus}' does not exist; add article files there or "
            "pass --corpus PATH"
        )
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    with sync_lock(index_dir):
        current = current_generation(index_dir)
        _remove_stale(index_dir, current, settings)
        old: dict[str, tuple[str, str]] = {}
        stale_analysis = False
        if current is not None and not rebuild:
            with ArticleStore(current, readonly=True) as store:
                check_compatible(store, settings, current)
                old = store.manifest()
                stale_analysis = needs_analysis(store)
        loaded = load_corpus(
            settings.corpus, max_file_bytes=settings.max_file_bytes, prefer=old.keys()
        )
        plan = _plan(loaded.articles, old, loaded.problems)
        report = dict(
            added=len(plan.added),
            updated=len(plan.updated),
            removed=len(plan.removed),
            skipped=sum(1 for p in loaded.problems if p.skipped),
            unchanged=len(loaded.articles) - len(plan.added) - len(plan.updated),
            problems=loaded.problems,
        )
        changed = plan.added or plan.updated or plan.removed or stale_analysis
        if current is not None and not rebuild and not changed:
            with ArticleStore(current, readonly=True) as store:
                totals = store.count_articles(), store.count_chunks()
            done = IndexReport(
                **report,
                total_articles=totals[0],
                total_chunks=totals[1],
                seconds=time.perf_counter() - started,
                generation=current.name,
            )
            logger.info("%s unchanged, still %s: %s", index_dir, current.name, done.summary())
            if _the_model(embedder):
                export_for_queries(settings, check=False)
            return done
        if not loaded.articles and current is None:
            detail = "; ".join(str(p) for p in loaded.problems[:5])
            raise IndexStoreError(
                f"No readable articles in {settings.corpus}; nothing to index"
                + (f" ({detail})" if detail else "")
            )
        generation = next_generation(index_dir)
        try:
            counts = _write_generation(
                settings, generation, None if rebuild else current, plan, progress, embedder
            )
        except BaseException as exc:  # a full disk, a failing model, Ctrl+C: leave no half
            if generation.exists():
                logger.warning("sync failed (%r); deleting the half-written %s", exc, generation)
                _drop_generation(generation, settings)
            if _disk_full(exc):
                raise IndexStoreError(
                    f"The disk of {index_dir} filled up during the sync; what it wrote was "
                    "deleted and the index in use is unchanged. Free some space and sync again"
                ) from exc
            raise
        point_current_at(index_dir, generation)
        _remove_stale(index_dir, generation, settings)
        if _the_model(embedder):  # questions in a fresh process then skip torch
            export_for_queries(settings, check=True)
        done = IndexReport(
            **report,
            chunks_added=counts[0],
            chunks_removed=counts[1],
            total_articles=counts[2],
            total_chunks=counts[3],
            seconds=time.perf_counter() - started,
            generation=generation.name,
        )
        logger.info("%s synced into %s: %s", index_dir, generation.name, done.summary())
        return done


def _the_model(embedder: Embedder | None) -> bool:
    """Whether the sync embeds with the settings' model (not a stand-in of a test)."""
    return embedder is None or isinstance(embedder, (SentenceEmbedder, LightQueries))


def _write_generation(
    settings: Settings,
    generation: Path,
    base: Path | None,
    plan: _Plan,
    progress: Progress | None,
    embedder: Embedder | None,
) -> tuple[int, int, int, int]:
    """Write a complete new ``generation`` from ``base`` (or from nothing); return its counts
    (chunks added, chunks removed, articles, chunks)."""
    report = progress or (lambda stage, done, total: None)

    to_embed = [*plan.added, *plan.updated]
    chunks_by_article = _chunk_all(settings, to_embed, report)
    new_chunks = [(a, c) for a in to_embed for c in chunks_by_article[a.id]]

    _check_room(generation.parent, base, len(new_chunks), settings)
    if base is not None:
        with opening(base):  # no reader's Chroma writes into it while it is copied
            shutil.copytree(base, generation, ignore=shutil.ignore_patterns("bm25", *LOCK_FILES))
    else:
        generation.mkdir()
    for name in LOCK_FILES:  # there before any reader, also on a disk later made read-only
        (generation / name).touch()
    crash_point("after-copy")
    client = chroma_client(settings, generation)
    store = ArticleStore(generation)
    try:
        collection = _open_target_collection(settings, client, store, base, generation)
        removed_ids: list[str] = []
        for aid in [*plan.removed, *(a.id for a in plan.updated)]:
            removed_ids.extend(store.delete_article(aid))
        batch = client.get_max_batch_size()
        for begin in range(0, len(removed_ids), batch):
            collection.delete(ids=removed_ids[begin : begin + batch])
        crash_point("after-delete")

        embedder = embedder or SentenceEmbedder(
            settings.embedding_model, batch_size=settings.embed_batch_size
        )
        done = 0

        def embedded(n: int) -> None:
            nonlocal done
            done += n
            report("embedding", done, len(new_chunks))

        report("embedding", 0, len(new_chunks))
        vectors = (
            embedder.embed([c.text for _a, c in new_chunks], progress=embedded)
            if new_chunks
            else []
        )
        report("writing", 0, len(new_chunks))
        for begin in range(0, len(new_chunks), batch):
            part = new_chunks[begin : begin + batch]
            collection.add(
                ids=[c.id for _a, c in part],
                embeddings=vectors[begin : begin + batch],
                documents=[c.text for _a, c in part],
                metadatas=[_chunk_metadata(a, c) for a, c in part],
            )
            report("writing", begin + len(part), len(new_chunks))
        crash_point("after-chroma")
        terms = iter(keyword_tokens([c.text for _a, c in new_chunks]))
        for article in to_embed:
            chunks = chunks_by_article[article.id]
            store.put_article(article, chunks, [next(terms) for _c in chunks])
        store.set_meta("fingerprint", fingerprint(settings))
        store.set_meta("backend", backend(settings))
        store.set_meta("generation", generation.name)
        store.set_meta("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        store.commit()
        rows = dict(store.chunk_terms())
        missing = [cid for cid, terms in rows.items() if terms is None]
        if missing:  # a store written before terms were kept
            found = keyword_tokens([store.chunk_text(cid) for cid in missing])
            rows.update(zip(missing, found, strict=True))
            store.set_terms([(cid, rows[cid] or []) for cid in missing])
            store.commit()
        analyse(store, report)  # who speaks where, which articles are one story
        store.commit()
        crash_point("after-store")
        build_keyword_index(generation, list(rows), [terms or [] for terms in rows.values()])
        crash_point("after-bm25")
        counts = (len(new_chunks), len(removed_ids), store.count_articles(), len(rows))
        if not settings.chroma_host:  # Chroma's writes of a first query happen here, not in readers
            first_query(collection)
        if collection.count() != len(rows):
            raise IndexStoreError(
                f"Chroma holds {collection.count()} chunks but the store {len(rows)}; "
                "the new index was not used. Run 'briefing index --rebuild'"
            )
    finally:
        store.close()
        client.close()
    fsync_tree(generation)
    crash_point("after-fsync")
    return counts


_BYTES_PER_CHUNK = 20_000
"""Disk a chunk takes in a generation: 17 KB measured on MultiHop-RAG (116 MB for 6,813 chunks:
its vector in Chroma's SQLite and HNSW files, its text in Chroma's full-text index, the store
and BM25), rounded up."""
_SLACK_BYTES = 4_000_000
"""Chroma's fixed files (its SQLite schema, an HNSW block) and SQLite journals."""


def _check_room(index_dir: Path, base: Path | None, new_chunks: int, settings: Settings) -> None:
    """Refuse to start writing a generation the disk has no room for (a copy of ``base`` and
    the new chunks), saying how much is needed, before anything is written."""
    copied = _tree_bytes(base) if base is not None else 0
    needed = copied + new_chunks * _BYTES_PER_CHUNK + _SLACK_BYTES
    free = shutil.disk_usage(index_dir).free
    if free < needed:
        raise IndexStoreError(
            f"Not enough disk space for a sync of {index_dir}: about {_mb(needed)} needed "
            f"({'a copy of the index, ' if base is not None else ''}{new_chunks:,} new chunks), "
            f"{_mb(free)} free; free some space or set BRIEFING_INDEX_DIR to a bigger disk. "
            "The index in use is unchanged."
        )


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (``shutil.copytree`` lists its errors as text)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, shutil.Error | sqlite3.OperationalError) and (
        "No space left" in str(exc) or "database or disk is full" in str(exc)
    )


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _chunk_all(
    settings: Settings, articles: Sequence[Article], report: Progress
) -> dict[str, list[Chunk]]:
    if not articles:
        return {}
    path = resolve_model_path(settings.embedding_model)
    window = max_seq_length(path)
    if window is not None and settings.chunk_tokens > window - 2:
        raise ConfigError(
            f"chunk_tokens is {settings.chunk_tokens}, but {settings.embedding_model} reads at "
            f"most {window - 2} word pieces per text; set BRIEFING_CHUNK_TOKENS to {window - 2} or less"
        )
    tokenizer = load_tokenizer(path)
    out: dict[str, list[Chunk]] = {}
    for n, article in enumerate(articles, 1):
        out[article.id] = chunk_article(
            article,
            tokenizer,
            max_tokens=settings.chunk_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )
        report("chunking", n, len(articles))
    return out


def _open_target_collection(
    settings: Settings, client: Any, store: ArticleStore, base: Path | None, generation: Path
) -> Any:
    if not settings.chroma_host:
        store.set_meta("collection", _collection_name(settings, generation))
        return get_collection(client, store.get_meta("collection"), create=True)
    # On a server, the new generation is a new collection, filled from the current one.
    name = _collection_name(settings, generation)
    target = get_collection(client, name, create=True)
    store.set_meta("collection", name)
    if base is not None:
        with ArticleStore(base, readonly=True) as old_store:
            source = get_collection(client, old_store.get_meta("collection"))
        _copy_vectors(source, target, client.get_max_batch_size())
    return target


def _remove_stale(index_dir: Path, current: Path | None, settings: Settings) -> None:
    """Delete every generation but the current one that no reader holds a lease on.

    A generation an open ``Index`` (in any process) still reads is kept; a later sync deletes
    it once that reader has moved to a newer one or closed.
    """
    for gen in list_generations(index_dir):
        if current is not None and gen.name == current.name:
            continue
        with unleased(gen) as free:
            if not free:
                logger.info("keeping %s: a reader still has it open", gen.name)
                continue
            why = (
                "superseded"
                if current is not None and gen.name < current.name
                else "left half-written by an interrupted sync"
            )
            logger.info("deleting %s (%s)", gen.name, why)
            _drop_generation(gen, settings)


def _drop_generation(generation: Path, settings: Settings) -> None:
    if settings.chroma_host:
        try:
            with ArticleStore(generation, readonly=True) as store:
                name = store.get_meta("collection")
        except sqlite3.Error as exc:  # a half-written generation may have no store yet
            logger.info(
                "%s has no readable store (%s); deleting its collections by name", generation, exc
            )
            name = None
        client = chroma_client(settings, generation)
        try:
            names = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
            prefix = f"{settings.collection}-{generation.name}-"
            for candidate in names:
                if candidate == name or candidate.startswith(prefix):
                    client.delete_collection(candidate)
        finally:
            client.close()
    crash_point("cleanup")
    try:
        shutil.rmtree(generation)
    except OSError as exc:  # the next sync tries again; the index in use is not affected
        logger.warning(
            "could not delete the old index generation %s (%s); the next sync tries again, "
            "or delete the folder by hand",
            generation,
            exc,
        )
