"""Segments: the parts a generation of the index is made of, each written once, and the
manifest that lists them.

Layout of ``index_dir`` (see index/README.md)::

    CURRENT              the name of the generation in use, replaced atomically
    gen-000007/          a generation: manifest.json (+ the readers' lock files)
    seg-000003-1f0c2a/   a segment: store.sqlite, keywords.npz, vectors.npz, chroma/ (embedded)
    seg-000007-9be410/
    lock                 held while a sync runs

A segment holds the articles one sync added (their text, chunks, vectors, BM25 postings,
reported speech) and is never written again. A generation's manifest lists the segments in
use and, for each, the articles removed from it since (a changed article is removed from its
old segment and written whole into the new one). A sync therefore writes what changed: a
segment for the new and changed articles and a manifest of a few kilobytes. Segments no
generation lists are deleted; small segments are merged so a question reads a few of them.

Why segments rather than one store changed in place: Chroma's embedded store has one writer
and readers in other processes that cache its files (chroma-core/chroma#1438 has no read-only
mode), so a store that a sync writes while a web server reads it gives no whole view to either.
A segment that is finished before any manifest names it is only ever read, and a manifest is
one file renamed into place: ``kill -9`` at any moment leaves the old manifest or the new one.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexStoreError

MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.npz"
_SEGMENT = re.compile(r"^seg-(\d{6})-[0-9a-f]{6}$")

MERGE_FACTOR = 4
"""Segments of one size tier (live chunks within a factor of 4) that are merged into one. A
chunk is copied again about once per tier it climbs (log4 of the corpus in chunks), and a
question reads at most ``MERGE_FACTOR - 1`` segments per tier: 8 or fewer at 100,000 chunks."""

DEAD_SHARE = 0.25
"""A segment whose chunks are more than this share removed is written again without them, so
the removed ones cost a question little (see ``reader.Segment.dense_search``)."""


@dataclass(frozen=True)
class SegmentRef:
    """One segment as a manifest lists it."""

    name: str
    chunks: int
    """Chunks written into the segment."""
    removed: tuple[str, ...] = ()
    """Articles removed from the segment since it was written (sorted)."""
    dead: int = 0
    """Chunks of the removed articles."""

    @property
    def live(self) -> int:
        return self.chunks - self.dead

    def without(self, articles: dict[str, int]) -> SegmentRef:
        """This segment with ``articles`` (id -> its chunks) removed as well."""
        new = {a: n for a, n in articles.items() if a not in self.removed}
        if not new:
            return self
        return replace(
            self,
            removed=tuple(sorted({*self.removed, *new})),
            dead=self.dead + sum(new.values()),
        )


@dataclass(frozen=True)
class Manifest:
    """What a generation is: its segments, oldest first, and facts about the whole index."""

    segments: tuple[SegmentRef, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    """fingerprint, backend, generation, built_at, analysis version, syndication groups."""

    @classmethod
    def read(cls, generation: Path) -> Manifest:
        path = generation / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            segments = tuple(
                SegmentRef(s["name"], s["chunks"], tuple(s["removed"]), s["dead"])
                for s in raw["segments"]
            )
            return cls(segments, raw["meta"])
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexStoreError(
                f"The index manifest {path} cannot be read ({exc}); rebuild the index with "
                "'briefing index --rebuild'"
            ) from exc

    def write(self, generation: Path) -> None:
        """Write the manifest into ``generation``, whole or not at all, and flush it."""
        tmp = generation / f".{MANIFEST_FILE}.tmp"
        body = {"segments": [asdict(s) for s in self.segments], "meta": self.meta}
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, generation / MANIFEST_FILE)

    @property
    def names(self) -> set[str]:
        return {s.name for s in self.segments}

    def total_chunks(self) -> int:
        return sum(s.live for s in self.segments)


def has_manifest(generation: Path) -> bool:
    return (generation / MANIFEST_FILE).is_file()


def list_segments(index_dir: Path) -> list[Path]:
    found = [p for p in index_dir.iterdir() if _SEGMENT.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: p.name)


def next_segment(index_dir: Path, taken: Iterable[str] = ()) -> Path:
    """A folder for a new segment, numbered after every one on disk and in ``taken``.

    A random suffix keeps a name from ever being used twice, also after a failed sync deleted
    its segment: Chroma keeps a client's state per folder for the life of the process."""
    names = [p.name for p in list_segments(index_dir)] + list(taken)
    numbers = [int(m.group(1)) for n in names if (m := _SEGMENT.match(n))]
    return index_dir / f"seg-{max(numbers, default=0) + 1:06d}-{secrets.token_hex(3)}"


def pick_merge(segments: Sequence[SegmentRef]) -> list[SegmentRef]:
    """The segments a sync should write again as one, or none.

    Segments whose live chunks fall in one tier (``floor(log4(live))``) are merged once the
    tier holds ``MERGE_FACTOR`` of them, lowest tier first, and a segment mostly removed
    (``DEAD_SHARE``) is written again on its own or with the tier merged. A segment with no
    live chunk is not merged: the sync just leaves it out of the manifest.
    """
    alive = [s for s in segments if s.live > 0]
    tiers: dict[int, list[SegmentRef]] = {}
    for s in alive:
        tiers.setdefault(int(math.log(s.live, MERGE_FACTOR)), []).append(s)
    full = sorted(t for t, members in tiers.items() if len(members) >= MERGE_FACTOR)
    chosen = list(tiers[full[0]]) if full else []
    for s in alive:
        if s.dead > DEAD_SHARE * s.chunks and s not in chosen:
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.name)


def write_vectors(
    folder: Path, ids: Sequence[str], article_ids: Sequence[str], vectors: Sequence[Any]
) -> None:
    """Keep a segment's vectors (float32, one row per chunk) beside its Chroma collection, for
    searches among a few articles (``reader.Segment.dense_search``); flushed, then renamed."""
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
    meta = json.dumps({"ids": list(ids), "article_ids": list(article_ids)}, ensure_ascii=False)
    tmp = folder / f".{VECTORS_FILE}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, vectors=matrix, meta=np.frombuffer(meta.encode("utf-8"), np.uint8))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / VECTORS_FILE)


def read_vectors(folder: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """(vectors, chunk ids, article ids) of a segment, as ``write_vectors`` kept them."""
    path = folder / VECTORS_FILE
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            return data["vectors"], meta["ids"], meta["article_ids"]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexStoreError(
            f"The vectors of segment {folder.name} cannot be read ({exc}); rebuild the index "
            "with 'briefing index --rebuild'"
        ) from exc
