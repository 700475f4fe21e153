"""Text helpers that every stage shares: the keyword tokens of a text, and the words any
question has. Pure functions over strings (bm25s's tokenizer and the Snowball stemmer, loaded on
first use); the index, question understanding and quote scoring all read text this way.

A change to ``keyword_tokens`` changes the keyword index: bump ``keyword.KEYWORD_VERSION``.
"""

from __future__ import annotations

import logging
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


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed word tokens, the same for chunks and queries."""
    return _bm25s().tokenize(
        list(texts),
        stopwords="en",
        stemmer=_stemmer().stemWords,
        return_ids=False,
        show_progress=False,
    )
