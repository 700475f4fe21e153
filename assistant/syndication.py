"""Articles -> Syndications: one story carried by several outlets, found and grouped (pure).

An outlet that carries a wire story edits it lightly: a new headline, the last paragraphs cut,
a line of its own added, a word changed here and there. Most of the story's runs of words
survive, so two copies share most of their word shingles (every run of ``SHINGLE_WORDS``
words), while two reports of the same event, written apart, share almost none: the same
facts in other words.

- Each article's text becomes a set of hashed word shingles and its ``signature``: the
  datasketch ``MinHash`` values of that set. Two articles are a candidate pair when their
  signatures agree on one of ``LSH_BANDS`` bands (locality-sensitive hashing, done with numpy),
  which proposes the pairs whose Jaccard similarity may reach ``MIN_JACCARD`` without comparing
  every article with every other.
- A proposed pair joins when, counted exactly on the shingle sets, the shorter copy is mostly
  inside the longer one (containment ``|A & B| / min(|A|, |B|)`` at least ``threshold``) and
  the Jaccard similarity is at least ``MIN_JACCARD``: a copy cut to half its length still
  joins, a short piece quoted whole inside a long live blog does not.
- Joined pairs are grouped transitively. The group quotes one member, the earliest
  published; it names the wire service the copies credit ("(AP) —", "— Reuters",
  "The Associated Press contributed to this report", a byline "Jo Bloggs, Reuters") and the
  outlets that carried it.

``syndication_groups`` groups a whole corpus. ``update_groups`` finds the same groups after a
change from the groups before it and the stored signatures: it reads only the articles the
change can regroup (the new ones, their candidates and the groups those are in), so one new
article costs a few reads, not one of every article.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .types import Article

if TYPE_CHECKING:  # datasketch imports scipy (~0.8 s): only a sync needs it
    from datasketch import MinHash

SHINGLE_WORDS = 4
"""Words per shingle. A changed word spoils the shingles around it, so shorter shingles forgive
more edits, but the shorter they are the more of them unrelated texts share. Chosen on
``benchmarks/syndication.py``: with 4 words a copy with one word in 15 changed keeps a
containment of 0.76 (5th percentile; 0.71 with 5 words), while labelled different stories
reach 0.40 at most (0.37 with 5 words), apart from a preview inside its match's live blog
(0.61, kept apart by ``MIN_JACCARD``)."""

NUM_PERM = 128
"""MinHash permutations: enough for the bands below; more only slow the hashing (the check
that decides is exact)."""

LSH_BANDS, LSH_ROWS = 64, 2
"""LSH bands (b, r): a pair is proposed when one of 64 bands of 2 consecutive MinHash values is
equal in both, probability ``1 - (1 - J**2)**64``: 0.998 at J = 0.3 (``MIN_JACCARD``), 0.93 at
J = 0.2, 0.6% at J = 0.01 (unrelated articles share under 0.003, 99th percentile). Bands of 3
or more rows would miss copies that were also cut short, whose Jaccard is low (and would no
longer fit one 64-bit key: ``_band_keys``)."""

THRESHOLD = 0.7
"""Default containment for two articles to be one story. On the labelled pairs copies score
0.78-0.95 and different stories at most 0.61 (Jaccard 0.11: a preview inside the same match's
live blog) or 0.40 otherwise; edited copies of every dev article (a word in 15 changed) keep
0.76 or more in 95 cases of 100. Every threshold from 0.5 to 0.8 gives the same groups on the
labelled corpora; 0.7 keeps a margin on both sides."""

MIN_JACCARD = 0.3
"""Below this Jaccard similarity two articles are not copies even when one lies inside the
other: with containment 1.0 the shorter must hold 30% of the longer one's shingles (a wire
story cut to its first third still joins; a preview quoted inside a live blog does not)."""

MIN_SHINGLES = 25
"""Texts with fewer shingles (about 30 words) are never grouped: too short to tell a copy from
a stock phrase."""

_WORD = re.compile(r"\w+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant for the rolling shingle hash


@dataclass(frozen=True)
class Syndication:
    """One story carried by several articles."""

    article_ids: tuple[str, ...]
    """The group's members, the representative first, then by publication."""
    representative: str
    """The member an answer quotes: the earliest published (ties: the longest text, then id)."""
    origin: str | None
    """The wire service the members credit ("AP", "Reuters", "AFP"...), else None."""
    outlets: tuple[str, ...]
    """The distinct sources that carried it, the representative's first."""
    similarity: float
    """The lowest containment of the pairs that joined the group (3 decimals)."""


