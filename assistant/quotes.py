"""Passages -> verbatim Quotes: the sentences that answer, with offsets and who said them.

Sentences come from the retrieved passages (their spans were found at indexing time). Each is
scored by how much of the question's weighted vocabulary it holds, plus the retrieval score of the passage
it came from; the best ones are taken with at most a few per article, so several sources speak.
When a sentence of the passages opposes a chosen one (a denial, another figure for the same
quantity, another outcome: ``disagreement``), it is shown too, in place of the weakest supporting
quote. Before anything is shown, ``verify`` checks every quote against the stored article text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .config import QuoteConfig
from .disagreement import Statement, oppositions
from .text import QUESTION_WORDS, keyword_tokens, sentence_tokens
from .types import Passage, Quote

_SAID = (
    r"(?:said|says|added|told|wrote|noted|argued|insisted|claimed|asserted|stated|explained|"
    r"warned|declared|tweeted|posted|announced|acknowledged|admitted|continued|testified)"
)
_NAME = r"(?P<who>(?:[A-Z][\w.'’-]+)(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|al|bin)){0,3})"
# “...,” Trump said. / Peskov said: / said Peskov / according to Peskov
_SPEAKER_PATTERNS = (
    # "Jane Roe, a spokesperson for Calder Terminals, said"
    re.compile(_NAME + r",\s+(?:a|an|the)\s+[^,]{1,80},\s+" + _SAID + r"\b"),
    re.compile(_NAME + r",?(?:\s+[a-z][\w’'-]*){0,8}?,?\s+" + _SAID + r"\b"),
    re.compile(r"\b" + _SAID + r"\s+" + _NAME),
    re.compile(r"\baccording to\s+" + _NAME),
)
# What kind of words answer the question: "how many" wants a number, "when" a date.
_WANTS = (
    (
        re.compile(
            r"\bhow (?:much|many|long|far|big|large|old)\b|\bwhat (?:was|is) the (?:cost|price|number|amount)",
            re.I,
        ),
        re.compile(r"\d"),
    ),
    (
        re.compile(r"\bwhen\b|\bwhat (?:day|date|time|year)\b", re.I),
        re.compile(
            r"\b(?:\d{4}|January|February|March|April|May|June|July|August|September|October|"
            r"November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
            r"yesterday|today|last (?:week|month|year))\b"
        ),
    ),
)
# "how many jobs ..." asks about jobs; "how much did the line cost?" about what it cost
_HOW_MANY = re.compile(r"\bhow (?:much|many)\s+(\w+)(?P<rest>.*)", re.I | re.S)
_PRONOUN_SAID = re.compile(r"\b(?:he|she|they)\s+" + _SAID + r"\b", re.IGNORECASE)
_NOT_NAMES = frozenset(
    "The A An But And Or It He She They We I This That These Those Its In On At For As If When "
    "While After Before Speaking".split()
)


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    start: int
    end: int
    coverage: float
    score: float
    held: frozenset[str] = frozenset()
    """The question's terms that the sentence holds."""


def question_terms(question: str) -> list[str]:
    """The question's distinct keyword terms, question and function words aside."""
    return sorted(set(keyword_tokens([question])[0]) - QUESTION_WORDS)


def speaker_of(sentence: str, before: Sequence[str] = ()) -> str | None:
    """Who the sentence says is speaking, if it names them; "he said" looks at ``before``."""
    for pattern in _SPEAKER_PATTERNS:
        for match in pattern.finditer(sentence):
            who = _clean_name(match.group("who"))
            if who:
                return who
    if _PRONOUN_SAID.search(sentence):
        for earlier in reversed(before[-2:]):
            who = speaker_of(earlier)
            if who:
                return who
    return None


@lru_cache(maxsize=8192)
def _names_a_speaker(sentence: str) -> bool:
    """Whether the sentence has the shape of attributed speech ("..., Peskov said"); remembered,
    as the sentences of a story come back with the next question on it."""
    return any(p.search(sentence) for p in _SPEAKER_PATTERNS)


