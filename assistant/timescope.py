"""Time expressions in a question -> the publication period it asks about (``TimeScope``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# --- Time expressions in a question -------------------------------------------------------------
#
# A question names periods ("in November 2023", "last week", "published on October 7, 2023"),
# each perhaps governed by a preposition ("before", "after", "since", "until", "other than").
# Each becomes a half-open interval of UTC days and the scope is the smallest interval covering
# them all: in a news question each date usually places a *different* article ("between the
# report published on October 7 and the one published on December 15"), and the answer needs
# every one. Two constructions narrow instead: "between/from X and/to Y" is one range, and
# "after X and before Y" is the intersection of its two bounds.


@dataclass(frozen=True)
class TimeScope:
    """The publication period a question asks about, read from its own words.

    ``start_ts`` is inclusive and ``end_ts`` exclusive, both epoch seconds at a UTC midnight;
    ``None`` leaves that side open. ``days`` are the exact days (ISO, sorted) on which the
    question places an article ("published on October 7, 2023", also "yesterday"); the anchors
    of "before", "after", "since", "until" and "other than" are not among them. ``matched``
    holds the phrases recognised, as written, in question order.
    """

    start_ts: int | None = None
    end_ts: int | None = None
    recency: bool = False
    """The question asks for the latest / most recent / newest."""
    days: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()


def read_time_scope(question: str, reference: date | datetime | None = None) -> TimeScope:
    """Read the time expressions of ``question`` into a :class:`TimeScope`.

    ``reference`` is "today" for relative expressions and for dates written without a year
    (default: today's UTC date). Semantics, in whole UTC days:

    - a day, month or year named plainly ("on October 7, 2023", "in November 2023", "in 2023")
      is that period; a day or month written without a year is the latest one not after the
      reference ("December" asked in January 2024 is December 2023);
    - "before X" ends at X's start, "after X" starts after X's end, "since X" starts at X's
      start, "until/till/through/by X" ends at X's end; "other than X" / "except X" cannot be
      one interval, so it leaves the scope unbounded;
    - "between X and Y" and "from X to Y" are ``[X.start, Y.end)`` (X may borrow Y's year:
      "between October 7 and December 15, 2023"); "after X and before Y" is the intersection;
      any other set of periods gives the smallest interval that covers them all;
    - "today", "yesterday"; calendar periods "this/last week" (Monday to Sunday), "this/last
      month", "this/last year", "this/last weekend", "last Friday", "last/this October";
      "earlier this week/month/year" runs from its start to the end of the reference day;
      "the past/last N days/weeks/months/years" and "the past week" / "the last month" are
      rolling windows ``[reference - N units, reference + 1 day)`` ("few" reads as 5, "several"
      as 7: a scope too narrow hides the answer); "N days/weeks/months/years ago" is the
      calendar day/week/month/year that holds that moment;
    - "latest", "most recent", "newest", "recent(ly)" set ``recency`` and bound nothing.

    Conservative: a bare month needs a preposition and a capital ("in March", "since October";
    "May" only after "in"/"during" and never as "May's"), a day without a year needs a
    capitalised month ("march 5 miles" is no date), a bare year needs a preposition ("in 2023";
    never "$2023", "2,023", "the 2015 World Cup" or "the Act of 2023"), and "since" after a
    superlative ("highest since 2001") is ignored. Numeric dates other than ISO ``2023-10-07`` /
    ``2023/10/07`` are not read (10/07 is ambiguous). A title-cased word inside a sentence
    ("Business Today", "Latest Stock Market News") is a name. Dates of events cannot be told
    from dates of publication ("their first victory in 2020"): such a date widens the scope.
    """
    today = _reference_day(reference)
    text = question.translate(_SPACES)
    found = [span for m in _PERIOD_RE.finditer(text) if (span := _read_span(m, text, today))]
    spans = _join(found, text)
    recency = [
        (m.start(), question[m.start() : m.end()])
        for m in _RECENCY_RE.finditer(text)
        if not _is_title_word(text, m.start())
    ]
    matched = tuple(
        phrase for _, phrase in sorted(recency + [(s.pos, question[s.pos : s.end]) for s in spans])
    )
    if not spans:
        return TimeScope(recency=bool(recency), matched=matched)
    lows, highs = [s.low for s in spans], [s.high for s in spans]
    low = None if None in lows else min(d for d in lows if d is not None)
    high = None if None in highs else max(d for d in highs if d is not None)
    return TimeScope(
        start_ts=None if low is None else _day_ts(low),
        end_ts=None if high is None else _day_ts(high),
        recency=bool(recency),
        days=tuple(sorted({d.isoformat() for s in spans for d in s.days})),
        matched=matched,
    )


@dataclass(frozen=True, slots=True)
class _Period:
    first: date
    stop: date  # the day after the last day
    exact: bool = False  # one named day
    yearless: bool = False  # a month (and day) written without a year
    month: int = 0
    dom: int = 0


@dataclass(frozen=True, slots=True)
class _Span:
    pos: int  # where the phrase starts, its preposition included
    end: int
    kind: str  # "mention", "before", "after", "since", "until" or "exclude"
    prep: str
    period: _Period
    weak: bool = False  # kept only as the second end of a range ("from 1905 to 1913")
    days: tuple[date, ...] = ()  # the exact days it places an article on

    @property
    def low(self) -> date | None:
        if self.kind == "after":
            return self.period.stop
        return self.period.first if self.kind in ("mention", "since") else None

    @property
    def high(self) -> date | None:
        if self.kind == "before":
            return self.period.first
        return self.period.stop if self.kind in ("mention", "until") else None


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip
_MONTH_NUMBER = {name: i for i, name in enumerate(_MONTHS, 1)} | {
    name[:3]: i for i, name in enumerate(_MONTHS, 1)
}
_MONTH_NUMBER["sept"] = 9
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "couple of": 2, "a couple of": 2, "few": 5, "several": 7}  # fmt: skip
_KINDS = {
    "before": "before", "prior to": "before", "earlier than": "before",
    "after": "after", "later than": "after",
    "since": "since", "starting": "since",
    "until": "until", "till": "until", "through": "until", "by": "until", "up to": "until",
    "up until": "until", "no later than": "until", "not later than": "until",
    "other than": "exclude", "except": "exclude", "except for": "exclude",
    "except on": "exclude", "excluding": "exclude", "apart from": "exclude",
}  # fmt: skip
_FULL = "|".join(_MONTHS)
_NUMBER = r"\d{1,3}|a\s+couple\s+of|couple\s+of|few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


def _month_re(group: str, full_only: bool = False) -> str:
    names = _FULL if full_only else _FULL + "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
    return rf"(?P<{group}>{names})\b" + ("" if full_only else r"\.?")


def _dom_re(group: str) -> str:
    return rf"(?P<{group}>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\b"


def _year_re(group: str) -> str:
    return rf"(?P<{group}>(?:19|20)\d\d)(?![\w%]|[.,/-]\d)"


# The periods themselves. The lookaheads let the scan skip, cheaply, every word that cannot
# start one (most of them): that keeps a question well under a millisecond.
_PERIOD_RE = re.compile(
    r"\b(?=[\dacdefjlmnopstyACDEFJLMNOPSTY])(?=\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov"
    r"|dec|earlier|later|past|last|this|an?|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|couple|few|several|today|tonight|yesterday|year)\b|(?:jan|feb|mar|apr|jun"
    r"|jul|aug|sep|oct|nov|dec)[a-z])(?:"
    # 2023-10-07, 2023/10/07
    r"(?<![\w$£€¥#.,/-])(?P<iy>(?:19|20)\d\d)(?P<sep>[-/])(?P<im>1[0-2]|0?[1-9])(?P=sep)"
    r"(?P<id>3[01]|[12]\d|0?[1-9])(?![\d/-])"
    # October 7, 2023 / Oct. 7th 2023 / October 7
    rf"|{_month_re('m1')}(?:\s+|(?<=\.)){_dom_re('d1')}(?:(?:,?\s+|,){_year_re('y1')})?"
    # 7 October 2023 / 7th of October / the 7th of October, 2023
    rf"|(?<![$£€.,]){_dom_re('d2')}\s+(?:of\s+)?{_month_re('m2')}(?:,?\s+{_year_re('y2')})?"
    # November 2023 / Nov. 2023 / November of 2023
    rf"|{_month_re('m3')}(?:\s+of)?,?\s+{_year_re('y3')}"
    # earlier this year / later this month
    r"|(?P<er>earlier|later)\s+this\s+(?P<eu>week|month|year)\b"
    # the past 3 days / last two weeks / past 24 hours
    rf"|(?:past|last)\s+(?P<rn>{_NUMBER})\s+(?P<ru>hour|day|week|month|year)s?\b"
    # this week / last month / the past year / last weekend
    r"|(?P<cw>this|last|past)\s+(?P<cu>weekend|week|month|year)\b"
    # three days ago / a week ago
    rf"|(?P<an>{_NUMBER})\s+(?P<au>day|week|month|year)s?\s+ago\b"
    rf"|last\s+(?P<wd>{'|'.join(_WEEKDAYS)})\b"
    rf"|(?P<lw>last|this)\s+{_month_re('lm', full_only=True)}"
    r"|(?P<today>today|tonight|this\s+(?:morning|afternoon|evening))\b"
    r"|(?P<yday>yesterday|last\s+night)\b"
    # in March / since October (checked in _read_period)
    rf"|{_month_re('m4', full_only=True)}"
    # in 2023 / since 2023 / in the year 2023 (checked in _read_period)
    rf"|(?P<yw>year\s+)?(?<![\w$£€¥#.,]){_year_re('y4')}"
    r")",
    re.IGNORECASE | re.ASCII,
)
# What governs a period: the words that end where it starts ("published after the", "in early").
_LEAD_RE = re.compile(
    r"(?:\b(?=[abdefilmnoprstu])"  # a cheap test first: most positions start no such word
    r"(?:(?P<prep>prior\s+to|earlier\s+than|not?\s+later\s+than|later\s+than|up\s+(?:to|until)"
    r"|other\s+than|except(?:\s+(?:for|on))?|excluding|apart\s+from|before|after|since|starting"
    r"|until|till|through|between|during|from|in|on|of|by)\s+)?"
    r"(?P<the>\bthe\s+)?(?:\b(?:early|mid|late)(?:-|\s+))?)?\Z",
    re.IGNORECASE | re.ASCII,
)
_LEAD_WINDOW = 32  # "not later than the early " is 25 characters
_RECENCY_RE = re.compile(
    r"\b(?:latest|newest|freshest|most\s+recent(?:ly)?|recent(?:ly)?)\b", re.IGNORECASE | re.ASCII
)
_SUPERLATIVE_RE = re.compile(r"(?:\w+est|first|time|level|record|peak)\s+\Z", re.IGNORECASE)
_TITLE_OF_RE = re.compile(r"\b[A-Z]\w*\s+\Z")  # "the Act of 2023", "Class of 2023"
_RANGE_GAP_RE = re.compile(r"\s*,?\s*(?:and|to|[-–—])?\s*", re.IGNORECASE)
_RANGE_END_PREPS = frozenset(
    {"", "on", "in", "until", "till", "through", "up to", "up until", "by"}
)
_BOUNDS_GAP_RE = re.compile(
    r"\s*,?\s*(?:(?:and|but)\s+)?(?:(?:published|reported|released|dated)\s+)?", re.IGNORECASE
)
# Unicode spaces become ASCII ones, one character for one, so offsets stay those of the question.
_SPACES = str.maketrans({c: " " for c in "\u00a0\u2007\u2009\u202f"})
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _read_span(match: re.Match[str], text: str, today: date) -> _Span | None:
    lead = _LEAD_RE.search(text, max(0, match.start() - _LEAD_WINDOW), match.start())
    assert lead is not None  # every part of it is optional
    prep = " ".join((lead["prep"] or "").lower().split())
    kind = _KINDS.get(prep, "mention")
    period, weak = _read_period(match, lead, text, today, prep)
    if period is None:
        return None
    if kind == "since" and _SUPERLATIVE_RE.search(text, max(0, lead.start() - 30), lead.start()):
        return None  # "the highest since 2001" dates an event, not an article
    days = (period.first,) if kind == "mention" and period.exact else ()
    pos = lead.start() if prep or lead["the"] else match.start()
    return _Span(pos, match.end(), kind, prep, period, weak, days)


def _read_period(
    match: re.Match[str], lead: re.Match[str], text: str, today: date, prep: str
) -> tuple[_Period | None, bool]:
    """The period a match names (None if it is no date after all) and whether it is weak."""
    g = match.group
    if g("iy"):
        return _day(int(g("iy")), int(g("im")), int(g("id"))), False
    for m, d, y in (("m1", "d1", "y1"), ("m2", "d2", "y2")):
        if g(m):
            month, dom = _MONTH_NUMBER[g(m).lower()], int(g(d))
            if g(y):
                return _day(int(g(y)), month, dom), False
            if not g(m)[0].isupper():
                return None, False  # "march 5 miles"
            return _yearless_day(month, dom, today), False
    if g("m3"):
        return _month(int(g("y3")), _MONTH_NUMBER[g("m3").lower()]), False
    if g("m4"):
        name = g("m4")
        if not name[0].isupper():
            return None, False  # "march", "may" in lower case are words
        if name.lower() == "may":
            after = text[match.end() : match.end() + 1]
            if prep not in ("in", "during") or after in ("'", "’"):
                return None, False  # "Theresa May", "after May said", "in May's cabinet"
        return _yearless_month(_MONTH_NUMBER[name.lower()], today), not prep
    if g("y4"):
        if lead["the"] and not g("yw"):
            return None, False  # "in the 2015 World Cup": a name, not a period
        if prep == "of" and _TITLE_OF_RE.search(text, 0, lead.start()):
            return None, False  # "the Artificial Intelligence Advancement Act of 2023"
        return _year(int(g("y4"))), not prep
    if _is_title_word(text, match.start()):
        return None, False  # "Business Today", "This Week in Tech"
    return _relative(match, today, bool(lead["the"])), False


def _relative(match: re.Match[str], today: date, the: bool) -> _Period | None:
    g = match.group
    tomorrow = today + timedelta(days=1)
    if g("er"):
        period = _calendar(g("eu").lower(), today, 0)
        return _Period(period.first, tomorrow) if g("er").lower() == "earlier" else period
    if g("ru"):
        n = _number(g("rn"))
        unit = g("ru").lower()
        if unit == "hour":
            return _Period(today - timedelta(days=-(-n // 24)), tomorrow)
        return _Period(_shift(today, unit, -n), tomorrow)
    if g("cu"):
        which, unit = g("cw").lower(), g("cu").lower()
        rolling = which == "past" or (which == "last" and the)
        if rolling and unit != "weekend":
            return _Period(_shift(today, unit, -1), tomorrow)
        return _calendar(unit, today, 0 if which == "this" else -1)
    if g("au"):
        unit = g("au").lower()
        return _calendar(unit, _shift(today, unit, -_number(g("an"))), 0)
    if g("wd"):
        back = (today.weekday() - _WEEKDAYS.index(g("wd").lower())) % 7 or 7
        return _day_period(today - timedelta(days=back))
    if g("lm"):
        month = _MONTH_NUMBER[g("lm").lower()]
        if not g("lm")[0].isupper():
            return None
        if g("lw").lower() == "this":
            return _month(today.year, month)
        return _month(today.year if month < today.month else today.year - 1, month)
    if g("today"):
        return _day_period(today)
    if g("yday"):
        return _day_period(today - timedelta(days=1))
    return None


def _join(spans: list[_Span], text: str) -> list[_Span]:
    """Merge "between X and Y" / "from X to Y" ranges and "after X and before Y" bounds."""
    joined: list[_Span] = []
    i = 0
    while i < len(spans):
        x = spans[i]
        y = spans[i + 1] if i + 1 < len(spans) else None
        if y is not None:
            gap = text[x.end : y.pos]
            if (
                x.prep in ("between", "from")
                and y.prep in _RANGE_END_PREPS
                and _RANGE_GAP_RE.fullmatch(gap)
            ):
                joined.append(_range(x, y))
                i += 2
                continue
            if x.kind in ("after", "since") and y.kind in ("before", "until"):
                low, high = x.low, y.high
                if (
                    low is not None
                    and high is not None
                    and low < high
                    and _BOUNDS_GAP_RE.fullmatch(gap)
                ):
                    joined.append(_Span(x.pos, y.end, "mention", "", _Period(low, high)))
                    i += 2
                    continue
        if not x.weak:
            joined.append(x)
        i += 1
    return joined


def _range(x: _Span, y: _Span) -> _Span:
    """``[X.start, Y.end)``; an end written without a year takes the other end's."""
    a, b = x.period, y.period
    if a.yearless and not b.yearless and b.month:
        moved = _in_year(a, b.first.year)
        if moved is not None and moved.first > b.first:
            moved = _in_year(a, b.first.year - 1)
        a = moved or a
    elif b.yearless and not a.yearless and a.month:
        moved = _in_year(b, a.first.year)
        if moved is not None and moved.first < a.first:
            moved = _in_year(b, a.first.year + 1)
        b = moved or b
    first, stop = min(a.first, b.first), max(a.stop, b.stop)
    days = (a.first,) if a.exact else ()
    days += (b.first,) if b.exact else ()
    return _Span(x.pos, y.end, "mention", x.prep, _Period(first, stop), days=days)


def _in_year(period: _Period, year: int) -> _Period | None:
    if period.exact:
        return _day(year, period.month, period.dom)
    return _month(year, period.month)


def _day(year: int, month: int, dom: int, yearless: bool = False) -> _Period | None:
    try:
        first = date(year, month, dom)
    except ValueError:
        return None  # "February 30"
    return _Period(first, first + timedelta(days=1), True, yearless, month, dom)


def _day_period(day: date) -> _Period:
    return _Period(day, day + timedelta(days=1), exact=True)


def _yearless_day(month: int, dom: int, today: date) -> _Period | None:
    year = today.year if (month, dom) <= (today.month, today.day) else today.year - 1
    for candidate in range(year, year - 8, -1):  # February 29 looks back to a leap year
        period = _day(candidate, month, dom, yearless=True)
        if period is not None:
            return period
    return None


def _month(year: int, month: int, yearless: bool = False) -> _Period:
    stop = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _Period(date(year, month, 1), stop, yearless=yearless, month=month)


def _yearless_month(month: int, today: date) -> _Period:
    return _month(today.year if month <= today.month else today.year - 1, month, yearless=True)


def _year(year: int) -> _Period:
    return _Period(date(year, 1, 1), date(year + 1, 1, 1))


def _calendar(unit: str, day: date, offset: int) -> _Period:
    """The calendar day/week/weekend/month/year holding ``day``, moved by ``offset`` units."""
    if unit in ("week", "weekend"):
        monday = day - timedelta(days=day.weekday()) + timedelta(weeks=offset)
        if unit == "weekend":
            return _Period(monday + timedelta(days=5), monday + timedelta(days=7))
        return _Period(monday, monday + timedelta(days=7))
    if unit == "month":
        first = _shift(day.replace(day=1), "month", offset)
        return _month(first.year, first.month)
    if unit == "year":
        return _year(day.year + offset)
    return _day_period(day + timedelta(days=offset))


def _shift(day: date, unit: str, n: int) -> date:
    """``day`` moved by ``n`` units; a month or year shift keeps the day, clamped to the month."""
    if unit == "day":
        return day + timedelta(days=n)
    if unit == "week":
        return day + timedelta(weeks=n)
    months = day.month - 1 + (n if unit == "month" else 12 * n)
    year, month = day.year + months // 12, months % 12 + 1
    last = (_month(year, month).stop - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _number(word: str) -> int:
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _is_title_word(text: str, pos: int) -> bool:
    """A capitalised word inside a sentence is a name ("Business Today", "Latest News")."""
    if not text[pos : pos + 1].isupper():
        return False
    before = text[:pos].rstrip()
    return bool(before) and before[-1] not in ".?!:;\"'“‘(–—"


def _reference_day(reference: date | datetime | None) -> date:
    if reference is None:
        return datetime.now(UTC).date()
    if isinstance(reference, datetime):
        if reference.tzinfo is not None:
            reference = reference.astimezone(UTC)
        return reference.date()
    return reference


def _day_ts(day: date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * 86400
