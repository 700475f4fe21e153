"""Write the index: bring it in line with the corpus, one new generation per change.

A generation is a manifest listing segments (see ``segments`` for the layout and why). A sync
never writes into a segment or a generation in use. It writes the new and changed articles
into a new segment, marks the removed and changed ones as removed from their old segments in
a new manifest, merges small or mostly removed segments into one (copying their vectors:
nothing is embedded again), updates the wire-story groups, writes the manifest into a new
``gen-N+1`` folder, and only then points ``CURRENT`` at it with an atomic rename. A run killed
at any moment leaves ``CURRENT`` naming a complete index; the next run deletes the generation
and segments it left half-written, so no chunk is ever duplicated or orphaned. Generations a
reader still holds (and their segments) are kept until it moves on.

What a sync writes grows with what changed: a one-article sync of the 609-article MultiHop-RAG
index writes its segment and a manifest, not a copy of the index (``benchmarks/scale.py``).
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .analysis import (
    GROUPS_KEY,
    VERSION,
    VERSION_KEY,
    analysed_with_this_version,
    groups_meta,
    manifest_groups,
)
from .chunking import chunk_article
from .config import Settings
from .corpus import load_corpus, read_key
from .embedding import (
    Embedder,
    SentenceEmbedder,
    load_tokenizer,
    max_seq_length,
    resolve_model_path,
)
from .errors import ConfigError, CorpusError, IndexStoreError
from .file_memory import FileMemory, trusted
from .generations import (
    LEASE_FILE,
    crash_point,
    current_generation,
    fsync_dir,
    list_generations,
    next_generation,
    point_current_at,
    sync_lock,
    unleased,
)
from .onnx_encoder import LightQueries, export_for_queries
from .reader import backend, check_compatible, chroma_client, fingerprint, read_meta
from .segment_writer import SegmentWriter, copy_live
from .segments import (
    Manifest,
    SegmentRef,
    has_manifest,
    list_segments,
    next_segment,
    pick_merge,
)
from .store import ArticleStore
from .syndication import Syndication, update_groups
from .text import keyword_tokens
from .types import Article, Chunk, CorpusLoad, IndexReport

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: "chunking", "embedding", "writing" or "merging"."""


# -- the index in use, as the sync found it ------------------------------------------------------
@dataclass
class _Base:
    """The generation in use: its manifest and where each of its articles lives."""

    manifest: Manifest
    articles: dict[str, tuple[str, str]]
    """article id -> (content hash, locator) of every live article."""
    holder: dict[str, str]
    """article id -> the segment holding it."""
    chunks: dict[str, int]
    """article id -> its number of chunks."""
    stale: list[SegmentRef]
    """Segments to write again: made by another analysis version, or an older layout's."""


def _read_base(settings: Settings, generation: Path) -> _Base:
    """The generation in use. One of the older layout (a folder holding a whole index) is
    read as one stale segment: this sync converts it, copying its vectors."""
    if has_manifest(generation):
        manifest = Manifest.read(generation)
        check_compatible(manifest.meta, settings, generation)
    else:
        meta = read_meta(generation)
        built = dict(meta.get("fingerprint") or {})
        if built.get("format") == 1:  # the layout before segments: converted as it stands
            built["format"] = fingerprint(settings)["format"]
        check_compatible({**meta, "fingerprint": built}, settings, generation)
        with ArticleStore(generation, readonly=True) as store:
            count = store.count_chunks()
        manifest = Manifest((SegmentRef(generation.name, count),), {})
    base = _Base(manifest, {}, {}, {}, [])
    for ref in manifest.segments:
        with ArticleStore(generation.parent / ref.name, readonly=True) as store:
            removed = set(ref.removed)
            for aid, row in store.manifest().items():
                if aid not in removed:
                    base.articles[aid], base.holder[aid] = row, ref.name
            counts = store.chunk_counts()  # of the live copy: a changed article is in two
            base.chunks.update((aid, n) for aid, n in counts.items() if aid not in removed)
            if not has_manifest(generation) or not analysed_with_this_version(store):
                base.stale.append(ref)
    return base


@dataclass(frozen=True)
class _Plan:
    added: list[Article]
    updated: list[Article]
    removed: list[str]


