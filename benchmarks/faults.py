"""Faults a real index meets, and whether it still answers from a whole index after each.

    python benchmarks/faults.py [--random-kills 10] [--per-point 2] [--json FILE]

With the real model and real `briefing index` processes on a copy of the demo briefing (in a
temporary folder; the repo's corpus/ and index/ are not touched):

- kill -9: a sync of a changed corpus is killed at each named stage (``BRIEFING_CRASH_AT``,
  ``--per-point`` times each) and at random moments (``--random-kills``); after each kill and
  after the sync that follows, the store, Chroma and BM25 hold the same chunks once each and a
  question is answered with verified quotes.
- a second process syncs twice while this one answers questions from 4 threads;
- a full disk (a small tmpfs): a sync refused for room, and one that runs out mid-way;
- a read-only disk (the tmpfs remounted read-only).

The disk faults need root (to mount a tmpfs) and are reported as skipped otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import Assistant, IndexStoreError, Settings, sync_index  # noqa: E402
from assistant.generations import CRASH_ENV, CRASH_POINTS, list_generations  # noqa: E402

QUESTION = "How many jobs are at risk at the Eastbank terminal?"
"""About the demo briefing; the check is that it is answered with verified quotes."""


# -- what "a whole index" means ------------------------------------------------------------------
def whole(settings: Settings, assistant: Assistant | None = None) -> str | None:
    """None when the index in use is whole and answers; else what is wrong."""
    from assistant import open_index

    with open_index(settings) as index:
        store = [c.id for c in index.chunks()]
        chroma = []
        for segment in index.segments:
            held = segment.collection.get(include=[])["ids"]
            if set(held) != {c.id for c in segment.store.chunks()}:
                return f"orphan or missing chunks in {segment.folder.name}"
            chroma += [cid for cid in held if cid not in segment.dead_chunks]
        bm25 = index.keywords.ids
    for where, ids in (("store", store), ("Chroma", chroma), ("BM25", bm25)):
        if len(ids) != len(set(ids)):
            return f"a chunk is in the {where} twice"
    if not set(store) == set(chroma) == set(bm25):
        return "orphan or missing chunks"
    own = assistant is None
    assistant = assistant or Assistant.open(settings, build_if_missing=False)
    try:
        answer = assistant.ask(QUESTION)
        if answer.refused or not answer.quotes:
            return f"the question was refused: {answer.refusal_reason}"
        for q in answer.quotes:
            article = assistant.article(q.article_id)
            if article is None or article.text[q.start : q.end] != q.text:
                return f"quote [{q.n}] is not the article's text at its offsets"
    finally:
        if own:
            assistant.close()
    return None


def briefing_index(settings: Settings, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", "-q"]
        + ["--corpus", str(settings.corpus), "--index", str(settings.index_dir)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def change(settings: Settings, n: int) -> None:
    """A change for the next sync: one article edited, one added."""
    first = sorted(settings.corpus.glob("demo-*.md"))[0]
    first.write_text(
        first.read_text(encoding="utf-8") + f"\nA correction was added on day {n}.\n",
        encoding="utf-8",
    )
    (settings.corpus / f"note-{n}.md").write_text(
        f"---\ntitle: Harbour note {n}\nsource: Tessaly Courier\n---\n\n"
        f"The ferry timetable for week {n} was posted at the Eastbank terminal on Monday.\n",
        encoding="utf-8",
    )


# -- kill -9 ---------------------------------------------------------------------------------
def kill_trials(settings: Settings, per_point: int, random_kills: int) -> dict[str, Any]:
    trials: list[dict[str, Any]] = []
    n = 0
    plan: list[tuple[str, float | None]] = [
        (point, None) for point in CRASH_POINTS for _ in range(per_point)
    ]
    full = _timed_sync(settings, lambda: change(settings, 0))
    rng = random.Random(7)
    plan += [("random", rng.uniform(0.5, full)) for _ in range(random_kills)]
    for where, delay in plan:
        n += 1
        change(settings, n)
        if delay is None:
            proc = briefing_index(settings, {CRASH_ENV: where})
            proc.wait(timeout=300)
            killed = proc.returncode == -signal.SIGKILL
        else:
            proc = briefing_index(settings)
            time.sleep(delay)
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=300)
        after_kill = whole(settings)
        sync_index(settings)  # drops what the killed run left, applies the change
        after_sync = whole(settings)
        trials.append(
            {
                "at": where if delay is None else f"random {delay:.1f} s",
                "killed": killed,
                "after_kill": after_kill or "whole",
                "after_sync": after_sync or "whole",
            }
        )
        print(f"  kill {n:>2} at {trials[-1]['at']:<14} {trials[-1]}", file=sys.stderr)
    return {
        "trials": len(trials),
        "killed": sum(t["killed"] for t in trials),
        "whole_after_kill": sum(t["after_kill"] == "whole" for t in trials),
        "whole_after_sync": sum(t["after_sync"] == "whole" for t in trials),
        "sync_seconds": round(full, 1),
        "detail": trials,
    }


def _timed_sync(settings: Settings, before: Callable[[], None]) -> float:
    before()
    started = time.perf_counter()
    proc = briefing_index(settings)
    proc.wait(timeout=600)
    return time.perf_counter() - started


# -- a second process syncs while this one answers ------------------------------------------
def sync_while_answering(settings: Settings) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    stop = threading.Event()
    with Assistant.open(settings, build_if_missing=False) as assistant:

        def asks() -> None:
            while not stop.is_set():
                try:
                    problem = whole_answer(assistant)
                    outcomes["whole" if problem is None else problem] += 1
                except Exception as exc:  # counted, not raised: this is what is measured
                    outcomes[f"{type(exc).__name__}: {exc}"] += 1

        threads = [threading.Thread(target=asks) for _ in range(4)]
        for t in threads:
            t.start()
        for n in (101, 102):
            change(settings, n)
            proc = briefing_index(settings)
            proc.wait(timeout=600)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        found = assistant.ask("When was the ferry timetable for week 102 posted?")
        moved = any("week 102" in q.text for q in found.quotes)
        gens = len(list_generations(settings.index_dir))
    return {"answers": dict(outcomes), "sees_new_articles": moved, "generations_on_disk": gens}


def whole_answer(assistant: Assistant) -> str | None:
    answer = assistant.ask(QUESTION)
    if answer.refused:
        return "refused"
    for q in answer.quotes:
        article = assistant.article(q.article_id)
        if article is None or article.text[q.start : q.end] != q.text:
            return "unverified quote"
    return None


# -- disks -------------------------------------------------------------------------------------
def disk_faults(source: Settings, work: Path) -> dict[str, Any]:
    if os.geteuid() != 0:
        return {"skipped": "needs root to mount a tmpfs"}
    mount = work / "disk"
    mount.mkdir()
    size = 3 * _tree_bytes(source.index_dir) + 16_000_000
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)]
    ).returncode:
        return {"skipped": "cannot mount a tmpfs"}
    out: dict[str, Any] = {}
    try:
        shutil.copytree(source.corpus, mount / "corpus")
        shutil.copytree(source.index_dir, mount / "index")
        settings = Settings(corpus=mount / "corpus", index_dir=mount / "index")
        change(settings, 201)
        filler = _fill(mount, leave=_tree_bytes(settings.index_dir) // 2)
        try:
            sync_index(settings)
            out["no_room"] = "sync ran (not refused)"
        except IndexStoreError as exc:
            out["no_room"] = {"refused": str(exc), "index": whole(settings) or "whole"}
        import assistant.writer as writer

        checked, writer._check_room = writer._check_room, lambda *args: None  # misjudged room
        tighter = _fill(mount, leave=_tree_bytes(settings.index_dir) // 4, name="filler-2")
        try:
            sync_index(settings)
            out["fills_mid_sync"] = "sync ran (the disk did not fill)"
        except IndexStoreError as exc:
            left = [g.name for g in list_generations(settings.index_dir)]
            out["fills_mid_sync"] = {
                "error": str(exc),
                "generations_left": left,
                "index": whole(settings) or "whole",
            }
        finally:
            writer._check_room = checked
        filler.unlink()
        tighter.unlink()
        out["after_freeing"] = sync_index(settings).summary()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        out["read_only"] = {"index": whole(settings) or "whole"}
        try:
            sync_index(settings)
        except IndexStoreError as exc:
            out["read_only"]["sync"] = str(exc)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    return out


def _fill(disk: Path, leave: int, name: str = "filler") -> Path:
    filler = disk / name
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    return filler


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-point", type=int, default=2, help="kills at each named stage")
    parser.add_argument("--random-kills", type=int, default=10, help="kills at random moments")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="briefing-faults-"))
    try:
        settings = Settings(corpus=work / "corpus", index_dir=work / "index")
        shutil.copytree(ROOT / "corpus", settings.corpus)
        print(sync_index(settings).summary(), file=sys.stderr)
        figures = {
            "kill_9": kill_trials(settings, args.per_point, args.random_kills),
            "second_process_syncs": sync_while_answering(settings),
            "disk": disk_faults(settings, work),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    k = figures["kill_9"]
    print(
        f"kill -9: {k['killed']} of {k['trials']} syncs killed; whole after the kill "
        f"{k['whole_after_kill']}/{k['trials']}, after the next sync "
        f"{k['whole_after_sync']}/{k['trials']} (a full sync takes {k['sync_seconds']} s)"
    )
    s = figures["second_process_syncs"]
    print(
        f"a second process syncs twice while 4 threads ask: {s['answers']}; "
        f"sees the new articles: {s['sees_new_articles']}"
    )
    print(f"disk: {json.dumps(figures['disk'], indent=1)}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
