"""Latency of a warm ``ask`` on the MultiHop-RAG index, per stage, and a check that answers stay the same.

    python benchmarks/latency.py [--index benchmarks/out/multihop-index] [-n 300] [--warm 5]
                                 [--profile [--top 40] [--sort cumulative|tottime] [--only RE]]
                                 [--save FILE] [--compare FILE] [--repeat R] [--breakdown]

Opens one ``Assistant`` on the index (never builds it: point ``--index`` at a built one), asks
``--warm`` questions that are not measured, then asks ``-n`` dev questions (a random sample,
seed 0, the same one ``multihop_eval.py --limit N`` takes) in this one process and prints
p50 / p95 / mean of the total and of every stage ``Answer.timings_ms`` holds. ``--repeat``
asks the sample R times over and reports the per-question minimum: the machine is shared, and
the minimum of several passes is the least noisy figure of what the code costs.

``--save FILE`` writes what each answer says (refusal and its reason, the answer line, the
passages' chunk ids, each quote's article id, offsets, speaker, role and carrier, the
disagreements) as JSON lines; ``--compare FILE`` checks the answers against such a file and
exits 1 on the first-listed differences. ``--profile`` runs the measured questions under
cProfile and prints the top functions. ``--breakdown`` also times, per question, the parts of the
stages (rows marked ~, each summed over its calls): in "retrieve" the query encoder, the
Chroma and BM25 searches (and, inside the latter, the article mask) and the re-scoring; in
"quotes" the sentence scoring, the evidence, the named-speaker preference, the quote selection
and, inside it, the search for the other side.

The run re-starts itself with ``PYTHONHASHSEED=0`` unless the variable is set: scores are sums
over sets of words, whose order follows the hash seed, so two sentences tied to the last bit
can swap places from one seed to another (seen once, on one of the 300 answers): compare runs
made with one seed.

The query encoder is the one the settings name (``BRIEFING_QUERY_ENCODER``; the default is the
index's ONNX export). The corpus stays in ../shared; it is read, never copied.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant import Answer, Assistant, Settings
from assistant.evaluation import load_queries, percentile

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"
STAGES = ("condense", "plan", "retrieve", "quotes", "write", "disagreements", "total")


class _Calls:
    """Time spent in chosen methods, summed per question (``--breakdown``)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, owner: Any, method: str, name: str) -> Callable[[], None]:
        original = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                ms = (time.perf_counter() - began) * 1000
                self.spent[name] = self.spent.get(name, 0.0) + ms

        setattr(owner, method, timed)
        return lambda: setattr(owner, method, original)

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return {f"~{k}": round(v, 2) for k, v in spent.items()}


@contextmanager
def breakdown(assistant: Assistant, calls: _Calls) -> Iterator[None]:
    """Time the encoder and the index's searches while the block runs (methods put back after)."""
    from assistant import api, quotes
    from assistant.reader import Index

    undo = [
        calls.wrap(assistant.embedder, "embed_query", "encode"),
        calls.wrap(Index, "dense_search", "dense_search"),
        calls.wrap(Index, "keyword_search", "keyword_search"),
        calls.wrap(type(assistant.reranker), "rerank", "rerank"),
        calls.wrap(api, "score_sentences", "score_sentences"),
        calls.wrap(api, "evidence", "evidence"),
        calls.wrap(api, "prefer_named_speakers", "prefer_named_speakers"),
        calls.wrap(api, "select_quotes", "select_quotes"),
        calls.wrap(quotes, "oppositions", "oppositions"),
    ]
    try:
        yield
    finally:
        for put_back in reversed(undo):
            put_back()


def fingerprint(answer: Answer) -> dict[str, Any]:
    """What must not change when only the speed does."""
    return {
        "question": answer.question,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "answer": answer.answer,
        "passages": [p.chunk_id for p in answer.passages],
        "quotes": [
            [q.article_id, q.start, q.end, q.speaker, q.role, q.carried_by] for q in answer.quotes
        ],
        "disagreements": [[list(d.quotes), d.kind, d.why] for d in answer.disagreements],
        "closest": [c.article_id for c in answer.closest],
    }


