"""How a story moved: the quotes on a topic ordered by publication date, and what is new since
a date.

``pick`` takes the scored sentences of a topic's passages (``quotes.score_sentences``) and keeps
each article's best sentence that is about the topic, the best ``limit`` of them, oldest first;
``Assistant.timeline`` finds the passages, verifies the quotes and adds who said them.
``whats_new`` lists the articles from a date on, each with its lead claim.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from .analysis import one_copy_per_story
from .chunking import split_sentences
from .dates import parse_date
from .errors import ConfigError
from .names import KeyName
from .quotes import ScoredSentence
from .types import Article, Quote

if TYPE_CHECKING:
    from .reader import Catalog

RELATIVE_COVERAGE = 0.5
"""An article's sentence joins a timeline when it holds at least this share of what the best
sentence holds of the topic's terms (set by hand on the demo briefing)."""


@dataclass(frozen=True)
class Timeline:
    """Quotes on ``topic`` ordered by their articles' publication date, oldest first."""

    topic: str
    entries: tuple[Quote, ...]
    since: str | None = None
    """Only articles published on or after this date (ISO) were read."""
    refusal_reason: str | None = None
    """Why there is no timeline: the articles do not cover the topic."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pick(
    scored: Sequence[ScoredSentence],
    article_text: Callable[[str], str],
    articles: Mapping[str, Article],
    *,
    limit: int,
    min_coverage: float,
    names: Sequence[KeyName] = (),
    skip: Collection[str] = (),
) -> list[Quote]:
    """Each article's best sentence on the topic (none from ``skip``), the best ``limit``,
    ordered by publication (undated last), numbered from 1.

    On the topic: it holds at least ``min_coverage`` and half the best sentence's share of the
    topic's terms, and, when the topic names someone or something, one of those ``names``."""
    floor = max(min_coverage, max((s.coverage for s in scored), default=0.0) * RELATIVE_COVERAGE)
    best: dict[str, ScoredSentence] = {}
    for sentence in scored:  # best first
        aid = sentence.passage.article_id
        named = not names or any(n.terms and set(n.terms) <= sentence.held for n in names)
        if aid not in best and aid not in skip and sentence.coverage >= floor and named:
            best[aid] = sentence
    kept = list(best.values())[:limit]
    kept.sort(key=lambda s: (_when(articles[s.passage.article_id]), s.passage.article_id))
    return [_quote(n, s, article_text) for n, s in enumerate(kept, 1)]


def lead_sentences(
    articles: Sequence[Article], spans: Callable[[Article], tuple[int, int] | None]
) -> list[Quote]:
    """One quote per article (its lead claim, ``spans`` picks it), oldest first."""
    quotes = []
    for article in sorted(articles, key=lambda a: (_when(a), a.id)):
        span = spans(article)
        if span is None:
            continue
        start, end = span
        quotes.append(_make(len(quotes) + 1, article, start, end))
    return quotes


def _when(article: Article) -> tuple[int, int]:
    ts = article.published_ts
    return (0, ts) if ts is not None else (1, 0)


def _quote(n: int, s: ScoredSentence, article_text: Callable[[str], str]) -> Quote:
    p = s.passage
    text = article_text(p.article_id)
    return Quote(
        n,
        text[s.start : s.end],
        p.article_id,
        p.title,
        p.source,
        p.published,
        p.url,
        s.start,
        s.end,
    )


def _make(n: int, article: Article, start: int, end: int) -> Quote:
    a = article
    return Quote(n, a.text[start:end], a.id, a.title, a.source, a.published, a.url, start, end)


def whats_new(catalog: Catalog, since: str, *, limit: int) -> Timeline:
    """The articles published from ``since`` (a date) on, oldest first (the newest ``limit``,
    one copy of a wire story), each with its lead claim: its first attributed speech, else its
    first sentence."""
    since_ts = day_start(since)
    fresh = sorted(
        (a for a in catalog.articles.values() if (a.published_ts or -1) >= since_ts),
        key=lambda a: (a.published_ts or 0, a.id),
    )
    copies = one_copy_per_story([a.id for a in fresh], catalog.stories)
    kept = [replace(a, text=catalog.article_text(a.id)) for a in fresh if a.id not in copies]

    def lead(article: Article) -> tuple[int, int] | None:
        spoken = [s for s in catalog.speech(article.id) if s.speaker]
        if spoken:
            return spoken[0].start, spoken[0].end
        sentences = split_sentences(article.text)
        return sentences[0] if sentences else None

    quotes = [catalog.attributed(q) for q in lead_sentences(kept[-limit:], lead)]
    reason = None if quotes else f"No article was published on or after {since}."
    return Timeline("", tuple(quotes), since, reason)


def day_start(value: str) -> int:
    """The start of the day ``value`` names (epoch seconds); ``ConfigError`` if it is none."""
    parsed = parse_date(value)
    if parsed is None:
        raise ConfigError(f"{value!r} is not a date; write it as YYYY-MM-DD")
    return parsed[1]
