"""A memo of what was computed from an immutable object, found again by the object itself.

A question searches the same set of allowed articles several times (BM25 twice, then each
segment's vectors), and the catalog hands out one ``frozenset`` per filter; each search turns
it into a numpy mask or row list. ``IdentityMemo`` keeps those, keyed by the set's ``id``
and holding the set, so the id cannot be reused by another object while the entry lives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Generic, TypeVar

import numpy as np

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``get(key, make)`` is ``make(key)``, computed once per ``frozenset`` key while it is
    among the last ``size`` keys; other keys (a mutable set) are computed every time. Safe to
    share between threads: at worst two threads compute the same value."""

    def __init__(self, size: int = 64) -> None:
        self.size = size  # a question uses a few sets: all, each source's, its period's
        self._found: dict[int, tuple[K, V]] = {}

    def get(self, key: K, make: Callable[[K], V]) -> V:
        if not isinstance(key, frozenset):
            return make(key)
        hit = self._found.get(id(key))
        if hit is not None and hit[0] is key:
            return hit[1]
        value = make(key)
        if len(self._found) >= self.size:
            self._found = {}
        self._found[id(key)] = (key, value)
        return value


class ArticleCodes:
    """A number for each article id, and ``mask(allowed)``: which numbers an allowed set
    holds, as a numpy bool array, made once per set and shared by every search of an index
    (BM25's, each segment's vectors'). Unknown ids get the number ``len(self)``, never
    allowed (``mask`` has one more entry than there are articles)."""

    def __init__(self, article_ids: Iterable[str] = ()) -> None:
        self.code: dict[str, int] = {}
        for article_id in article_ids:
            self.code.setdefault(article_id, len(self.code))
        self._masks: IdentityMemo[Collection[str], np.ndarray] = IdentityMemo()

    def __len__(self) -> int:
        return len(self.code)

    def of(self, article_ids: Iterable[str]) -> np.ndarray:
        """The numbers of ``article_ids``, ``len(self)`` for those it does not know."""
        unknown = len(self.code)
        return np.fromiter((self.code.get(a, unknown) for a in article_ids), dtype=np.int64)

    def mask(self, allowed: Collection[str]) -> np.ndarray:
        return self._masks.get(allowed, self._mask)

    def _mask(self, allowed: Collection[str]) -> np.ndarray:
        ok = np.zeros(len(self.code) + 1, dtype=bool)
        ok[[self.code[a] for a in allowed if a in self.code]] = True
        return ok
