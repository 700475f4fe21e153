"""Answer the MultiHop-RAG dev questions and print retrieval, refusal, quote and latency figures.

    python benchmarks/multihop_eval.py [--index benchmarks/out/multihop-index] [--limit N] [--log FILE]

Indexes ../shared/data/multihop-rag/corpus.json.gz first (a no-op once built; the first build
embeds 6.8k chunks, about 9 minutes on 2 cores), then asks every dev question.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from assistant import Assistant, Settings, sync_index
from assistant.evaluation import load_queries, run_eval

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json.gz")
    parser.add_argument("--limit", type=int, help="a random sample of N questions (seed 0)")
    parser.add_argument("--log", type=Path, help="write one JSON line per question here")
    args = parser.parse_args()

    settings = Settings(corpus=DATA / "corpus.json.gz", index_dir=args.index)
    print(sync_index(settings).summary(), file=sys.stderr)
    queries = load_queries(args.queries)
    if args.limit:
        queries = random.Random(0).sample(queries, args.limit)
    started = time.perf_counter()
    with Assistant.open(settings) as assistant:
        run = run_eval(assistant, queries, log=args.log)
    report = run.report()
    report["chunk_tokens"] = settings.chunk_tokens
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
