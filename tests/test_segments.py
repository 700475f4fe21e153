"""A sync writes what changed: segments, tombstones, merges, and the older layout converted.

On the fake embedder and real embedded Chroma stores. The reference for every check is an
index rebuilt from scratch over the same corpus: a segmented index must answer as it does.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import nullcontext
from pathlib import Path

import pytest

from assistant import Settings, open_index, sync_index
from assistant.generations import current_generation, point_current_at
from assistant.reader import Index
from assistant.segments import (
    DEAD_SHARE,
    MANIFEST_FILE,
    MERGE_FACTOR,
    Manifest,
    SegmentRef,
    list_segments,
    pick_merge,
)

from .fakes import HashEmbedder
from .test_index import assert_consistent
from .test_story import NoEmbedding

PIER = "The Sorrel Holm pier number {n} reopened on {day} after a storm cut its moorings."
QUERIES = (
    "When did the Sorrel Holm pier reopen?",
    "How many dockworkers stopped work at the Port of Calder Bay?",
    "tram line passengers",
)


def add_pier(settings: Settings, n: int, day: str = "Monday") -> None:
    path = settings.corpus / f"pier-{n}.md"
    path.write_text(PIER.format(n=n, day=day) + "\n", encoding="utf-8")


def among(settings: Settings, index: Index | None = None) -> list[list]:
    """The nearest chunks among a few articles (a source's, a period's) for ``QUERIES``."""
    embedder = HashEmbedder()
    with open_index(settings) if index is None else nullcontext(index) as index:
        few = {a.id for a in index.articles() if a.locator.startswith(("port-strike", "pier-"))}
        found = []
        for q in QUERIES:
            dense = index.dense_search(embedder.embed_query(q), 1_000, few | {"no-such-article"})
            found.append(sorted((-round(s, 5), cid) for cid, s in dense))
        return found


def searches(settings: Settings, index: Index | None = None) -> list[tuple[list, list]]:
    """Every chunk BM25 and the nearest-vector search find for ``QUERIES``, with its score,
    best first and ties by id (``k`` is above the chunks there are: no cut among ties), the
    nearest leaving out those sharing no word (the fake embedder's vectors tie there)."""
    embedder = HashEmbedder()
    with open_index(settings) if index is None else nullcontext(index) as index:
        found = []
        for q in QUERIES:
            words = sorted((-round(s, 5), cid) for cid, s in index.keywords.search(q, 1_000))
            dense = index.dense_search(embedder.embed_query(q), 1_000)
            near = sorted((-round(s, 5), cid) for cid, s in dense if s > 1e-6)
            found.append((words, near))
        return found


def rebuilt(settings: Settings, root: Path) -> Settings:
    """The same corpus indexed from scratch elsewhere."""
    fresh = settings.model_copy(update={"index_dir": root / "fresh-index"})
    sync_index(fresh, embedder=HashEmbedder())
    return fresh


def files(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.name != "opening.lock"
    }


# -- the merge policy (pure) ---------------------------------------------------------------------
def test_segments_of_one_tier_merge_once_there_are_enough():
    small = [SegmentRef(f"seg-{n:06d}", 10) for n in range(1, MERGE_FACTOR)]
    big = SegmentRef("seg-000100", 5_000)
    assert pick_merge([big, *small]) == []
    more = [*small, SegmentRef("seg-000099", 12)]
    assert pick_merge([big, *more]) == sorted(more, key=lambda s: s.name)


def test_a_mostly_removed_segment_is_written_again():
    big = SegmentRef("seg-000001", 1_000)
    assert pick_merge([big.without({"a": int(DEAD_SHARE * 1_000)})]) == []
    mostly = big.without({"a": int(DEAD_SHARE * 1_000) + 1})
    assert pick_merge([mostly]) == [mostly]
    assert pick_merge([big.without({"a": 1_000})]) == []  # nothing live: just left out


def test_removing_an_article_twice_counts_it_once():
    ref = SegmentRef("seg-000001", 20).without({"a": 3}).without({"a": 3, "b": 2})
    assert (ref.removed, ref.dead, ref.live) == (("a", "b"), 5, 15)


# -- syncs ---------------------------------------------------------------------------------------
def test_a_one_article_sync_writes_a_segment_and_a_manifest_only(fake_index_copy: Settings):
    settings = fake_index_copy
    index_dir = settings.index_dir
    before = {seg.name: files(seg) for seg in list_segments(index_dir)}
    add_pier(settings, 1)
    report = sync_index(settings, embedder=HashEmbedder())
    assert (report.added, report.chunks_added) == (1, 1)
    for name, old in before.items():  # the segments there before are not written again
        assert files(index_dir / name) == old
    manifest = Manifest.read(current_generation(index_dir))
    names = [s.name for s in manifest.segments]
    assert names[:-1] == list(before) and names[-1].startswith("seg-000002-")
    generation = current_generation(index_dir)
    assert sorted(p.name for p in generation.iterdir()) == [MANIFEST_FILE, "readers.lock"]
    assert_consistent(settings)


def test_changed_and_removed_articles_are_never_found_again(fake_index_copy: Settings, tmp_path):
    settings = fake_index_copy
    (settings.corpus / "tram-line.txt").unlink()
    strike = settings.corpus / "port-strike.md"
    strike.write_text(
        strike.read_text(encoding="utf-8").replace("1,400", "1,650"), encoding="utf-8"
    )
    report = sync_index(settings, embedder=HashEmbedder())
    assert (report.updated, report.removed) == (1, 1)
    manifest = Manifest.read(current_generation(settings.index_dir))
    assert len(manifest.segments[0].removed) == 2  # tombstones, not a rewrite
    assert_consistent(settings)
    fresh = rebuilt(settings, tmp_path)
    assert searches(settings) == searches(fresh)
    assert among(settings) == among(fresh) and any(among(fresh))
    with open_index(settings) as index:
        texts = [index.catalog.article_text(a) for a in index.catalog.articles]
        assert not any("tram" in t.lower() and "Riverside" in t for t in texts)
        hits = index.keyword_search("1,400 dockworkers", 50)
        assert hits and all(":" in cid for cid in hits)
        assert not any("1,400" in index.catalog.passage(cid, 0, {}).text for cid in hits)


def test_many_small_syncs_stay_few_segments_and_answer_as_a_rebuild(
    fake_index_copy: Settings, tmp_path: Path
):
    settings = fake_index_copy
    counts = []
    for n in range(1, 3 * MERGE_FACTOR + 2):
        add_pier(settings, n)
        if n % 3 == 0:  # and change one written before
            add_pier(settings, n - 1, day="Tuesday")
        sync_index(settings, embedder=HashEmbedder())
        counts.append(len(Manifest.read(current_generation(settings.index_dir)).segments))
    assert max(counts) <= 1 + 2 * (MERGE_FACTOR - 1)  # the first build, two tiers of small ones
    assert len(list_segments(settings.index_dir)) == counts[-1]  # merged ones are deleted
    assert_consistent(settings)
    fresh = rebuilt(settings, tmp_path)
    assert searches(settings) == searches(fresh)
    assert among(settings) == among(fresh) and any(among(fresh))


def test_compact_merges_every_segment_without_embedding(fake_index_copy: Settings, tmp_path):
    settings = fake_index_copy
    for n in range(1, 4):
        add_pier(settings, n)
        sync_index(settings, embedder=HashEmbedder())
    (settings.corpus / "pier-2.md").unlink()
    sync_index(settings, embedder=HashEmbedder())
    report = sync_index(settings, compact=True, embedder=NoEmbedding())
    assert (report.added, report.removed) == (0, 0)
    manifest = Manifest.read(current_generation(settings.index_dir))
    assert len(manifest.segments) == 1 and manifest.segments[0].dead == 0
    assert_consistent(settings)
    assert searches(settings) == searches(rebuilt(settings, tmp_path))
    again = sync_index(settings, compact=True, embedder=NoEmbedding())
    assert again.generation == report.generation  # one segment: nothing to do


def test_an_index_of_the_older_layout_is_converted_without_embedding(
    fake_index_copy: Settings, tmp_path: Path
):
    """Before segments, a generation folder held a whole index (store.sqlite, chroma/, bm25/,
    fingerprint format 1) — what a segment's folder holds, which is how it is made here."""
    settings = fake_index_copy
    index_dir = settings.index_dir
    (segment,) = list_segments(index_dir)
    old = index_dir / "gen-000009"
    shutil.copytree(segment, old)
    with sqlite3.connect(old / "store.sqlite") as db:
        (raw,) = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        fingerprint = {**json.loads(raw), "format": 1, "keyword": "bm25s-en-stopwords-snowball-v1"}
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'fingerprint'", (json.dumps(fingerprint),)
        )
        db.execute("DROP TABLE signatures")
        db.execute("DELETE FROM meta WHERE key = 'analysis'")
    (old / "keywords.npz").unlink()
    point_current_at(index_dir, old)
    with pytest.raises(Exception, match="format: 1 -> 2.*'briefing index'"):
        open_index(settings)

    report = sync_index(settings, embedder=NoEmbedding())
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert not old.exists() and len(list_segments(index_dir)) == 1
    assert_consistent(settings)
    assert searches(settings) == searches(rebuilt(settings, tmp_path))
    with open_index(settings) as index:
        assert index.catalog.stories is not None and index.speech()


