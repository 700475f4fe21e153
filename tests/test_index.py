"""The index with the real bundled model and a real embedded Chroma store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import IndexMismatchError, IndexMissingError, Settings, open_index, sync_index
from assistant.generations import current_generation
from assistant.reader import Index

pytestmark = pytest.mark.slow


def live_vectors(index: Index, include: list[str]) -> dict[str, list]:
    """What the Chroma collections of the index in use hold of its live chunks, checking on the
    way that each segment's collection holds exactly the chunks of its store, once each."""
    got: dict[str, list] = {key: [] for key in ("ids", *include)}
    for segment in index.segments:
        rows = segment.collection.get(include=include)
        ids = rows["ids"]
        assert len(ids) == len(set(ids)), f"a chunk is twice in {segment.folder.name}'s Chroma"
        stored = {c.id for c in segment.store.chunks()}
        assert set(ids) == stored, f"orphan or missing chunks in {segment.folder.name}'s Chroma"
        for n, cid in enumerate(ids):
            if cid not in segment.dead_chunks:
                for key in got:
                    got[key].append(rows[key][n] if key != "ids" else cid)
    return got


def assert_consistent(settings: Settings) -> dict[str, str]:
    """Chroma, BM25 and the article stores hold exactly the same live chunks, each at its
    offsets, none twice."""
    with open_index(settings) as index:
        chunks = {c.id: c for c in index.chunks()}
        got = live_vectors(index, ["documents", "metadatas"])
        assert len(got["ids"]) == len(set(got["ids"])), "duplicate chunks in Chroma"
        assert set(got["ids"]) == set(chunks), "orphan or missing chunks in Chroma"
        articles = {a.id: a for a in index.articles()}
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            article = articles[meta["article_id"]]
            assert article.text[meta["start"] : meta["end"]] == doc == chunks[cid].text
        assert sorted(index.keywords.ids) == sorted(chunks)
        assert len(chunks) == index.count_chunks() == len(index.catalog.chunks)
        return {a.locator: a.id for a in articles.values()}


def test_build_then_noop(settings: Settings):
    report = sync_index(settings)
    assert (report.added, report.updated, report.removed, report.skipped) == (6, 0, 0, 0)
    assert report.total_articles == 6 and report.total_chunks == report.chunks_added >= 6
    locators = assert_consistent(settings)
    assert "wire.jsonl#https://example.org/" not in locators  # records are keyed by url
    assert any(loc.startswith("wire.jsonl#") for loc in locators)

    again = sync_index(settings)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 6)
    assert again.generation == report.generation
    assert (again.added, again.updated, again.removed) == (0, 0, 0)


def test_incremental_add_change_delete(settings: Settings, corpus_dir: Path):
    first = sync_index(settings)
    with open_index(settings) as index:
        before = {a.locator: a for a in index.articles()}
    (corpus_dir / "tram-line.txt").unlink()
    md = corpus_dir / "port-strike.md"
    md.write_text(
        md.read_text(encoding="utf-8") + "\nUnion leaders met again on Friday.\n", encoding="utf-8"
    )
    (corpus_dir / "new.md").write_text(
        "---\ntitle: Library reopens\nsource: Town Crier\npublished: 2023-11-20\n---\n"
        "The central library reopened on Monday after a two-year renovation. "
        "Readers queued from dawn, the librarian said.\n",
        encoding="utf-8",
    )
    report = sync_index(settings)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 4)
    assert report.generation != first.generation
    locators = assert_consistent(settings)
    assert "tram-line.txt" not in locators and "new.md" in locators
    with open_index(settings) as index:
        changed = index.article(locators["port-strike.md"])
        assert changed.text.endswith("Union leaders met again on Friday.")
        assert changed.id == before["port-strike.md"].id  # same file, same id
        new = index.article(locators["new.md"])
        assert new.published == "2023-11-20T00:00:00+00:00" and new.source == "Town Crier"
        # the unchanged articles were not re-chunked: their chunk ids are the same
        wildfire = [c.id for c in index.chunks() if c.article_id == before["wildfire.html"].id]
        assert wildfire and all(
            cid.startswith(before["wildfire.html"].id + ":") for cid in wildfire
        )
    assert report.chunks_added < first.total_chunks  # only the new and the changed article


def test_open_missing_index_says_how_to_build(settings: Settings):
    with pytest.raises(IndexMissingError, match="briefing index"):
        open_index(settings)


