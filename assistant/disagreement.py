"""Quotes -> Disagreements: the statements among the quotes that oppose each other.

Two statements oppose when they are about the same thing and say different things about it.
Same thing: they share a term of the question and one more term, or a name of the question; a
denial that points back ("rejected this", "denied the accusations") also answers the sentence
just before it in its own article. Then:

- ``denial``: one rejects what the other asserts, with a cue word ("denied", "rejected", "not
  true", "unacceptable", "disagreed with"): the thing it names, or two terms around its cue, or
  whom it names are in the other; or, with no cue word, one negates a word of the question that
  the other asserts ("the marriage was open" / "has never been an open one", "will close" /
  "no plan to close"), or they hold opposite words of the question (accept / unacceptable,
  open / closed, permissible / impermissible). Two statements that both deny agree.
- ``figures``: two numbers with one unit ("1,200 jobs" / "850 roles", "$739 million" /
  "$US240 million") said of the same thing, more than 2% apart, neither a change ("rose 2%",
  "$60 off"), an earlier value ("up from 45 million"), a target, an average or a rate the other
  is not; for a "how many X" question, only counts of X.
- ``outcome``: opposite results (committed to staying / the job is vacant, will return / won't
  be returning, began enforcing / would not enforce), or one result with different named
  winners ("the Blue Jays won the sweepstakes" / "agreed to a contract with the Dodgers").

Pure functions over text, no model: cue words, negation scope, antonyms, numbers with units
(read by ``figures``).
``quotes.select_quotes`` calls ``oppositions`` to bring the other side of a chosen quote in from
the passages; ``find_disagreements`` lists the pairs among the quotes shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache

from .figures import (
    ASKS_FIGURES,
    Quantity,
    conflict,
    quantities,
    question_focus,
    unit_class,
)
from .text import QUESTION_WORDS, keyword_tokens
from .types import Disagreement, Quote

__all__ = ["Disagreement", "Opposition", "Statement", "find_disagreements", "oppositions"]

KINDS = ("denial", "figures", "outcome")


@dataclass(frozen=True)
class Opposition:
    """How statement ``a`` and statement ``b`` oppose: ``first`` is the claim (0 is ``a``)."""

    kind: str
    first: int
    words: tuple[str, str]
    """What each side says, in their own words ("1,200 jobs", "850 roles"), or the cue."""
    strong: bool = True
    """Clear enough to bring in a sentence the answer did not choose: a denial of two of the
    question's terms (or of the sentence just before it), a figure for what the question counts
    (or for the figures it asks about), the word the claim says negated in the same form. Weak
    ones ("does not price match" / "pricing policies", "$14 billion" / "$2 billion" for a
    question that counts nothing) are listed only between quotes already shown."""


# -- reading one statement ---------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
# "no" only as "no plan to", "no longer": "no breach", "which no fund can buy back" negate a
# thing, not what is said of it
_NEGATORS = frozenset("not never cannot unable refuse refused".split())
_ALSO_NEGATING = frozenset("no none nothing neither nor without".split())
# words between a negator and what it negates: "never been an open one", "no plan to close"
_PASS_OVER = frozenset(
    "be been being is was were are have has had a an the any ever yet longer to plan plans "
    "intention intend intends going able expected once more again".split()
)
# prepositions the keyword stems keep: what they relate is elsewhere
_RELATIONS = frozenset("from with into onto over under about after before than for".split())
_GENERIC = frozenset(
    "said say says told tell report reported according also would could one two year week day "
    "time month season statement comment ad compani company peopl official go get make take".split()
)
_DENIAL = re.compile(
    r"\b(den(?:y|ies|ied|ying|ial)|reject(?:s|ed|ing)?|refut(?:e|es|ed|ing)|rebut(?:s|ted)?|"
    r"disput(?:es|ed|ing)|dismiss(?:es|ed|ing)|disagree(?:s|d)?|contradict(?:s|ed|ing)?|"
    r"undermin(?:e|es|ed)|pushed back|(?:do|does|did) not agree|no evidence|not true|untrue|"
    r"unacceptable|not the case|"
    # said of a claim, not "false balance sheets" or "a legal gambit"
    r"(?:is|are|was|were|be|been|as|called it|wholly|totally|completely|entirely|manifestly)\s+"
    r"(?:\w+ly\s+)?(?:false|wrong|misleading|inaccurate|baseless|unfounded))\b"
)
# cues that follow what they deny ("the claims were not true", "would be unacceptable")
_AFTER_THE_CLAIM = re.compile(
    r"not true|untrue|unacceptable|not the case|.*\b(?:false|wrong|misleading|inaccurate|"
    r"baseless|unfounded)"
)
# where what is denied ends and the denier's own account begins
_COUNTER = re.compile(r"\s[-–—]\s|,? by saying\b|, saying\b|;")
_CLAIM_WORDS = frozenset("claim suggest alleg accus report stori".split())
_ADMITS = re.compile(r"\b(?:admit(?:s|ted)?|acknowledg\w+|conced\w+|confirm(?:s|ed)?)\b")
# what a denial is of: a statement ("denied that ...", "rejected claims the pixel ...") or a thing
# ("rejected the challenge"), which the other statement must then name
_OF_A_STATEMENT = frozenset(
    "that he she it they this these those having ever claim allegation accusation report "
    "rumour rumor stori suggest idea notion figur comment account assert wrongdo knowledg "
    "involv respons charg with".split()
)
# the cue as the ``why`` line says it ("Peskov rejected [3] what Trump said [1]")
_SAID_AS = (
    ("den", "denied"),
    ("rej", "rejected"),
    ("ref", "refuted"),
    ("reb", "rebutted"),
    ("disa", "disagreed with"),
    ("dis", "disputed"),
    ("contr", "contradicted"),
    ("und", "undermined"),
    ("pus", "pushed back on"),
    ("no ev", "saw no evidence for"),
    ("unacc", "rejected"),
)
_POINTS_BACK = re.compile(
    r"\b(?:den\w*|reject\w*|disput\w*|dismiss\w*|refut\w*|rebut\w*|undermin\w*|disagree\w*)\s+"
    r"(?:with\s+)?(?:this|it|these|those|such|the (?:claims?|allegations?|accusations?|"
    r"reports?|story|idea|figures?|suggestions?|notion|account|comments?))\b"
)
# each pair: (kind, one side, the other side); a statement holding both sides of a pair is neither
_ANTONYMS = (
    ("denial", r"open(?:s|ed)?|reopen\w*", r"clos(?:e|es|ed|ing|ure)|shut(?:s|ting|down)?"),
    ("denial", r"accept(?:s|ed)?|no problem with|approv\w+", r"unacceptable|reject\w*|refus\w+"),
    ("denial", r"lawful|permissible|permitted", r"unlawful|impermissible|banned"),
    (
        "outcome",
        r"stay(?:s|ed|ing)?(?: on)? in the job|committed to staying|remain(?:s|ed)? in charge",
        r"resign\w*|quit|step(?:s|ped)? down|vacant|sacked|take over from|successor",
    ),
    (
        "outcome",
        r"alive|survived|hostage|captive|captivity|kidnapped|abducted",
        r"killed|dead|died",
    ),
)
_ANTONYMS_RE = tuple(
    (kind, re.compile(rf"\b(?:{one})\b"), re.compile(rf"\b(?:{other})\b"))
    for kind, one, other in _ANTONYMS
)
# every side of every pair in one pattern; the word boundary that starts each side is tested
# once per position, not once per side (a quarter of the time, the same matches)
_ANY_ANTONYM = re.compile(
    r"\b(?:"
    + "|".join(
        rf"(?P<w{i}_{side}>(?:{words})\b)"
        for i, pair in enumerate(_ANTONYMS)
        for side, words in enumerate(pair[1:])
    )
    + ")"
)
_PREFIXES = ("un", "im", "in", "il", "ir", "non")
_OUTCOME_TERMS = frozenset("return enforc stay remain win elect becom sign approv pass".split())
_NAME_RUN = r"(?P<who>(?:the\s+)?(?:[A-Z][\w.'’-]+\s?){1,4})"
_AFTER_RESULT = re.compile(
    r"\b(?:sign(?:s|ed|ing)? with|agreed to (?:a )?(?:contract|deal|terms) with|"
    r"(?:has |have )?(?:selected|picked|chose|chosen|joined|join)|move to|"
    r"(?:won|win|wins) by)\s+" + _NAME_RUN
)
_BEFORE_RESULT = re.compile(
    _NAME_RUN + r"\s+(?:have |has )?(?:reportedly |officially )?(?:won|win|wins) the "
    r"(?:sweepstakes|race|bidding|contest|vote|title|final)"
)
_WON_THE = ("won the ", "win the ", "wins the ")  # in every match of _BEFORE_RESULT
_CAPITALISED = re.compile(r"\b[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+)*")
_SPEAKER = re.compile(
    r"\b([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*)\s+(?:said|says|told|argued|insisted|wrote|"
    r"claimed|added|alleged|testified)\b"
)
_NOT_NAMES = frozenset(
    "The A An But And Or It He She They We I This That These Those Its In On At For As If When "
    "While After Before Also Some Other Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
    "January February March April May June July August September October November December "
    "Loading Credit Photo Read More".split()
)


@dataclass(frozen=True)
class Statement:
    """A sentence to compare: its text, where it is, and who says it (for the ``why`` line)."""

    text: str
    article_id: str = ""
    start: int = 0
    who: str | None = None
    """Who the sentence quotes, if it says."""
    published: str = ""
    """ISO date, when known: a denial does not answer what was said days after it."""

    @classmethod
    def of(cls, quote: Quote) -> Statement:
        return cls(quote.text, quote.article_id, quote.start, quote.speaker, quote.published or "")


@dataclass
class _Reading:
    """What the opposition rules look at in one statement (built once per statement)."""

    statement: Statement
    words: list[tuple[str, str]] = field(default_factory=list)  # (lower-case word, stem)

    @cached_property
    def offsets(self) -> list[int]:
        """Where each word starts in the text."""
        return [m.start() for m in _WORD.finditer(self.statement.text)]

    @cached_property
    def first_at(self) -> dict[str, int]:
        """Where each stem first occurs in ``words``."""
        out: dict[str, int] = {}
        for at, (_, stem) in enumerate(self.words):
            out.setdefault(stem, at)
        return out

    @cached_property
    def prefixed(self) -> dict[str, int]:
        """Words with a negative prefix, by what follows it ("impermissible": permissible)."""
        out: dict[str, int] = {}
        for at, (word, _) in enumerate(self.words):
            if not word.startswith(_PREFIXES):
                continue
            base = next((word[len(p) :] for p in _PREFIXES if word.startswith(p)), "")
            if len(base) > 4:
                out.setdefault(base, at)
        return out

    @cached_property
    def word_at(self) -> dict[str, int]:
        """Where each lower-case word first occurs in ``words``."""
        out: dict[str, int] = {}
        for at, (word, _) in enumerate(self.words):
            out.setdefault(word, at)
        return out

    @cached_property
    def opposites(self) -> list[tuple[re.Match[str] | None, re.Match[str] | None]]:
        """For each pair of opposite words, this statement's first match of each side."""
        first: dict[str, re.Match[str]] = {}
        for match in _ANY_ANTONYM.finditer(self.lower):
            first.setdefault(match.lastgroup or "", match)
        return [(first.get(f"w{i}_0"), first.get(f"w{i}_1")) for i in range(len(_ANTONYMS))]

    def stems_between(self, start: int, end: int) -> frozenset[str]:
        """The stems of the words starting between two character offsets."""
        return frozenset(
            stem
            for (_, stem), at in zip(self.words, self.offsets, strict=True)
            if start <= at < end and stem
        )

    @cached_property
    def lower(self) -> str:
        return self.statement.text.lower().replace("’", "'")

    @cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(s for _, s in self.words if s and s not in QUESTION_WORDS) - _GENERIC

    @cached_property
    def names(self) -> frozenset[str]:
        raw = _WORD.findall(self.statement.text)
        return frozenset(
            s
            for (_, s), w in zip(self.words, raw, strict=True)
            if s and w[0].isupper() and w not in _NOT_NAMES
        )

    @cached_property
    def negated(self) -> dict[str, tuple[int, int]]:
        """What each negator negates: the first word after it that is not an auxiliary ("never
        been an open one": open; "no plan to close": close), with where the negation runs in
        ``words`` (from the negator to that word)."""
        return self._negations(strict=True)

    @cached_property
    def refused(self) -> frozenset[str]:
        """What the statement says is not so, "no breach" and "without consent" included."""
        return frozenset(self._negations(strict=False))

    def _negations(self, *, strict: bool) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        cues = _NEGATORS if strict else _NEGATORS | _ALSO_NEGATING
        if "n't" not in self.lower and "no" not in self.word_at and cues.isdisjoint(self.word_at):
            return out  # no negator (most sentences): nothing negated
        negator = None
        for at, (word, stem) in enumerate(self.words):
            following = self.words[at + 1][0] if at + 1 < len(self.words) else ""
            if (
                word in _NEGATORS
                or word.endswith("n't")
                or (word == "no" and following in ("plan", "plans", "intention", "longer"))
                or (not strict and word in _ALSO_NEGATING)
            ):
                negator = at
            elif negator is not None and word not in _PASS_OVER:
                if stem:
                    out.setdefault(stem, (negator, at))
                negator = None
        return out

    @cached_property
    def _cue(self) -> re.Match[str] | None:
        return _DENIAL.search(self.lower)

    @cached_property
    def denial(self) -> str | None:
        """The cue of a denial ("denied", "not true"), unless the sentence admits something."""
        match = self._cue
        if match is None or _ADMITS.search(self.lower[: match.start()]):
            return None
        return match.group(1)

    @cached_property
    def admits(self) -> bool:
        return bool(_ADMITS.search(self.lower))

    @cached_property
    def asserts(self) -> bool:
        """Says something rather than denying it (an admission counts, whatever it quotes)."""
        return self.denial is None

    @cached_property
    def denied(self) -> tuple[str | None, frozenset[str]]:
        """What the denial is of: a thing it names (the stem) or, for a statement (None), the
        terms around the cue (after it, and before a cue like "not true" that follows its
        claim)."""
        match = self._cue
        if match is None:
            return None, frozenset()
        rest = _COUNTER.split(self.lower[match.end() :], maxsplit=1)[0]
        after = keyword_tokens([rest])[0]
        before = self.lower[: match.start()].split()[-10:]
        around = set(after)
        if _AFTER_THE_CLAIM.fullmatch(match.group(1)) or not after:
            around |= set(keyword_tokens([" ".join(before)])[0])
        # after "unacceptable" or "not true" comes no object ("unacceptable to Moscow")
        thing = None if _AFTER_THE_CLAIM.fullmatch(match.group(1)) else _denied_thing(rest)
        return thing, frozenset(around) - _GENERIC - QUESTION_WORDS

    @cached_property
    def denied_first(self) -> frozenset[str]:
        """The first two terms after the cue: whom a denial names ("disagreed with Carragher")."""
        match = self._cue
        return (
            frozenset(keyword_tokens([self.lower[match.end() :]])[0][:2]) if match else frozenset()
        )

    @cached_property
    def points_back(self) -> bool:
        return bool(_POINTS_BACK.search(self.lower))

    @cached_property
    def winner(self) -> str:
        """Who it says won or was chosen ("signed with the Dodgers": Dodgers), if it says."""
        return _winner(self)

    @cached_property
    def quantities(self) -> list[Quantity]:
        return quantities(self.statement.text, self.stems_between)


