"""Text helpers that every stage shares: the keyword tokens of a text, and the words any
question has. Pure functions over strings (bm25s's tokenization rules and the Snowball stemmer,
loaded on first use); the index, question understanding and quote scoring all read text this way.

A change to ``keyword_tokens`` changes the keyword index: bump ``keyword.KEYWORD_VERSION``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

QUESTION_WORDS = frozenset(
    "what did do doe done say said about when who whom whose how whi which where wa were is are "
    "am be been tell me more most much mani els happen know could would should shall can may "
    "might must mean respond react think has have had you your my we us our him his her them "
    "those ani some someth anyth someon anyon everi each both either neither other anoth same "
    "own veri too also just onli so than whether here pleas like near".split()
)
"""Terms (as ``keyword_tokens`` gives them) that any question has, whatever its topic: question
words and the function words bm25s's short English stop list keeps ("has", "most", "you")."""


@lru_cache(maxsize=1)
def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG when imported; undo that so it logs like the rest.
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


_WORDS = re.compile(r"\w\w+")
"""bm25s's token pattern, ``(?u)\\b\\w\\w+\\b`` (scikit-learn's CountVectorizer's): runs of two
word characters or more. The same matches without the word boundaries, which a greedy run of
word characters always has at both ends; a quarter faster."""

STEM_CACHE = 100_000
"""Distinct words whose terms are remembered (the 609 MultiHop-RAG articles hold 40,000)."""

SENTENCE_CACHE = 20_000
"""Texts whose tokens ``sentence_tokens`` remembers (a question reads about 300 sentences)."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class _Terms(dict[str, str | None]):
    """word -> its Snowball stem, or None for a stop word; filled on first use, emptied when it
    holds ``STEM_CACHE`` words."""

    def __init__(self, stopwords: frozenset[str]) -> None:
        super().__init__()
        self.stopwords = stopwords

    def __missing__(self, word: str) -> str | None:
        if len(self) >= STEM_CACHE:
            self.clear()
        term: str | None = None if word in self.stopwords else _stemmer().stemWord(word)
        self[word] = term
        return term


@lru_cache(maxsize=1)
def _terms() -> _Terms:
    _bm25s()  # bm25s's own logging set-up first
    from bm25s.stopwords import STOPWORDS_EN

    return _Terms(frozenset(STOPWORDS_EN))


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed word tokens, the same for chunks and queries.

    What ``bm25s.tokenize(texts, stopwords="en", stemmer=Snowball English, return_ids=False)``
    gives (``tests/test_text.py`` holds them to it), without its per-call set-up: the stop
    words are dropped before stemming, and each word is stemmed on its own (Snowball looks at one
    word at a time), its stem remembered.
    """
    term = _terms().__getitem__
    return [[t for t in map(term, _WORDS.findall(text.lower())) if t is not None] for text in texts]


def sentence_tokens(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """``keyword_tokens`` of texts read again and again (the sentences of retrieved passages),
    remembered for the last ``SENTENCE_CACHE`` distinct texts."""
    return [_sentence_tokens(text) for text in texts]


@lru_cache(maxsize=SENTENCE_CACHE)
def _sentence_tokens(text: str) -> tuple[str, ...]:
    return tuple(keyword_tokens([text])[0])
