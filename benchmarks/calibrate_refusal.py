"""Calibrate the refusal thresholds on the MultiHop-RAG dev split.

    python benchmarks/calibrate_refusal.py [--index benchmarks/out/multihop-index]

For every dev question it records the evidence refusal looks at (best dense similarity, best
sentence coverage, outlets the corpus lacks), then sweeps the two thresholds and prints the share
of null questions refused against the share of answerable ones refused, and the pair that
refuses the fewest answerable questions while refusing at least 90% of the null ones.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from assistant import Assistant, Settings
from assistant.answering import RefusalPolicy, evidence, refusal_reason
from assistant.evaluation import load_queries
from assistant.quotes import score_sentences

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    args = parser.parse_args()
    settings = Settings(corpus=DATA / "corpus.json.gz", index_dir=args.index)
    rows = []
    with Assistant.open(settings) as assistant:
        for gold in load_queries(DATA / "queries-dev.json.gz"):
            plan = assistant.plan(gold.query)
            passages = assistant.search(gold.query, plan=plan)
            scored = score_sentences(
                gold.query,
                passages,
                assistant.catalog.article_text,
                assistant.index.keywords.idf,
                assistant.quotes,
            )
            rows.append((gold.is_null, plan, evidence(plan, passages, scored)))
    n_null = sum(1 for null, _p, _e in rows if null)
    n_ans = len(rows) - n_null
    outlets = sum(
        1 for null, p, e in rows if null and refusal_reason(e, RefusalPolicy(1e-9, 1e-9), p)
    )
    print(
        f"{n_null} null, {n_ans} answerable; {outlets} null questions name an outlet the corpus lacks"
    )
    best = None
    print("min_similarity min_coverage null_refused answerable_refused")
    for sim, cov in itertools.product(
        [0.3, 0.35, 0.4, 0.45, 0.5, 0.55], [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    ):
        policy = RefusalPolicy(min_similarity=sim, min_coverage=cov)
        refused = [(null, refusal_reason(e, policy, p) is not None) for null, p, e in rows]
        null_rate = sum(r for null, r in refused if null) / n_null
        ans_rate = sum(r for null, r in refused if not null) / n_ans
        print(f"{sim:14.2f} {cov:12.2f} {null_rate:12.3f} {ans_rate:18.3f}")
        if null_rate >= 0.9 and (best is None or ans_rate < best[2]):
            best = (sim, cov, ans_rate, null_rate)
    if best:
        print(
            f"best: min_similarity={best[0]}, min_coverage={best[1]}: "
            f"null refused {best[3]:.3f}, answerable refused {best[2]:.3f}"
        )


if __name__ == "__main__":
    main()
