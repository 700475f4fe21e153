"""Attribution clauses: who one sentence says is speaking (the sentence half of ``attribution``).

``clauses`` reads one sentence with its quotations blanked out (``quotations.masked``), so that
a name inside them ("…expressed by Russian foreign minister Lavrov…") is never taken for the
speaker, and returns who it says is speaking, as written:

- ``“…,” Peskov said`` / ``“…,” said Peskov`` / ``Peskov said that…`` / ``Peskov told reporters``
- ``Jane Roe, a spokesperson for Calder Terminals, said…`` (the appositive is her role)
- ``The minister, who took office in May, told…`` (the relative clause is skipped)
- ``Officials in Brussels said…`` (a group: the whole noun phrase) and ``…, he said``
- ``…, according to X`` and ``X posted that…`` (``posted``/``announced`` need a reported clause)

Words like "it was said" or "said to be" have no speaker and give no clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .mentions import ROLE_NOUNS, SPEAKER_NOUNS, TITLES, name_runs
from .quotations import BLANK


@dataclass(frozen=True)
class Clause:
    who: str
    """The words naming the speaker, as written: "Peskov", "he", "officials in Brussels"."""
    at: int
    """Where the clause's verb is, in the sentence."""
    role: str | None
    """A role given in the clause itself: "a spokesperson for Calder Terminals"."""
    according: bool
    """An "according to X" clause rather than a speech verb."""
    quoted: bool
    """The clause opens or closes a quotation ("…,” he said" / "said: “…")."""


