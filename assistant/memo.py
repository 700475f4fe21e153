"""A memo of what was computed from an immutable object, found again by the object itself.

A question searches the same set of allowed articles several times (BM25 twice, then each
segment's vectors), and the catalog hands out one ``frozenset`` per filter; each search turns
it into a numpy mask or row list. ``IdentityMemo`` keeps those, keyed by the set's ``id``
and holding the set, so the id cannot be reused by another object while the entry lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``get(key, make)`` is ``make(key)``, computed once per ``frozenset`` key while it is
    among the last ``size`` keys; other keys (a mutable set) are computed every time. Safe to
    share between threads: at worst two threads compute the same value."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
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