def _clean_name(name: str) -> str | None:
    words = name.split()
    while words and words[0] in _NOT_NAMES:
        words = words[1:]
    return " ".join(words).rstrip(".,") or None


def quantity_focus(question: str) -> str | None:
    """The term a "how many/much" question counts: the noun after it ("how many jobs" -> job),
    else its last term ("how much did the tram line cost?" -> cost); None for other questions."""
    match = _HOW_MANY.search(question)
    if match is None:
        return None
    for text in (match.group(1), match.group("rest")):
        terms = [t for t in keyword_tokens([text])[0] if t not in QUESTION_WORDS]
        if terms:
            return terms[0] if text is match.group(1) else terms[-1]
    return None


def score_sentences(
    question: str,
    passages: Sequence[Passage],
    article_text: Callable[[str], str],
    idf: Callable[[Sequence[str]], dict[str, float]],
    config: QuoteConfig,
) -> list[ScoredSentence]:
    """Every sentence of the top passages, scored; best first, each span once."""
    terms = question_terms(question)
    wanted = [answer for asks, answer in _WANTS if asks.search(question)]
    focus = quantity_focus(question)
    weights = idf(terms)
    total = sum(weights.values()) or 1.0
    seen: set[tuple[str, int]] = set()
    spans: list[tuple[Passage, int, int, str]] = []
    for passage in passages[: config.passages]:
        text = article_text(passage.article_id)
        for start, end in passage.sentences:
            if (passage.article_id, start) not in seen:
                seen.add((passage.article_id, start))
                spans.append((passage, start, end, text[start:end]))
    tokens = sentence_tokens([s[3] for s in spans])
    top = max((p.score for p in passages), default=0.0) or 1.0
    scored = []
    for (passage, start, end, text), words in zip(spans, tokens, strict=True):
        held = frozenset(weights.keys() & set(words))
        coverage = sum(weights[t] for t in held) / total
        score = coverage + config.rank_weight * passage.score / top
        if coverage and _names_a_speaker(text):
            score += config.speaker_weight
        if coverage and any(w.search(text) for w in wanted) and (focus is None or focus in held):
            # a number counts as the answer only beside what is counted ("cost 486 million")
            score += config.answer_type_weight
        scored.append(ScoredSentence(passage, start, end, coverage, score, held))
    scored.sort(key=lambda s: (-s.score, s.passage.stages.get("rank", 0), s.start))
    return scored


def select_quotes(
    scored: Sequence[ScoredSentence],
    article_text: Callable[[str], str],
    config: QuoteConfig,
    *,
    sources: Sequence[str] = (),
    other_side: bool = True,
) -> list[Quote]:
    """The lead sentence and supporting ones: each named source first, then by score.

    With ``other_side``, a sentence of the passages that opposes a chosen one is shown right
    after it, in place of the weakest supporting quote (``_with_other_side``).
    """
    chosen: list[ScoredSentence] = []
    per_article: dict[str, int] = {}

    def take(candidate: ScoredSentence) -> None:
        chosen.append(candidate)
        aid = candidate.passage.article_id
        per_article[aid] = per_article.get(aid, 0) + 1

    def fits(candidate: ScoredSentence, cap: int = config.per_article) -> bool:
        return (
            candidate not in chosen
            and per_article.get(candidate.passage.article_id, 0) < cap
            and candidate.coverage >= config.min_supporting_coverage
        )

    if scored:
        take(scored[0])
    for source in sources:  # each outlet the question names gets its best sentence
        best = next((s for s in scored if s.passage.source == source and fits(s)), None)
        if best is not None and len(chosen) < config.max_quotes:
            take(best)
    named = list(chosen)
    # other articles first; then, if few articles answer, more sentences of the same ones
    for cap in (config.per_article, config.max_quotes):
        for candidate in scored:
            if len(chosen) >= config.max_quotes:
                break
            if fits(candidate, cap):
                take(candidate)
    if other_side:
        chosen = _with_other_side(chosen, scored, article_text, config, keep=named)
    return [_quote(n, s, article_text) for n, s in enumerate(chosen, 1)]


