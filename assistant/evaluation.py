"""Metrics on MultiHop-RAG-format question sets (pure functions; `briefing eval` builds on them).

The fact-level rule is the upstream benchmark's: a retrieved chunk is a hit when any gold
evidence ``fact``, with spaces and newlines removed, is a substring of the chunk, also with
them removed. Null queries (no evidence) are left out of retrieval metrics and used for refusal.

Answer accuracy is a normalised match to the gold answer (``answer_correct``); beside it, the
score of always answering "Yes". When a model wrote the answers, ``WritingScores`` counts what
the checks found in its text (``assistant.grounding``).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .grounding import cited, quotations, sentences

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """The text with all whitespace removed (the upstream matching rule)."""
    return _SPACE.sub("", text)


@dataclass(frozen=True)
class GoldQuery:
    query: str
    answer: str
    question_type: str
    facts: tuple[str, ...]
    titles: tuple[str, ...]
    """Titles of the articles the evidence comes from (document-level relevance)."""

    @property
    def is_null(self) -> bool:
        return not self.facts


def load_queries(path: Path) -> list[GoldQuery]:
    """Read a MultiHop-RAG query file (JSON list, optionally .gz)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    records: list[dict[str, Any]] = json.loads(raw)
    return [
        GoldQuery(
            query=r["query"],
            answer=str(r.get("answer", "")),
            question_type=r.get("question_type", "unknown"),
            facts=tuple(e["fact"] for e in r.get("evidence_list", []) if e.get("fact")),
            titles=tuple(dict.fromkeys(e["title"] for e in r.get("evidence_list", []))),
        )
        for r in records
    ]


def first_hit_rank(chunk_texts: Sequence[str], facts: Sequence[str]) -> int | None:
    """1-based rank of the first chunk holding a gold fact, or None."""
    squashed = [squash(f) for f in facts]
    for rank, text in enumerate(chunk_texts, 1):
        flat = squash(text)
        if any(fact in flat for fact in squashed):
            return rank
    return None


def doc_recall(retrieved_titles: Sequence[str], gold_titles: Sequence[str]) -> float:
    """Share of the gold articles that appear among the retrieved ones."""
    if not gold_titles:
        return 0.0
    found = set(retrieved_titles)
    return sum(1 for t in gold_titles if t in found) / len(gold_titles)


@dataclass
class RetrievalScores:
    """Running means of Hits@4, Hits@10, MRR@10 and document Recall@10 over queries."""

    n: int = 0
    hits4: int = 0
    hits10: int = 0
    rr_sum: float = 0.0
    recall_sum: float = 0.0

    def add(self, chunk_texts: Sequence[str], titles: Sequence[str], gold: GoldQuery) -> int | None:
        rank = first_hit_rank(chunk_texts[:10], gold.facts)
        self.n += 1
        self.hits4 += rank is not None and rank <= 4
        self.hits10 += rank is not None
        self.rr_sum += 1.0 / rank if rank else 0.0
        self.recall_sum += doc_recall(titles[:10], gold.titles)
        return rank

    def as_dict(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "fact_hits_at_4": self.hits4 / n,
            "fact_hits_at_10": self.hits10 / n,
            "fact_mrr_at_10": self.rr_sum / n,
            "doc_recall_at_10": self.recall_sum / n,
        }


def quote_has_fact(quote_text: str, facts: Sequence[str]) -> bool:
    """A quote 'includes a gold fact sentence' when one holds the other (spaces ignored)."""
    q = squash(quote_text)
    return bool(q) and any((f := squash(fact)) and (f in q or q in f) for fact in facts)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def answer_correct(gold: GoldQuery, text: str, refused: bool) -> bool:
    """Whether an answer matches the gold one, case and punctuation aside.

    A null question is answered right by a refusal. A yes/no gold answer needs that word and
    not the other; any other gold answer must appear in the text as whole words.
    """
    if gold.is_null or refused:
        return gold.is_null and refused
    words, want = _words(text), _words(gold.answer)
    if want in (["yes"], ["no"]):
        other = "no" if want == ["yes"] else "yes"
        return want[0] in words and other not in words
    joined, wanted = " ".join(words), " ".join(want)
    return bool(wanted) and f" {wanted} " in f" {joined} "


