"""kill -9 of `briefing index` at any stage of a sync never leaves a half-written index in use.

Each case runs a real `briefing index` process that kills itself with SIGKILL at one named stage
(``BRIEFING_CRASH_AT``, see ``assistant.generations.crash_point``). Afterwards ``CURRENT`` must
name a complete generation that answers (or none, when the very first build dies before its
swap), the next sync must complete, and the SQLite store, Chroma and the BM25 index must hold
the same chunks, none twice, as many per article as a sync that was never killed.

The fixture index is built once and copied per case. Most cases delete an article, which gives
every stage work (Chroma and store deletes, a new BM25 index, the swap, deleting the oldest
generation) and needs no model in the killed process (about 2 s a case); one case changes an
article, so that the process dies while Chroma holds new chunks the store lacks (about 10 s: it
loads the model).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant import IndexMissingError, Settings, open_index, sync_index
from assistant.api import Assistant
from assistant.generations import CRASH_ENV, CRASH_POINTS, current_generation, list_generations

from .conftest import FIXTURE_ARTICLES
from .test_index import assert_consistent, live_vectors

pytestmark = pytest.mark.slow

REMOVED = "rate-decision.md"
CHANGED = "tram-line.txt"
FIRST_EDIT = "\nThe operator added two late-night trams on Fridays.\n"
SECOND_EDIT = (
    "\nA month after the opening, the operator counted 41,000 passengers on an average "
    "weekday, well above the 30,000 the city council had forecast in 2019. Trams ran every "
    "six minutes at peak hours and every twelve minutes in the evening, and the operator said "
    "it would add a night service on Fridays and Saturdays from January. Residents of the "
    "Riverside district told the local paper that the journey to the central station now took "
    "them less than half as long as the bus had. Shop owners along the line reported more "
    "customers, although some complained that the works had cost them a year of trade. The "
    "council's transport committee said it would publish a full review of the line's costs, "
    "including the 60 million euros over budget, before the end of March next year.\n"
)
QUESTION = "How many dockworkers stopped work at the Port of Calder Bay?"
SWAPPED = ("after-swap", "cleanup")
"""The points at which the killed sync has already made its generation the one in use."""


def chunk_counts(settings: Settings) -> Counter[str]:
    """Chunks per article file in the index in use, once the store, Chroma and BM25 agree."""
    with open_index(settings) as index:
        locators = {a.id: a.locator for a in index.articles()}
        store = [(c.id, c.article_id) for c in index.chunks()]
        chroma = live_vectors(index, ["metadatas"])
        bm25 = index.keywords.ids
    for where, ids in (
        ("store", [cid for cid, _ in store]),
        ("Chroma", chroma["ids"]),
        ("BM25", bm25),
    ):
        assert len(ids) == len(set(ids)), f"a chunk is in the {where} twice"
    assert set(chroma["ids"]) == {cid for cid, _ in store} == set(bm25), "orphan chunks"
    per_article = Counter(aid for _, aid in store)
    assert Counter(m["article_id"] for m in chroma["metadatas"]) == per_article
    return Counter({locators[aid]: n for aid, n in per_article.items()})


def assert_answers(settings: Settings) -> None:
    with Assistant.open(settings, build_if_missing=False) as assistant:
        answer = assistant.ask(QUESTION)
    assert not answer.refused and "1,400 dockworkers" in answer.quotes[0].text


def edit(corpus: Path, text: str) -> None:
    (corpus / CHANGED).write_text(
        (FIXTURE_ARTICLES / CHANGED).read_text(encoding="utf-8") + text, encoding="utf-8"
    )


def copy_index(settings: Settings, target: Path) -> Settings:
    shutil.copytree(settings.corpus, target / "corpus")
    shutil.copytree(settings.index_dir, target / "index")
    return Settings(corpus=target / "corpus", index_dir=target / "index")


def run_killed(settings: Settings, crash_at: str, options: list[str] | None = None) -> None:
    """Run `briefing index` in a new process that must die by SIGKILL at ``crash_at``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "index",
            "--quiet",
            "--corpus",
            str(settings.corpus),
            "--index",
            str(settings.index_dir),
            *(options or []),
        ],
        env={**os.environ, CRASH_ENV: crash_at},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, (
        f"`briefing index` was not killed at {crash_at}: exit {done.returncode}, {done.stderr}"
    )