def syndication_groups(
    articles: Sequence[Article], *, threshold: float = THRESHOLD
) -> tuple[Syndication, ...]:
    """The groups of at least two articles that carry one story, oldest group first.

    ``threshold`` is the containment a pair needs (see ``THRESHOLD``). An article id given twice
    is read once (the first). Articles with no text or under ``MIN_SHINGLES`` are never grouped.
    """
    _check_threshold(threshold)
    by_id: dict[str, Article] = {}
    for article in articles:
        by_id.setdefault(article.id, article)
    sets: dict[str, np.ndarray] = {}
    word_hashes: dict[str, int] = {}
    for article in by_id.values():
        shingle_set = shingles(article.text, cache=word_hashes)
        if len(shingle_set) >= MIN_SHINGLES:
            sets[article.id] = shingle_set
    keys = list(sets)
    matrix = np.array([_minhash(sets[key]) for key in keys], dtype=np.uint64)
    groups = _groups(keys, _band_keys(matrix), by_id.__getitem__, sets.__getitem__, threshold)
    return tuple(sorted(groups, key=lambda g: _order(by_id[g.representative])))


def signature(text: str) -> np.ndarray | None:
    """The text's MinHash: ``NUM_PERM`` hash values (uint64), or None under ``MIN_SHINGLES``.

    What ``update_groups`` compares articles by. A sync computes it once, when an article is
    added or changed, and keeps its bytes (``sig.tobytes()``, read back with
    ``np.frombuffer(data, dtype=np.uint64)``). The same text gives the same values in every run.
    """
    shingle_set = shingles(text)
    return _minhash(shingle_set) if len(shingle_set) >= MIN_SHINGLES else None


def update_groups(
    previous: Sequence[Syndication],
    signatures: Mapping[str, np.ndarray],
    added: Collection[str],
    removed: Collection[str],
    article: Callable[[str], Article],
    *,
    threshold: float = THRESHOLD,
) -> tuple[Syndication, ...]:
    """The groups after a change, the same as ``syndication_groups`` of every live article.

    ``previous`` is what ``syndication_groups`` (or this function) gave before the change, with
    the same ``threshold``. ``signatures`` holds the ``signature`` of every live article that
    has one (the others are never grouped). ``added`` are the ids new or changed, ``removed``
    the ids deleted or changed (a changed id may be in either or both). ``article(id)`` gives
    a live article with its text: it is called only for the articles the change can regroup
    and for a few representatives, to place new groups among the kept ones (a binary search).

    Why this equals the full computation. Groups are the components (of two or more) of the
    graph whose edges are the candidate pairs that pass the exact check, and each group's
    ``similarity`` is the lowest containment among its edges; whether an edge exists depends
    only on the two articles. Call an article stale when it is added, changed or removed, and
    let the affected set be: the live stale articles, every live article sharing a band with
    one of them (their candidates), and the live members of every previous group that holds
    a candidate or a stale or missing id. No edge leaves the affected set: an edge at a stale
    article goes to one of its candidates; an edge between two unchanged articles was an edge
    before the change, so both were in one previous group, and that group is in the set
    whole or not at all. So the affected set is a union of whole components, and grouping it
    alone (``_groups``: its candidate pairs, the exact check, union-find) gives exactly the
    groups the full computation gives there. A previous group outside it has the same
    members, edges and texts as before and no edge to anything new: it is kept as it was.
    Kept groups, and groups found again as they were with no member changed, keep their order
    (the representative's date, length and id are unchanged); the others are placed among
    them by binary search.
    """
    _check_threshold(threshold)
    keys = list(signatures)
    row = {key: n for n, key in enumerate(keys)}
    bands = _band_keys(_stack(signatures))
    stale = {*added, *removed}
    stale_rows = [row[key] for key in stale if key in row]  # added, or changed
    near = {keys[n] for n in np.flatnonzero(_sharing_a_band(bands, stale_rows))}
    affected = set(near)
    kept: set[Syndication] = set()
    for group in previous:
        if any(key in stale or key not in row for key in group.article_ids):
            affected.update(key for key in group.article_ids if key in row)  # lost a member
        elif near.intersection(group.article_ids):
            affected.update(group.article_ids)
        else:
            kept.add(group)

    articles: dict[str, Article] = {}
    sets: dict[str, np.ndarray] = {}
    word_hashes: dict[str, int] = {}

    def read(key: str) -> Article:
        if key not in articles:
            articles[key] = article(key)
        return articles[key]

    def shingle_set(key: str) -> np.ndarray:
        if key not in sets:
            sets[key] = shingles(read(key).text, cache=word_hashes)
        return sets[key]

    def rank(group: Syndication) -> tuple[float, int, str]:
        return _order(read(group.representative))

    members = sorted(affected, key=row.__getitem__)
    regrouped = set(
        _groups(members, bands[[row[k] for k in members]], read, shingle_set, threshold)
    )
    # found again as they were, with no member changed (a redated one may move): same place
    same = {g for g in regrouped.intersection(previous) if stale.isdisjoint(g.article_ids)}
    groups = [group for group in previous if group in kept or group in same]
    for group in sorted(regrouped - same, key=rank):  # ``groups`` is in order: bisect it
        bisect.insort(groups, group, key=rank)
    return tuple(groups)


