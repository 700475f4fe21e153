"""The keyword (BM25) index over chunk texts, built with bm25s and saved beside the vectors."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .text import _bm25s, keyword_tokens

KEYWORD_DIR = "bm25"
KEYWORD_VERSION = "bm25s-en-stopwords-snowball-v1"
"""Changes whenever tokenization (``text.keyword_tokens``) changes: it is part of the index
fingerprint."""

_IDS_FILE = "chunk_ids.json"


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
        """BM25 inverse document frequency of each token, chunks as documents.

        A token no chunk holds weighs what BM25 gives a document frequency of 0, more than the
        rarest token the corpus holds: a question's words that the articles never use count
        against how much of it a sentence covers, never drop out of the total.
        """
        n = self._bm25.scores["num_docs"] if self._bm25 is not None else 0
        return {
            t: math.log((n - df + 0.5) / (df + 0.5) + 1.0) for t, df in self._df(tokens).items()
        }

    def _df(self, tokens: Sequence[str]) -> dict[str, int]:
        if self._bm25 is None:
            return {t: 0 for t in tokens}
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        out = {}
        for token in tokens:
            tid = vocab.get(token)
            out[token] = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
        return out

    def _chunks_with(self, token: str) -> set[int]:
        tid = None if self._bm25 is None else self._bm25.vocab_dict.get(token)
        if tid is None:
            return set()
        scores = self._bm25.scores
        return set(scores["indices"][scores["indptr"][tid] : scores["indptr"][tid + 1]].tolist())

    def together(self, terms: Sequence[str]) -> bool:
        """Whether one chunk holds all of ``terms``."""
        common: set[int] | None = None
        for term in sorted(set(terms), key=lambda t: self._df([t])[t]):
            found = self._chunks_with(term)
            common = found if common is None else common & found
            if not common:
                return False
        return bool(common)

    def mentions(self, terms: Sequence[str]) -> bool:
        """Whether the corpus mentions a name with these keyword ``terms`` in one chunk.

        Spelling variants count: written as one word ("Chat GPT" -> "chatgpt") or as two
        ("ChatGPT" -> "chat gpt").
        """
        if not terms or self.together(terms):
            return True
        if len(terms) > 1 and self.together(["".join(terms)]):
            return True
        if len(terms) == 1:
            word = terms[0]
            return any(self.together([word[:i], word[i:]]) for i in range(3, len(word) - 2))
        return False