_BARE = "said|says|say|told|tells"
_NEEDS_CLAUSE = (
    "added|adds|explained|explains|argued|argues|insisted|insists|warned|warns|stated|states|"
    "asserted|acknowledged|acknowledges|admitted|admits|recalled|recalls|recounted|testified|"
    "replied|responded|remarked|commented|emphasized|emphasised|stressed|conceded|cautioned|"
    "contended|countered|wrote|writes|joked|quipped|alleged|alleges|"
    "complained|observed|concluded|declared|noted|notes|claimed|claims|suggested|"
    "suggests|continued|continues|asked|asks|confirmed|confirms|announced|announces|posted|"
    "tweeted|reported|reports|revealed|reveals|shared|predicted|predicts|agreed|agrees|"
    "maintained|maintains|denied|denies|boasted|lamented|assured|informed|"
    "reiterated|disclosed|pointed out"
)
_VERB = re.compile(rf"\b(?P<verb>{_BARE}|{_NEEDS_CLAUSE})\b")
_PARTICIPLE = re.compile(
    r"(?:,\s+|\s+(?=saying\b))(?:saying|adding|stating|noting|explaining|arguing|claiming|telling|writing|"
    r"warning|insisting|asking|declaring)\b"
)
_ACCORDING = re.compile(r"\b[Aa]ccording to\s+")
_DASH = re.compile(r"[”\"]\s*[—–]\s*(?=[A-Z])")
_NOT_ATTRIBUTION = re.compile(
    r"(?:\b(?:to|be|been|being|is|are|was|were|it|who|which)\s+$)|(?:\bI\s+$)|(?:\bwe\s+$)", re.I
)
_CLAUSE_AFTER = re.compile(
    rf"^\s*(?:[,:—;!?{BLANK}“”\"]|\.\s*$|$|that\b|if\b|whether\b|why\b|what\b)"
    r"|^(?:\s+\S+){0,9}?\s*(?::|\bthat\b|\bif\b|\bwhether\b)"
    r"|^(?:\s+(?:on|in|at|last|this|earlier|late|early|during)\b[^,.;:]{0,40})?\s*[.,;]?\s*$"
)
_CLAUSE_AFTER_LOOSE = re.compile(
    r"^(?:\s+\S+){0,6}?\s+(?:is|are|was|were|will|would|could|can|should|may|might|must|had|"
    r"has|have|did|does|isn’t|wasn’t|won’t|wouldn’t|hasn’t)\b"
)
_ADJUNCT = r"(?:in|on|at|during|after|before|when|while|who|which|according|per|via|last|this|earlier|from|to|with|as)\b"
_INVERTED = re.compile(
    rf"^\s+(?P<np>(?:[\w’'.-]+\s+){{0,5}}?(?:[A-ZÀ-Þ][\w’'.-]*\s+)*[A-ZÀ-Þ][\w’'-]*\.?"
    rf"|(?:the|a|an|one|two|three|another|its|his|her|their|some|many)\s+[\w’'-]+(?:\s+[\w’'-]+){{0,7}}?)"
    rf"(?=\s*(?:[,.;:!?—)]|$|\s+{_ADJUNCT}))"
)
# Verbs that are speech only before "that", a colon or a quotation ("announced that…", not
# "announced a new product"); the others may also take a bare clause ("added it was late").
_STRICT = frozenset(
    """suggested suggests posted shared announced announces reported reports revealed reveals
    confirmed confirms wrote writes tweeted""".split()
)
_TO_SOMEONE = frozenset("told tells asked asks assured informed".split())  # never inverted
_NUMBERS = frozenset("one two three four five six seven eight nine ten dozen hundred".split())
_COMMON_ADJ = frozenset("local senior top former other some many most few foreign federal".split())
_EDGE = re.compile(rf"[;:(\[—–”“\"{BLANK}]|,\s")
_SKIPPED = frozenset(
    """also has have had previously recently later then further earlier once again repeatedly
    publicly privately separately similarly initially first jointly subsequently often still
    now would will could may might did does do never had only simply just already""".split()
)
DETERMINERS = frozenset(
    "the a an this that these those its his her their one two three four some many several "
    "another other most all both each".split()
)
_PRONOUNS = frozenset("he she they it".split())
_STOP = frozenset(
    """is are was were be been has have had will would could can should may might must do does
    did that which who whom whose when where while because but if as so than then there here
    or not no after before since until although though whether what how why said says told
    to by""".split()
)
_CONNECT = frozenset("of in at for on from with familiar and".split())
_PREPOSITIONS = frozenset("of in at for on from with".split())
_CONNECTIVE = re.compile(r"^(?:And|But|So|Yet|Meanwhile|Still|Then|Now|Also)\s+(?=[A-Z])")
_RELATIVE = re.compile(r"^(?:who|whom|whose|which|where|when|that)\b")
_ADVERBIAL = re.compile(
    r"^(?:however|meanwhile|too|though|also|instead|in turn|for (?:his|her|their|its) part|"
    r"in (?:a|an|the) [\w\s’'-]+|on \w+(?: \w+)?|speaking [\w\s’'-]+|in response|as well)$",
    re.I,
)
_LEADING = re.compile(
    r"^(?:in|on|at|after|before|during|around|earlier|later|last|when|while|as|but|and|so|"
    r"however|meanwhile|still|speaking|asked|despite|since|for|under|with|by|from|then|now|"
    r"yet|also|instead|today|yesterday|separately|overall|finally|previously|\d)\b",
    re.I,
)


def clauses(sentence: str, raw: str | None = None) -> list[Clause]:
    """The attribution clauses of one masked sentence (``raw``: the same, not masked), in the
    order they appear."""
    found: list[Clause] = []
    for match in _VERB.finditer(sentence):
        clause = _verb_clause(sentence, match)
        if clause is not None:
            found.append(clause)
    for match in _PARTICIPLE.finditer(sentence):
        who = _main_subject(sentence[: match.start()])
        if who is not None:
            found.append(Clause(who, match.start() + 2, None, False, _near_quote(sentence, match)))
    for match in _ACCORDING.finditer(sentence):
        rest = sentence[match.end() :]
        if rest[:1] in '“"' and raw is not None:  # according to "The New York Times"
            rest = raw[match.end() :]
        who = _according(rest)
        if who is not None:
            found.append(Clause(who, match.start(), None, True, False))
    for match in _DASH.finditer(sentence):
        runs = name_runs(sentence[match.end() :])
        if runs and runs[0].start == 0:
            found.append(Clause(runs[0].text, match.end(), None, False, True))
    return sorted(found, key=lambda c: c.at)


