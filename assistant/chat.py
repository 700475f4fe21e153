"""ChatSession: condense -> retrieve -> answer, one explicit step each, with the history kept.

A follow-up ("what did the Kremlin say about that?", "and when was that?") is turned into a
standalone query before retrieval. Without a language model this is done from the earlier turn:
when the new question leans on it (opens with "and"/"what about", points back with "that"/"it",
or is too short to stand alone), the earlier standalone question is attached as its topic.
The standalone query is shown on the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .keyword import QUESTION_WORDS, keyword_tokens
from .types import Answer

if TYPE_CHECKING:
    from .api import Assistant
    from .retrieval import Filters

_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what|what else)\b", re.I
)
_POINTER = re.compile(
    r"\b(?:that|this|it|its|they|them|their|those|these|he|she|him|her|his|there|then|the same)\b",
    re.I,
)
_ABOUT = re.compile(r"\s*\(about: (.*)\)$")
_OWN_TERMS = 4
"""A question with at least this many content words of its own that opens no follow-up stands alone."""


def is_follow_up(question: str) -> bool:
    own = sum(1 for t in keyword_tokens([question])[0] if t not in QUESTION_WORDS)
    if _OPENER.search(question):
        return True
    if own >= _OWN_TERMS:
        return False
    return bool(_POINTER.search(question)) or own <= 2


def condense(question: str, history: Sequence[str]) -> str:
    """A standalone version of ``question`` given the earlier standalone questions."""
    if not history or not is_follow_up(question):
        return question
    earlier = _ABOUT.sub(r" \1", history[-1].strip().rstrip("?")).strip()
    return f"{question.strip().rstrip('?')} (about: {earlier})?"


@dataclass
class ChatSession:
    """A conversation with the assistant; ``ask`` takes the earlier turns into account."""

    assistant: Assistant
    turns: list[Answer] = field(default_factory=list)

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        answer = self.assistant.ask(question, history=self.turns, filters=filters)
        self.turns.append(answer)
        return answer

    def reset(self) -> None:
        self.turns.clear()
