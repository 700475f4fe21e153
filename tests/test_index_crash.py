"""kill -9 of `briefing index` at any moment never leaves a half-written index in use."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Settings, open_index, sync_index
from assistant.index import current_generation

from .test_index import assert_consistent

pytestmark = pytest.mark.slow

WORDS = (
    "council harbour minister budget tariff ferry union court election reactor drought "
    "vaccine pipeline satellite orchestra museum glacier refinery airport senate"
).split()


def write_synthetic_articles(folder: Path, n: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        sentences = [
            f"Report {i}.{j}: the {rng.choice(WORDS)} and the {rng.choice(WORDS)} met "
            f"{rng.randint(2, 90)} officials on day {j}, a spokesperson for the "
            f"{rng.choice(WORDS)} office said in a statement on {rng.choice(WORDS)} policy."
            for j in range(22)
        ]
        (folder / f"synthetic-{i:03d}.txt").write_text(
            f"Synthetic dispatch {i}\n" + " ".join(sentences) + "\n", encoding="utf-8"
        )


def start_sync(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(
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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def generations(index_dir: Path) -> set[tuple[str, int]]:
    """Generation folders with inode and ctime: a folder made again under the same name is new."""
    found = set()
    for p in index_dir.glob("gen-*"):
        try:
            info = p.stat()
            found.add((p.name, info.st_ino, info.st_ctime_ns))
        except FileNotFoundError:  # removed while we looked
            pass
    return found


def wait_for_new_generation(index_dir: Path, known: set, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if generations(index_dir) - known:
            return
        if proc.poll() is not None:
            pytest.fail(f"sync ended before writing: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    pytest.fail("no new generation appeared within 120 s")


def test_kill_9_at_any_moment_keeps_the_previous_index(settings: Settings, corpus_dir: Path):
    first = sync_index(settings)
    write_synthetic_articles(corpus_dir, 60)
    gen_in_use = current_generation(settings.index_dir)

    # kill while copying/loading the model, then at later points of embedding and writing
    kills = 0
    for delay in (0.0, 4.0, 9.0, 14.0):
        known = generations(settings.index_dir)
        proc = start_sync(settings)
        wait_for_new_generation(settings.index_dir, known, proc)
        time.sleep(delay)
        if proc.poll() is not None:
            break  # it finished before we could kill it: the last check below covers it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        assert current_generation(settings.index_dir) == gen_in_use
        with open_index(settings) as index:  # the previous index keeps answering
            assert index.count_chunks() == first.total_chunks
            assert index.keywords.search("dockworkers strike", 3)
        assert_consistent(settings)

    assert kills >= 3, "the sync was too quick to be killed while writing"
    report = sync_index(settings)
    assert report.added == 60 or current_generation(settings.index_dir) != gen_in_use
    locators = assert_consistent(settings)  # no duplicate, no orphan chunks
    assert sum(1 for loc in locators if loc.startswith("synthetic-")) == 60
    with open_index(settings) as index:
        assert index.count_articles() == 66
    assert not list(settings.index_dir.glob(".staging*"))
    assert len(list(settings.index_dir.glob("gen-*"))) <= 2
