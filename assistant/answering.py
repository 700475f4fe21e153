"""Question + Quotes -> Answer: refusal from retrieval evidence, and the answer writers.

An ``Answerer`` turns the question and the verified quotes into a stream: ``TextPiece``s as the
text is written, then one ``Written``. ``ComposedAnswerer`` (the default) writes no words of its
own: the best quote leads, the others follow, each cited ``[n]``. A model-backed writer fits
the same protocol.

Refusal is decided from retrieval evidence before anything is quoted: when the best passage is
not close to the question (dense similarity) and no sentence holds enough of the question's
weighted terms, or the question cites an outlet the corpus does not hold, the answer says the
articles do not answer and lists the closest articles instead of quoting weak matches. The
thresholds were calibrated on the null queries of the MultiHop-RAG dev split (see README).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from .config import RefusalPolicy
from .query import QueryPlan
from .quotes import ScoredSentence, question_terms
from .types import ArticleRef, Passage, Quote, TextPiece, Written


@dataclass(frozen=True)
class Evidence:
    """What refusal looks at; kept on the answer's filters for inspection."""

    best_similarity: float
    best_coverage: float
    """The largest share of the question's weighted terms held by a sentence that supports the
    question (``RefusalPolicy.min_units``); 0 when none does."""
    unknown_outlets: tuple[str, ...]
    missing_names: tuple[str, ...] = ()
    """Names the question is about that no article mentions."""
    names: tuple[str, ...] = ()
    """The names the question is about."""
    period_only: bool = False
    """The question asks what was reported in a period ("What was reported last week?") and
    articles from that period were found: they are the answer, however far their words are."""


def evidence(
    plan: QueryPlan,
    passages: Sequence[Passage],
    scored: Sequence[ScoredSentence],
    mentions: Callable[[Sequence[str]], bool] = lambda terms: True,
    policy: RefusalPolicy | None = None,
) -> Evidence:
    """What refusal looks at; ``mentions`` says whether the corpus mentions a name's terms."""
    policy = policy or RefusalPolicy()
    terms = set(question_terms(plan.question))
    names = [set(n.terms) & terms for n in plan.names]
    names = [n for n in names if n]
    rest = terms.difference(*names)
    units = len(names) + len(rest)

    def supports(s: ScoredSentence) -> bool:
        if not names:
            return len(rest & s.held) >= policy.min_units_nameless
        named = sum(1 for n in names if n & s.held)
        return named > 0 and named + len(rest & s.held) >= min(policy.min_units, units)

    return Evidence(
        best_similarity=max((p.stages.get("dense_similarity", 0.0) for p in passages), default=0.0),
        best_coverage=max((s.coverage for s in scored if supports(s)), default=0.0),
        unknown_outlets=plan.unknown_outlets,
        missing_names=tuple(n.text for n in plan.names if not mentions(n.terms)),
        names=tuple(n.text for n in plan.names),
    )


def refusal_reason(ev: Evidence, policy: RefusalPolicy, plan: QueryPlan) -> str | None:
    """Why the corpus does not answer, or None when it does."""
    if policy.refuse_unknown_outlets and ev.unknown_outlets and not plan.sources:
        names = ", ".join(ev.unknown_outlets)
        return f"The articles here include nothing from {names}."
    if policy.refuse_missing_names and ev.missing_names:
        return f"The articles never mention {_either(ev.missing_names)}."
    if ev.period_only or ev.best_similarity >= policy.min_similarity:
        return None
    if (
        ev.best_similarity >= policy.min_named_similarity
        and ev.best_coverage >= policy.min_support_share
    ):
        return None
    return "No article here is close enough to the question to quote."


def no_match_reason(
    sources: Sequence[str],
    span: tuple[str | None, str | None],
    wanted_sources: Sequence[str] = (),
    period: tuple[int | None, int | None] = (None, None),
) -> str:
    """Why no article passes the filters: which sources the index holds (those closest to the
    ones asked for first) and the dates its articles span."""
    from datetime import UTC, datetime
    from difflib import SequenceMatcher

    def day(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).date().isoformat()

    parts = ["No article in the index matches the filters."]
    unknown = [s for s in wanted_sources if s not in sources]
    if unknown:

        def closeness(source: str) -> float:
            return max(SequenceMatcher(None, s.lower(), source.lower()).ratio() for s in unknown)

        held = sorted(sources, key=lambda s: (-closeness(s), s))
        listed = ", ".join(held[:8]) + (f" and {len(held) - 8} more" if len(held) > 8 else "")
        parts.append(
            f"No article comes from {_either(unknown)}; "
            + (f"the sources here are {listed}." if held else "no article here names its source.")
        )
    start, end = period
    if start is not None or end is not None:
        asked = f"{day(start) if start is not None else '…'} to {day(end - 1) if end is not None else '…'}"
        first, last = span
        held_span = (
            f"the articles run from {first[:10]} to {last[:10]}"
            if first and last
            else "no article here has a date"
        )
        parts.append(f"The period asked for is {asked}; {held_span}.")
    return " ".join(parts)


def _either(names: Sequence[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


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
    return f"{q.marked()} [{q.n}]{said}"


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


class Answerer(Protocol):
    """Writes the answer to ``question`` from its numbered, verified ``quotes``.

    Yields ``TextPiece``s as the text is written, then exactly one ``Written``: the finished
    text, or (``refusal_reason`` set) why the quotes do not answer the question.
    """

    name: str
    """Shown on answers: "composed" or the model's name."""

    def write(self, question: str, quotes: Sequence[Quote]) -> Iterator[TextPiece | Written]: ...


class ComposedAnswerer:
    """The answer composed from the quotes alone (``compose``), one line at a time."""

    name = "composed"

    def write(self, question: str, quotes: Sequence[Quote]) -> Iterator[TextPiece | Written]:
        text = compose(quotes)
        for line in text.splitlines(keepends=True):
            yield TextPiece(line)
        yield Written(text)


def compose_refusal(reason: str, closest: Sequence[ArticleRef]) -> str:
    lines = [f"The articles do not answer this. {reason}"]
    if closest:
        lines.append("")
        lines.append("Closest articles:")
        for a in closest:
            meta = ", ".join(p for p in (a.source, (a.published or "")[:10]) if p)
            lines.append(f"- “{a.title}”" + (f" ({meta})" if meta else ""))
    return "\n".join(lines)