def _plan(loaded: CorpusLoad, old: dict[str, tuple[str, str]]) -> _Plan:
    articles, problems = loaded.articles, loaded.problems
    new = {a.id for a in articles} | set(loaded.unchanged)  # unchanged: files not read again
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


# -- sync ------------------------------------------------------------------------------------
def sync_index(
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    compact: bool = False,
    reread: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Bring the index in line with the corpus: add new, re-embed changed, delete removed.

    ``compact`` merges every segment into one (vectors copied, nothing embedded again); a
    sync merges small and mostly removed segments by itself. Only files whose size or times
    changed since the last sync are read (``file_memory``), unless ``reread``. An unchanged
    corpus is a no-op (no model is loaded) unless ``compact`` finds more than one segment.
    Files that cannot be read are listed in ``report.problems`` and everything else is still
    indexed. Raises ``IndexMismatchError``
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
        base = _read_base(settings, current) if current is not None and not rebuild else None
        old = base.articles if base else {}
        memory = FileMemory(index_dir, read_key(settings.corpus, settings.max_file_bytes))
        loaded = load_corpus(
            settings.corpus,
            max_file_bytes=settings.max_file_bytes,
            prefer=old.keys(),
            remembered={} if reread or not old else trusted(memory.recall(), old),
        )
        plan = _plan(loaded, old)
        report = dict(
            added=len(plan.added),
            updated=len(plan.updated),
            removed=len(plan.removed),
            skipped=sum(1 for p in loaded.problems if p.skipped),
            unchanged=len(loaded.articles)
            + len(loaded.unchanged)
            - len(plan.added)
            - len(plan.updated),
            problems=loaded.problems,
        )
        changed = (
            plan.added
            or plan.updated
            or plan.removed
            or (base and base.stale)
            or (compact and base and len(base.manifest.segments) > 1)
        )
        if current is not None and base is not None and not changed:
            done = IndexReport(
                **report,
                total_articles=len(base.articles),
                total_chunks=base.manifest.total_chunks(),
                seconds=time.perf_counter() - started,
                generation=current.name,
            )
            logger.info("%s unchanged, still %s: %s", index_dir, current.name, done.summary())
            memory.keep(loaded.files)
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
                settings, generation, base, plan, progress, embedder, compact
            )
        except BaseException as exc:  # a full disk, a failing model, Ctrl+C: leave no half
            logger.warning("sync failed (%r); deleting what it wrote", exc)
            _remove_stale(index_dir, current, settings)
            if _disk_full(exc):
                raise IndexStoreError(
                    f"The disk of {index_dir} filled up during the sync; what it wrote was "
                    "deleted and the index in use is unchanged. Free some space and sync again"
                ) from exc
            raise
        point_current_at(index_dir, generation)
        memory.keep(loaded.files)
        _remove_stale(index_dir, generation, settings)
        if _the_model(embedder):  # questions in a fresh process then skip torch; the model's
            # files are read to check the export only when the index was built from nothing
            export_for_queries(settings, check=base is None)
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
    base: _Base | None,
    plan: _Plan,
    progress: Progress | None,
    embedder: Embedder | None,
    compact: bool = False,
) -> tuple[int, int, int, int]:
    """Write the segments of a change and a new ``generation`` naming them; return its counts
    (chunks added, chunks removed, articles, chunks)."""
    report = progress or (lambda stage, done, total: None)
    index_dir = generation.parent
    to_embed = [*plan.added, *plan.updated]
    chunks_by_article = _chunk_all(settings, to_embed, report)
    new_chunks = [(a, c) for a in to_embed for c in chunks_by_article[a.id]]

    segments = list(base.manifest.segments) if base else []
    gone = [*plan.removed, *(a.id for a in plan.updated)] if base else []
    if base is not None:  # removed and changed articles: removed from the segment holding them
        holders = {base.holder[aid] for aid in gone}
        for name in holders:
            mine = {aid: base.chunks.get(aid, 0) for aid in gone if base.holder[aid] == name}
            segments = [s.without(mine) if s.name == name else s for s in segments]
    merge = [s for s in segments if s.live > 0] if compact else pick_merge(segments)
    for stale in base.stale if base else ():
        ref = next(s for s in segments if s.name == stale.name)
        if ref not in merge:
            merge.append(ref)
    _check_room(index_dir, len(new_chunks) + sum(s.live for s in merge), settings)

    generation.mkdir()
    (generation / LEASE_FILE).touch()  # there before any reader, also on a disk made read-only
    crash_point("generation-made")
    written: list[SegmentRef] = []
    if to_embed:
        written.append(
            _write_new(settings, index_dir, to_embed, chunks_by_article, report, embedder)
        )
    if merge:
        written.append(_merge(settings, index_dir, merge, [s.name for s in written], report))
    merged = {s.name for s in merge}
    segments = [s for s in segments if s.name not in merged and s.live > 0] + written

    previous = manifest_groups(base.manifest.meta) if base else ()
    if base is None or base.manifest.meta.get(VERSION_KEY) != VERSION:
        previous, touched = (), [a for s in segments for a in _live_ids(index_dir, s)]
    else:
        touched = [a.id for a in to_embed]
    groups = _groups(index_dir, segments, previous, touched, gone)
    articles = (len(base.articles) if base else 0) + len(plan.added) - len(plan.removed)
    meta = {
        "fingerprint": fingerprint(settings),
        "backend": backend(settings),
        "generation": generation.name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        VERSION_KEY: VERSION,
        GROUPS_KEY: groups_meta(groups),
    }
    manifest = Manifest(tuple(segments), meta)
    manifest.write(generation)
    fsync_dir(generation)
    fsync_dir(index_dir)
    crash_point("manifest")
    removed_chunks = sum(base.chunks.get(aid, 0) for aid in gone) if base else 0
    return len(new_chunks), removed_chunks, articles, manifest.total_chunks()


