"""Disagreement: do the quotes shown hold both sides, and does ``find_disagreements`` name them?

    python benchmarks/disagreement.py [--index benchmarks/out/multihop-index] [--work DIR] [-v]

Reads the hand-labelled cases of ``benchmarks/labels/disagreements.jsonl``: questions over the
609 MultiHop-RAG dev articles, the seed article and the demo briefing, each with the sentences
holding each of its opposing sides (article locator and url, start, end offsets into
``Article.text``) and their kind, or with no sides and kind null when the statements merely agree
or are only related. Opens the MultiHop-RAG index (it must exist: ``briefing index``), builds
indexes of the seed and the demo briefing under ``--work`` (a temporary folder by default; give
one to reuse them), asks every question with the real ``Assistant`` and prints:

- how many opposing cases have both sides among the top-10 passages;
- how many have both sides among the quotes shown, without the other-side selection (``before``:
  the question asked again with ``select_quotes(..., other_side=False)`` in the pipeline) and
  with it (``after``: the answer as ``Assistant.ask`` gives it);
- precision and recall of ``find_disagreements`` over those quotes: a pair is right when one of
  its quotes holds a sentence of one side and the other a sentence of the other side; recall is
  counted over the cases whose quotes hold both sides, and over all opposing cases;
- how many agreeing questions wrongly list a disagreement.

Article text is read from the corpora, never stored here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import Answer, Assistant, Quote, Settings, api  # noqa: E402
from assistant.disagreement import Disagreement, find_disagreements  # noqa: E402
from assistant.quotes import select_quotes  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels" / "disagreements.jsonl"
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"
CORPORA = {
    "multihop": DATA / "corpus.json.gz",
    "seed": ROOT.parent / "shared" / "seed",
    "demo": ROOT / "corpus",
}


@dataclass(frozen=True)
class Span:
    article_id: str
    start: int
    end: int

    def within(self, article_id: str, start: int, end: int) -> bool:
        return article_id == self.article_id and start < self.end and self.start < end


@dataclass
class Result:
    case: dict
    top10: bool = False
    before: bool = False
    after: bool = False
    pairs_before: tuple[bool, ...] = ()
    pairs_after: tuple[bool, ...] = ()
    kinds_after: tuple[str, ...] = ()
    why_after: tuple[str, ...] = ()
    quotes_after: tuple[Quote, ...] = ()
    brought: frozenset[int] = frozenset()
    """The ``n`` of the quotes shown after that were not shown before (the other side)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--work", type=Path, help="where the seed and demo indexes are built")
    parser.add_argument("--only", choices=sorted(CORPORA), help="the cases of one corpus only")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()

    cases = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        results = []
        for corpus in CORPORA:
            group = [c for c in cases if c["corpus"] == corpus]
            if not group or args.only not in (None, corpus):
                continue
            index = args.index if corpus == "multihop" else work / f"{corpus}-index"
            settings = Settings(corpus=CORPORA[corpus], index_dir=index)
            with Assistant.open(settings, build_if_missing=corpus != "multihop") as assistant:
                ids = {a.locator: a.id for a in assistant.articles()}
                results += [run_case(assistant, case, ids) for case in group]
    report(results, verbose=args.verbose)


def run_case(assistant: Assistant, case: dict, ids: dict[str, str]) -> Result:
    answer = assistant.ask(case["question"])
    before = _ask_without_other_side(assistant, case["question"]).quotes
    earlier = {(q.article_id, q.start) for q in before}
    brought = frozenset(q.n for q in answer.quotes if (q.article_id, q.start) not in earlier)
    result = Result(case, quotes_after=answer.quotes, brought=brought)
    sides = [
        [Span(ids[s["locator"]], s["start"], s["end"]) for s in side] for side in case["sides"]
    ]
    if sides:
        result.top10 = _holds_both(
            sides, [(p.article_id, p.start, p.end) for p in answer.passages[:10]]
        )
        result.before = _holds_both(sides, [(q.article_id, q.start, q.end) for q in before])
        result.after = _holds_both(sides, [(q.article_id, q.start, q.end) for q in answer.quotes])
    found_before = find_disagreements(answer.standalone_question, before)
    found_after = find_disagreements(answer.standalone_question, answer.quotes)
    result.pairs_before = tuple(_right(d, before, sides) for d in found_before)
    result.pairs_after = tuple(_right(d, answer.quotes, sides) for d in found_after)
    result.kinds_after = tuple(d.kind for d in found_after)
    result.why_after = tuple(f"{d.quotes} {d.kind}: {d.why}" for d in found_after)
    return result


