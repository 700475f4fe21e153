"""Question sets that the MultiHop-RAG articles must NOT answer, for measuring refusal.

- ``off_topic()``: questions no news briefing answers (``tests/data/off_topic_questions.txt``).
- ``swapped_names(queries, corpus_text)``: answerable dev questions with one key name swapped for
  an invented one the corpus never mentions. The question stays on the corpus's topic (same
  outlets, same wording) but is about someone no article covers: the hard case for refusal.
  The names to swap are found without the assistant's own name finder: a run of two or three
  capitalised words that a gold fact or a gold title of the question also holds.
- ``HANDWRITTEN``: on-topic questions written by hand that the articles do not answer, each
  about someone invented; ``KNOWN_NAMES``: the same about people and bodies the articles do
  mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.evaluation import GoldQuery

ROOT = Path(__file__).resolve().parents[1]
OFF_TOPIC_FILE = ROOT / "tests" / "data" / "off_topic_questions.txt"

INVENTED = (
    "Vashti Quillfeather",
    "Borislav Anzengruber",
    "Caspian Wetherwax",
    "Ottoline Marchbanks",
    "Ezekiel Pennyfeather",
    "Dagny Holmqvist-Oduya",
    "Lucan Abernathy-Stroud",
    "Perpetua Olawumi",
    "Thaddeus Grimsbury",
    "Yevgenia Kolokoltsova",
    "Marisol Quintanar-Ruiz",
    "Anselm Tregothnan",
)
"""Invented people; ``swapped_names`` checks that the corpus mentions none of them."""

HANDWRITTEN = (
    "What did TechCrunch report about Vashti Quillfeather joining OpenAI's board?",
    "How many goals did Borislav Anzengruber score for Manchester United in November 2023?",
    "Which streaming service bought the rights to Ottoline Marchbanks' memoir, according to Variety?",
    "Did The Verge review the Pennyfeather X2 smartphone before or after Apple's iPhone 15 launch?",
    "What did the Federal Reserve say about the Quillfeather Index of consumer sentiment?",
    "According to Sporting News, why was Caspian Wetherwax suspended by the NFL?",
    "What did Sam Altman say about Thaddeus Grimsbury's role in the OpenAI board crisis?",
    "Which company did Marisol Quintanar-Ruiz found before joining Microsoft?",
    "How much did Anselm Tregothnan pay for his stake in the Chelsea football club?",
    "What did Dagny Holmqvist-Oduya tell the BBC about the Israel-Hamas ceasefire?",
    "Which Champions League club signed the goalkeeper Lucan Abernathy-Stroud in 2023?",
    "What did Yevgenia Kolokoltsova say about Nvidia's chip exports to China?",
)

KNOWN_NAMES = (
    "How much did OpenAI pay to acquire Nvidia?",
    "Which Premier League club did Sam Bankman-Fried buy in 2023?",
    "What did Taylor Swift say about the FTX trial?",
    "How many patents did Masimo sell to Google?",
    "Why did Microsoft close its Seattle headquarters, according to TechCrunch?",
    "Which Sporting News writer was hired by the Chicago Bears as head coach?",
    "What flavour of ice cream did Jerome Powell recommend to investors?",
    "How many moons did the James Webb Space Telescope discover around Jupiter in November 2023?",
)
"""On-topic questions written by hand about people and bodies the articles do mention, asking
what they never say: the case a retrieval gate cannot catch (a model that reads the quotes can)."""

_RUN = re.compile(
    r"(?<![\w'’])(?:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?:\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?){1,2}\b"
)
_NOT_NAME = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|The|What|Which|Who|Does|"
    r"Did|Is|Was|Considering|Between|After|Before|Both|According)\b"
)


def off_topic() -> list[str]:
    lines = OFF_TOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def swapped_names(
    queries: Sequence[GoldQuery],
    corpus_texts: Iterable[str],
    sources: Iterable[str],
    limit: int = 300,
) -> list[tuple[str, str, str]]:
    """(new question, the name swapped out, the invented name put in), at most ``limit``."""
    corpus = "\n".join(corpus_texts).lower()
    names = [n for n in INVENTED if n.lower() not in corpus and n.split()[-1].lower() not in corpus]
    outlets = {s.lower() for s in sources}
    out = []
    for i, q in enumerate(x for x in queries if not x.is_null):
        evidence = " ".join((*q.facts, *q.titles))
        for match in _RUN.finditer(q.query):
            span = match.group()
            if match.start() == 0 or _NOT_NAME.search(span) or span.lower() in outlets:
                continue
            if any(span.lower() in o or o in span.lower() for o in outlets):
                continue
            if span in evidence:
                new = names[i % len(names)]
                out.append((q.query[: match.start()] + new + q.query[match.end() :], span, new))
                break
        if len(out) >= limit:
            break
    return out