def _denied_thing(after: str) -> str | None:
    """The thing a denial names ("rejected the challenge": challeng), or None when it denies a
    statement ("denied that ...", "rejected claims ...", "denied wrongdoing")."""
    for word in re.findall(r"[a-z']+", after)[:8]:
        if word in _OF_A_STATEMENT:
            return None
        stem = _stem(word)
        if word in _PASS_OVER or word.endswith(("ly", "'s")) or not stem:
            continue
        return None if stem in _OF_A_STATEMENT else stem
    return None


READING_CACHE = 1024
"""Statements whose readings are kept, a sentence that the next question on the story retrieves
again is not read again. Over 300 MultiHop-RAG dev questions 1,024 readings (about 7 KB each)
spared 27% of them and 22% of the time ``oppositions`` took; 4,096 (29 MB) spared 44% and 27%."""


def _readings(statements: Sequence[Statement]) -> list[_Reading]:
    """Readings of many statements, the ones read lately remembered."""
    return [_reading(s) for s in statements]


@lru_cache(maxsize=READING_CACHE)
def _reading(statement: Statement) -> _Reading:
    """What the rules read in one statement; its properties are worked out once, when asked."""
    words = [w.lower() for w in _WORD.findall(statement.text)]
    if "’" in statement.text:
        words = [w.replace("’", "'") for w in words]
    return _Reading(statement, list(zip(words, map(_STEMS.__getitem__, words), strict=True)))


