"""Read a question as a news reader does: the outlets it names, its dates, its key terms.

``plan_query`` turns a question into a ``QueryPlan`` that retrieval and refusal use. Outlets are
matched against the sources the index actually holds; an outlet the question names that the
corpus does not hold is kept too (``unknown_outlets``): the answer must then say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from .config import QuestionConfig
from .names import KeyName, key_names
from .text import QUESTION_WORDS, keyword_tokens
from .timescope import TimeScope, read_time_scope


@dataclass(frozen=True)
class QueryPlan:
    question: str
    sources: tuple[str, ...] = ()
    """Corpus sources the question names (exact source names as stored)."""
    unknown_outlets: tuple[str, ...] = ()
    """Outlets the question names that no article in the corpus comes from."""
    scope: TimeScope = field(default_factory=lambda: read_time_scope(""))
    clauses: dict[str, str] = field(default_factory=dict)
    """For each named source, the part of the question about it ("the Fortune article
    discussing X, while the Verge article says Y" -> Fortune: "discussing X", Verge: "says Y")."""
    names: tuple[KeyName, ...] = ()
    """The people, bodies, places, products and numbers the question is about (not outlets or
    dates): the corpus must mention each for the question to be answerable."""


# "an article from Bloomberg", "a report by The Wall Street Journal", "as reported by Forbes"
_NAME = (
    r"(?P<name>(?:the\s+)?[A-Z][\w&.'’-]*(?:\s+(?:of\s+|for\s+|&\s+|-\s+)?[A-Z][\w&.'’-]*){0,4})"
)
_OUTLET_CUE = re.compile(
    r"\b(?:(?:articles?|reports?|pieces?|stor(?:y|ies)|coverage|columns?|editorials?|"
    r"op-eds?|podcasts?|newsletters?)\s+(?:from|by|in|of)|reported\s+(?:by|in)|"
    r"published\s+(?:by|in))\s+(?:an?\s+)?" + _NAME
)
# "the Bloomberg article", "a Forbes report", "'Essentially Sports' article"
_OUTLET_BEFORE = re.compile(
    r"(?:\b(?:the|a|an|an?other)\s+)['‘\"“]?"
    + _NAME
    + r"['’\"”]?\s+(?:article|report|piece|story|coverage|column|editorial|op-ed|podcast)s?\b"
)
_NOT_OUTLETS = frozenset(
    """The A An This That These Those It He She They We I You Which What Who When Where How Why
    Does Did Do Is Are Was Were Has Have Had Considering Between After Before Following Both
    According Despite While Yes No""".split()
)
_MONTHS = frozenset(
    """January February March April May June July August September October November December
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday
    Saturday Sunday""".split()
)


def source_aliases(source: str) -> set[str]:
    """Ways a question may name a source: 'FOX News - Health' -> {'FOX News - Health', 'FOX News'}."""
    names = {source}
    for sep in (" | ", " - ", ": "):
        if sep in source:
            names.add(source.split(sep, 1)[0])
    for name in list(names):
        if name.lower().startswith("the ") and len(name) > 8:
            names.add(name[4:])
    return {n.strip() for n in names if len(n.strip()) >= 3}


@lru_cache(maxsize=8)
def _alias_table(sources: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, set[str]]]:
    table: dict[str, set[str]] = {}
    for source in sources:
        for alias in source_aliases(source):
            table.setdefault(alias.lower(), set()).add(source)
    if not table:
        return None, table
    alternatives = sorted(table, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w])(?:" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w])",
        re.IGNORECASE,
    )
    return pattern, table


def named_sources(
    question: str, sources: Iterable[str]
) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    """Corpus sources named in the question, and where (spans) they are named.

    Names of one word must be capitalised as in the source name ("Fortune", not "a fortune").
    """
    pattern, table = _alias_table(tuple(sorted(sources)))
    if pattern is None:
        return (), []
    mentions = source_mentions(question, sources)
    found = dict.fromkeys(source for _span, named in mentions for source in named)
    return tuple(found), [span for span, _named in mentions]


def source_mentions(
    question: str, sources: Iterable[str]
) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    """Each place the question names corpus sources: (span, the sources that name fits)."""
    pattern, table = _alias_table(tuple(sorted(sources)))
    if pattern is None:
        return []
    mentions = []
    for match in pattern.finditer(question):
        text = match.group()
        if " " not in text.strip() and not text[0].isupper():
            continue
        mentions.append((match.span(), tuple(sorted(table[text.lower()]))))
    return mentions