def _ask_without_other_side(assistant: Assistant, question: str) -> Answer:
    """The answer as it was before quote selection looked for the other side."""
    without = partial(select_quotes, other_side=False)
    with patch.object(api, "select_quotes", without):
        return assistant.ask(question)


def _holds_both(sides: list[list[Span]], spans: Sequence[tuple[str, int, int]]) -> bool:
    """Sentences of two different sides are among ``spans``."""
    covered = {i for i, side in enumerate(sides) for s in side for sp in spans if s.within(*sp)}
    return len(covered) > 1


def _right(d: Disagreement, quotes: Sequence[Quote], sides: list[list[Span]]) -> bool:
    """Two of the pair's quotes hold sentences of two different sides."""
    held = [q for q in quotes if q.n in d.quotes]

    def groups(q: Quote) -> set[int]:
        return {
            i
            for i, side in enumerate(sides)
            if any(s.within(q.article_id, q.start, q.end) for s in side)
        }

    return any(
        gx and gy and len(gx | gy) > 1
        for x in held
        for y in held
        if x is not y
        for gx, gy in [(groups(x), groups(y))]
    )


def report(results: list[Result], *, verbose: bool) -> None:
    opposing = [r for r in results if r.case["kind"]]
    agreeing = [r for r in results if not r.case["kind"]]
    if verbose:
        for r in results:
            flags = f"top10={int(r.top10)} before={int(r.before)} after={int(r.after)}"
            print(f"[{r.case['corpus']}] {r.case['question']} ({r.case['kind']}) {flags}")
            for q in r.quotes_after:
                mark = "+" if q.n in r.brought else " "
                print(f"   {mark}[{q.n}] {q.text[:150]}")
            for line, right in zip(r.why_after, r.pairs_after, strict=True):
                print(f"    {'RIGHT' if right else 'WRONG'} {line}")
        print()
    by_corpus = Counter(r.case["corpus"] for r in opposing)
    print(
        f"{len(results)} questions: {len(opposing)} with opposing statements "
        f"({', '.join(f'{n} {c}' for c, n in by_corpus.items())}), {len(agreeing)} agreeing"
    )
    print(
        _count("both sides in the top-10 passages", sum(r.top10 for r in opposing), len(opposing))
    )
    for label, attr in (("before (other side not looked for)", "before"), ("after", "after")):
        shown = sum(getattr(r, attr) for r in opposing)
        print(_count(f"both sides among the quotes shown, {label}", shown, len(opposing)))
    for label, attr in (("before", "pairs_before"), ("after", "pairs_after")):
        _detector(label, opposing, agreeing, attr)
    kinds = Counter(
        (r.case["kind"], k)
        for r in opposing
        for k, right in zip(r.kinds_after, r.pairs_after, strict=True)
        if right
    )
    same = sum(n for (want, got), n in kinds.items() if want == got)
    print(_count("right pairs (after) of the labelled kind", same, sum(kinds.values())))
    for corpus in CORPORA:
        group = [r for r in opposing if r.case["corpus"] == corpus]
        if group:
            shown = [r for r in group if r.after]
            found = sum(1 for r in shown if any(r.pairs_after))
            print(
                f"  {corpus}: top-10 {sum(r.top10 for r in group)}/{len(group)}, shown before "
                f"{sum(r.before for r in group)}, after {len(shown)}, named {found}"
            )


def _detector(label: str, opposing: list[Result], agreeing: list[Result], attr: str) -> None:
    shown_attr = "before" if label == "before" else "after"
    listed = [p for r in opposing + agreeing for p in getattr(r, attr)]
    right = sum(listed)
    both = [r for r in opposing if getattr(r, shown_attr)]
    found = sum(1 for r in both if any(getattr(r, attr)))
    wrong_agreeing = sum(1 for r in agreeing if getattr(r, attr))
    print(f"find_disagreements over the quotes shown {label}:")
    print(_count("  precision (pairs right)", right, len(listed)))
    print(_count("  recall, cases whose quotes hold both sides", found, len(both)))
    print(_count("  recall, all opposing cases", found, len(opposing)))
    print(_count("  agreeing questions listing a disagreement", wrong_agreeing, len(agreeing)))


def _count(label: str, n: int, total: int) -> str:
    share = f"{n / total:.3f}" if total else "-"
    return f"{label}: {n}/{total} ({share})"


if __name__ == "__main__":
    main()
