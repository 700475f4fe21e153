"""What a sync learns about the articles beyond their chunks: who speaks where, and which
articles carry one wire story.

Both are found at index time, so a question only reads them:
- reported speech of each article (``attribution.find_speech``) and its MinHash signature
  (``syndication.signature``) are found when the article is written into a segment
  (``segment_writer``) and kept in the segment's store;
- the syndication groups of the whole corpus are kept in the generation's manifest; a sync
  updates them from the stored signatures, reading only the texts of the articles the change
  touches (``syndication.update_groups``).

Bump ``VERSION`` when either changes what it finds: the next sync writes every segment made by
another version again, finding speech and signatures anew (no article is embedded again).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from .attribution import Speech
from .names import KeyName
from .quotes import ScoredSentence
from .store import ArticleStore
from .syndication import Syndication
from .text import keyword_tokens

VERSION = "1"
"""The analysis a segment's speech and signatures, and a manifest's groups, were made by."""

GROUPS_KEY = "syndication"
VERSION_KEY = "analysis"


def analysed_with_this_version(store: ArticleStore) -> bool:
    """Whether a segment's speech and signatures were found by this ``VERSION``."""
    return store.get_meta(VERSION_KEY) == VERSION


def manifest_groups(meta: Mapping[str, Any]) -> tuple[Syndication, ...]:
    """The syndication groups a sync kept in a generation's manifest ``meta``."""
    rows: list[dict[str, Any]] = meta.get(GROUPS_KEY) or []
    return tuple(
        Syndication(
            **{**row, "article_ids": tuple(row["article_ids"]), "outlets": tuple(row["outlets"])}
        )
        for row in rows
    )


def groups_meta(groups: Sequence[Syndication]) -> list[dict[str, Any]]:
    return [asdict(g) for g in groups]


def one_copy_per_story(article_ids: Sequence[str], stories: Mapping[str, Syndication]) -> set[str]:
    """The articles among ``article_ids`` (best first) that are copies of a story whose
    better-ranked copy is also there: an answer quotes one copy and names who carried it."""
    seen: set[int] = set()
    copies = set()
    for article_id in article_ids:
        story = stories.get(article_id)
        if story is None:
            continue
        if id(story) in seen:
            copies.add(article_id)
        seen.add(id(story))
    return copies


_ASKS_FOR_WORDS = re.compile(
    r"\b(?:say|said|says|tell|told|claim|deny|denied|denies|statement|comment|respond|react|"
    r"according|stance|position|view|think|warn|argue|argued|announce|insist|describe|call)",
    re.IGNORECASE,
)


def prefer_named_speakers(
    question: str,
    scored: Sequence[ScoredSentence],
    names: Sequence[KeyName],
    speech_at: Callable[[str, int, int], Speech | None],
    bonus: float,
) -> list[ScoredSentence]:
    """``scored`` with ``bonus`` added to the on-topic words of a speaker the question names,
    when it asks what was said ("What did Lavrov say about peacekeepers?" prefers what Lavrov
    said; "Did the Kremlin accept…?" asks about an act, not words), best first again."""
    if not names or not bonus or not _ASKS_FOR_WORDS.search(question):
        return list(scored)
    rescored = []
    for sentence in scored:
        speech = speech_at(sentence.passage.article_id, sentence.start, sentence.end)
        if sentence.coverage and speech is not None and speech.speaker:
            who = set(keyword_tokens([f"{speech.speaker} {speech.role or ''}"])[0])
            if any(name.terms and set(name.terms) <= who for name in names):
                sentence = replace(sentence, score=sentence.score + bonus)
        rescored.append(sentence)
    rescored.sort(key=lambda s: (-s.score, s.passage.stages.get("rank", 0), s.start))
    return rescored