def test_a_reader_keeps_the_segments_of_its_generation(fake_index_copy: Settings):
    settings = fake_index_copy
    reader = open_index(settings)
    first = searches(settings)
    (settings.corpus / "tram-line.txt").unlink()
    sync_index(settings, embedder=HashEmbedder())
    sync_index(settings, compact=True, embedder=NoEmbedding())  # its segment is merged away
    assert reader.segments[0].folder.exists()
    assert searches(settings, reader) == first
    reader.close()
    sync_index(settings, embedder=NoEmbedding())  # a no-op sync clears what no reader holds
    assert len(list_segments(settings.index_dir)) == 1


def test_filters_and_filtered_nearest_chunks_are_exact(fake_index: Settings):
    """The catalog's allowed articles are the articles its filters describe, one set per
    filter; a nearest search among them ranks every live chunk of theirs by cosine, whether it
    scores their rows alone or all rows (more than one in ``_GATHER_SHARE``)."""
    import random

    import numpy as np

    from assistant.reader import _GATHER_SHARE
    from assistant.types import Filters

    embedder = HashEmbedder()
    rng = random.Random(3)
    with open_index(fake_index) as index:
        catalog = index.catalog
        articles = list(catalog.articles.values())
        times = sorted({a.published_ts for a in articles if a.published_ts is not None})
        sources = sorted({a.source for a in articles if a.source})
        chunks = index.chunks()
        vectors = {c.id: np.asarray(embedder.embed([c.text])[0]) for c in chunks}
        checked: dict[bool, int] = {}
        for _ in range(40):
            start = rng.choice([None, *times])
            end = rng.choice([None, *times])
            picked = tuple(rng.sample(sources, rng.randrange(0, 3)))
            named = tuple(a.id for a in rng.sample(articles, 4)) if rng.random() < 0.3 else ()
            filters = Filters(sources=picked, article_ids=named, start_ts=start, end_ts=end)
            expected = {
                a.id
                for a in articles
                if (not picked or a.source in picked)
                and (not named or a.id in named)
                and (start is None or (a.published_ts is not None and a.published_ts >= start))
                and (end is None or (a.published_ts is not None and a.published_ts < end))
            }
            allowed = catalog.allowed_articles(filters)
            if filters.is_empty():
                assert allowed is None
                continue
            assert allowed == expected
            assert catalog.allowed_articles(filters) is allowed
            query = np.asarray(embedder.embed_query(rng.choice(QUERIES)))
            found = index.dense_search(query, 8, allowed)
            inside = [c for c in chunks if c.article_id in expected]
            cosine = {
                c.id: float(vectors[c.id] @ query)
                / float(np.linalg.norm(vectors[c.id]) * np.linalg.norm(query) or 1.0)
                for c in inside
            }
            best = sorted(cosine.values(), reverse=True)[:8]
            assert [round(s, 4) for _, s in found] == [round(s, 4) for s in best]
            assert all(abs(cosine[cid] - s) < 1e-4 for cid, s in found)
            many = len(inside) * _GATHER_SHARE >= len(chunks)
            checked[many] = checked.get(many, 0) + bool(inside)
        assert checked.get(True) and checked.get(False), checked