def carried_by(group: Syndication) -> str:
    """The line that names who carried a story.

    ``AP, via The Ledger and Harbour Times``; with no wire credited,
    ``The Ledger, also carried by Harbour Times``.
    """
    if group.origin:
        others = [o for o in group.outlets if o != group.origin]
        return f"{group.origin}, via {_join(others)}" if others else group.origin
    if not group.outlets:
        return f"one story in {len(group.article_ids)} articles"
    first, *others = group.outlets
    return f"{first}, also carried by {_join(others)}" if others else first


# -- wire credits ------------------------------------------------------------------------------

_WIRES = {
    "AP": "AP",
    "Associated Press": "AP",
    "The Associated Press": "AP",
    "Reuters": "Reuters",
    "Thomson Reuters": "Reuters",
    "AFP": "AFP",
    "Agence France-Presse": "AFP",
    "Agence France Presse": "AFP",
    "Bloomberg": "Bloomberg",
    "Bloomberg News": "Bloomberg",
    "AAP": "AAP",
    "Australian Associated Press": "AAP",
    "PA": "PA",
    "PA Media": "PA",
    "Press Association": "PA",
    "UPI": "UPI",
    "United Press International": "UPI",
    "dpa": "dpa",
}
"""Wire services by the names they are credited under (case matters: "AP", not "ap")."""
_WIRE = "|".join(sorted(map(re.escape, _WIRES), key=len, reverse=True))
_NAME = rf"{_WIRE}|[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){{0,4}}"
# "WASHINGTON (AP) —", "LONDON, Nov 3 (Reuters) -", "(SPA) —": a credit in brackets, a dash.
_DATELINE = re.compile(rf"\(({_NAME})\)\s*(?:—|–|--?)\s")
# "The Associated Press contributed to this report", "AP writer Jo Bloggs contributed to this".
_CONTRIBUTED = re.compile(
    rf"\b({_WIRE})\b(?: (?:\w+ )?(?:writers?|reporters?|staff)\b[^.]*?)? contributed (?:to )?this"
)
# A last line "— Reuters", "© AAP", "With Bloomberg/Reuters".
_TRAILING = re.compile(rf"(?:—|–|--?|©|\bWith)\s*({_WIRE})\b[^\n]{{0,40}}$")
# A byline "Matt O'Brien, The Associated Press", "Reuters staff", "Corin Aldous (Meridian Wire)".
_BYLINE = re.compile(rf"\(({_NAME})\)|(?:^|,\s*)({_WIRE})(?:\s+staff)?\s*$")

DATELINE_CHARS = 300
"""How far into the text a bracketed dateline credit is looked for."""


