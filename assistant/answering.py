"""Question + Quotes -> Answer, composed from the articles' own sentences (no language model).

Refusal is decided from retrieval evidence before anything is quoted: when the best passage is
not close to the question (dense similarity) and no sentence holds enough of the question's
weighted terms, or the question cites an outlet the corpus does not hold, the answer says the
articles do not answer and lists the closest articles instead of quoting weak matches. The
thresholds were calibrated on the null queries of the MultiHop-RAG dev split (see README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .query import QueryPlan
from .quotes import ScoredSentence
from .types import ArticleRef, Passage, Quote


@dataclass(frozen=True)
class RefusalPolicy:
    """When the articles are taken not to answer.

    Calibrated with ``benchmarks/calibrate_refusal.py`` on the MultiHop-RAG dev split: with
    these values 92.7% of its 178 null questions are refused and 1.0% of its 1,371 answerable
    ones (0.40 refuses 90.4% / 0.2%; 0.50 refuses 94.9% / 3.4%).
    """

    min_similarity: float = 0.45
    """Refuse below this best dense similarity (cosine, all-MiniLM-L6-v2) ..."""
    min_coverage: float = 0.2
    """... unless a sentence holds at least this share of the question's weighted terms."""
    refuse_unknown_outlets: bool = True
    """Refuse when the question cites an outlet that no article comes from (and none it has)."""


@dataclass(frozen=True)
class Evidence:
    """What refusal looks at; kept on the answer's filters for inspection."""

    best_similarity: float
    best_coverage: float
    unknown_outlets: tuple[str, ...]


def evidence(
    plan: QueryPlan, passages: Sequence[Passage], scored: Sequence[ScoredSentence]
) -> Evidence:
    return Evidence(
        best_similarity=max((p.stages.get("dense_similarity", 0.0) for p in passages), default=0.0),
        best_coverage=max((s.coverage for s in scored), default=0.0),
        unknown_outlets=plan.unknown_outlets,
    )


def refusal_reason(ev: Evidence, policy: RefusalPolicy, plan: QueryPlan) -> str | None:
    """Why the corpus does not answer, or None when it does."""
    if policy.refuse_unknown_outlets and ev.unknown_outlets and not plan.sources:
        names = ", ".join(ev.unknown_outlets)
        return f"The articles here include nothing from {names}."
    if ev.best_similarity < policy.min_similarity and ev.best_coverage < policy.min_coverage:
        return "No article here is close enough to the question to quote."
    return None


def closest_articles(passages: Sequence[Passage], n: int = 5) -> list[ArticleRef]:
    seen: dict[str, ArticleRef] = {}
    for p in passages:
        if p.article_id not in seen:
            seen[p.article_id] = ArticleRef(
                p.article_id, p.title, p.source, p.published, p.url, p.score
            )
    return list(seen.values())[:n]


def _quoted(q: Quote) -> str:
    said = f" — {q.speaker}" if q.speaker else ""
    return f"“{q.text}” [{q.n}]{said}"


def compose(quotes: Sequence[Quote]) -> str:
    """A readable answer: the best sentence first, then the supporting ones, each cited [n]."""
    lead, *rest = quotes
    lines = [_quoted(lead)]
    if rest:
        lines += ["", "Also in the articles:"]
        lines += [f"- {_quoted(q)}" for q in rest]
    lines += ["", *citations(quotes)]
    return "\n".join(lines)


def citations(quotes: Sequence[Quote]) -> list[str]:
    """One line per cited article: ``[1, 3] Source, 2023-11-27, “Title”``."""
    numbers: dict[str, list[int]] = {}
    for q in quotes:
        numbers.setdefault(q.article_id, []).append(q.n)
    first = {q.article_id: q for q in reversed(quotes)}
    return [f"[{', '.join(map(str, ns))}] {first[aid].reference()}" for aid, ns in numbers.items()]


def compose_refusal(reason: str, closest: Sequence[ArticleRef]) -> str:
    lines = [f"The articles do not answer this. {reason}"]
    if closest:
        lines.append("")
        lines.append("Closest articles:")
        for a in closest:
            meta = ", ".join(p for p in (a.source, (a.published or "")[:10]) if p)
            lines.append(f"- “{a.title}”" + (f" ({meta})" if meta else ""))
    return "\n".join(lines)