def always_yes_correct(gold: GoldQuery) -> bool:
    """The baseline: answering "Yes" to every question."""
    return not gold.is_null and _words(gold.answer) == ["yes"]


@dataclass
class AnswerScores:
    """Answer accuracy per question type, beside always answering "Yes"."""

    right: dict[str, list[bool]] = field(default_factory=dict)
    yes: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, gold: GoldQuery, text: str, refused: bool) -> bool:
        ok = answer_correct(gold, text, refused)
        self.right.setdefault(gold.question_type, []).append(ok)
        self.yes.setdefault(gold.question_type, []).append(always_yes_correct(gold))
        return ok

    def as_dict(self) -> dict[str, dict[str, float]]:
        def share(flags: Sequence[bool]) -> float:
            return sum(flags) / max(len(flags), 1)

        every = [f for flags in self.right.values() for f in flags]
        every_yes = [f for flags in self.yes.values() for f in flags]
        rows = {
            t: {"n": len(self.right[t]), "accuracy": share(self.right[t]), "always_yes": share(y)}
            for t, y in sorted(self.yes.items())
        }
        rows["all"] = {"n": len(every), "accuracy": share(every), "always_yes": share(every_yes)}
        return rows


@dataclass
class WritingScores:
    """What the checks found in a model's own text, over the answers a model wrote.

    ``written`` answers were shown as the model wrote them (checked); ``fell_back`` ones were
    composed from the quotes instead (the model failed, or cited none of them).
    """

    written: int = 0
    fell_back: int = 0
    raw_sentences: int = 0
    raw_cited: int = 0
    marked_unsupported: int = 0
    quotations: int = 0
    quotations_removed: int = 0
    first_text_ms: list[float] = field(default_factory=list)
    pieces_per_s: list[float] = field(default_factory=list)

    def add(self, answer: Any) -> None:
        self.written += answer.generated
        self.fell_back += any(c["action"] == "fell back" for c in answer.checks)
        if answer.raw_answer is None:  # no model wrote anything (none configured, or it failed)
            return
        raw = answer.raw_answer
        found = sentences(raw)
        self.raw_sentences += len(found)
        self.raw_cited += sum(any(1 <= n <= len(answer.quotes) for n in cited(s)) for s in found)
        self.marked_unsupported += sum(c["kind"] == "uncited" for c in answer.checks)
        self.quotations += len(quotations(raw))
        self.quotations_removed += sum(c["kind"] == "quotation" for c in answer.checks)
        timings = answer.timings_ms
        if timings.get("first_text") is not None:
            self.first_text_ms.append(timings["first_text"])
        if timings.get("pieces_per_s"):
            self.pieces_per_s.append(timings["pieces_per_s"])

    def as_dict(self) -> dict[str, float]:
        return {
            "written": self.written,
            "fell_back": self.fell_back,
            "raw_sentences": self.raw_sentences,
            "raw_sentences_cited": self.raw_cited / max(self.raw_sentences, 1),
            "sentences_marked_unsupported": self.marked_unsupported / max(self.raw_sentences, 1),
            "quotations": self.quotations,
            "quotations_verbatim": (self.quotations - self.quotations_removed)
            / max(self.quotations, 1),
            "first_text_ms_p50": percentile(self.first_text_ms, 50),
            "tokens_per_s_p50": percentile(self.pieces_per_s, 50),
        }


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class EvalRun:
    """Every figure of an evaluation, accumulated one answered question at a time."""

    retrieval: RetrievalScores = field(default_factory=RetrievalScores)
    by_type: dict[str, RetrievalScores] = field(default_factory=dict)
    null_total: int = 0
    null_refused: int = 0
    answerable_total: int = 0
    answerable_refused: int = 0
    quotes_total: int = 0
    quotes_exact: int = 0
    quoted_gold: int = 0
    answers: AnswerScores = field(default_factory=AnswerScores)
    writing: WritingScores = field(default_factory=WritingScores)
    latencies_ms: list[float] = field(default_factory=list)
    ranks: dict[str, list[int | None]] = field(default_factory=dict)
    """First-hit rank (1..10, None for a miss) of each answerable question, by type."""

    def add(self, gold: GoldQuery, answer: Any, article_text: Any) -> dict[str, Any]:
        """Score one answer; return its log record."""
        self.latencies_ms.append(answer.timings_ms.get("total", 0.0))
        record: dict[str, Any] = {
            "query": gold.query,
            "question_type": gold.question_type,
            "standalone_question": answer.standalone_question,
            "refused": answer.refused,
            "retrieved": [p.chunk_id for p in answer.passages[:10]],
            "quotes": [
                {"n": q.n, "text": q.text, "article_id": q.article_id} for q in answer.quotes
            ],
        }
        record["answer_right"] = self.answers.add(gold, answer.answer, answer.refused)
        self.writing.add(answer)
        if answer.raw_answer is not None:  # a model wrote it: what it wrote and what was checked
            record.update(model=answer.model, raw_answer=answer.raw_answer, checks=answer.checks)
        for q in answer.quotes:
            self.quotes_total += 1
            self.quotes_exact += article_text(q.article_id)[q.start : q.end] == q.text
        if gold.is_null:
            self.null_total += 1
            self.null_refused += answer.refused
            return record
        self.answerable_total += 1
        self.answerable_refused += answer.refused
        texts = [p.text for p in answer.passages[:10]]
        titles = [p.title for p in answer.passages[:10]]
        rank = self.retrieval.add(texts, titles, gold)
        self.by_type.setdefault(gold.question_type, RetrievalScores()).add(texts, titles, gold)
        self.ranks.setdefault(gold.question_type, []).append(rank)
        quoted = any(quote_has_fact(q.text, gold.facts) for q in answer.quotes)
        self.quoted_gold += quoted
        record.update(hit_rank=rank, gold_fact_quoted=quoted)
        return record

    def hits_curves(self, depth: int = 10) -> dict[str, list[float]]:
        """Hits@k for k = 1..depth, per question type and for all answerable questions."""
        every = [r for ranks in self.ranks.values() for r in ranks]
        groups = {**self.ranks, "all": every} if self.ranks else {}
        return {
            name: [
                sum(1 for r in ranks if r is not None and r <= k) / len(ranks)
                for k in range(1, depth + 1)
            ]
            for name, ranks in groups.items()
        }

    def report(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "n_queries": self.null_total + self.answerable_total,
            "retrieval": self.retrieval.as_dict(),
            "retrieval_by_type": {t: s.as_dict() for t, s in sorted(self.by_type.items())},
            "refusal": {
                "null_refused": self.null_refused / max(self.null_total, 1),
                "answerable_refused": self.answerable_refused / max(self.answerable_total, 1),
                "n_null": self.null_total,
                "n_answerable": self.answerable_total,
            },
            "quotes": {
                "exact": self.quotes_exact / max(self.quotes_total, 1),
                "gold_fact_quoted": self.quoted_gold / max(self.answerable_total, 1),
                "n_quotes": self.quotes_total,
            },
            "latency_ms": {
                "p50": percentile(self.latencies_ms, 50),
                "p95": percentile(self.latencies_ms, 95),
            },
            "answers": self.answers.as_dict(),
        }
        if self.writing.written or self.writing.fell_back:
            figures["writing"] = self.writing.as_dict()
        return figures


def run_eval(assistant: Any, queries: Iterable[GoldQuery], *, log: Path | None = None) -> EvalRun:
    """Ask every question (after one untimed warm-up) and score the answers; log each one."""
    run = EvalRun()
    assistant.ask("warm-up question to load the model")
    handle = log.open("w", encoding="utf-8") if log else None
    try:
        for gold in queries:
            record = run.add(gold, assistant.ask(gold.query), assistant.catalog.article_text)
            if handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if handle:
            handle.close()
    return run
