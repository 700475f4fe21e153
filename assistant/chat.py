"""ChatSession: a conversation, each question asked with the turns before it.

``Assistant.ask`` condenses a follow-up into a standalone question (``query.condense``), then
retrieves and answers; the session only keeps the turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .types import Answer

if TYPE_CHECKING:
    from .api import Assistant
    from .types import Filters


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