def test_other_settings_are_detected_and_rebuild_fixes_it(settings: Settings):
    sync_index(settings)
    other = settings.model_copy(update={"chunk_tokens": 64})
    with pytest.raises(IndexMismatchError, match=r"chunk_tokens: 254 -> 64.*--rebuild"):
        open_index(other)
    with pytest.raises(IndexMismatchError):
        sync_index(other)
    report = sync_index(other, rebuild=True)
    assert (
        report.added == 6
        and report.total_chunks
        > sync_index(
            settings.model_copy(update={"index_dir": settings.index_dir.parent / "index2"})
        ).total_chunks
    )
    with open_index(other) as index:
        assert max(c.n_tokens for c in index.chunks()) <= 64


def test_bad_files_are_reported_and_the_rest_indexed(settings: Settings, corpus_dir: Path):
    sync_index(settings)
    # a file that was indexed goes bad: its indexed version is kept, not deleted
    (corpus_dir / "tram-line.txt").write_bytes(b"Tram \xff\xfe broken")
    (corpus_dir / "empty.md").write_text("", encoding="utf-8")
    (corpus_dir / "notes.pdf").write_bytes(b"%PDF-1.4")
    (corpus_dir / "copy.md").write_text(
        (corpus_dir / "port-strike.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (corpus_dir / "fresh.txt").write_text(
        "Fresh headline\nA ferry service resumed on Tuesday.\n", encoding="utf-8"
    )
    report = sync_index(settings)
    reasons = {p.path: p.reason for p in report.problems if p.skipped}
    assert set(reasons) == {"tram-line.txt", "empty.md", "notes.pdf", "copy.md"}
    assert "UTF-8" in reasons["tram-line.txt"] and ".pdf" in reasons["notes.pdf"]
    assert (report.added, report.removed, report.skipped) == (1, 0, 4)
    locators = assert_consistent(settings)
    assert {"tram-line.txt", "fresh.txt"} <= set(locators)


def test_a_failed_run_leaves_the_index_in_use_untouched(settings: Settings, corpus_dir: Path):
    sync_index(settings)
    before = current_generation(settings.index_dir)

    class Exploding:
        def embed(self, texts, progress=None):
            raise RuntimeError("disk on fire")

    (corpus_dir / "fresh.txt").write_text(
        "Fresh headline\nA ferry service resumed.\n", encoding="utf-8"
    )
    with pytest.raises(RuntimeError):
        sync_index(settings, embedder=Exploding())
    assert current_generation(settings.index_dir) == before
    assert list(settings.index_dir.glob("gen-*")) == [before]  # the half-written one is gone
    assert "fresh.txt" not in assert_consistent(settings)
    report = sync_index(settings)
    assert report.added == 1
    assert "fresh.txt" in assert_consistent(settings)
    gens = sorted(p.name for p in settings.index_dir.glob("gen-*"))
    assert gens == [report.generation]  # no reader had the old one open


def test_cli_exit_status_and_summary(
    settings: Settings, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from assistant.cli import EXIT_ERROR, EXIT_OK, EXIT_SKIPPED, main

    paths = ["--corpus", str(corpus_dir), "--index", str(settings.index_dir), "-q"]
    assert main(["index", *paths]) == EXIT_OK
    assert "6 added, 0 updated, 0 removed, 0 skipped" in capsys.readouterr().out
    (corpus_dir / "notes.pdf").write_bytes(b"%PDF-1.4")
    assert main(["index", *paths]) == EXIT_SKIPPED
    captured = capsys.readouterr()
    assert "skipped: notes.pdf: unsupported extension '.pdf'" in captured.err
    assert "0 added, 0 updated, 0 removed, 1 skipped, 6 unchanged" in captured.out
    missing = ["--corpus", str(tmp_path / "nowhere"), "--index", str(tmp_path / "i2")]
    assert main(["index", *missing]) == EXIT_ERROR
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "i2").exists()  # nothing made on disk for a bad corpus path


def test_what_failed_to_read_keeps_its_articles_and_what_must_not_be_indexed_goes():
    from assistant.types import Article, CorpusLoad, Problem
    from assistant.writer import _plan

    old = {
        "a": ("h", "notes/a.md"),
        "b": ("h", "wire.jsonl#b"),
        "c": ("h", "link.txt"),
        "d": ("h", "gone.md"),
    }
    problems = [
        Problem("notes", "cannot read folder: Permission denied; check permissions"),
        Problem("wire.jsonl", "cannot read it: Input/output error"),
        Problem("link.txt", "links outside the corpus folder to /etc/passwd", forget=True),
    ]
    new = (Article(id="e", locator="e.md", title="E", text="E."),)
    plan = _plan(CorpusLoad(new, tuple(problems)), old)
    assert [a.id for a in plan.added] == ["e"]
    assert sorted(plan.removed) == ["c", "d"]  # the link and the deleted file; a, b are kept
    # An article of a file not read again (its stamp unchanged) is as the index holds it.
    plan = _plan(CorpusLoad(new, tuple(problems), unchanged=("d",)), old)
    assert sorted(plan.removed) == ["c"]