def _verb_clause(sentence: str, match: re.Match[str]) -> Clause | None:
    left, right = sentence[: match.start()], sentence[match.end() :]
    verb = match.group("verb")
    if _NOT_ATTRIBUTION.search(left) or re.match(r"\s+(?:to be|to have)\b", right):
        return None  # "is said to be", "to say", "it was said", "I told him"
    quoted = _near_quote(sentence, match)
    if re.search(rf"(?:[,”\"{BLANK}]|^)$", left.rstrip()) and verb not in _TO_SOMEONE:
        who, role = _inverted(right)
        if who is not None:
            return Clause(who, match.start(), role, False, quoted)
    if not re.fullmatch(_BARE, verb) and not _CLAUSE_AFTER.match(right):
        if verb in _STRICT or not _CLAUSE_AFTER_LOOSE.match(right):
            return None  # "announced a new product", "posted a notice"
    who, role = _subject(left)
    if who is None:
        return None
    return Clause(who, match.start(), role, False, quoted)


def _inverted(right: str) -> tuple[str | None, str | None]:
    """The speaker after an inverted verb ("…,” said Peskov."), if ``right`` starts with one."""
    match = _INVERTED.match(right)
    if match is None:
        return None, None
    np = _cut_adjunct(match.group("np"))
    if np.split()[0].lower() in _PREPOSITIONS | {"during", "after", "before", "last", "this"}:
        return None, None
    who, role = _name_with_role(np)
    if who is None:
        return None, None
    if who[0].islower() and head_noun(who.lower().split()) not in ROLE_NOUNS | SPEAKER_NOUNS:
        return None, None  # "said the move was unacceptable" is not inverted
    if not who[0].islower() and np.index(who.split()[0]) > 0 and role is None:
        return None, None  # "wrote in a report on Nov." is not a name
    return who, role


def _near_quote(sentence: str, match: re.Match[str]) -> bool:
    before = sentence[max(0, match.start() - 60) : match.start()]
    after = sentence[match.end() : match.end() + 60]
    closes = re.search(rf"[{BLANK}][”\"]?\s*,?\s*(?:\S+\s+){{0,5}}$", before) is not None
    opens = re.match(
        rf"^\s*[,:]?\s*[“\"][{BLANK}]|^(?:\s+[^\s,:]+){{1,6}}?\s*[,:]\s*[“\"][{BLANK}]", after
    )
    return closes or opens is not None


def _subject(left: str) -> tuple[str | None, str | None]:
    """Who does the speaking in ``left`` (the sentence up to the verb), and their role."""
    words = left.rstrip().split(" ")
    while words and (words[-1].lower() in _SKIPPED or re.fullmatch(r"[a-z]+ly", words[-1])):
        words.pop()
    left = " ".join(words).rstrip()
    if left.endswith(","):
        return _comma_subject(left[:-1])
    tail = _EDGE.split(left)[-1].strip()
    if tail.lower() in ("which", "who") and "," in left:  # "said Adobe, which said that..."
        return _subject(left[: left.rfind(",")])
    return _noun_phrase(tail), None


def _comma_subject(left: str) -> tuple[str | None, str | None]:
    """ "Jane Roe, a spokesperson for X," / "The minister, who took office in May," / "Putin's
    spokesperson, Dmitry Peskov,": the subject before its appositives and relative clauses."""
    parts = [p.strip() for p in re.split(rf"\s*,\s*|[{BLANK}”“\"]+", left)]
    parts = [_CONNECTIVE.sub("", p) for p in parts if p]
    k = 0
    while k < len(parts) - 1 and _LEADING.match(parts[k]):
        k += 1
    rest = parts[k + 1 :]
    if rest and not _is_name(parts[k]) and _appositive(parts[k]) and _is_name(rest[0]):
        role, parts, rest = (
            _role_text(parts[k]),
            [rest[0]],
            rest[1:],
        )  # "Putin's spokesperson, Dmitry Peskov,"
        k = 0
    else:
        role = None
    if all(_modifier(p, b) for b, p in zip([parts[k], *rest], rest, strict=False)):
        if rest and _appositive(rest[0]) and not _RELATIVE.match(rest[0]):
            role = role or _role_text(rest[0])
        return _named(parts[k], role)
    i = len(parts) - 1
    while i > 0 and _modifier(parts[i], parts[i - 1]):
        i -= 1
    return _named(parts[i], None)


