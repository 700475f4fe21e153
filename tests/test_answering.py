"""Refusal reasons, composed without the index (pure functions of answering.py)."""

from __future__ import annotations

from assistant.answering import Evidence, RefusalPolicy, no_match_reason, refusal_reason
from assistant.dates import parse_date
from assistant.query import plan_query


def ts(day: str) -> int:
    return parse_date(day)[1]


def test_no_match_lists_the_sources_closest_to_the_one_asked_for_first():
    reason = no_match_reason(
        ["Meridian Wire", "The Harbour Ledger", "Ardval Gazette"],
        ("2026-03-02T00:00:00+00:00", "2026-04-03T00:00:00+00:00"),
        ["Harbor Ledger"],
    )
    assert reason == (
        "No article in the index matches the filters. No article comes from Harbor Ledger; "
        "the sources here are The Harbour Ledger, Ardval Gazette, Meridian Wire."
    )


def test_no_match_names_the_period_asked_for_and_the_one_the_articles_span():
    reason = no_match_reason(
        ["Meridian Wire"],
        ("2026-03-02T00:00:00+00:00", "2026-04-03T00:00:00+00:00"),
        period=(ts("2025-01-01"), ts("2025-02-01")),
    )
    assert reason.endswith(
        "The period asked for is 2025-01-01 to 2025-01-31; the articles run from 2026-03-02 "
        "to 2026-04-03."
    )
    open_ended = no_match_reason([], (None, None), period=(ts("2027-01-01"), None))
    assert open_ended.endswith("2027-01-01 to …; no article here has a date.")


def test_missing_names_are_named_and_come_after_unknown_outlets():
    plan = plan_query("What did Anthropic and Dario Velt say?", ["Meridian Wire"])
    ev = Evidence(0.9, 0.9, (), ("Anthropic", "Dario Velt"))
    assert refusal_reason(ev, RefusalPolicy(), plan) == (
        "The articles never mention Anthropic or Dario Velt."
    )
    outlet = Evidence(0.9, 0.9, ("Bloomberg",), ("Anthropic",))
    assert refusal_reason(outlet, RefusalPolicy(), plan) == (
        "The articles here include nothing from Bloomberg."
    )
    off = RefusalPolicy(refuse_missing_names=False)
    assert refusal_reason(ev, off, plan) is None
