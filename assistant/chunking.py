"""Article -> Chunks with exact character offsets (pure functions).

Sentences are found with offsets, measured in the embedding model's word pieces and packed
greedily into chunks of at most ``max_tokens`` pieces, so the model never truncates a chunk.
Consecutive chunks share whole trailing sentences up to ``overlap_tokens`` pieces. A sentence
longer than the window is cut at word-piece boundaries. Every chunk satisfies
``article.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from .types import Article, Chunk, chunk_id

Span = tuple[int, int]


class Tokenizer(Protocol):
    """What chunking needs from a tokenizer (see ``embedding.ModelTokenizer``)."""

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        ...

    def split(self, text: str, max_tokens: int) -> list[Span]:
        """Cut one text into spans of at most ``max_tokens`` pieces, at piece boundaries."""
        ...


# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep rev hon pres
    supt insp det cpl pvt inc corp ltd co bros no nos vs etc al approx dept est fig vol
    jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n a.m p.m""".split()
)

# A sentence may end after . ! ? or … plus closing quotes/brackets, before whitespace and a
# character that can open a sentence.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``: no span starts or ends with whitespace; newlines always split."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for match in _BOUNDARY.finditer(line.group()):
            end = line.start() + match.end()
            if _is_abbreviation(text[start:end]):
                continue
            spans.append((start, end))
            start = end
        spans.append((start, line.end()))
    return [trimmed for span in spans if (trimmed := _trim(text, span))]


def _is_abbreviation(sentence: str) -> bool:
    if not sentence.endswith("."):
        return False
    word = _WORD_BEFORE.search(sentence)
    if word is None:
        return False
    token = word.group(1)
    # Initials ("J. Smith") and known abbreviations ("Dr. Roe", "U.S. officials").
    return len(token) == 1 and token.isupper() or token.lower() in _ABBREVIATIONS


def _trim(text: str, span: Span) -> Span | None:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def chunk_article(
    article: Article, tokenizer: Tokenizer, *, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Split one article into overlapping, sentence-aligned chunks that fit ``max_tokens``."""
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be greater than 0, got {max_tokens}")
    text = article.text
    units = _units(text, tokenizer, max_tokens)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last, used = first, 0
        while last < len(units) and used + units[last][2] <= max_tokens:
            used += units[last][2]
            last += 1
        if last == first:  # a piece that could not be cut to fit (a window of a few pieces)
            last, used = first + 1, units[first][2]
        start, end = units[first][0], units[last - 1][1]
        chunks.append(
            Chunk(
                id=chunk_id(article.id, start, end),
                article_id=article.id,
                start=start,
                end=end,
                text=text[start:end],
                sentences=tuple((u[0], u[1]) for u in units[first:last]),
                n_tokens=used,
            )
        )
        if last == len(units):
            break
        first = _overlap_start(units, first, last, overlap_tokens, max_tokens)
    return chunks


def _units(text: str, tokenizer: Tokenizer, max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) per sentence, with over-long sentences cut into window-sized pieces."""
    sentences = split_sentences(text)
    counts = tokenizer.count([text[s:e] for s, e in sentences])
    units: list[tuple[int, int, int]] = []
    for (start, end), count in zip(sentences, counts, strict=True):
        if count <= max_tokens:
            units.append((start, end, count))
            continue
        units.extend(_cut(text, start, end, tokenizer, max_tokens))
    return units


def _cut(
    text: str, start: int, end: int, tokenizer: Tokenizer, max_tokens: int
) -> list[tuple[int, int, int]]:
    """An over-long sentence in pieces of at most ``max_tokens``, each counted on its own.

    A cut inside a word can make the second half one piece longer on its own ("##ria" counts
    as "ri ##a"), so the cut is made again with a smaller window until every piece fits (or
    the window is one piece).
    """
    limit = max_tokens
    while True:
        pieces = _contiguous(text, start, end, tokenizer.split(text[start:end], limit))
        counts = tokenizer.count([text[s:e] for s, e in pieces])
        over = max(counts, default=0) - max_tokens
        if over <= 0 or limit == 1:
            return [(s, e, c) for (s, e), c in zip(pieces, counts, strict=True)]
        limit = max(1, limit - over)


def _contiguous(text: str, start: int, end: int, cuts: Sequence[Span]) -> list[Span]:
    """The pieces of ``text[start:end]`` the tokenizer cut, widened to leave nothing out: the
    characters it skips (U+FFFD, soft hyphens, control characters) go with the piece they
    follow, and only whitespace is left between pieces."""
    spans: list[Span] = []
    begin = start
    for i, (_s, e) in enumerate(cuts):
        stop = end if i == len(cuts) - 1 else start + e
        while begin < stop and text[begin].isspace():
            begin += 1
        if begin < stop:
            spans.append((begin, stop))
        begin = stop
    return spans


def _overlap_start(
    units: list[tuple[int, int, int]], first: int, last: int, overlap: int, max_tokens: int
) -> int:
    """Index of the first unit of the next chunk: carry trailing sentences within the overlap."""
    nxt, carried = last, 0
    room = max_tokens - units[last][2]  # the next chunk must still take one new unit
    while nxt - 1 > first and carried + units[nxt - 1][2] <= min(overlap, room):
        carried += units[nxt - 1][2]
        nxt -= 1
    return nxt
