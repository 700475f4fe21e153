"""Quotation marks -> quotations: the spans of quoted words in a text.

``quotations`` pairs the quotation marks of a text (curly or straight, mixed, unbalanced: a
mark left open closes at its paragraph's end) into spans, and links a paragraph that opens a
quotation without closing it to the next paragraph that opens one: that is one quotation, as
news style writes a quotation over several paragraphs. Single quotation marks are left alone
(they are apostrophes or quotations inside quotations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BLANK = "\u2060"  # stands in for a quotation's words in a masked sentence (same length)


@dataclass(frozen=True)
class Quotation:
    start: int
    end: int
    chain: int
    """Quotations of one chain are one quotation over several paragraphs."""
    speech: bool
    """Long enough to be someone's words (four words or a whole sentence), not a title."""


_MARK = re.compile(r"[“”\"«»„]")


def quotations(text: str) -> list[Quotation]:
    """The quotations of ``text``; one left open at a paragraph's end goes on in the next
    paragraph when that one opens with a quotation mark (short lines between are skipped)."""
    spans: list[tuple[int, int, bool]] = []  # start, end, closed
    for line in re.finditer(r"[^\n]+", text):
        opened: int | None = None
        for mark in _MARK.finditer(line.group()):
            at = line.start() + mark.start()
            before = text[at - 1] if at > line.start() else " "
            after = text[at + 1] if at + 1 < line.end() else " "
            char = mark.group()
            if opened is None:
                if (
                    char in "“«„"
                    or not after.isspace()
                    and (before.isspace() or before in "([—–-/")
                ):
                    opened = at
            elif char in '”»"' and not before.isspace() or char in "“«„" and after.isspace():
                spans.append((opened, at + 1, True))
                opened = None
            elif char in "“«„":  # a new opening: the last one was never closed
                spans.append((opened, at, False))
                opened = at
        if opened is not None:
            spans.append((opened, line.end(), False))
    found: list[Quotation] = []
    for i, (start, end, _closed) in enumerate(spans):
        chain = i
        if found and not spans[i - 1][2] and _opens_paragraph(text, start):
            lines = text[found[-1].end : start].split("\n")[1:-1]
            if all(len(line.split()) <= 4 for line in lines):  # "Advertisement" between
                chain = found[-1].chain
        inner = text[start + 1 : end]
        speech = len(inner.split()) >= 4 or bool(re.search(r"[.?!]\s+\S", inner))
        found.append(Quotation(start, end, chain, speech or chain != i))
    return found


def masked(text: str, start: int, end: int, quotes: list[Quotation]) -> str:
    """``text[start:end]`` with the words of its spoken quotations blanked (same length)."""
    chars = list(text[start:end])
    for q in quotes:
        if q.speech and q.start < end and q.end > start:
            for i in range(max(q.start + 1, start), min(q.end - 1, end)):
                chars[i - start] = BLANK
    return "".join(chars)


def _opens_paragraph(text: str, at: int) -> bool:
    line_start = text.rfind("\n", 0, at) + 1
    return line_start > 0 and not text[line_start:at].strip()
