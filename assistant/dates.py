"""Dates: publication dates read into one form, ISO 8601 in UTC plus epoch seconds."""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime

_EXTRA_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d")


def parse_date(value: object) -> tuple[str, int] | None:
    """Read a publication date as (ISO 8601 in UTC, epoch seconds), or None if unreadable.

    Accepts datetime/date objects, epoch seconds, ISO 8601 (``Z`` and long fractions too),
    RFC 2822 and forms like ``November 27, 2023``. A time without a zone is taken as UTC.
    """
    moment = _to_datetime(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment.isoformat(), int(moment.timestamp())


def _to_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text)  # Python 3.11+: also 'Z' and 9-digit fractions
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    for form in _EXTRA_DATE_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None
