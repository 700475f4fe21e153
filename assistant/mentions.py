"""Who an article names: names with their titles and roles, and what a surname, a pronoun or
"the spokesperson" refers to (pure functions and one small record per article).

``attribution`` finds who speaks in a sentence ("Peskov", "he", "the company"); this module
turns those words into the fullest name the article gives ("Dmitry Peskov") and the role it
gives them ("Putin's spokesperson"). Names are runs of capitalised words ("Kevin O'Connell",
"Erik ten Hag", "Karl E. Jandrey"); titles ("President", "Dr.") are cut off into the role.
A run is a person when it has several words, none of them an organisation word ("Group",
"University"), and the article uses its surname alone, gives it a role or a title, or has it
speak; single words are organisations unless they name such a person. No gender is inferred:
"he" and "she" go to the last person who spoke or began a sentence. Where two people share a
surname, the one who speaks wins, then the one already spoken of, then the one named most.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W_][\w’'&-]*")
_PARTICLES = frozenset("de da del der den di du la le van von ten ter bin al el dos das".split())
_OF_ORGS = frozenset(
    """academy university bank institute college school department ministry society
    association center centre council court museum office board commission federation union
    league chamber republic kingdom church secretary minister""".split()
)
_DOTTED = frozenset("jr sr dr st mr mrs ms prof gen rep sen gov lt col capt rev sgt mt".split())

TITLES = frozenset(
    """president vice prime minister foreign defence defense secretary senator sen sen. rep
    rep. representative governor gov gov. mayor chancellor king queen prince princess pope
    dr dr. mr mr. mrs mrs. ms ms. prof prof. professor sir dame lord lady judge justice
    general gen gen. col col. capt capt. lt lt. sgt sgt. chairman chairwoman chair chief
    councillor councilor councilman councilwoman alderman
    director coach pastor rev rev. father bishop ambassador commissioner attorney ceo cfo
    cto coo founder co-founder principal deputy speaker leader detective officer
    superintendent inspector sheriff commander admiral captain""".split()
)
_ORG_WORDS = frozenset(
    """inc inc. corp corp. co co. ltd ltd. llc plc group foundation network university
    college school company corporation media news times post journal press agency
    commission committee council court department ministry office house party association
    institute center centre club league union bank fund capital ventures partners labs
    research studios records music entertainment airlines motors technologies systems
    government police service services board authority federation organization
    organisation administration army navy force forces nations state states city county
    republic kingdom museum hospital clinic church team sports magazine review report
    cnbc bbc cnn nfl nba mlb fifa uefa nasa fbi cia forum summit conference act code law bill
    program programme initiative project award awards prize cup series championship war day
    week tower street avenue road square park stadium arena airport station bridge island
    islands river lake mountain valley beach coast bay hall centre tour festival show
    album song film movie book game games store online digital cloud ai app apps pro max
    plus mini""".split()
)
_NOT_NAME = frozenset(
    """the a an this that these those it its he she they we i you his her their our my
    but and or so yet if when while after before as at by for from in into of on to with
    also then there here however meanwhile still now today yesterday tomorrow instead
    according advertisement photo image read more watch click subscribe""".split()
)
_MONTHS_DAYS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday""".split()
)
_POSSESSIVE = re.compile(r"(?:’s|'s|’|')$")
ROLE_NOUNS = frozenset(
    """spokesperson spokesman spokeswoman minister president secretary analyst editor director
    officer executive exec founder co-founder ceo cto cfo coo chief coach manager boss adviser
    advisor professor researcher scientist economist strategist lawyer attorney prosecutor
    judge senator governor mayor chairman chairwoman chair partner investor journalist
    reporter correspondent columnist writer author host creator streamer player striker
    midfielder defender goalkeeper captain driver star leader member official legislator
    lawmaker representative ambassador diplomat commissioner therapist physician doctor nurse
    dietitian nutritionist expert specialist engineer designer developer head principal
    witness singer streamer
    counsel consultant candidate owner teacher liaison aide pastor singer actor actress
    rapper artist producer musician economist chancellor superintendent contender
    quarterback receiver pitcher forward guard centre center winger batter bowler""".split()
)
SPEAKER_NOUNS = frozenset(
    """source sources people person officials company firm agency statement report study
    group spokesperson spokesman spokeswoman ministry department government police union
    board team club league network outlet website post letter filing complaint lawsuit
    authorities analysts experts researchers critics residents owners users fans woman man
    mother father wife husband son daughter girl boy user bride mom dad teen child sister
    brother friend""".split()
)


