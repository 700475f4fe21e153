"""Article text -> reported speech and who said it (pure functions, run at index time).

``find_speech`` returns one ``Speech`` per unit of reported speech: a sentence of indirect
speech ("Lavrov said the presence … would be unacceptable"), an "according to" sentence, or a
quotation with its attribution — all the sentences a quotation runs over, so that Peskov's
two-sentence quotation is one Speech by Peskov and never a sentence of Lavrov's. Spans are
whole sentences from ``chunking.split_sentences`` (the sentences the index stores), and
``text[speech.start:speech.end]`` is the span.

The speaker is resolved over the whole article (``mentions``): a surname to the fullest name
given ("Peskov" -> "Dmitry Peskov"), "he"/"she" to the last person who spoke or began a
sentence, "the spokesperson" to the person given that role, "the company" to the last
organisation that spoke or began a sentence. A quotation with no attribution of its own takes
the speaker of the quotation just before it (a paragraph that goes on quoting), of the same
words quoted elsewhere in the article (a pull quote), or of the person the two sentences before
it are about; otherwise its speaker is None.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .chunking import split_sentences
from .mentions import ROLE_NOUNS, Entity, Mentions, name_runs
from .quotations import BLANK, Quotation, masked, quotations
from .speech_clauses import DETERMINERS, Clause, clauses, head_noun

logger = logging.getLogger(__name__)

KINDS = ("direct", "indirect", "according-to")


@dataclass(frozen=True)
class Speech:
    """Reported speech in an article: whole sentences, ``text[start:end]``, and who said it."""

    start: int
    end: int
    speaker: str | None
    """The fullest name the article gives ("Dmitry Peskov" where the span says "Peskov" or
    "he"), a group as written ("officials in Brussels"); None when no speaker can be told."""
    speaker_text: str | None
    """The words in the span (or its attribution clause) naming them: "Peskov", "he"."""
    role: str | None
    """Their role when the article gives it: "Putin's spokesperson"."""
    kind: str
    """ "direct" (a quotation), "indirect" ("X said that…") or "according-to"."""


def find_speech(text: str) -> tuple[Speech, ...]:
    """The reported speech in ``text``, in text order; never raises (odd text gives what it can)."""
    if not isinstance(text, str) or not text.strip():
        return ()
    try:
        return tuple(_Reader(text).speeches())
    except Exception:  # an index build must never stop on one odd article
        logger.warning(
            "could not attribute speech in a %d-character text", len(text), exc_info=True
        )
        return ()


_ORG_HEADS = frozenset(
    """company firm agency statement report study startup maker giant retailer group platform
    network ministry department government organisation organization union league club school
    university analysis website business outlet lab bank exchange service office commission
    court board complaint lawsuit filing letter post release memo announcement team
    manufacturer brand app developer publisher label studio operator insurer lender""".split()
)
_DEFINITE = ("the", "this", "its", "that")
_PERSON_PRONOUNS = ("he", "she")


class _Reader:
    """One pass over one article, in text order, remembering who has spoken."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sentences = split_sentences(text)
        self.quotes = quotations(text)
        self.spoken = _overlapping(self.sentences, [q for q in self.quotes if q.speech])
        self.masks = [
            masked(text, s, e, spoken)
            for (s, e), spoken in zip(self.sentences, self.spoken, strict=True)
        ]
        self.clauses = [
            clauses(m, text[s:e]) for m, (s, e) in zip(self.masks, self.sentences, strict=True)
        ]
        speakers = {c.who for found in self.clauses for c in found}
        self.mentions = Mentions.of(text, speakers)

    def speeches(self) -> list[Speech]:
        found: dict[int, Speech] = {}  # first sentence of a unit -> its Speech
        pending: list[tuple[list[int], Speech]] = []
        last: tuple[int, Speech] | None = None  # (last sentence, Speech) of the latest unit
        for unit in self._units():
            first = unit[0]
            for i in unit:
                self._remember_subject(i)
            clause = self._clause(unit)
            standalone = self._opens_quotation(first)
            if clause is None and not standalone:
                continue
            start, end = self.sentences[first][0], self.sentences[unit[-1]][1]
            if clause is not None:
                speech = self._attributed(unit, clause, start, end)
            else:
                speech = self._inherited(first, last, start, end)
                if speech.speaker is None:
                    pending.append((unit, speech))
            found[first] = speech
            last = (unit[-1], speech)
        for unit, speech in pending:  # a pull quote: the same words quoted with a speaker
            twin = self._twin(unit[0], found)
            if twin is not None:
                found[unit[0]] = Speech(
                    speech.start, speech.end, twin.speaker, None, twin.role, "direct"
                )
        return [found[k] for k in sorted(found)]

    # --- units: a sentence, or all the sentences one quotation runs over ------------------

    def _units(self) -> list[list[int]]:
        units: list[list[int]] = []
        chains: set[int] = set()
        for i in range(len(self.sentences)):
            here = {q.chain for q in self.spoken[i]}
            if units and here & chains:
                units[-1].append(i)
                chains |= here
            else:
                units.append([i])
                chains = here
        return units

    def _opens_quotation(self, i: int) -> bool:
        start = self.sentences[i][0]
        return any(q.start <= start + 1 for q in self.spoken[i]) and (
            self.masks[i][:2].strip("([ ") in ("“", '"', "«", "„", "“" + BLANK, '"' + BLANK)
        )

    def _clause(self, unit: list[int]) -> tuple[int, Clause] | None:
        """The attribution of a unit and its sentence: one next to its quotation first, then
        the first speech verb, then "according to"."""
        found = [(i, c) for i in unit for c in self.clauses[i]]
        for wanted in (
            lambda c: c.quoted and not c.according,
            lambda c: not c.according,
            lambda c: c.according,
        ):
            chosen = [(i, c) for i, c in found if wanted(c)]
            if chosen:
                return chosen[0]
        return None

    # --- who speaks ------------------------------------------------------------------------

    def _attributed(
        self, unit: list[int], found: tuple[int, Clause], start: int, end: int
    ) -> Speech:
        i, clause = found
        entity = self._resolve(clause.who, i, self.sentences[i][0] + clause.at)
        quoted = len(unit) > 1 or clause.quoted or self._opens_quotation(unit[0])
        kind = "direct" if quoted else "according-to" if clause.according else "indirect"
        if entity is None:
            return Speech(start, end, None, clause.who, clause.role, kind)
        self.mentions.remember(unit[-1], entity)
        return Speech(start, end, entity.name, clause.who, clause.role or entity.role, kind)

    def _inherited(
        self, first: int, last: tuple[int, Speech] | None, start: int, end: int
    ) -> Speech:
        """A quotation with no attribution: the speaker of the speech just before it (nothing
        but short lines between), else the person the last two sentences are about."""
        if last is not None and last[1].speaker is not None:
            between = range(last[0] + 1, first)
            if all(self._junk(i) for i in between):
                return Speech(start, end, last[1].speaker, None, last[1].role, "direct")
        entity = self.mentions.recent(first, person=True, window=2)
        if entity is not None:
            return Speech(start, end, entity.name, None, entity.role, "direct")
        return Speech(start, end, None, None, None, "direct")

    def _twin(self, i: int, found: dict[int, Speech]) -> Speech | None:
        words = _plain(self.text[slice(*self.sentences[i])])
        if len(words) < 20:
            return None
        for speech in found.values():
            if speech.speaker is not None and words in _plain(self.text[speech.start : speech.end]):
                return speech
        return None

    def _junk(self, i: int) -> bool:
        """A short line between paragraphs ("Advertisement", a photo credit)."""
        start, end = self.sentences[i]
        line = self.text[start:end]
        return len(line.split()) <= 4 and not re.search(r"[.!?”\"]$", line)

    def _resolve(self, who: str, i: int, at: int) -> Entity | None:
        lower = who.lower()
        if lower in _PERSON_PRONOUNS:
            return self.mentions.recent(i, person=True) or self.mentions.named_before(at)
        if lower in ("it", "they"):
            return self.mentions.recent(i, person=False) or (
                self.mentions.recent(i, person=True) if lower == "they" else None
            )
        owner = re.match(r"(\S.*?)[’']s\s+(?:[a-z]+\s+){0,2}([a-z]+)$", who)
        if owner and owner.group(2) in _ORG_HEADS:  # "Meta's blog post" is Meta's
            return self.mentions.entity(owner.group(1), at=at)
        words = lower.split()
        if who[:1].isupper() and words[0] not in DETERMINERS:
            return self.mentions.entity(who, at=at)
        if words[0] == "the" and all(w[:1].isupper() for w in who.split()[1:]):
            entity = self.mentions.entity(who[4:], at=at)  # "the FTC", "the Kremlin"
            return Entity(f"the {entity.name}", entity.person, entity.role)
        return self._nominal(who, words, i, at)

    def _nominal(self, who: str, words: list[str], i: int, at: int) -> Entity:
        """ "the spokesperson", "the company", "officials in Brussels", "the Luminate report"."""
        head = head_noun(words)
        definite = words[0] in _DEFINITE
        if head in _ORG_HEADS and head not in ROLE_NOUNS:
            named = [w for w in who.split()[1:] if w[:1].isupper()]
            if definite and named and len(named) == len(words) - 2 and len(named[0]) > 3:
                return self.mentions.entity(" ".join(named), at=at)  # "the Luminate report"
            if definite:
                found = self.mentions.recent(i, person=False, window=25)
                if found is not None:
                    return found
            return Entity(who, False)
        if definite and head in ROLE_NOUNS:
            found = self.mentions.with_role(head, i)
            if found is None and not head.startswith("spokes"):
                found = self.mentions.recent(i, person=True, window=2)
            if found is not None:
                return found
        return Entity(who, head in ROLE_NOUNS or head in _FOLK)

    def _remember_subject(self, i: int) -> None:
        """A name or a person noun that begins sentence ``i`` is what "he" or "it" may mean."""
        start = self.sentences[i][0]
        sentence = self.masks[i]
        if self._junk(i) and _organisation_line(sentence):  # a heading: "Groupon"
            self.mentions.remember(i, Entity(sentence.strip(), False))
            return
        parts = [p for p in re.split(rf",\s+|[{BLANK}“”\"]+", sentence) if p.strip()]
        while len(parts) > 1 and (
            _LEADING.match(parts[0]) or re.fullmatch(r"[A-Z][a-z]+ly", parts[0])
        ):
            parts.pop(0)
        if not parts:
            return
        head = parts[0].strip()
        runs = name_runs(head)
        if runs and runs[0].start <= len(runs[0].title or "") + 1:
            name = self.mentions.clean(runs[0].text)
            if name and (" " in name or name in self.mentions.proper):
                at = start + sentence.find(head)
                self.mentions.remember(i, self.mentions.entity(name, at=at))
                return
        match = re.match(r"(?:The|A|An)\s+(?:[\w’'-]+\s+){0,2}?([a-z]+)\b", head)
        if match and match.group(1) in _FOLK:
            self.mentions.remember(i, Entity(match.group().lower(), True))


def _organisation_line(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 3 and all(w[:1].isupper() for w in words)


_LEADING = re.compile(
    r"(?:In|On|At|After|Before|During|But|And|Meanwhile|However|Earlier|Later|Last|When|While|"
    r"As|Now|Still|Yet|So|Since|For|With|Around|By|Then|Today|Yesterday|Also|Instead|Plus|"
    r"Indeed|Overall|Meanwhile|Finally|Separately|Similarly|Likewise|Moreover|Furthermore)\b"
)
_FOLK = frozenset(
    "woman man mother father wife husband son daughter girl boy user bride mom dad teen".split()
)


def _overlapping(spans: list[tuple[int, int]], quotes: list[Quotation]) -> list[list[Quotation]]:
    """For each span (in text order), the quotations (in text order, not overlapping each
    other) that overlap it: one sweep, so a text with thousands of quotes stays linear."""
    found: list[list[Quotation]] = []
    first = 0
    for start, end in spans:
        while first < len(quotes) and quotes[first].end <= start:
            first += 1
        here = []
        for quote in quotes[first:]:
            if quote.start >= end:
                break
            here.append(quote)
        found.append(here)
    return found


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
