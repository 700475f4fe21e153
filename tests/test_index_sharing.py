"""Readers and syncs in other processes, a full disk, a read-only index (issue 10, 5-7).

On the fake embedder and a real Chroma store. Syncs run in a separate process, as
`briefing index` beside `briefing serve` would; the disk tests mount a small or read-only
tmpfs, so they need root (as CI has) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, IndexStoreError, Settings, sync_index
from assistant.generations import current_generation, list_generations
from assistant.segments import Manifest

from .conftest import FIXTURE_ARTICLES
from .fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
PIER = "The Sorrel Holm pier number {n} reopened on Monday after a storm."


def sync_elsewhere(settings: Settings) -> str:
    """Sync in another process (the fake embedder); return its summary line."""
    code = textwrap.dedent(
        f"""
        from assistant import Settings, sync_index
        from tests.fakes import HashEmbedder
        settings = Settings(corpus={str(settings.corpus)!r}, index_dir={str(settings.index_dir)!r})
        print(sync_index(settings, embedder=HashEmbedder()).summary())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def add_pier(settings: Settings, n: int) -> None:
    (settings.corpus / f"pier-{n}.md").write_text(PIER.format(n=n) + "\n", encoding="utf-8")


def pier_quotes(assistant: Assistant) -> list[str]:
    answer = assistant.ask("When did the Sorrel Holm pier reopen?")
    return sorted(q.text for q in answer.quotes if "Sorrel Holm" in q.text)


@pytest.mark.parametrize("asked_first", [False, True], ids=["not-asked-yet", "asked"])
def test_a_reader_keeps_a_whole_index_and_moves_to_what_others_sync(
    fake_index_copy: Settings, asked_first: bool
):
    reader = Assistant(fake_index_copy, HashEmbedder())
    first = reader.index.generation
    if asked_first:
        assert pier_quotes(reader) == []
    for n in range(2):  # two syncs: the second would have deleted the reader's generation
        add_pier(fake_index_copy, n)
        assert "1 added" in sync_elsewhere(fake_index_copy)
    gens = [g.name for g in list_generations(fake_index_copy.index_dir)]
    kept = [first.parent / seg.name for seg in Manifest.read(first).segments]
    assert first.name in gens and all(seg.is_dir() for seg in kept)  # a reader holds them
    # the next question moves to the newest generation and finds both new articles
    assert pier_quotes(reader) == [PIER.format(n=0), PIER.format(n=1)]
    assert reader.index.generation == current_generation(fake_index_copy.index_dir)
    reader.close()
    sync_elsewhere(fake_index_copy)  # nothing to add; the released generation goes
    assert [g.name for g in list_generations(fake_index_copy.index_dir)] == [
        reader.index.generation.name
    ]


def test_an_assistant_syncing_itself_keeps_the_generation_it_reads_until_it_moves(
    fake_index_copy: Settings,
):
    with Assistant(fake_index_copy, HashEmbedder()) as reader:
        old = reader.index
        add_pier(fake_index_copy, 0)
        report = reader.sync()
        assert report.added == 1 and old.closed and reader.index is not old
        # loaded before the questions moved to it: none of them waits for the loading
        new = reader.index
        assert new._catalog is not None and new._keywords is not None
        assert all("_vectors" in vars(segment) for segment in new.segments)
        add_pier(fake_index_copy, 1)
        third = reader.sync()
        # the one it read during the sync stays until the next sync; the one before is gone
        gens = [g.name for g in list_generations(fake_index_copy.index_dir)]
        assert gens == [report.generation, third.generation]
        assert len(pier_quotes(reader)) == 2


def test_a_reader_loads_what_another_process_synced_before_its_questions_move(
    fake_index_copy: Settings,
):
    with Assistant(fake_index_copy, HashEmbedder()) as reader:
        old = reader.index
        add_pier(fake_index_copy, 0)
        sync_elsewhere(fake_index_copy)
        assert reader.refresh()
        new = reader.index
        assert new is not old and old.closed
        assert new._catalog is not None and new._keywords is not None
        assert pier_quotes(reader) == [PIER.format(n=0)]


# -- disks -------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs (root only), unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small disk needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)])
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` up to ``leave`` bytes free."""
    filler = disk / f"filler-{uuid.uuid4().hex}"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        f.truncate(0)
        f.write(b"\0" * max(0, free - leave))
    return filler


def built_on(disk: Path) -> Settings:
    shutil.copytree(FIXTURE_ARTICLES, disk / "corpus")
    settings = Settings(
        corpus=disk / "corpus",
        index_dir=disk / "index",
        refusal={"min_similarity": 0.15, "min_named_similarity": 0.05},
    )
    sync_index(settings, embedder=HashEmbedder())
    return settings


def test_a_sync_without_room_is_refused_before_it_writes(small_disk: Path):
    settings = built_on(small_disk)
    before = list_generations(settings.index_dir)
    add_pier(settings, 0)
    filler = fill(small_disk, leave=1_000_000)
    with pytest.raises(IndexStoreError) as refused:
        sync_index(settings, embedder=HashEmbedder())
    message = str(refused.value)
    assert "Not enough disk space" in message and "MB needed" in message and "MB free" in message
    assert list_generations(settings.index_dir) == before
    with Assistant(settings, HashEmbedder()) as assistant:  # the index in use still answers
        assert not assistant.ask("How many dockworkers stopped work at Calder Bay?").refused
    filler.unlink()
    assert sync_index(settings, embedder=HashEmbedder()).added == 1


def test_a_disk_that_fills_during_a_sync_is_cleaned_up(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
):
    settings = built_on(small_disk)
    before = list_generations(settings.index_dir)
    add_pier(settings, 0)
    filler = fill(small_disk, leave=200_000)  # less than a copy of the index
    monkeypatch.setattr("assistant.writer._check_room", lambda *args: None)  # as if misjudged
    with pytest.raises(IndexStoreError, match="filled up during the sync") as failed:
        sync_index(settings, embedder=HashEmbedder())
    cause = str(failed.value.__cause__)
    assert "No space left" in cause or "database or disk is full" in cause
    assert list_generations(settings.index_dir) == before  # the half-written one is gone
    with Assistant(settings, HashEmbedder()) as assistant:
        assert not assistant.ask("How many dockworkers stopped work at Calder Bay?").refused
    filler.unlink()
    monkeypatch.undo()
    assert sync_index(settings, embedder=HashEmbedder()).added == 1


def test_a_read_only_index_answers_and_refuses_to_sync_clearly(small_disk: Path):
    settings = built_on(small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with Assistant(settings, HashEmbedder()) as assistant:
        answer = assistant.ask("How many dockworkers stopped work at Calder Bay?")
        assert not answer.refused
        for q in answer.quotes:
            assert assistant.article(q.article_id).text[q.start : q.end] == q.text
    with pytest.raises(IndexStoreError, match="read-only"):
        sync_index(settings, embedder=HashEmbedder())