class _Stems(dict[str, str]):
    """word -> its keyword stem ("" for a stop word), filled on first use (a cache: the passages
    of one story repeat their words); emptied when it holds 200,000 words."""

    def __missing__(self, word: str) -> str:
        if len(self) > 200_000:
            self.clear()
        stems = keyword_tokens([word])[0]
        self[word] = stem = stems[0] if len(stems) == 1 else ""
        return stem


_STEMS = _Stems()


def _stem(word: str) -> str:
    return _STEMS[word]


@lru_cache(maxsize=10_000)
def _stem_set(text: str) -> frozenset[str]:
    return (
        frozenset(t for t in keyword_tokens([text])[0] if not t.isdigit()) if text else frozenset()
    )


# -- comparing two statements --------------------------------------------------------------------
def topic_terms(question: str) -> frozenset[str]:
    """The question's terms that a pair of statements must share (question words aside)."""
    return frozenset(keyword_tokens([question])[0]) - QUESTION_WORDS - _GENERIC


def _focus_of(topic: frozenset[str], readings: Sequence[_Reading]) -> str | None:
    """With no question: a term of the topic that the chosen statements count ("1,400 workers")."""
    asked = {unit_class(t) for t in topic}
    return next((q.unit for r in readings for q in r.quantities if q.unit in asked), None)