def wire_credit(article: Article) -> str | None:
    """The wire service an article credits, by its usual short name, or None.

    Read from a dateline credit at the start ("WASHINGTON (AP) —"), a closing credit ("— Reuters",
    "© AAP", "Associated Press writers ... contributed to this report") or the byline
    ("Matt O'Brien, The Associated Press", "Corin Aldous (Meridian Wire)"). Photo credits
    ("Credit: AFP", "(PA)") and stories about a wire ("told The Associated Press") are not credits.
    """
    text = article.text.strip()
    if match := _DATELINE.search(text[:DATELINE_CHARS]):
        return _wire_name(match.group(1))
    if match := _TRAILING.search(text[-200:]):
        return _wire_name(match.group(1))
    if match := _CONTRIBUTED.search(text[-1000:]):
        return _wire_name(match.group(1))
    author = (article.author or "").strip()
    if "@" not in author and (match := _BYLINE.search(author)):  # not "jo@x.com (Jo Bloggs)"
        return _wire_name(match.group(1) or match.group(2))
    return None


def _wire_name(name: str) -> str:
    name = " ".join(name.split())
    return _WIRES.get(name, name)


# -- shingles ----------------------------------------------------------------------------------


def shingles(text: str, *, cache: dict[str, int] | None = None) -> np.ndarray:
    """The text's word shingles as sorted, distinct 32-bit hashes (stable across runs).

    Words are lower-cased runs of letters and digits, so punctuation, quote marks and spacing
    never matter. A text shorter than a shingle is one shingle; an empty text has none.
    ``cache`` (word -> hash), shared between calls, hashes each distinct word once.
    """
    cache = {} if cache is None else cache
    words = _WORD.findall(text.lower())
    if not words:
        return np.empty(0, dtype=np.uint32)
    for word in set(words).difference(cache):
        cache[word] = zlib.crc32(word.encode())
    ids = np.fromiter(map(cache.__getitem__, words), dtype=np.uint64, count=len(words))
    width = min(SHINGLE_WORDS, len(ids))
    rolled = np.zeros(len(ids) - width + 1, dtype=np.uint64)
    for offset in range(width):  # h = ((w0 * M + w1) * M + w2) ... modulo 2**64
        rolled = rolled * _MIX + ids[offset : len(rolled) + offset]
    folded = ((rolled ^ (rolled >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    folded.sort()  # sort and drop repeats: faster than np.unique's hash table here
    return folded[np.concatenate(([True], folded[1:] != folded[:-1]))]


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(containment, Jaccard) of two shingle sets: shared / the smaller, shared / the union."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b)), shared / (len(a) + len(b) - shared)


def _prehashed(value: int) -> int:
    """``MinHash`` hash function for values that are already 32-bit hashes."""
    return value


@functools.cache
def _permutations() -> MinHash:
    """An empty ``MinHash`` whose permutations every signature uses (drawn once, seed 1)."""
    from datasketch import MinHash

    # affine32: 32-bit hash values, two of which make one band key (``_band_keys``)
    return MinHash(num_perm=NUM_PERM, hashfunc=_prehashed, scheme="affine32")


def _minhash(shingle_set: np.ndarray) -> np.ndarray:
    """The MinHash values of a shingle set, as uint64."""
    minhash = _permutations().copy()
    minhash.update_batch(shingle_set.tolist())
    return minhash.hashvalues.astype(np.uint64)


# -- groups ------------------------------------------------------------------------------------


def _groups(
    keys: Sequence[str],
    bands: np.ndarray,
    article: Callable[[str], Article],
    shingle_set: Callable[[str], np.ndarray],
    threshold: float,
) -> list[Syndication]:
    """The groups among ``keys`` (``bands`` holds their band keys, row for row): every candidate
    pair whose exact overlap passes joins, transitively. Reads only the articles of candidate
    pairs, and of the groups for their ``Syndication``."""
    parent = {key: key for key in keys}
    edges: list[tuple[str, float]] = []
    for i, j in _candidate_pairs(bands).tolist():
        a, b = keys[i], keys[j]
        containment, jaccard = overlap(shingle_set(a), shingle_set(b))
        if containment >= threshold and jaccard >= MIN_JACCARD:
            edges.append((a, containment))
            parent[_find(parent, a)] = _find(parent, b)
    members: dict[str, list[str]] = {}
    for key in keys:
        members.setdefault(_find(parent, key), []).append(key)
    lowest: dict[str, float] = {}
    for key, score in edges:
        root = _find(parent, key)
        lowest[root] = min(score, lowest.get(root, 1.0))
    return [
        _syndication([article(key) for key in group], lowest[root])
        for root, group in members.items()
        if len(group) > 1
    ]


def _band_keys(matrix: np.ndarray) -> np.ndarray:
    """(n, ``LSH_BANDS``) uint64: each band's two 32-bit values side by side, so two articles
    have one band equal exactly when they have its key equal."""
    bands = matrix.reshape(len(matrix), LSH_BANDS, LSH_ROWS)
    return (bands[:, :, 0] << np.uint64(32)) | bands[:, :, 1]


def _candidate_pairs(bands: np.ndarray) -> np.ndarray:
    """The pairs of rows (i < j, each once) with a band key equal, as an (m, 2) array.

    Each band's keys are sorted; rows with one key are then adjacent, ``d`` apart for d below
    the size of the run, so the loop runs as many times as the largest run (the most copies of
    one story), each step over all rows at once.
    """
    n = len(bands)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    order = np.argsort(bands, axis=0)
    ranked = np.take_along_axis(bands, order, axis=0)
    found = [np.empty(0, dtype=np.int64)]
    for d in range(1, n):
        same = ranked[d:] == ranked[:-d]
        if not same.any():
            break
        a, b = order[:-d][same], order[d:][same]
        found.append(np.minimum(a, b) * n + np.maximum(a, b))  # one int per pair, for unique
    return np.stack(np.divmod(np.unique(np.concatenate(found)), n), axis=1)


_DIRECT_QUERIES = 32
"""Up to this many changed articles, their candidates are found by comparing each with every
row (~0.6 ms per article at 6,000 rows); beyond, from all pairs at once (~30 ms at 6,000)."""


def _sharing_a_band(bands: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Which rows share a band key with one of ``rows`` (those included), as a mask."""
    hit = np.zeros(len(bands), dtype=bool)
    if len(rows) > _DIRECT_QUERIES:
        hit[rows] = True
        pairs = _candidate_pairs(bands)
        hit[pairs[hit[pairs].any(axis=1)]] = True
        return hit
    for n in rows:
        hit |= (bands == bands[n]).any(axis=1)
    return hit


def _stack(signatures: Mapping[str, np.ndarray]) -> np.ndarray:
    """The signatures as one (n, ``NUM_PERM``) uint64 array, checked."""
    for key, values in signatures.items():
        if np.shape(values) != (NUM_PERM,):
            raise ValueError(
                f"The signature of {key!r} has shape {np.shape(values)}, not ({NUM_PERM},): "
                "store signature(text) as bytes and read it back with np.frombuffer(data, "
                "dtype=np.uint64), or compute it again."
            )
    matrix = np.array(list(signatures.values()), dtype=np.uint64).reshape(-1, NUM_PERM)
    if matrix.size and int(matrix.max()) >> 32:
        raise ValueError(
            "A signature holds values over 32 bits, so it was not made by signature(text): "
            "compute the signatures again."
        )
    return matrix


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1]. Currently, threshold is {threshold}")


def _find(parent: dict[str, str], key: str) -> str:
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def _order(article: Article) -> tuple[float, int, str]:
    """Earliest published first (undated last), then the longest text, then id."""
    ts = math.inf if article.published_ts is None else article.published_ts
    return ts, -len(article.text), article.id


def _syndication(members: list[Article], similarity: float) -> Syndication:
    members = sorted(members, key=_order)
    credits = Counter(c for c in map(wire_credit, members) if c)
    origin = max(credits, key=credits.__getitem__) if credits else None  # ties: earliest
    return Syndication(
        article_ids=tuple(a.id for a in members),
        representative=members[0].id,
        origin=origin,
        outlets=tuple(dict.fromkeys(a.source for a in members if a.source)),
        similarity=round(similarity, 3),
    )


def _join(names: Iterable[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