_CANDIDATES = 40
"""How many of the best other sentences are read for the other side of a chosen quote."""


def _with_other_side(
    chosen: list[ScoredSentence],
    scored: Sequence[ScoredSentence],
    article_text: Callable[[str], str],
    config: QuoteConfig,
    keep: Sequence[ScoredSentence] = (),
) -> list[ScoredSentence]:
    """``chosen``, with the best sentence that opposes a chosen quote put right after it.

    At most ``max_quotes // 2`` are brought in, each replacing the weakest quote that is not the
    lead, a named outlet's, or a side of a disagreement already shown; the count never grows
    past ``max_quotes``. The pair must share the question's terms (those the sentences hold).
    """
    room = config.max_quotes // 2
    if not chosen or room == 0:
        return chosen

    def plain(s: ScoredSentence) -> str:
        return _plain(article_text(s.passage.article_id)[s.start : s.end])

    def statement(s: ScoredSentence, *, is_chosen: bool = False) -> Statement:
        text = article_text(s.passage.article_id)[s.start : s.end]
        who = speaker_of(text) if is_chosen else None  # only a chosen quote's speaker is asked for
        return Statement(text, s.passage.article_id, s.start, who, s.passage.published or "")

    # a sentence holding none of the question's terms can still give the other figure ("1,150
    # staff had not reported" beside "1,400 workers stayed away"); the other rules need them.
    # A sentence repeated by another outlet is not another side.
    shown = {plain(c) for c in chosen}
    pool = [s for s in scored if plain(s) not in shown][:_CANDIDATES]
    if not pool:
        return chosen
    topic = frozenset().union(*(s.held for s in scored))
    statements = [statement(s, is_chosen=True) for s in chosen] + [statement(s) for s in pool]
    # a pair of chosen quotes is a side shown, however weak; a sentence is brought in only for a
    # strong opposition (a weak one among 40 candidates is more often a different thing)
    opposed = {
        (i, j): o
        for (i, j), o in oppositions(statements, topic=topic, split=len(chosen)).items()
        if j < len(chosen) or o.strong
    }
    # sentences are compared by identity: a Passage holds a dict, so they do not hash
    sides = {id(chosen[k]) for (i, j) in opposed if j < len(chosen) for k in (i, j)}
    kept = {id(s) for s in keep}
    result = list(chosen)
    for i, quote in enumerate(chosen):
        if room == 0:
            break
        if id(quote) in sides or all(s is not quote for s in result):
            continue
        other = next(
            (pool[j - len(chosen)] for (a, j) in opposed if a == i and j >= len(chosen)), None
        )
        if other is None or plain(other) in {plain(s) for s in result}:
            continue
        if len(result) >= config.max_quotes:
            spare = [s for s in result[1:] if id(s) not in sides | kept and s is not quote]
            if not spare:
                break
            weakest = min(spare, key=lambda s: s.score)
            result = [s for s in result if s is not weakest]
        at = next(k for k, s in enumerate(result) if s is quote)
        result.insert(at + 1, other)
        sides |= {id(quote), id(other)}
        room -= 1
    return result


def _plain(text: str) -> str:
    """A sentence as compared for repeats (one wire story in several outlets)."""
    return " ".join(text.lower().split())


def _quote(n: int, s: ScoredSentence, article_text: Callable[[str], str]) -> Quote:
    text = article_text(s.passage.article_id)
    earlier = [text[a:b] for a, b in s.passage.sentences if b <= s.start]
    p = s.passage
    return Quote(
        n=n,
        text=text[s.start : s.end],
        article_id=p.article_id,
        title=p.title,
        source=p.source,
        published=p.published,
        url=p.url,
        start=s.start,
        end=s.end,
        speaker=speaker_of(text[s.start : s.end], earlier),
    )


def verify(quotes: Sequence[Quote], article_text: Callable[[str], str]) -> list[Quote]:
    """Only the quotes whose text is exactly the stored article text at their offsets."""
    return [
        q
        for q in quotes
        if q.end > q.start and article_text(q.article_id)[q.start : q.end] == q.text
    ]