def _write_new(
    settings: Settings,
    index_dir: Path,
    articles: list[Article],
    chunks_by_article: dict[str, list[Chunk]],
    report: Progress,
    embedder: Embedder | None,
) -> SegmentRef:
    """A segment of the new and changed articles, embedded here."""
    new_chunks = [c for a in articles for c in chunks_by_article[a.id]]
    embedder = embedder or SentenceEmbedder(
        settings.embedding_model, batch_size=settings.embed_batch_size
    )
    done = 0

    def embedded(n: int) -> None:
        nonlocal done
        done += n
        report("embedding", done, len(new_chunks))

    report("embedding", 0, len(new_chunks))
    texts = [c.text for c in new_chunks]
    vectors = iter(embedder.embed(texts, progress=embedded) if texts else [])
    terms = iter(keyword_tokens(texts) if texts else [])
    writer = SegmentWriter(settings, next_segment(index_dir))
    try:
        report("writing", 0, len(new_chunks))
        written = 0
        for article in articles:
            chunks = chunks_by_article[article.id]
            writer.add(
                article, chunks, [next(vectors) for _c in chunks], [next(terms) for _c in chunks]
            )
            written += len(chunks)
            report("writing", written, len(new_chunks))
        return writer.finish()
    finally:
        writer.close()


def _merge(
    settings: Settings,
    index_dir: Path,
    merge: Sequence[SegmentRef],
    taken: Sequence[str],
    report: Progress,
) -> SegmentRef:
    """One segment holding the live articles of the ``merge`` segments (vectors copied)."""
    total = sum(len(_live_ids(index_dir, s)) for s in merge)
    logger.info("merging %s (%d articles)", ", ".join(s.name for s in merge), total)
    writer = SegmentWriter(settings, next_segment(index_dir, taken))
    done = 0

    def copied(n: int) -> None:
        nonlocal done
        done += n
        report("merging", done, total)

    try:
        for ref in merge:
            copy_live(settings, writer, index_dir / ref.name, frozenset(ref.removed), copied)
        ref = writer.finish()
    finally:
        writer.close()
    crash_point("merged")
    return ref


def _live_ids(index_dir: Path, segment: SegmentRef) -> list[str]:
    with ArticleStore(index_dir / segment.name, readonly=True) as store:
        removed = set(segment.removed)
        return [aid for aid in store.manifest() if aid not in removed]