def _count(r: _Reading, focus: str | None) -> bool:
    return focus is not None and any(q.unit == focus for q in r.quantities)


def _same_topic(a: _Reading, b: _Reading, topic: frozenset[str]) -> bool:
    shared = a.terms & b.terms
    if not shared & topic:
        return False
    return len(shared) >= 2 or bool(a.names & b.names & topic)


def _points_back_to(a: _Reading, b: _Reading) -> bool:
    """``b`` denies "this"/"the accusations" just after ``a`` in the same article."""
    sa, sb = a.statement, b.statement
    if not (b.points_back and sa.article_id and sa.article_id == sb.article_id):
        return False
    distance = sb.start - sa.start
    return 0 < distance < 600 or (0 < distance < 1500 and bool(a.terms & b.terms))


def _rejects(y: _Reading, x: _Reading, topic: frozenset[str]) -> bool:
    """``y`` denies what ``x`` asserts: the thing it names is in ``x``, or two terms around its
    cue are (names aside), or it names who ``x`` quotes or is about ("disagreed with
    Carragher"). Not when ``x`` negates them too or denies what the question asks (both deny),
    when they name no one in common, nor when ``y`` is days older than ``x``."""
    if y.denial is None or not x.asserts or _same_speaker(x, y) or _older(y, x):
        return False
    if x.refused & topic or not (x.names & y.names):
        return False  # both deny it; or they are about different parties
    thing, around = y.denied
    if thing is not None:  # and one more word in common ("denied the pixel breaches ...")
        return thing in x.terms - x.refused and bool(around & x.terms - {thing})
    shared = around & x.terms - _CLAIM_WORDS
    if shared & x.refused:
        return False
    return len(shared - x.names) >= 2 or bool(_actor(x) & y.denied_first)