def compare(saved: Path, answers: list[dict[str, Any]], show: int = 5) -> int:
    """Print the differences from ``saved``; return how many answers differ."""
    before = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    if len(before) != len(answers):
        print(f"compare: {saved} holds {len(before)} answers, this run {len(answers)}")
        return max(len(before), len(answers))
    differ = 0
    for old, new in zip(before, answers, strict=True):
        if old == new:
            continue
        differ += 1
        if differ <= show:
            keys = [k for k in old if old[k] != new.get(k)]
            print(f"differs: {old['question']!r} in {', '.join(keys)}")
            for key in keys:
                print(f"  before {key}: {old[key]}\n  after  {key}: {new.get(key)}")
    print(f"compare: {len(answers) - differ} of {len(answers)} answers identical to {saved}")
    return differ


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") is None:  # one seed: runs give the same answers
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json.gz")
    parser.add_argument("-n", type=int, default=300, help="how many dev questions (seed 0)")
    parser.add_argument("--warm", type=int, default=5, help="unmeasured questions first")
    parser.add_argument("--repeat", type=int, default=1, help="passes; per question the fastest")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured questions")
    parser.add_argument("--top", type=int, default=40, help="functions --profile prints")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"))
    parser.add_argument("--only", help="--profile prints only functions whose path matches this")
    parser.add_argument("--save", type=Path, help="write each answer's fingerprint here")
    parser.add_argument("--compare", type=Path, help="check the answers against a --save file")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--breakdown", action="store_true", help="time the index's searches")
    args = parser.parse_args()

    settings = Settings(corpus=DATA / "corpus.json.gz", index_dir=args.index)
    queries = load_queries(args.queries)
    rng = random.Random(0)
    sample = rng.sample(queries, args.n)
    chosen = {id(q) for q in sample}
    warm = [q.query for q in queries if id(q) not in chosen][: args.warm]

    opened = time.perf_counter()
    with Assistant.open(settings, build_if_missing=False) as assistant:
        print(f"opened in {time.perf_counter() - opened:.1f} s", file=sys.stderr)
        started = time.perf_counter()
        for question in warm:
            assistant.ask(question)
        print(
            f"{len(warm)} warm-up questions in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        profiler = cProfile.Profile() if args.profile else None
        timings: list[dict[str, float]] = [{} for _ in sample]
        answers: list[dict[str, Any]] = []
        calls = _Calls()
        started = time.perf_counter()
        with breakdown(assistant, calls) if args.breakdown else _nothing():
            for attempt in range(args.repeat):
                for i, gold in enumerate(sample):
                    if profiler is not None:
                        profiler.enable()
                    answer = assistant.ask(gold.query)
                    if profiler is not None:
                        profiler.disable()
                    laps = {**answer.timings_ms, **calls.take()}
                    if attempt == 0 or laps["total"] < timings[i]["total"]:
                        timings[i] = laps
                    if attempt == 0:
                        answers.append(fingerprint(answer))
        wall = time.perf_counter() - started

    figures: dict[str, Any] = {"n": len(sample), "repeat": args.repeat, "wall_s": round(wall, 1)}
    stages = [s for s in STAGES if any(s in t for t in timings)]
    stages += sorted({k for t in timings for k in t} - set(stages))
    print(f"{'stage':<15} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        row = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "mean": round(sum(values) / len(values), 2),
        }
        figures[stage] = row
        print(
            f"{stage:<15} {row['n']:>4} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['mean']:>8.1f}"
        )
    refused = sum(a["refused"] for a in answers)
    print(
        f"{len(answers)} questions, {refused} refused; {wall:.1f} s of asking"
        f" (PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED')})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if profiler is not None:
        out = io.StringIO()
        restrict = [args.only, args.top] if args.only else [args.top]
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(*restrict)
        print(out.getvalue())
    if args.save:
        args.save.write_text(
            "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers), encoding="utf-8"
        )
    if args.compare and compare(args.compare, answers):
        sys.exit(1)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
