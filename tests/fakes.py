"""Deterministic stand-ins for one stage's tests (the end-to-end tests use the real model)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

from assistant.text import keyword_tokens


class HashEmbedder:
    """An ``Embedder`` that needs no model: each keyword term hashes to one of ``dim`` axes, so
    texts sharing words are close and the same text always gives the same unit vector."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.calls = 0

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        self.calls += 1
        vectors = [self._vector(terms) for terms in keyword_tokens(list(texts))] if texts else []
        if progress is not None:
            progress(len(vectors))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _vector(self, terms: Sequence[str]) -> list[float]:
        vector = [0.0] * self.dim
        for term in terms:
            digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]