def _actor(x: _Reading) -> frozenset[str]:
    """Who ``x`` quotes ("Carragher said"), or else the first name it gives (its subject)."""
    if x.statement.who:
        return _stem_set(x.statement.who)
    speaker = _SPEAKER.search(x.statement.text)
    if speaker is not None:
        return _stem_set(speaker.group(1))
    for run in _CAPITALISED.finditer(x.statement.text):
        words = [w for w in run.group().split() if w not in _NOT_NAMES]
        if words:
            return _stem_set(" ".join(words))
    return frozenset()


def _older(y: _Reading, x: _Reading) -> bool:
    """A denial published days before a statement does not answer it (unless the statement
    admits what was denied)."""
    if x.admits:
        return False
    day_y, day_x = y.statement.published[:10], x.statement.published[:10]
    return bool(day_y and day_x) and _days(day_x) - _days(day_y) > 3


def _days(day: str) -> int:
    try:
        return date.fromisoformat(day).toordinal()
    except ValueError:
        return 0


def _same_speaker(x: _Reading, y: _Reading) -> bool:
    """``y``'s denier is who ``x`` quotes ("Brannock rejected ..." / Brannock's own words)."""
    who = x.statement.who or ""
    cue = y.lower.find(y.denial or "")
    before = y.lower[: max(cue, 0)]
    return any(len(w) > 2 and w.lower() in before for w in who.split() if w[0].isupper())