@dataclass(frozen=True)
class Built:
    settings: Settings
    """The fixture articles, synced twice: gen-000001 (old), gen-000002 (CURRENT)."""
    first: Counter[str]
    """Chunks per article file of a first build."""
    before: Counter[str]
    """... in gen-000002 (the first build, then FIRST_EDIT)."""
    updated: Counter[str]
    """... once SECOND_EDIT is synced by a run that was never killed."""

    @property
    def removed(self) -> Counter[str]:
        """... once REMOVED is deleted from the corpus and synced."""
        return Counter({k: n for k, n in self.before.items() if k != REMOVED})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("built")
    settings = Settings(corpus=root / "corpus", index_dir=root / "index")
    shutil.copytree(FIXTURE_ARTICLES, settings.corpus)
    sync_index(settings)
    first = chunk_counts(settings)
    edit(settings.corpus, FIRST_EDIT)
    sync_index(settings)  # so that the killed sync has an old generation to delete
    reference = copy_index(settings, root / "reference")
    edit(reference.corpus, SECOND_EDIT)
    sync_index(reference)
    built = Built(settings, first, chunk_counts(settings), chunk_counts(reference))
    assert built.updated[CHANGED] > built.before[CHANGED], "SECOND_EDIT should add a chunk"
    return built


def kill_then_sync(
    settings: Settings,
    point: str,
    before: Counter[str],
    after: Counter[str],
    options: list[str] | None = None,
) -> None:
    """Kill a sync of the changed corpus at ``point``; check the index then and after a new sync."""
    run_killed(settings, point, options)
    swapped = point in SWAPPED
    in_use = current_generation(settings.index_dir)
    assert in_use is not None and in_use.name == ("gen-000003" if swapped else "gen-000002")
    assert chunk_counts(settings) == (after if swapped else before)
    assert_consistent(settings)
    assert_answers(settings)

    report = sync_index(settings)  # drops what the killed run left, starts from CURRENT
    changed = report.added + report.updated + report.removed
    assert (changed, report.generation) == (0 if swapped else 1, "gen-000003")
    assert chunk_counts(settings) == after
    assert_consistent(settings)
    # no reader holds the old generation open, so only the one in use is left
    assert [g.name for g in list_generations(settings.index_dir)] == ["gen-000003"]
    assert not (settings.index_dir / ".CURRENT.tmp").exists()


DELETING = ("generation-made", "manifest", "before-swap", "after-swap", "cleanup")
"""The points a sync that only deletes an article passes (it writes no segment)."""
WRITING = ("segment-chroma", "segment-store", "segment-done")
"""The points a sync passes while it writes a changed article into a new segment."""
MERGING = ("merged",)
"""The point a sync passes once it merged segments (``--compact`` makes it merge them all)."""


def test_every_point_is_killed_at():
    assert set(DELETING + WRITING + MERGING) == set(CRASH_POINTS)


@pytest.mark.parametrize("point", DELETING)
def test_kill_9_at_each_stage_of_a_sync(built: Built, tmp_path: Path, point: str):
    settings = copy_index(built.settings, tmp_path)
    (settings.corpus / REMOVED).unlink()
    kill_then_sync(settings, point, built.before, built.removed)


@pytest.mark.parametrize("point", WRITING + MERGING)
def test_kill_9_while_a_segment_is_written(built: Built, tmp_path: Path, point: str):
    """The process dies while a new segment holds chunks that no manifest lists (loads the
    model: about 10 s a case); for "merged", while segments merged into one are written."""
    settings = copy_index(built.settings, tmp_path)
    edit(settings.corpus, SECOND_EDIT)
    extra = ["--compact"] if point in MERGING else []
    kill_then_sync(settings, point, built.before, built.updated, extra)


def test_kill_9_during_the_first_build_leaves_no_index(built: Built, settings: Settings):
    run_killed(settings, "segment-chroma")
    assert current_generation(settings.index_dir) is None
    with pytest.raises(IndexMissingError):
        open_index(settings)

    report = sync_index(settings)
    assert (report.added, report.generation) == (6, "gen-000001")
    assert chunk_counts(settings) == built.first
    assert_consistent(settings)
    assert [g.name for g in list_generations(settings.index_dir)] == ["gen-000001"]
