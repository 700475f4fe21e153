"""The keyword (BM25) index over chunk texts, built with bm25s and saved beside the vectors."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

KEYWORD_DIR = "bm25"
KEYWORD_VERSION = "bm25s-en-stopwords-snowball-v1"
"""Changes whenever tokenization changes: it is part of the index fingerprint."""

_IDS_FILE = "chunk_ids.json"

QUESTION_WORDS = frozenset(
    "what did do doe say said about when who whom how whi which where wa were is are tell me more "
    "els happen know could would should mean respond react think".split()
)
"""Terms (as ``keyword_tokens`` gives them) that any question has, whatever its topic."""


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


def build_keyword_index(folder: Path, ids: Sequence[str], terms: Sequence[Sequence[str]]) -> None:
    """Write a BM25 index of the chunks' ``terms`` (from ``keyword_tokens``) into ``folder/bm25``."""
    out = folder / KEYWORD_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / _IDS_FILE).write_text(json.dumps(list(ids)), encoding="utf-8")
    if not ids:
        return
    retriever = _bm25s().BM25()
    retriever.index(list(terms), show_progress=False)
    retriever.save(str(out), show_progress=False)


class KeywordIndex:
    """A loaded BM25 index: ``search(query, k)`` gives (chunk id, score) pairs."""

    def __init__(self, folder: Path) -> None:
        bm25s = _bm25s()
        path = folder / KEYWORD_DIR
        self.ids: list[str] = json.loads((path / _IDS_FILE).read_text(encoding="utf-8"))
        self._bm25 = bm25s.BM25.load(str(path), show_progress=False) if self.ids else None

    def search(self, query: str, k: int, mask: Any = None) -> list[tuple[str, float]]:
        """Best ``k`` chunks; ``mask`` (one 0/1 weight per chunk, in ``ids`` order) filters."""
        tokens = keyword_tokens([query])
        if self._bm25 is None or not tokens[0]:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve(
            tokens, k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each token (chunks as documents; 0 if unseen)."""
        if self._bm25 is None:
            return {t: 0.0 for t in tokens}
        vocab, scores = self._bm25.vocab_dict, self._bm25.scores
        n, indptr = scores["num_docs"], scores["indptr"]
        out = {}
        for token in tokens:
            tid = vocab.get(token)
            df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
            out[token] = math.log((n - df + 0.5) / (df + 0.5) + 1.0) if df else 0.0
        return out