def _oppose(
    a: _Reading, b: _Reading, topic: frozenset[str], focus: str | None
) -> Opposition | None:
    if a.lower == b.lower:
        return None
    for first, (x, y) in enumerate(((a, b), (b, a))):
        if _points_back_to(x, y) and y.denial and x.asserts:
            return Opposition("denial", first, ("", y.denial))
    same = _same_topic(a, b, topic)
    if same:
        for first, (x, y) in enumerate(((a, b), (b, a))):
            if _rejects(y, x, topic):
                thing, around = y.denied
                strong = len((around | {thing or ""}) & topic) >= 2
                return Opposition("denial", first, ("", y.denial or ""), strong)
    if same or (_count(a, focus) and _count(b, focus)):  # "about 1,400 workers" / "1,150 staff"
        found = _figures(a, b, topic, focus)
        if found is not None:
            return found
    # opposite words, or a word negated, count when the question asks about that word
    # ("accept" / "unacceptable" for "Did Putin accept ...?"), even with no other word shared
    asked = bool(a.terms & topic) and bool(b.terms & topic)
    if not asked:
        return None
    found, on = _antonyms(a, b)
    if found is not None and on & topic:
        return found
    found, on = _polarity(a, b)  # a negated word counts only when the question asks about it
    if found is not None and on & topic:
        return found
    return _winners(a, b) if same else None


