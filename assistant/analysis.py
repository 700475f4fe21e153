"""What a sync learns about the articles beyond their chunks: who speaks where, and which
articles carry one wire story.

Both are found at index time and kept in the generation's store, so a question only reads them:
- reported speech of each article (``attribution.find_speech``), in the ``speech`` table, found
  again only for articles that are new, changed, or analysed by an older ``VERSION``;
- the syndication groups of the whole corpus (``syndication.syndication_groups``), in the
  store's meta, found again on every sync that writes a generation (a new article can join a
  group of old ones).

Bump ``VERSION`` when either changes what it finds: the next sync analyses every article again
(no article is embedded again for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from .attribution import Speech, find_speech
from .names import KeyName
from .quotes import ScoredSentence
from .store import ArticleStore
from .syndication import Syndication, syndication_groups
from .text import keyword_tokens

VERSION = "1"
"""The analysis a store's speech and groups were made by."""

_GROUPS = "syndication"
_VERSION_KEY = "analysis"


def needs_analysis(store: ArticleStore) -> bool:
    """Whether a sync must analyse ``store``'s articles again (it was made by another version)."""
    return store.get_meta(_VERSION_KEY) != VERSION


def analyse(store: ArticleStore, report: Callable[[str, int, int], None]) -> None:
    """Find the speech of every article not yet analysed by ``VERSION``, and the groups."""
    pending = store.unanalysed(VERSION)
    report("attributing", 0, len(pending))
    for done, article_id in enumerate(pending, 1):
        article = store.article(article_id)
        if article is not None:
            store.put_speech(article_id, find_speech(article.text), VERSION)
        report("attributing", done, len(pending))
    groups = syndication_groups(list(store.articles()))
    store.set_meta(_GROUPS, [asdict(g) for g in groups])
    store.set_meta(_VERSION_KEY, VERSION)


def stored_groups(store: ArticleStore) -> tuple[Syndication, ...]:
    """The syndication groups a sync kept in ``store`` (none in a store made before them)."""
    rows: list[dict[str, Any]] = store.get_meta(_GROUPS) or []
    return tuple(
        Syndication(
            **{**row, "article_ids": tuple(row["article_ids"]), "outlets": tuple(row["outlets"])}
        )
        for row in rows
    )


def analysed(store: ArticleStore) -> bool:
    """Whether a sync found the speech and groups of ``store`` (stores made before did not)."""
    return store.get_meta(_VERSION_KEY) is not None


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