def _groups(
    index_dir: Path,
    segments: Sequence[SegmentRef],
    previous: Sequence[Syndication],
    touched: Sequence[str],
    gone: Sequence[str],
) -> tuple[Syndication, ...]:
    """The wire-story groups after the change, from the stored signatures; only the texts of
    articles the change touches are read (``syndication.update_groups``)."""
    signatures = {}
    where: dict[str, SegmentRef] = {}
    for segment in segments:
        with ArticleStore(index_dir / segment.name, readonly=True) as store:
            removed = set(segment.removed)
            for aid, minhash in (store.signatures() or {}).items():
                if aid not in removed:
                    signatures[aid] = minhash
            for aid in store.manifest():
                if aid not in removed:
                    where[aid] = segment

    def article(article_id: str) -> Article:
        with ArticleStore(index_dir / where[article_id].name, readonly=True) as store:
            found = store.article(article_id)
        assert found is not None, article_id
        return found

    return update_groups(previous, signatures, touched, gone, article)


_BYTES_PER_CHUNK = 20_000
"""Disk a chunk takes in a segment: 17 KB measured on MultiHop-RAG (116 MB for 6,813 chunks:
its vector in Chroma's SQLite and HNSW files, its text in Chroma's full-text index, the store
and BM25), rounded up."""
_SLACK_BYTES = 4_000_000
"""Chroma's fixed files (its SQLite schema, an HNSW block) and SQLite journals."""


def _check_room(index_dir: Path, chunks: int, settings: Settings) -> None:
    """Refuse to start a sync the disk has no room for (its new and merged chunks), saying
    how much is needed, before anything is written."""
    needed = chunks * _BYTES_PER_CHUNK + _SLACK_BYTES
    free = shutil.disk_usage(index_dir).free
    if free < needed:
        raise IndexStoreError(
            f"Not enough disk space for a sync of {index_dir}: about {_mb(needed)} needed "
            f"({chunks:,} chunks to write), {_mb(free)} free; free some space or set "
            "BRIEFING_INDEX_DIR to a bigger disk. The index in use is unchanged."
        )


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (SQLite and Chroma say so only in words)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return "No space left" in str(exc) or "database or disk is full" in str(exc)


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


# -- what no generation in use needs -------------------------------------------------------------
def _remove_stale(index_dir: Path, current: Path | None, settings: Settings) -> None:
    """Delete every generation but the current one that no reader holds a lease on, then every
    segment no remaining generation lists.

    A generation an open ``Index`` (in any process) still reads is kept, with its segments; a
    later sync deletes them once that reader has moved to a newer one or closed.
    """
    kept: list[Path] = []
    for gen in list_generations(index_dir):
        if current is not None and gen.name == current.name:
            kept.append(gen)
            continue
        with unleased(gen) as free:
            if not free:
                logger.info("keeping %s: a reader still has it open", gen.name)
                kept.append(gen)
                continue
            why = (
                "superseded"
                if current is not None and gen.name < current.name
                else "left half-written by an interrupted sync"
            )
            logger.info("deleting %s (%s)", gen.name, why)
            _drop_folder(gen, settings)
    listed: set[str] = set()
    for gen in kept:
        if has_manifest(gen):
            listed |= Manifest.read(gen).names
    for segment in list_segments(index_dir):
        if segment.name not in listed:
            logger.info("deleting %s (no generation lists it)", segment.name)
            _drop_folder(segment, settings)


def _drop_folder(folder: Path, settings: Settings) -> None:
    """Delete a segment, or a generation (of the older layout: a whole index), with the
    collection it has on a Chroma server."""
    _drop_collections(folder, settings)
    crash_point("cleanup")
    try:
        shutil.rmtree(folder)
    except OSError as exc:  # the next sync tries again; the index in use is not affected
        logger.warning(
            "could not delete %s (%s); the next sync tries again, or delete the folder by hand",
            folder,
            exc,
        )


def _drop_collections(folder: Path, settings: Settings) -> None:
    if not settings.chroma_host:
        return
    try:
        with ArticleStore(folder, readonly=True) as store:
            name = store.get_meta("collection")
    except sqlite3.Error as exc:  # a half-written segment may have no store yet
        logger.info("%s has no readable store (%s); deleting its collections by name", folder, exc)
        name = None
    client = chroma_client(settings, folder)
    try:
        names = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
        prefix = f"{settings.collection}-{folder.name}-"
        for candidate in names:
            if candidate == name or candidate.startswith(prefix):
                client.delete_collection(candidate)
    finally:
        client.close()