def _polarity(a: _Reading, b: _Reading) -> tuple[Opposition | None, frozenset[str]]:
    """One statement negates a word the other asserts ("open" / "never been an open one"),
    about the same thing: the words just before or just after it share a term."""
    for first, (x, y) in enumerate(((a, b), (b, a))):
        if not x.asserts or not y.negated:
            continue
        asserted = x.terms - x.negated.keys() - a.names - b.names
        for stem, (start, end) in y.negated.items():
            if stem not in asserted or len(stem) < 3:
                continue
            if stem in _RELATIONS:
                continue  # "apps from Chinese firms" / "not from Meta": no claim negated
            at = x.first_at[stem]
            said = x.words[at][0]
            if said.endswith(("ment", "tion", "ance")):
                continue  # "before any enforcement began" asserts no enforcing
            if _near(x, at, -1) & _near(y, start, -1) or _near(x, at, 1) & _near(y, end, 1):
                denied = " ".join(w for w, _ in y.words[start : end + 1])
                kind = "outcome" if stem in _OUTCOME_TERMS else "denial"
                # the word the claim says ("doesn't have a monopoly" / "an unlawful monopoly"),
                # not another use of its stem ("does not price match" / "pricing policies")
                strong = kind == "outcome" or _same_form(said, y.words[end][0])
                return Opposition(kind, first, (said, denied), strong), frozenset({stem})
    for first, (x, y) in enumerate(((a, b), (b, a))):  # "permissible" / "impermissible"
        for base, at in y.prefixed.items():
            i = x.word_at.get(base)
            if i is None:
                continue
            if _near(x, i, -1) & _near(y, at, -1) or _near(x, i, 1) & _near(y, at, 1):
                on = frozenset({x.words[i][1], y.words[at][1]})
                return Opposition("denial", first, (base, y.words[at][0])), on
    return None, frozenset()


def _same_form(one: str, other: str) -> bool:
    """One word, a plural aside ("monopolies" / "monopoly"); "pricing" / "price" and
    "support" / "supportive" are other uses of the stem."""
    short, long = sorted((one, other), key=len)
    return long in (short, short + "s", short + "es") or (
        short.endswith("y") and long == short[:-1] + "ies"
    )


def _about_same(x: _Reading, y: _Reading, said: re.Match[str], denied: re.Match[str]) -> bool:
    """The statements name someone in common, or the words around their opposite words share
    a term ("Emily Hand would still be in captivity" / "the attacks killed 1,400": no)."""
    if x.names & y.names:
        return True
    ax, ay = _word_at(x, said.start()), _word_at(y, denied.start())
    around_x = _near(x, ax, -1) | _near(x, ax, 1)
    return bool(around_x & (_near(y, ay, -1) | _near(y, ay, 1)))


def _word_at(r: _Reading, offset: int) -> int:
    """The index in ``r.words`` of the word at character ``offset`` of the lower-case text."""
    return len(_WORD.findall(r.lower[:offset]))


def _near(r: _Reading, at: int, side: int) -> frozenset[str]:
    """The stems of the six words before (``side`` -1) or after (1) word ``at``."""
    span = r.words[max(0, at - 6) : at] if side < 0 else r.words[at + 1 : at + 7]
    return frozenset(s for _, s in span if s) - _GENERIC


def _antonyms(a: _Reading, b: _Reading) -> tuple[Opposition | None, frozenset[str]]:
    """Opposite words of one pair ("open" / "closed"); a statement holding both, or negating
    its word ("will not accept"), is on neither side."""
    for (kind, _, _), (a1, a2), (b1, b2) in zip(
        _ANTONYMS_RE, a.opposites, b.opposites, strict=True
    ):
        if not ((a1 or a2) and (b1 or b2)):
            continue
        for first, said, denied, mixed in ((0, a1, b2, a2 or b1), (1, b1, a2, a1 or b2)):
            if not (said and denied) or mixed:
                continue
            words = (said.group(), denied.group())
            stems = [_stem_set(w) for w in words]
            x, y = (a, b) if first == 0 else (b, a)
            if stems[0] & x.refused or stems[1] & y.refused or not _about_same(x, y, said, denied):
                continue
            on = stems[0] | stems[1]
            on |= {t[len(p) :] for t in on for p in _PREFIXES if t.startswith(p)}
            return Opposition(kind, first, words), frozenset(on)
    return None, frozenset()


