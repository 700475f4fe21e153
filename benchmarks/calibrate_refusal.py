"""Calibrate the refusal thresholds on the MultiHop-RAG dev split, and measure refusal.

    python benchmarks/calibrate_refusal.py [--index benchmarks/out/multihop-index]

For every question it records the evidence refusal looks at (best dense similarity, best
sentence coverage, outlets the corpus lacks, names the articles never mention) for four sets:
the dev split's null and answerable questions, answerable questions with one key name swapped
for an invented one (``refusal_sets.swapped_names``), hand-written on-topic questions the
articles do not answer, and off-topic questions. It then sweeps the three thresholds (with and
without refusing on names the articles never mention) and prints,
for each pair, the share of every set that is refused, and the pair that refuses the fewest
answerable questions while refusing at least 95% of the null ones.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refusal_sets import HANDWRITTEN, KNOWN_NAMES, off_topic, swapped_names  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.answering import Evidence, evidence, refusal_reason
from assistant.config import RefusalPolicy  # noqa: E402
from assistant.evaluation import load_queries  # noqa: E402
from assistant.query import QueryPlan  # noqa: E402
from assistant.quotes import score_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def _evidence(assistant: Assistant, question: str) -> tuple[QueryPlan, Evidence]:
    with assistant.reading() as index:
        plan = assistant.plan(question, index)
        passages, dated = assistant._search(index, question, None, None, plan)  # as ``ask``
        scored = score_sentences(
            question,
            passages,
            index.catalog.article_text,
            index.keywords.idf,
            assistant.settings.quotes,
        )
        found = evidence(plan, passages, scored, index.keywords.mentions)
    return plan, replace(found, period_only=dated and bool(passages))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--show", type=int, default=5, help="examples shown per set")
    args = parser.parse_args()
    settings = Settings(corpus=DATA / "corpus.json.gz", index_dir=args.index)
    queries = load_queries(DATA / "queries-dev.json.gz")
    sets: dict[str, list[tuple[str, QueryPlan, Evidence]]] = {}
    with Assistant.open(settings) as assistant:
        texts = (a.text for a in assistant.index.articles())
        swapped = swapped_names(queries, texts, assistant.catalog.sources)
        questions = {
            "null": [q.query for q in queries if q.is_null],
            "answerable": [q.query for q in queries if not q.is_null],
            "swapped": [q for q, _old, _new in swapped],
            "handwritten": list(HANDWRITTEN),
            "known names": list(KNOWN_NAMES),
            "off-topic": off_topic(),
        }
        for name, items in questions.items():
            sets[name] = [(q, *_evidence(assistant, q)) for q in items]
            print(f"{name}: {len(items)} questions", file=sys.stderr)

    default = RefusalPolicy()
    print("sets:", ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
    null_outlets = sum(1 for _q, _p, e in sets["null"] if e.unknown_outlets)
    null_names = sum(1 for _q, _p, e in sets["null"] if e.missing_names and not e.unknown_outlets)
    print(
        f"null questions that cite an outlet the corpus lacks: {null_outlets}; "
        f"that name something no article mentions (and no such outlet): {null_names}"
    )

    def rates(policy: RefusalPolicy) -> dict[str, float]:
        return {
            name: sum(refusal_reason(e, policy, p) is not None for _q, p, e in rows) / len(rows)
            for name, rows in sets.items()
        }

    keys = "  ".join(f"{k:>11}" for k in sets)
    for names_on in (False, True):
        print(f"\nrefuse on names the articles never mention: {names_on}")
        print(f"min_similarity min_named_similarity min_support_share {keys}")
        best = None
        for sim, named, cov in itertools.product(
            [0.42, 0.45, 0.48, 0.5], [0.2, 0.25, 0.3], [0.1, 0.2, 0.3]
        ):
            policy = default.model_copy(
                update=dict(
                    min_similarity=sim,
                    min_named_similarity=named,
                    min_support_share=cov,
                    refuse_missing_names=names_on,
                )
            )
            r = rates(policy)
            print(
                f"{sim:14.2f} {named:20.2f} {cov:12.2f}  "
                + "  ".join(f"{v:11.3f}" for v in r.values())
            )
            if r["null"] >= 0.95 and (best is None or r["answerable"] < best[1]["answerable"]):
                best = ((sim, named, cov), r)
        if best:
            (sim, named, cov), r = best
            print(
                f"best: min_similarity={sim}, min_named_similarity={named}, min_support_share={cov}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in r.items())
            )
    print("\nwith the defaults", default)
    for name, value in rates(default).items():
        print(f"  {name:<12} refused {value:.3f}")
    for name in ("answerable", "swapped", "handwritten", "known names", "off-topic"):
        wrong = [
            (q, p, e)
            for q, p, e in sets[name]
            if (refusal_reason(e, default, p) is None) == (name != "answerable")
        ]
        label = "refused" if name == "answerable" else "answered"
        print(f"\n{name}: {len(wrong)} {label}, e.g.")
        for q, _p, e in wrong[: args.show]:
            print(
                f"  sim {e.best_similarity:.2f} cov {e.best_coverage:.2f} names {list(e.names)} "
                f"missing {list(e.missing_names)}: {q[:150]}"
            )


if __name__ == "__main__":
    main()
