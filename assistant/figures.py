"""Figures in a sentence: numbers with their unit, and whether two of them are rival figures.

``quantities`` reads "about 1,400 workers", "$US240 million", "23%", "100 million to 200 million
posts" with what tells one figure from another: its unit (job / role / post are one class), a
change ("rose 2%", "$60 off"), an earlier value ("up from 45 million"), a target, an average or a
rate, a model ("Pro", "second generation"), the verb it counts ("killed", "kidnapped"), and the
words around it. ``conflict`` says whether two of them are two figures for one quantity.
``disagreement`` builds its ``figures`` oppositions on these. Pure functions over text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from .text import keyword_tokens

__all__ = [
    "ASKS_FIGURES",
    "SAME_AS_BEFORE",
    "Counted",
    "Quantity",
    "conflict",
    "quantities",
    "question_focus",
    "unit_class",
]

# a number, optionally a range: "$US240 million", "1.1 billion crowns", "23%", "100 million to
# 200 million posts", "340-mile", "now 20" (an age)
_NUMBER = (
    r"(?P<cur{i}>US\$|\$US|\$|€|£)?(?P<num{i}>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)"
    r"(?P<pct{i}>\s?%|\s?per ?cent\b)?(?:\s?(?P<scale{i}>thousand|million|billion|trillion|bn)\b)?"
)
_QUANTITY = re.compile(
    r"(?<![\w.,])(?:(?P<age>now|aged)\s)?"
    + _NUMBER.format(i=1)
    + r"(?:\s?(?:to|-|–)\s?"
    + _NUMBER.format(i=2)
    + r")?(?:(?P<hyphen>-)|\s)?(?P<unit>[A-Za-z]+)?"
)
_DIGIT = re.compile(r"\d")
SAME_AS_BEFORE = "?"
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_SKIP_BEFORE_UNIT = frozenset("more extra additional new unique total other of".split())
_UNIT_CLASSES = (
    frozenset("worker staff employe docker member".split()),
    frozenset("job role post posit".split()),
    frozenset("peopl person civilian israeli palestinian resid individu".split()),
)
_VAGUE_UNITS = frozenset("figur number mark estim percent time and or in on at to the a".split())
_CHANGE = re.compile(
    r"\b(?:rose|rise|rises|fell|fall|falls|dropped|drop|drops|lost|gained|gains|slipped|add|"
    r"adds|added|jumped|climbed|declined|edged|increased|decreased|up|down|higher|lower|from|by|"
    r"cut|or)\s+(?:(?:about|around|nearly|almost|some|more than|another)\s+)?$"
    r"|\b(?:rais|increas|lift|cut|lower|reduc|extend)\w*\b(?:\s+\S+){0,5}\s+to\s+$"
)
_QUALIFIERS = re.compile(
    r"\b(target|goal|limit|cap|quota|forecast|projected|predicted|expected|average|median|"
    r"minimum|maximum|record|above|below|over|under|beyond|exceed\w*)\b"
)
_MONTH = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?\s*$|\b(?:January|February|"
    r"March|April|May|June|July|August|September|October|November|December)\s+$",
    re.I,
)
# a question about figures themselves ("Are the agency's reservoir figures right?")
ASKS_FIGURES = frozenset("figur number estim count talli toll statist".split())
_OFF = re.compile(r"^\s*(?:off|discount)\b", re.I)
_HEDGES = frozenset(
    "about around nearly almost some at least more than as many up to over just roughly".split()
)
_TARGET = re.compile(r"\b(?:keep|limit|cap|hold)\w*\s+(?:\w+\s+){0,3}to\s+$")
_PER = re.compile(
    r"^\W*(?:for each|each|per|a head|apiece|annually|yearly|monthly|a (?:year|month|week|day))\b",
    re.I,
)
_CONTRAST = re.compile(
    r"\b(?:than the|above the|below the|against|versus|vs|rather than|instead of|not|contrary)\b"
)
_SPECIFIERS = re.compile(
    r"\b(?:Pro|Max|Mini|Plus|Ultra|Air|Lite|SE|XL|first|second|third|fourth|\d+(?:st|nd|rd|th)|"
    r"gen|generation|\d+-inch|M\d)\b"
)


@dataclass(frozen=True)
class Quantity:
    low: float
    high: float
    unit: str
    raw: str
    context: frozenset[str]
    qualifier: frozenset[str]
    """What kind of figure it is, when said: a target, an average, a rate ("per")."""
    historical: bool
    changed: bool
    specifiers: frozenset[str]
    verb: str | None
    """The verb just before it, if it is one ("killed", "kidnapped"): what is counted."""


def quantities(text: str, stems_between: Callable[[int, int], frozenset[str]]) -> list[Quantity]:
    """The numbers of ``text`` that have a unit, with what tells them apart."""
    found: list[Quantity] = []
    if not _DIGIT.search(text):
        return found  # every figure has a digit (most sentences have none: no pattern to try)
    for m in _QUANTITY.finditer(text):
        values = [_value(m, i) for i in (1, 2) if m.group(f"num{i}")]
        unit = _unit(m, text)
        if unit is None and (m.group("scale1") or m.group("scale2")):
            unit = SAME_AS_BEFORE  # "up from 45 million.": only to recognise a value
        if unit is None:
            continue
        before = text[max(0, m.start() - 40) : m.start()].lower()
        window_at = (max(0, m.start() - 60), min(len(text), m.end() + 60))
        window = text[window_at[0] : window_at[1]]
        if _MONTH.search(before):
            continue  # "the Sept. 1 game"
        qualifier = set(_QUALIFIERS.findall(before[-25:].lower()))
        after = f" {m.group('unit') or ''}{text[m.end() :]}"
        if _PER.match(after):
            qualifier.add("per")
        if _TARGET.search(before):
            qualifier.add("target")
        found.append(
            Quantity(
                low=min(values),
                high=max(values),
                unit=unit,
                raw=m.group().strip(),
                context=stems_between(*window_at) - {unit},
                qualifier=frozenset(qualifier),
                historical=bool(re.search(r"\bfrom\s+(?:the\s+)?$", before)),
                changed=bool(_CHANGE.search(before) or _OFF.match(after)),
                specifiers=frozenset(_SPECIFIERS.findall(window)),
                verb=_verb_before(before),
            )
        )
    return found


def _verb_before(before: str) -> str | None:
    """The stem of an -ed/-ing word just before a number, hedges aside ("killed more than")."""
    for word in reversed(re.findall(r"[a-z']+", before.lower())[-5:]):
        if word in _HEDGES:
            continue
        if word.endswith(("ed", "ing")) and word not in ("said", "reported", "according"):
            return _stem(word) or None
        return None
    return None


def _value(m: re.Match[str], i: int) -> float:
    value = float(m.group(f"num{i}").replace(",", ""))
    scale = m.group(f"scale{i}") or m.group(f"scale{3 - i}")  # "100 to 200 million"
    return value * _SCALES.get(scale or "", 1.0)


def _unit(m: re.Match[str], text: str) -> str | None:
    if m.group("hyphen") and m.group("unit"):
        return None  # "a 24-hour strike", "a 340-mile range": what it describes is elsewhere
    if m.group("age"):
        return "age"
    if m.group("pct1") or m.group("pct2"):
        return "%"
    if m.group("cur1") or m.group("cur2"):
        return "$" if "€" not in m.group() and "£" not in m.group() else m.group("cur1")
    number = m.group("num1").replace(",", "")
    if re.fullmatch(r"(19|20)\d\d", number) and not m.group("scale1"):
        return None  # a year
    word = m.group("unit")
    rest = text[m.end() :]
    if word and word.lower() in _SKIP_BEFORE_UNIT:
        following = re.match(r"\s*(?:the\s+)?([A-Za-z]+)", rest)
        word = following.group(1) if following else None
    if not word or word[0].isupper():
        return None
    stem = _stem(word.lower())
    if not stem or stem in _VAGUE_UNITS:
        return None
    return unit_class(stem)


def question_focus(question: str) -> str | None:
    """What a "how many/much" question counts: "how many jobs" -> job (its unit class)."""
    match = re.search(r"\bhow (?:many|much)\s+(\w+)", question, re.I)
    if match is None:
        return None
    stems = keyword_tokens([match.group(1)])[0]
    return unit_class(stems[0]) if stems else None


def unit_class(stem: str) -> str:
    return next((min(c) for c in _UNIT_CLASSES if stem in c), stem)


def conflict(
    qa: Quantity, qb: Quantity, a: Counted, b: Counted, topic: frozenset[str], focus: str | None
) -> bool:
    """Whether ``qa`` of ``a`` and ``qb`` of ``b`` are two figures for one quantity: same unit
    and kind, both current, far enough apart, the same verb if any, and said of the same thing
    (their surroundings share a term of the question, or three terms, or they count what the
    question counts)."""
    if qa.unit != qb.unit or qa.unit == SAME_AS_BEFORE:
        return False
    if qa.changed or qb.changed or qa.historical or qb.historical:
        return False
    if qa.qualifier != qb.qualifier or (qa.specifiers and qb.specifiers != qa.specifiers):
        return False  # a target against an actual figure; one model against another
    if max(qa.high, qb.high) > 50 * max(min(qa.low, qb.low), 1e-9):
        return False  # "199 hostages" / "1.1 million people": not one quantity
    close = abs(qa.low - qb.low) <= 0.02 * max(qa.low, qb.low)
    inside = qa.low <= qb.low <= qb.high <= qa.high or qb.low <= qa.low <= qa.high <= qb.high
    if close or inside:
        return False  # the same figure, or one inside the other's range
    for x, y, q in ((a, b, qa), (b, a, qb)):
        if sum(1 for other in x.quantities if other.unit == q.unit) > 3:
            return False  # a list of figures (a table, a deals post) proves nothing
        if _names_value(y, q):
            return False
    if qa.verb != qb.verb:
        return False  # "kidnapped at least 150 people" / "killing 1,400 people"
    shared = qa.context & qb.context
    return bool(shared & topic) or len(shared) >= 3 or focus == qa.unit


def _names_value(y: Counted, q: Quantity) -> bool:
    """``y`` gives ``q``'s value too, without contrasting it ("60 million, up from 45 million",
    "$680 million of his $700 million"): its other figure is then for something else."""
    for other in y.quantities:
        unit = other.unit in (q.unit, SAME_AS_BEFORE)
        if unit and abs(other.low - q.low) <= 0.02 * max(other.low, q.low):
            return other.historical or not _CONTRAST.search(y.lower)
    return False


class Counted(Protocol):
    """A statement as ``conflict`` reads it: its figures and its lower-case text."""

    @property
    def quantities(self) -> list[Quantity]: ...

    @property
    def lower(self) -> str: ...


@lru_cache(maxsize=10_000)
def _stem(word: str) -> str:
    """A word's keyword stem, "" for a stop word."""
    stems = keyword_tokens([word])[0]
    return stems[0] if len(stems) == 1 else ""