def _winners(a: _Reading, b: _Reading) -> Opposition | None:
    """The same kind of result with different named winners ("agreed to a contract with the
    Dodgers" / "the Blue Jays have won the sweepstakes"), neither naming the other's."""
    wa, wb = a.winner, b.winner
    if not (wa and wb) or _mentions(b, wa) or _mentions(a, wb):
        return None
    return Opposition("outcome", 0, (wa, wb))


def _mentions(r: _Reading, name: str) -> bool:
    return any(w.lower() in r.lower for w in name.split() if len(w) > 2)


def _winner(r: _Reading) -> str:
    text = r.statement.text
    match = _AFTER_RESULT.search(text)
    if match is None and any(won in text for won in _WON_THE):
        match = _BEFORE_RESULT.search(text)
    if match is None:
        return ""
    words = [w.strip(".,;:") for w in match.group("who").split()]
    return " ".join(w for w in words if w and w not in _NOT_NAMES and w != "the")


def _figures(
    a: _Reading, b: _Reading, topic: frozenset[str], focus: str | None
) -> Opposition | None:
    """Two numbers with one unit about one subject that differ (a range holding both agrees);
    for a question that counts something, only counts of that."""
    for qa in a.quantities:
        for qb in b.quantities:
            if focus is not None and qa.unit != focus:
                continue  # "how many workers ...?": other counts are beside the question
            if conflict(qa, qb, a, b, topic, focus):
                asked = bool(topic & ASKS_FIGURES and qa.context & qb.context & topic)
                strong = focus == qa.unit or asked
                return Opposition("figures", 0, (qa.raw, qb.raw), strong)
    return None


# -- the answer's disagreements ---------------------------------------------------------------
def oppositions(
    statements: Sequence[Statement],
    question: str = "",
    *,
    topic: frozenset[str] | None = None,
    split: int | None = None,
) -> dict[tuple[int, int], Opposition]:
    """Every pair (i, j), i < j, of ``statements`` that oppose, and how.

    ``topic``: the terms a pair must share (default: the question's); ``split``: only the pairs
    whose first statement is one of the first ``split`` (the chosen quotes, not the candidates
    with each other).
    """
    topic = topic_terms(question) if topic is None else topic
    readings = _readings(statements)
    focus = question_focus(question) if question else _focus_of(topic, readings[:split])
    found = {}
    for i, a in enumerate(readings[:split] if split is not None else readings):
        for j in range(i + 1, len(readings)):
            opposed = _oppose(a, readings[j], topic, focus)
            if opposed is not None:
                found[(i, j)] = opposed
    return found


def find_disagreements(question: str, quotes: Sequence[Quote]) -> tuple[Disagreement, ...]:
    """The pairs of ``quotes`` that oppose each other (none when they merely agree)."""
    statements = [Statement.of(q) for q in quotes]
    out = []
    for (i, j), opposed in oppositions(statements, question).items():
        first, second = (quotes[i], quotes[j]) if opposed.first == 0 else (quotes[j], quotes[i])
        out.append(Disagreement((first.n, second.n), opposed.kind, _why(opposed, first, second)))
    return tuple(out)


def _who(quote: Quote) -> str:
    return quote.speaker or quote.source or "one article"


def _why(opposed: Opposition, first: Quote, second: Quote) -> str:
    """One line: "Peskov rejected [3] what Trump said [1]", "the union gives 1,200 jobs [1];
    Corvane gives 850 roles [2]", "X says “return” [1]; Y says “won't be returning” [2]"."""
    a, b = _who(first), _who(second)
    if a == b:
        a, b = f"{a} first", "later"
    claim, other = opposed.words
    if opposed.kind == "denial" and not claim:
        verb = next((v for cue, v in _SAID_AS if other.startswith(cue)), "called false")
        if "not agree" in other:
            verb = "disagreed with"
        return f"{b} {verb} [{second.n}] what {a} said [{first.n}]"
    if opposed.kind == "figures":
        return f"{a} gives {claim} [{first.n}]; {b} gives {other} [{second.n}]"
    return f"{a} says “{claim}” [{first.n}]; {b} says “{other}” [{second.n}]"