@dataclass(frozen=True)
class Name:
    """One mention of a name in the article text."""

    start: int
    end: int
    text: str
    """The name with titles and a possessive cut off: "Emmanuel Macron"."""
    title: str | None
    """The titles cut off its front: "President"."""


def name_runs(text: str) -> list[Name]:
    """Every capitalised run in ``text`` that could be a name, titles and possessives split off.

    "the Kremlin's Peskov" gives "Kremlin" and "Peskov"; a run's leading function words and
    titles go ("But President Macron" gives "Macron", titled "President").
    """
    names: list[Name] = []
    run: list[re.Match[str]] = []
    for match in _WORD.finditer(text):
        word = match.group()
        joined = run and _joins(text, run[-1].end(), match.start())
        capital = word[0].isupper()
        of = word == "of" and run and run[-1].group().lower() in _OF_ORGS
        if run and joined and (capital or word in _PARTICLES or of):
            run.append(match)
        else:
            names.extend(_runs(text, run))
            run = [match] if capital else []
        if run and not _continues(text, match, word):
            names.extend(_runs(text, run))
            run = []
    names.extend(_runs(text, run))
    return names


def _joins(text: str, end: int, start: int) -> bool:
    """Whether two words are one run: one space apart, or after an initial or a dotted title."""
    gap = text[end:start]
    if gap == " ":
        return True
    word = text[max(0, end - 6) : end].split()[-1:] or [""]
    after = text[start : start + 12].split(" ", 1)[0].lower()
    return gap == ". " and word[0].lower() not in ("jr", "sr") and after not in _NOT_NAME


def _continues(text: str, match: re.Match[str], word: str) -> bool:
    """Whether a run may go on past ``word``: not after a possessive or a full stop that ends
    a sentence (initials and "Jr." go on)."""
    if _POSSESSIVE.search(word) and len(word) > 2:
        return False
    if text[match.end() : match.end() + 1] == ".":
        return len(word) == 1 and word.isupper() or word.lower() in _DOTTED
    return text[match.end() : match.end() + 1] == " "


def _runs(text: str, run: list[re.Match[str]]) -> list[Name]:
    while run and (run[-1].group() in _PARTICLES or run[-1].group() == "of"):
        run = run[:-1]
    if not run:
        return []
    name = _clean(text, run[0].start(), text[run[0].start() : run[-1].end()])
    return [name] if name is not None else []


def _clean(text: str, start: int, run: str) -> Name | None:
    words = run.split()
    titles: list[str] = []
    while words and (words[0].lower() in _NOT_NAME or words[0].lower() in TITLES):
        if words[0].lower() in TITLES:
            titles.append(words[0])
        words = words[1:]
    if words and len(words[-1]) > 2:
        words[-1] = _POSSESSIVE.sub("", words[-1]).rstrip(".,")
    if not words or len(words[-1]) < 2 or (len(words) == 1 and words[0].lower() in _MONTHS_DAYS):
        return None
    first = start + run.index(words[0]) if words[0] in run else start
    return Name(first, start + len(run), " ".join(words), " ".join(titles) or None)


def is_org_word(word: str) -> bool:
    """A word that makes a run a body, a place or a thing rather than a person ("Group")."""
    bare = word.rstrip(".")
    return bare.lower() in _ORG_WORDS or (bare.isupper() and len(bare) > 1)


@dataclass
class Entity:
    """Someone or something that speaks, as resolved so far."""

    name: str
    person: bool
    role: str | None = None


_SUFFIXES = frozenset("jr jr. sr sr. ii iii iv".split())


def _surname(words: list[str]) -> str:
    while len(words) > 1 and words[-1].lower() in _SUFFIXES:
        words = words[:-1]
    return words[-1].lower()