def source_clauses(
    question: str, sources: Iterable[str], min_terms: int = QuestionConfig().clause_min_terms
) -> dict[str, str]:
    """The words after each source's mention, up to the next mention, when they say enough.

    A clause that names fewer than ``min_terms`` content words ("reports from A and B") gives
    nothing: such a question is about one thing and the whole of it is the query for every
    source.
    """
    mentions = source_mentions(question, sources)
    clauses: dict[str, str] = {}
    for i, ((_start, end), named) in enumerate(mentions):
        stop = mentions[i + 1][0][0] if i + 1 < len(mentions) else len(question)
        clause = question[end:stop].strip(" ,'’\"”")
        if len(set(keyword_tokens([clause])[0]) - QUESTION_WORDS) >= min_terms:
            for source in named:
                clauses.setdefault(source, clause)
    return clauses


def unknown_outlets(
    question: str, known_spans: list[tuple[int, int]], sources: Iterable[str]
) -> tuple[str, ...]:
    """Outlet-like names the question cites that match no corpus source."""
    known = {a.lower() for s in sources for a in source_aliases(s)}
    found: dict[str, int] = {}
    for pattern in (_OUTLET_CUE, _OUTLET_BEFORE):
        for match in pattern.finditer(question):
            start, end = match.span("name")
            if any(s < end and start < e for s, e in known_spans):
                continue
            name = _clean_outlet(match.group("name"))
            if name and name.lower() not in known:
                found.setdefault(name, start)
    return tuple(sorted(found, key=found.__getitem__))


def _clean_outlet(name: str) -> str | None:
    words = name.split()
    while words and words[0] in ("the", "The"):
        words = words[1:]
    if not words or words[0] in _NOT_OUTLETS or words[0] in _MONTHS:
        return None
    return " ".join(words).strip(" '’\".,")


def plan_query(
    question: str,
    sources: Iterable[str],
    reference: date | datetime | None = None,
    config: QuestionConfig | None = None,
) -> QueryPlan:
    config = config or QuestionConfig()
    sources = list(sources)
    named, spans = named_sources(question, sources)
    outlets = unknown_outlets(question, spans, sources)
    scope = read_time_scope(question, reference)
    return QueryPlan(
        question=question,
        sources=named,
        unknown_outlets=outlets,
        scope=scope,
        clauses=source_clauses(question, sources, config.clause_min_terms) if named else {},
        names=tuple(key_names(question, [*spans, *_spans_of(question, scope.matched)])),
    )


def _spans_of(text: str, phrases: Iterable[str]) -> list[tuple[int, int]]:
    """Where each of ``phrases`` occurs in ``text`` (every occurrence)."""
    return [m.span() for phrase in phrases if phrase for m in re.finditer(re.escape(phrase), text)]


# -- follow-ups ------------------------------------------------------------------------------
# A follow-up ("what did the Kremlin say about that?", "and when was that?") is turned into a
# standalone question before retrieval. Without a language model this is done from the earlier
# turn: when the new question leans on it (opens with "and"/"what about", points back with
# "that"/"it", or is too short to stand alone), the earlier standalone question is attached as
# its topic. The standalone question is shown on the answer.
_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what|what else)\b", re.I
)
_POINTER = re.compile(
    r"\b(?:that|this|it|its|they|them|their|those|these|he|she|him|her|his|there|then|the same)\b",
    re.I,
)
_ABOUT = re.compile(r"\s*\(about: (.*)\)$")


def is_follow_up(question: str, own_terms: int = QuestionConfig().follow_up_own_terms) -> bool:
    """Whether ``question`` leans on the turn before: it opens like a follow-up, or has fewer
    than ``own_terms`` content words and points back ("that", "it") or has two or fewer."""
    own = sum(1 for t in keyword_tokens([question])[0] if t not in QUESTION_WORDS)
    if _OPENER.search(question):
        return True
    if own >= own_terms:
        return False
    return bool(_POINTER.search(question)) or own <= 2


def condense(
    question: str, history: Sequence[str], own_terms: int = QuestionConfig().follow_up_own_terms
) -> str:
    """A standalone version of ``question`` given the earlier standalone questions."""
    if not history or not is_follow_up(question, own_terms):
        return question
    earlier = _ABOUT.sub(r" \1", history[-1].strip().rstrip("?")).strip()
    return f"{question.strip().rstrip('?')} (about: {earlier})?"


def about_the_period(plan: QueryPlan, max_terms: int = QuestionConfig().period_only_terms) -> bool:
    """Whether the question is about its period itself ("What was reported last week?"):
    bounded in time, with at most ``max_terms`` content words besides the dates."""
    scope = plan.scope
    if scope.start_ts is None and scope.end_ts is None:
        return False
    rest = plan.question
    for phrase in scope.matched:
        rest = rest.replace(phrase, " ")
    terms = (
        set(keyword_tokens([rest])[0]) - QUESTION_WORDS - {"report", "news", "happen", "publish"}
    )
    return len(terms) <= max_terms