def _modifier(part: str, before: str) -> bool:
    """Whether ``part`` only describes what comes before it: a relative clause, an appositive,
    an age, an aside ("however"), or the place after one ("…in Fairfield, Connecticut")."""
    return bool(
        _RELATIVE.match(part)
        or _ADVERBIAL.match(part)
        or part.isdigit()
        or _is_name(part)
        and re.search(r"\b(?:in|at|of|from)\s+[A-Z][\w’'-]*$", before)
        or _appositive(part)
        and not _is_name(part)
    )


def _named(part: str, role: str | None) -> tuple[str | None, str | None]:
    if _is_name(part):
        who, title = _name_with_role(part)
        return who, role or title
    return _noun_phrase(part), role


def _appositive(part: str) -> bool:
    first = part.split(" ", 1)[0]
    return bool(first) and (
        first.lower() in DETERMINERS
        or first[0].islower()
        or first.lower().rstrip(".") in TITLES
        or bool(re.search(r"[’']s?$", first))
        and any(w in ROLE_NOUNS for w in part.lower().split())
        or any(w in ROLE_NOUNS for w in part.lower().split())
        and not _is_name(part)
    )


def _is_name(part: str) -> bool:
    """Whether ``part`` is a name, titles and "the" allowed in front ("the Kremlin")."""
    runs = name_runs(part)
    if not runs or runs[-1].end < len(part.rstrip(" .")):
        return False
    head = part[: runs[-1].start].split()
    return all(w[0].isupper() or w in ("the", "and") for w in head)


def _last_words(part: str) -> str:
    return " ".join(part.split()[-4:])


def _role_text(part: str) -> str | None:
    part = re.split(r"\s+(?:who|which|where)\b", part)[0].strip()
    return part if 0 < len(part.split()) <= 14 else None


def _name_with_role(text: str) -> tuple[str | None, str | None]:
    """ "veteran legislator Rep. Tom Cole" -> ("Tom Cole", "veteran legislator Rep.")."""
    runs = [r for r in name_runs(text) if r.end >= len(text.rstrip(" .")) - 1]
    if not runs:
        return _noun_phrase(text), None
    run = runs[-1]
    before = text[: run.start].strip()
    if before and re.search(r"\b(?:of|in|at|for|on|from|with)$", before):
        return _noun_phrase(text), None  # "officials in Brussels"
    joined = re.search(r"([A-Z][\w’'&.-]*(?:\s+[A-Z][\w’'&.-]*)*)\s+and$", before)
    if joined and not run.title:  # "YouTube and Universal Music Group"
        return f"{joined.group(1)} and {run.text}", None
    role_words = before.split()[-5:]
    role = (
        " ".join(role_words)
        if role_words and (role_words[-1].lower().rstrip(".") in ROLE_NOUNS | TITLES)
        else None
    )
    return run.text, role or run.title


