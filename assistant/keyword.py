"""The keyword (BM25) index over chunk texts: postings per segment, statistics at query time.

The index is a list of immutable segments, each written once by the sync that added its
articles. ``write_keywords`` stores a segment's BM25 postings (which chunks hold each term, and
how often) and its chunks' lengths, but no score: a BM25 score depends on the number of chunks,
the document frequencies and the average chunk length of the whole corpus, which every sync
changes. ``KeywordIndex`` reads the segments and the articles removed from each since
(tombstones), counts those statistics over the live chunks of all segments, and scores with
them. A sync therefore writes only its new segment's postings, and the scores are exactly those
of one bm25s index (method "lucene", its defaults) built over the live chunks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import zipfile
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from .errors import IndexStoreError
from .memo import ArticleCodes, IdentityMemo
from .text import keyword_tokens

logger = logging.getLogger(__name__)

KEYWORD_FILE = "keywords.npz"
KEYWORD_VERSION = "bm25s-en-stopwords-snowball-v1"
"""Changes whenever tokenization (``text.keyword_tokens``) changes: it is part of the index
fingerprint. (The postings file and the scoring belong to the index format,
``reader.FORMAT_VERSION``; this name is the tokenization's since bm25s indexed the chunks.)"""

K1 = 1.5
B = 0.75
"""bm25s's defaults: the scores match its index built over the same chunks."""

_EMPTY = np.zeros(0, dtype=np.int32)


def _idf(n: int, df: int) -> float:
    """BM25's inverse document frequency as Lucene (and bm25s) compute it: never negative."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def write_keywords(
    folder: Path,
    ids: Sequence[str],
    article_ids: Sequence[str],
    terms: Sequence[Sequence[str]],
) -> None:
    """Write the postings of one segment's chunks into ``folder/keywords.npz``.

    ``terms`` are each chunk's keyword terms (from ``keyword_tokens``), in ``ids`` order. The
    file is written under a temporary name, flushed to disk and renamed, so a crash leaves the
    old file or the new one; the sync fsyncs the folder when it seals the segment.
    """
    if not len(ids) == len(article_ids) == len(terms):
        raise ValueError(
            "ids, article_ids and terms need one entry per chunk; "
            f"got {len(ids)}, {len(article_ids)} and {len(terms)}"
        )
    lengths = np.fromiter(map(len, terms), dtype=np.int32, count=len(terms))
    vocab = {t: i for i, t in enumerate(dict.fromkeys(chain.from_iterable(terms)))}
    term_ids = np.fromiter(
        map(vocab.__getitem__, chain.from_iterable(terms)), dtype=np.int64, count=lengths.sum()
    )
    chunk_of = np.repeat(np.arange(len(terms), dtype=np.int64), lengths)
    # one key per (term, chunk) pair, sorted by term then chunk: the postings in CSR order
    width = max(len(terms), 1)
    keys, tfs = np.unique(term_ids * width + chunk_of, return_counts=True)
    term_of, chunks = np.divmod(keys, width)
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_of, minlength=len(vocab)), out=indptr[1:])
    meta = {"ids": list(ids), "article_ids": list(article_ids), "vocab": list(vocab)}

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{KEYWORD_FILE}.tmp"
    with open(tmp, "wb") as f:
        np.savez(
            f,
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), np.uint8),
            lengths=lengths,
            indptr=indptr,
            chunks=chunks.astype(np.int32),
            tfs=tfs.astype(np.int32),
        )
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / KEYWORD_FILE)


@dataclass(frozen=True, eq=False)
class SegmentKeywords:
    """One segment's postings: for each term, the chunks (by position) holding it and how often.

    ``indptr[t]:indptr[t + 1]`` is term ``t``'s slice of ``chunks`` and ``tfs``; chunk positions
    within a term are increasing.
    """

    ids: list[str]
    article_ids: list[str]
    lengths: np.ndarray
    vocab: dict[str, int]
    indptr: np.ndarray
    chunks: np.ndarray
    tfs: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> SegmentKeywords:
        """Read ``folder/keywords.npz``; a missing or damaged file is an ``IndexStoreError``."""
        path = folder / KEYWORD_FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(data["meta"].tobytes().decode("utf-8"))
                segment = cls(
                    ids=meta["ids"],
                    article_ids=meta["article_ids"],
                    lengths=data["lengths"],
                    vocab={term: i for i, term in enumerate(meta["vocab"])},
                    indptr=data["indptr"],
                    chunks=data["chunks"],
                    tfs=data["tfs"],
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise IndexStoreError(
                f"the keyword postings {path} cannot be read ({exc}); "
                "rebuild the index with 'briefing index --rebuild'"
            ) from exc
        if (
            not len(segment.ids) == len(segment.article_ids) == len(segment.lengths)
            or len(segment.indptr) != len(segment.vocab) + 1
            or not segment.indptr[-1] == len(segment.chunks) == len(segment.tfs)
        ):
            raise IndexStoreError(
                f"the keyword postings {path} do not fit together (a partial write?); "
                "rebuild the index with 'briefing index --rebuild'"
            )
        return segment

    def __len__(self) -> int:
        return len(self.ids)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the chunks holding ``term`` and its count in each."""
        where = _term_slice(self.vocab, self.indptr, term)
        return self.chunks[where], self.tfs[where]

    def without(self, removed: Collection[str]) -> SegmentKeywords:
        """This segment with the chunks of the ``removed`` articles gone, from postings too.

        Done once when the index is opened, so a query never meets a dead chunk and the
        statistics need no correction; a segment with nothing removed is returned as it is.
        """
        removed = set(removed)
        live = np.fromiter(
            (a not in removed for a in self.article_ids), dtype=bool, count=len(self)
        )
        if live.all():
            return self
        keep = live[self.chunks]
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        position = np.cumsum(live) - 1  # a live chunk's position among the live ones
        return SegmentKeywords(
            ids=[c for c, alive in zip(self.ids, live.tolist(), strict=True) if alive],
            article_ids=[
                a for a, alive in zip(self.article_ids, live.tolist(), strict=True) if alive
            ],
            lengths=self.lengths[live],
            vocab=self.vocab,
            indptr=kept_before[self.indptr],
            chunks=position[self.chunks[keep]].astype(np.int32),
            tfs=self.tfs[keep],
        )


@dataclass(frozen=True, eq=False)
class _Scored:
    """A segment's postings as a query reads them: each chunk by its position among all live
    chunks, with its BM25 weight before idf, tf / (tf + k1 * (1 - b + b * dl / avgdl))."""

    vocab: dict[str, int]
    indptr: np.ndarray
    chunks: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, segment: SegmentKeywords, offset: int, norm: np.ndarray) -> _Scored:
        at = segment.chunks + np.int32(offset)
        weights = (segment.tfs / (segment.tfs + norm[at])).astype(np.float32)  # as bm25s keeps
        return cls(segment.vocab, segment.indptr, at, weights)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        where = _term_slice(self.vocab, self.indptr, term)
        return self.chunks[where], self.weights[where]


