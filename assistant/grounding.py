"""Check a model's written answer against the numbered, verified quotes it was given.

A language model writes the answer (issue 11); nothing it writes is shown before these checks:

- a citation ``[n]`` of a quote that does not exist is removed;
- words it presents as a quotation (in “…” or "…") that are not verbatim in a quote the
  sentence cites are removed, and the place is marked ``[quotation removed]``;
- a sentence with no valid citation is marked ``[unsupported]``;
- an answer that starts with ``DECLINE_MARK`` is the model saying the quotes do not answer:
  its reason becomes the refusal.

``check_answer`` returns the text to show and every check made (``Checked.checks``), so a user
can see what the model wrote and what was changed. Pure functions: no model, no index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .types import Quote

DECLINE_MARK = "NOT ANSWERED:"
"""What the model is asked to begin its reply with when the quotes do not answer."""

_CITATION = re.compile(r"(\s*)\[(\d+(?:\s*,\s*\d+)*)\]")
_QUOTATION = re.compile(r"“([^”]{3,})”|\"([^\"]{3,})\"")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"”’)]*|\n|$)")
_UNSUPPORTED = " [unsupported]"
_REMOVED = "[quotation removed]"


@dataclass(frozen=True)
class Check:
    """One thing the checks found: what, where, and what was done about it."""

    kind: str
    """"citation" (of a quote that does not exist), "quotation" (not verbatim in the quote it
    cites) or "uncited" (a sentence with no valid citation)."""
    action: str
    """"removed" or "marked"."""
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class Checked:
    """The answer to show, and what the checks did to the model's text."""

    text: str
    raw: str
    checks: tuple[Check, ...] = field(default_factory=tuple)
    refusal_reason: str | None = None
    """Set when the model said the quotes do not answer the question."""


def check_answer(raw: str, quotes: Sequence[Quote]) -> Checked:
    """``raw`` (the model's answer) checked against ``quotes`` (numbered from 1)."""
    stripped = raw.strip()
    if stripped.upper().startswith(DECLINE_MARK):
        reason = stripped[len(DECLINE_MARK) :].strip() or "The quotes do not answer the question."
        return Checked(text="", raw=raw, refusal_reason=reason)
    by_number = {q.n: q for q in quotes}
    checks: list[Check] = []
    text = _CITATION.sub(lambda m: _valid_citation(m, by_number, checks), stripped)
    shown = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if not sentence.strip():
            shown.append(sentence)
            continue
        sources = [by_number[n] for n in cited(sentence)]
        sentence = _QUOTATION.sub(lambda m, q=sources: _verbatim(m, q, checks), sentence)
        if not sources:
            checks.append(Check("uncited", "marked", sentence.strip()))
            ending = len(sentence) - len(sentence.rstrip())
            sentence = sentence.rstrip() + _UNSUPPORTED + sentence[len(sentence) - ending :]
        shown.append(sentence)
    return Checked(text="".join(shown).strip(), raw=raw, checks=tuple(checks))


def _valid_citation(match: re.Match[str], quotes: dict[int, Quote], checks: list[Check]) -> str:
    numbers = [int(n) for n in match.group(2).split(",")]
    valid = [n for n in numbers if n in quotes]
    for n in numbers:
        if n not in quotes:
            checks.append(Check("citation", "removed", f"[{n}]: there is no quote {n}"))
    return f"{match.group(1)}[{', '.join(map(str, valid))}]" if valid else ""


def cited(sentence: str) -> list[int]:
    """The quote numbers ``sentence`` cites, valid or not."""
    return [int(n) for m in _CITATION.finditer(sentence) for n in m.group(2).split(",")]


def _verbatim(match: re.Match[str], cited: Sequence[Quote], checks: list[Check]) -> str:
    words = match.group(1) or match.group(2)
    if any(_squeezed(words) in _squeezed(q.text) for q in cited):
        return match.group()
    where = ", ".join(f"[{q.n}]" for q in cited) or "no quote it cites"
    checks.append(Check("quotation", "removed", f"“{words}” is not verbatim in {where}"))
    return _REMOVED


def sentences(text: str) -> list[str]:
    """The sentences of an answer, as the checks see them."""
    return [m.group() for m in _SENTENCE.finditer(text) if m.group().strip()]


def quotations(text: str) -> list[str]:
    """The words ``text`` presents as quotations."""
    return [m.group(1) or m.group(2) for m in _QUOTATION.finditer(text)]


def _squeezed(text: str) -> str:
    """Whitespace made single spaces and curly quotes straight: how verbatim is compared."""
    straight = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(straight.split())