def _noun_phrase(text: str) -> str | None:
    """The noun phrase that ends ``text``: a name, a pronoun, or "the company", "officials in
    Brussels", "people familiar with the matter" (at most eight words)."""
    text = text.strip().rstrip(",")
    if not text:
        return None
    words = text.split()
    if words[-1].lower() in _PRONOUNS:
        return words[-1]
    if words[-1] in ("I", "we", "We", "you", "You"):
        return None
    runs = name_runs(text)
    if runs and runs[-1].end >= len(text) - 1:
        before = text[: runs[-1].start].split()
        if not before or before[-1].lower() not in _PREPOSITIONS:
            name = _name_with_role(text)[0]
            the = before and before[-1].lower() == "the" and not runs[-1].title
            return f"the {name}" if the and name else name
    taken: list[str] = []
    for word in reversed(words):
        lower = word.lower().strip("’'")
        if lower in _STOP or len(taken) >= 8 or not re.fullmatch(r"[\w’'&.-]+", word):
            break
        taken.insert(0, word)
        if lower in DETERMINERS:
            break
    while taken and taken[0].lower() in _CONNECT | {"along", "about", "like", "including"}:
        taken.pop(0)
    if (
        not taken
        or taken[-1].lower() in _CONNECT | DETERMINERS | _NUMBERS
        or not taken[-1].isalpha()
        or taken[-1].endswith("ly")
    ):
        return None
    phrase = " ".join(taken)
    common = taken[0].lower() in DETERMINERS | ROLE_NOUNS | SPEAKER_NOUNS | _COMMON_ADJ
    lowered = phrase[0].lower() + phrase[1:]
    return lowered if common and (len(taken[0]) == 1 or taken[0][1:].islower()) else phrase


def _cut_adjunct(np: str) -> str:
    """ "the company in a statement" -> "the company"; "officials in Brussels" stays."""
    cut = re.search(r"\s+(?:in|on|at|during|after|before)\s+(?=[a-z\d])", np)
    return np[: cut.start()] if cut else np


def _main_subject(left: str) -> str | None:
    """The subject of the clause that ``, saying`` hangs from: its first noun phrase."""
    parts = [p.strip() for p in _EDGE.split(left) if p.strip()]
    while len(parts) > 1 and _LEADING.match(parts[0]):
        parts.pop(0)
    if not parts:
        return None
    clause = parts[0]
    runs = name_runs(clause)
    if runs and runs[0].start <= len(runs[0].title or "") + 1:
        return runs[0].text
    words = clause.split()
    if words[0].lower() in _PRONOUNS:
        return words[0]
    if words[0].lower() not in DETERMINERS:
        return None
    taken = [words[0]]
    for word in words[1:6]:
        if word.lower() in _STOP or re.fullmatch(r"[a-z]+(?:ed|s)", word):
            break
        taken.append(word)
    return _noun_phrase(" ".join(taken))


def _according(rest: str) -> str | None:
    """Who "according to" names: a person, an outlet, or whoever wrote the report it names."""
    np = re.split(rf"[,;:.!?(]\s|[,;:!?(]|\.$|[{BLANK}]", rest, maxsplit=1)[0].strip()
    np = np.strip('“”"')
    if not np:
        return None
    lowered = np.lower().split()
    if lowered[0] in DETERMINERS | {"court", "data", "documents", "figures", "records"}:
        by = re.split(r"\b(?:by|from)\s+", rest.split(". ")[0])
        phrase = re.split(r"[,;]", by[-1])[0] if len(by) > 1 else ""
        runs = name_runs(phrase)
        if runs:
            the = phrase[: runs[-1].start].endswith("the ")
            return f"the {runs[-1].text}" if the else runs[-1].text
        owner = re.match(r"([A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*)[’']s\b", " ".join(np.split()[1:]))
        if owner:
            return owner.group(1)
    owner = re.match(r"([A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*)[’']s\s+[a-z]", np)
    if owner:  # "HP's website"
        return owner.group(1)
    runs = name_runs(np)
    if runs and np[: runs[0].start].strip().lower() in ("", "the", (runs[0].title or "").lower()):
        the = np.lower().startswith("the ") and not runs[0].title
        return f"the {runs[0].text}" if the else runs[0].text
    return " ".join(np.split()[:8])


def head_noun(words: list[str]) -> str:
    """The head noun of a noun phrase: the last word before "of/in/at/for/with" ("officials")."""
    for n, word in enumerate(words):
        if word in ("of", "in", "at", "for", "on", "from", "with", "familiar") and n > 0:
            return words[n - 1]
    return words[-1] if words else ""
