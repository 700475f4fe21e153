"""The keyword (BM25) index over chunk texts, built with bm25s and saved beside the vectors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

KEYWORD_DIR = "bm25"
KEYWORD_VERSION = "bm25s-en-stopwords-snowball-v1"
"""Changes whenever tokenization changes: it is part of the index fingerprint."""

_IDS_FILE = "chunk_ids.json"


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed word tokens, the same for chunks and queries."""
    import bm25s

    return bm25s.tokenize(
        list(texts),
        stopwords="en",
        stemmer=_stemmer().stemWords,
        return_ids=False,
        show_progress=False,
    )


def build_keyword_index(folder: Path, ids: Sequence[str], texts: Sequence[str]) -> None:
    """Write a BM25 index of ``texts`` (one per chunk id) into ``folder/bm25``."""
    import bm25s

    out = folder / KEYWORD_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / _IDS_FILE).write_text(json.dumps(list(ids)), encoding="utf-8")
    if not ids:
        return
    retriever = bm25s.BM25()
    retriever.index(keyword_tokens(texts), show_progress=False)
    retriever.save(str(out), show_progress=False)


class KeywordIndex:
    """A loaded BM25 index: ``search(query, k)`` gives (chunk id, score) pairs."""

    def __init__(self, folder: Path) -> None:
        import bm25s

        path = folder / KEYWORD_DIR
        self.ids: list[str] = json.loads((path / _IDS_FILE).read_text(encoding="utf-8"))
        self._bm25 = bm25s.BM25.load(str(path), show_progress=False) if self.ids else None

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        tokens = keyword_tokens([query])
        if self._bm25 is None or not tokens[0]:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=False) if s > 0]