def _term_slice(vocab: dict[str, int], indptr: np.ndarray, term: str) -> slice:
    """Where ``term``'s postings lie in a segment's arrays (empty for a term it lacks)."""
    tid = vocab.get(term)
    return slice(0, 0) if tid is None else slice(indptr[tid], indptr[tid + 1])


class KeywordIndex:
    """The live chunks of several segments, searched as one BM25 index.

    ``parts`` are the segment folders with the article ids removed from each since it was
    written: their chunks count in no statistic and are never returned.
    """

    def __init__(
        self, parts: Sequence[tuple[Path, Collection[str]]], codes: ArticleCodes | None = None
    ) -> None:
        """``codes``: the article numbers to share with the index's other searches."""
        segments = [SegmentKeywords.load(folder).without(gone) for folder, gone in parts]
        self.ids: list[str] = [cid for s in segments for cid in s.ids]
        offsets = np.cumsum([0] + [len(s) for s in segments])[:-1].tolist()
        lengths = np.concatenate([s.lengths for s in segments] + [_EMPTY]).astype(float)
        avgdl = float(lengths.mean()) if len(lengths) else 0.0
        # each chunk's part of the BM25 denominator, tf + k1 * (1 - b + b * dl / avgdl)
        norm = K1 * (1 - B + B * lengths / (avgdl or 1.0))
        self._segments = [
            _Scored.of(s, offset, norm) for s, offset in zip(segments, offsets, strict=True)
        ]
        article_ids = [a for s in segments for a in s.article_ids]
        self._articles = ArticleCodes(article_ids) if codes is None else codes
        self._codes = self._articles.of(article_ids)  # each chunk's article's number
        # a bool per chunk each: kept for the last 16 allowed sets
        self._masks: IdentityMemo[Collection[str], np.ndarray] = IdentityMemo(16)
        logger.debug("keyword index: %d live chunks in %d segments", len(self.ids), len(segments))

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: str, k: int, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Best ``k`` chunks with a score above 0, best first, as (chunk id, BM25 score).

        ``allowed``: the article ids whose chunks may be returned (None: all). Only the
        postings of the query's terms are read; a term given twice counts twice, as in bm25s.
        """
        if k <= 0 or (allowed is not None and not allowed):
            return []
        counts = Counter(keyword_tokens([query])[0])
        slices = self._slices(counts)
        if not slices:
            return []
        df: Counter[str] = Counter()
        for term, chunks, _ in slices:
            df[term] += len(chunks)
        sizes = [len(chunks) for _, chunks, _ in slices]
        at = np.concatenate([chunks for _, chunks, _ in slices])
        idf = [counts[term] * _idf(len(self.ids), df[term]) for term, _, _ in slices]
        score = np.repeat(idf, sizes) * np.concatenate([weights for _, _, weights in slices])
        totals = np.bincount(at, weights=score, minlength=len(self.ids))
        found = totals > 0
        if allowed is not None:
            found &= self._masks.get(allowed, self._mask)
        chunks = np.flatnonzero(found)
        totals = totals[chunks]
        if len(totals) > k:  # keep the top k and every chunk tied with the k-th
            kth = np.partition(totals, len(totals) - k)[len(totals) - k]
            best = totals >= kth
            chunks, totals = chunks[best], totals[best]
        order = np.argsort(-totals, kind="stable")[:k]  # ties in ``ids`` order
        best_chunks, best_scores = chunks[order].tolist(), totals[order].tolist()
        return [(self.ids[c], s) for c, s in zip(best_chunks, best_scores, strict=True)]

    def _mask(self, allowed: Collection[str]) -> np.ndarray:
        """Whether each chunk (by its position in ``ids``) is of an article in ``allowed``."""
        return self._articles.mask(allowed)[self._codes]

    def _slices(self, terms: Iterable[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Each term's postings in each segment holding it: (term, chunk positions in
        ``ids``, weights)."""
        found = []
        for term in terms:
            for segment in self._segments:
                chunks, weights = segment.postings(term)
                if len(chunks):
                    found.append((term, chunks, weights))
        return found

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each token, live chunks as documents.

        A token no chunk holds weighs what BM25 gives a document frequency of 0, more than the
        rarest token the corpus holds: a question's words that the articles never use count
        against how much of it a sentence covers, never drop out of the total.
        """
        return {t: _idf(len(self.ids), df) for t, df in self._df(tokens).items()}

    def _df(self, tokens: Sequence[str]) -> dict[str, int]:
        df = dict.fromkeys(tokens, 0)
        for term, chunks, _ in self._slices(df):
            df[term] += len(chunks)
        return df

    def together(self, terms: Sequence[str]) -> bool:
        """Whether one live chunk holds all of ``terms``."""
        wanted = set(terms)
        if not wanted:
            return False
        for segment in self._segments:
            common: np.ndarray | None = None
            for term in sorted(wanted, key=lambda t: len(segment.postings(t)[0])):
                chunks = segment.postings(term)[0]
                common = (
                    chunks if common is None else np.intersect1d(common, chunks, assume_unique=True)
                )
                if not len(common):
                    break
            if common is not None and len(common):
                return True
        return False

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
