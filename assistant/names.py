"""The key names of a question: the people, bodies, places, products and numbers it is about.

A question about "Anthropic's new model" cannot be answered by articles that never mention
Anthropic, however close they are in topic. ``key_names`` finds the names a question leans on,
each with the keyword terms (stemmed, lower-cased) that must occur together in one chunk for the
corpus to mention it; refusal then says which names the articles never mention.

Names are runs of capitalised words ("Vladimir Putin", "Tampa Bay Buccaneers", "GPT-4") and
numbers of two or more digits. Not names: question words and other words that are capitalised
only because they start the question, honorifics and titles ("President", "Mr"), months and
days, and the spans the caller already reads (the corpus's own outlets, dates). An outlet no
article comes from stays a name: "coverage of X" may be about X as well as by X.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .text import keyword_tokens


@dataclass(frozen=True)
class KeyName:
    text: str
    """The name as the question writes it ("OpenAI's" gives "OpenAI")."""
    terms: tuple[str, ...]
    """Its keyword terms; the corpus mentions the name when one chunk holds all of them."""


_WORD = r"(?:\d[\d,.]*\d(?!\w)|[A-Z0-9][\w’'.&-]*)"
_RUN = re.compile(rf"(?<![\w-]){_WORD}(?:\s+(?:(?:of|de|da|del|van|von|al|bin|la|le)\s+)?{_WORD})*")
_POSSESSIVE = re.compile(r"[’']s?$")
_SKIP = frozenset(
    """a an the this that these those it its he she they we i you my our your his her their
    what which who whom whose when where why how whether is are was were be been do does did
    has have had can could will would should shall may might must not no yes if and or but so
    as at by for from in into of on onto to with without about after before between during
    since until considering according based given following regarding despite while although
    though both either neither each every all any some many much more most other another
    also then than there here please tell give list name describe explain compare summarize
    summarise show find report reports article articles piece story news
    mr mrs ms dr prof sir dame lord lady st president vice prime minister secretary senator sen
    rep representative governor gov mayor chancellor king queen prince princess pope ceo cfo
    coo cto chairman chairwoman chair chief director general gen col capt judge justice
    spokesperson spokesman spokeswoman officials official minister's
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday
    today yesterday tomorrow""".split()
)
_NUMBER = re.compile(r"^\d[\d,.]*$")


def key_names(question: str, known_spans: Sequence[tuple[int, int]] = ()) -> list[KeyName]:
    """The names in ``question`` outside ``known_spans`` (outlets, dates read elsewhere)."""
    names: dict[tuple[str, ...], KeyName] = {}
    for match in _RUN.finditer(question):
        start, end = match.span()
        if any(s < end and start < e for s, e in known_spans):
            continue
        words = match.group().split()
        if start == _sentence_start(question, start) and not _acronym_or_number(words[0]):
            # capitalised because it starts the question: a name only when a name follows
            # ("Sam Altman said..."), or it is an acronym or holds a digit
            if len(words) == 1 or _POSSESSIVE.search(words[0]):
                words = words[1:]
        for group in _split_at_possessives(words):
            name = _key_name(group)
            if name is not None and name.terms not in names:
                names[name.terms] = name
    return list(names.values())


def _split_at_possessives(words: list[str]) -> list[list[str]]:
    """ "Kremlin's Peskov" is two names; "Putin's" ends the first."""
    groups: list[list[str]] = [[]]
    for word in words:
        groups[-1].append(_POSSESSIVE.sub("", word))
        if _POSSESSIVE.search(word):
            groups.append([])
    return [g for g in groups if g]


def _key_name(words: list[str]) -> KeyName | None:
    words = [w.strip(".,-&") for w in words]
    while words and words[0].lower() in _SKIP:
        words = words[1:]
    while words and words[-1].lower() in _SKIP:
        words = words[:-1]
    if not words or (len(words) == 1 and _NUMBER.match(words[0]) and len(words[0]) < 2):
        return None
    text = " ".join(words)
    terms = tuple(dict.fromkeys(keyword_tokens([text])[0]))
    return KeyName(text, terms) if terms else None


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts (after quotes and brackets)."""
    head = text[:pos].rstrip(" \"“‘'([")
    return pos if not head or head[-1] in ".?!:;\n" else -1


def _acronym_or_number(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return any(c.isdigit() for c in word) or (
        len(letters) >= 2 and all(c.isupper() for c in letters)
    )
