"""Measure the grouping of syndicated copies: precision and recall on hand-labelled pairs.

    python benchmarks/syndication.py [--threshold 0.7] [--copies 9]

Reads the labelled pairs in benchmarks/labels/syndication_pairs.jsonl (article urls, labelled
by reading the two articles), groups the MultiHop-RAG dev corpus (609 articles) and the demo
briefing (corpus/) with ``assistant.syndication``, and prints for each containment threshold the
precision and recall of "same story" on the labelled pairs (a pair is predicted the same story
when both articles are in one group), the number of groups and grouped articles, the largest
group and the time. Then it adds ``--copies`` lightly edited copies of every dev article (cut
short, a new headline, a paragraph added, words changed: 10x the corpus with the default 9) and
reports the recall of each kind of edit, the families wrongly merged and the time.

``assistant.syndication.THRESHOLD`` (0.7) was chosen from these figures; its comment says why.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.corpus import load_corpus
from assistant.syndication import (
    THRESHOLD,
    Syndication,
    carried_by,
    overlap,
    shingles,
    syndication_groups,
)
from assistant.types import Article

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "multihop-rag" / "corpus.json.gz"
LABELS = ROOT / "benchmarks" / "labels" / "syndication_pairs.jsonl"
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="the one to detail")
    parser.add_argument("--copies", type=int, default=9, help="edited copies per dev article")
    args = parser.parse_args()

    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    corpora = {"dev (MultiHop-RAG)": DEV, "demo briefing": ROOT / "corpus"}
    for name, path in corpora.items():
        articles = load_corpus(path).articles
        by_url = {a.url: a.id for a in articles if a.url}
        pairs = [
            (by_url[p["a"]], by_url[p["b"]], p["same_story"]) for p in labels if p["a"] in by_url
        ]
        positives = sum(same for *_, same in pairs)
        print(
            f"\n== {name}: {len(articles)} articles, {len(pairs)} labelled pairs ({positives} same story)"
        )
        print("threshold  precision  recall   groups  grouped  largest  seconds")
        for threshold in sorted({*SWEEP, args.threshold}):
            started = time.perf_counter()
            groups = syndication_groups(articles, threshold=threshold)
            seconds = time.perf_counter() - started
            tp, predicted = _confusion(groups, pairs)
            mark = " <" if threshold == args.threshold else ""
            print(
                f"{threshold:9.2f}  {_ratio(tp, predicted):>9}  {_ratio(tp, positives):>6}  "
                f"{len(groups):6d}  {sum(len(g.article_ids) for g in groups):7d}  "
                f"{max((len(g.article_ids) for g in groups), default=0):7d}  {seconds:7.2f}{mark}"
            )
        titles = {a.id: a.title[:50] for a in articles}
        texts = {a.id: a.text for a in articles}
        scored = [(overlap(shingles(texts[a]), shingles(texts[b])), a, b, s) for a, b, s in pairs]
        low = min((x for x in scored if x[3]), default=None)
        high = max((x for x in scored if not x[3]), default=None)
        for label, item in (("same story, lowest", low), ("different stories, highest", high)):
            if item:
                (containment, jaccard), a, b, _ = item
                print(
                    f"  {label} containment {containment:.2f} (Jaccard {jaccard:.2f}): "
                    f"“{titles[a]}” | “{titles[b]}”"
                )
        groups = syndication_groups(articles, threshold=args.threshold)
        for group in groups:
            members = "; ".join(f"“{titles[i]}”" for i in group.article_ids)
            print(f"  {carried_by(group)} (containment >= {group.similarity}): {members}")
        for a, b, same in pairs:
            if _joined(groups, a, b) != same:
                print(f"  wrong at {args.threshold}: “{titles[a]}” | “{titles[b]}” ({same=})")

    if args.copies:
        _synthetic(load_corpus(DEV).articles, labels, args.copies, args.threshold)


# -- edited copies ---------------------------------------------------------------------------


def _synthetic(
    articles: Sequence[Article], labels: list[dict], copies: int, threshold: float
) -> None:
    """Add edited copies of every article, group them all, and score against the families."""
    rng = random.Random(0)
    edits = _edits(articles)
    corpus = list(articles)
    family = {a.id: a.id for a in articles}
    kind: dict[str, str] = {}
    for article in articles:
        for n in range(copies):
            name, edit = edits[n % len(edits)]
            copy = replace(
                article,
                id=f"{article.id}~{n}",
                title=f"{article.title} (copy {n})",
                text=edit(article.text, rng),
                source=f"Outlet {n}",
                published_ts=(article.published_ts or 0) + 3600 * (n + 1),
            )
            corpus.append(copy)
            family[copy.id], kind[copy.id] = article.id, name
    by_url = {a.url: a.id for a in articles}
    for pair in labels:  # a labelled near-duplicate pair in the corpus is one family
        if pair["same_story"] and pair["a"] in by_url and pair["b"] in by_url:
            family[by_url[pair["b"]]] = by_url[pair["a"]]
    family = {key: family.get(value, value) for key, value in family.items()}

    print(f"\n== dev + {copies} edited copies each: {len(corpus)} articles, threshold {threshold}")
    started = time.perf_counter()
    groups = syndication_groups(corpus, threshold=threshold)
    seconds = time.perf_counter() - started
    group_of = {key: n for n, g in enumerate(groups) for key in g.article_ids}
    joined = {key: key in group_of and group_of.get(family[key]) == group_of[key] for key in kind}
    wrong = sum(
        len({family[k] for k in g.article_ids}) - 1 for g in groups
    )  # families merged into another
    print(
        f"{len(groups)} groups, {sum(len(g.article_ids) for g in groups)} grouped articles, "
        f"largest {max(len(g.article_ids) for g in groups)}, families wrongly merged {wrong}, "
        f"{seconds:.1f} s"
    )
    print("edit                         recall   containment p5 / median")
    words: dict[str, int] = {}
    originals = {a.id: a for a in articles}
    texts = {a.id: a.text for a in corpus}
    for name, _ in edits:
        keys = [k for k, v in kind.items() if v == name]
        scores = sorted(
            overlap(
                shingles(originals[family[k]].text, cache=words), shingles(texts[k], cache=words)
            )[0]
            for k in keys
            if family[k] in originals
        )
        recall = sum(joined[k] for k in keys) / len(keys)
        p5 = scores[len(scores) // 20]
        print(f"{name:28} {recall:6.3f}   {p5:.2f} / {statistics.median(scores):.2f}")


def _edits(articles: Sequence[Article]) -> list[tuple[str, Callable[[str, random.Random], str]]]:
    """The edits an outlet makes to a wire story, as (name, edit(text, rng))."""
    paragraphs = [p for a in articles for p in a.text.split("\n") if 200 < len(p) < 600]

    def cut(keep: float) -> Callable[[str, random.Random], str]:
        def edit(text: str, rng: random.Random) -> str:
            lines = text.split("\n")
            return "\n".join(lines[: max(1, round(len(lines) * keep))])

        return edit

    def words(rate: float) -> Callable[[str, random.Random], str]:
        def edit(text: str, rng: random.Random) -> str:
            tokens = text.split(" ")
            out = []
            for token in tokens:
                roll = rng.random()
                if roll < rate / 2:
                    continue  # a word dropped
                out.append(rng.choice(tokens) if roll < rate else token)  # or replaced
            return " ".join(out)

        return edit

    def dateline(text: str, rng: random.Random) -> str:
        return f"LONDON (Wire) — {text}"

    def added(text: str, rng: random.Random) -> str:
        lines = text.split("\n")
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(paragraphs))
        return "\n".join(lines)

    def combined(text: str, rng: random.Random) -> str:
        return added(words(1 / 40)(cut(0.7)(text, rng), rng), rng)

    return [
        ("ending cut (keep 50%)", cut(0.5)),
        ("ending cut (keep 75%)", cut(0.75)),
        ("new dateline", dateline),
        ("paragraph added", added),
        ("1 word in 25 changed", words(1 / 25)),
        ("1 word in 50 changed", words(1 / 50)),
        ("cut 70% + para + 1/40", combined),
        ("1 word in 15 changed", words(1 / 15)),
        ("ending cut (keep 35%)", cut(0.35)),
    ]


# -- scoring ---------------------------------------------------------------------------------


def _confusion(
    groups: Sequence[Syndication], pairs: Sequence[tuple[str, str, bool]]
) -> tuple[int, int]:
    """(true positives, predicted positives) over the labelled pairs."""
    group_of = {key: n for n, g in enumerate(groups) for key in g.article_ids}
    predicted = [
        (a in group_of and group_of.get(a) == group_of.get(b), same) for a, b, same in pairs
    ]
    return sum(p and s for p, s in predicted), sum(p for p, _ in predicted)


def _joined(groups: Sequence[Syndication], a: str, b: str) -> bool:
    return any(a in g.article_ids and b in g.article_ids for g in groups)


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "n/a"


if __name__ == "__main__":
    main()