@dataclass
class Mentions:
    """The names of one article and who has been speaking, read in text order."""

    people: list[tuple[int, str]]
    """(offset, name) of every mention of a person by two or more words, in text order."""
    speakers: set[str]
    common: frozenset[str]
    """Words the article also writes in lower case ("eventually"): not the start of a name."""
    proper: frozenset[str]
    """Words the article capitalises inside a sentence: names, not just sentence starts."""
    roles: dict[str, str] = field(default_factory=dict)
    """Fullest name -> the first role the article gives it."""
    history: list[tuple[int, Entity]] = field(default_factory=list)
    """(sentence number, entity) for every speaker and sentence subject so far."""
    seen: set[str] = field(default_factory=set)
    """The names in ``history``."""
    by_word: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Surname or first name (lower-cased) -> full name -> the offsets it is named at."""

    def __post_init__(self) -> None:
        for start, full in self.people:
            words = full.split()
            for key in {_surname(words), words[0].lower()}:
                self.by_word.setdefault(key, {}).setdefault(full, []).append(start)

    @classmethod
    def of(cls, text: str, speakers: set[str]) -> Mentions:
        """The names of ``text``; ``speakers`` (the words attribution clauses name) help tell
        people from other runs of capitals."""
        common = frozenset(re.findall(r"(?<![\w’'-])[a-z][a-z’'-]+", text))
        names = name_runs(text)
        proper = frozenset(re.findall(r"(?<=[a-z,] )[A-Z][\w’'-]+", text))
        clean = [(n, _without_common(n.text, common, proper)) for n in names]
        alone = {name.lower() for _, name in clean}
        roles = roles_in(text, names)
        people: list[tuple[int, str]] = []
        for mention, name in clean:
            words = name.split()
            if len(words) < 2 or any(is_org_word(w) for w in words):
                continue
            if text[mention.start - 1 : mention.start] in "“\"‘'" and mention.start > 0:
                continue  # "American Pie": a title
            known = name in roles or name in speakers or mention.title is not None
            shorter = {_surname(words)}  # people are named again by surname
            if len(words) > 2:
                shorter.add(" ".join(words[-2:]).lower())
            if known or shorter & alone:
                people.append((mention.start, name))
        found = cls(people, {s.lower() for s in speakers}, common, proper)
        found.roles = {found.fullest(k): v for k, v in roles.items()}
        return found

    def clean(self, name: str) -> str:
        return _without_common(name, self.common, self.proper)

    def fullest(self, name: str, at: int | None = None) -> str:
        """The fullest name the article gives for ``name`` ("Peskov" -> "Dmitry Peskov"): of
        the people it may be, one who speaks, then the last named before ``at``."""
        name = self.clean(name)
        words = name.split()
        if not words:
            return name
        keys = {_surname(words), words[0].lower()} if len(words) == 1 else {_surname(words)}
        found = {
            full: starts
            for key in keys
            for full, starts in self.by_word.get(key, {}).items()
            if _same(full.split(), words)
        }
        lowered = {full.lower() for full in found}
        for full in [f for f in found if any(o.endswith(" " + f.lower()) for o in lowered)]:
            del found[full]  # "Ten Hag" is "Erik ten Hag" said again, not another person
        if not found:
            return name
        at = at if at is not None else 1 << 62

        def rank(full: str) -> tuple[bool, bool, bool, int, bool, int]:
            starts = found[full]
            before = bisect.bisect_right(starts, at)
            near = starts[before - 1] if before else -starts[0]
            return (
                full.lower() in self.speakers,
                len(full.split()[0].rstrip(".")) > 1,  # "Alex Sinha" is fuller than "S. Sinha"
                full in self.seen,
                len(starts),
                before > 0,
                near,  # the last named before ``at``, else the first named after it
            )

        return max(found, key=rank)

    def is_person(self, name: str) -> bool:
        words = name.split()
        return bool(words) and name in self.by_word.get(_surname(words), {})

    def entity(self, name: str, role: str | None = None, at: int | None = None) -> Entity:
        full = self.fullest(name, at)
        return Entity(full, self.is_person(full), role or self.roles.get(full))

    def remember(self, sentence: int, entity: Entity) -> None:
        self.history.append((sentence, entity))
        self.seen.add(entity.name)

    def recent(self, sentence: int, *, person: bool, window: int = 12) -> Entity | None:
        """The last speaker or subject of the wanted sort within ``window`` sentences."""
        for seen, entity in reversed(self.history):
            if sentence - seen > window:
                break
            if entity.person == person and (person or _organisation(entity.name)):
                return entity
        return None

    def named_before(self, at: int) -> Entity | None:
        """The person named last before offset ``at``, whatever their part in the sentence."""
        before = [full for start, full in self.people if start < at]
        return Entity(before[-1], True, self.roles.get(before[-1])) if before else None

    def with_role(self, head: str, sentence: int, window: int = 40) -> Entity | None:
        """The last person whose role holds ``head`` ("spokesperson"), within ``window``."""
        for seen, entity in reversed(self.history):
            if sentence - seen > window:
                break
            if entity.person and entity.role and head in entity.role.lower().split():
                return entity
        for name, role in self.roles.items():
            if head in role.lower().split() and self.is_person(name):
                return Entity(name, True, role)
        return None


def _organisation(name: str) -> bool:
    """Whether ``name`` can be what "the company" means: a name, all words capitalised."""
    words = name.split()
    if words and words[0] == "the":
        words = words[1:]
    if not words or len(" ".join(words)) < 3 or words[-1].lower().rstrip(".") in _DOTTED:
        return False
    return all(w[:1].isupper() or w == "of" for w in words)


def _same(full: list[str], words: list[str]) -> bool:
    """Whether ``words`` ("Peskov", "Ten Hag", "Rachel") may name the person ``full``."""
    if len(words) == 1:
        return words[0].lower() in (_surname(full), full[0].lower())
    joined = " ".join(words).lower()
    return _surname(full) == _surname(words) and (
        full[0].lower() == words[0].lower() or " ".join(full).lower().endswith(joined)
    )


def _without_common(name: str, common: frozenset[str], proper: frozenset[str]) -> str:
    """ "Eventually Vincent" -> "Vincent"; "Mashable Senior Editor Stan Schroeder" -> "Stan
    Schroeder": everything up to a role word inside the run goes, and so does a first word
    the article never capitalises inside a sentence when it is an ordinary word there
    (written in lower case, an "-ly" adverb, "neither", "once")."""
    words = name.split()
    for i in range(len(words) - 2, -1, -1):
        if words[i].lower() in ROLE_NOUNS and i + 1 < len(words):
            words = words[i + 1 :]
            break
    first = words[0] if words else ""
    ordinary = first.lower() in common or first.endswith("ly") or first.lower() in _ORDINARY
    if len(words) > 1 and (first not in proper and ordinary or first.lower() in _VERBS):
        words = words[1:]
    return " ".join(words)


_VERBS = frozenset("said says told tells added asked according".split())
_ORDINARY = frozenset(
    """neither nor once even following during despite unlike like perhaps maybe only just
    although though because since whether until unless instead plus""".split()
)


_AFTER = re.compile(
    r",\s+((?:(?:a|an|the)\s+|[A-Z][\w.&-]*[’']s?\s+|[a-z])[^,;:“”\"()\n!?]{2,90}?)(?=,|\s+(?:said|says|told|added)\b)"
)
_BEFORE = re.compile(r"(?:^|[,;:(] *|\b(?:and|but|while) +)((?:[\w’'&-]+ +){0,8}?[\w’'&-]+), +$")
_PREMODIFIER = re.compile(r"((?:[\w’'&.-]+ +){1,6})$")
_CUT = frozenset("the a an and but said says told by of in at to for with on from as".split())


def roles_in(text: str, names: list[Name]) -> dict[str, str]:
    """The first role the article gives each name: an appositive ("Jane Roe, a spokesperson
    for X," / "Putin's spokesperson, Dmitry Peskov,"), the words before it ("head coach Kevin
    O'Connell") or its title ("President")."""
    roles: dict[str, str] = {}
    for name in names:
        if name.text in roles or " " not in name.text and name.title is None:
            continue
        role = _role_around(text, name)
        if role:
            roles[name.text] = role
    return roles


def _role_around(text: str, name: Name) -> str | None:
    after = _AFTER.match(text, name.end)
    if after and _has_role_noun(after.group(1)):
        return re.split(r"\s+(?:who|which|where)\b", after.group(1))[0].strip()
    head = text[max(0, name.start - 120) : name.start]
    before = _BEFORE.search(head)
    if before and text[name.end : name.end + 1] == "," and _ends_in_role(before.group(1)):
        return before.group(1).strip()
    pre = _PREMODIFIER.search(head)
    if pre:
        words = pre.group(1).split()
        while words and (words[0].lower() in _CUT or words[0].lower() in _NOT_NAME):
            words = words[1:]
        cut = [i for i, w in enumerate(words) if w.lower() in _CUT or w[-1] in ",.;:"]
        words = words[cut[-1] + 1 :] if cut else words
        if words and _ends_in_role(" ".join(words)):
            return " ".join(words)  # the title, if any, is among them
    return name.title


def _has_role_noun(phrase: str) -> bool:
    return any(_POSSESSIVE.sub("", w).lower() in ROLE_NOUNS for w in phrase.split())


def _ends_in_role(phrase: str) -> bool:
    words = phrase.split()
    return bool(words) and words[-1].lower().rstrip(".") in ROLE_NOUNS | TITLES
