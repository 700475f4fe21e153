"""`briefing speakers` and `briefing timeline`: who said what, and how a story moved.

Both sync the index first (cheap when nothing changed), so an index made before speakers were
found gets them; then they only read it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from . import cli_checks as checks

EXIT_OK = 0


def add_commands(
    sub: Any,
    add_paths: Callable[[argparse.ArgumentParser], None],
    opened: Callable[[argparse.Namespace], Any],
) -> None:
    """Add the two commands to ``sub``; ``opened(args)`` syncs and opens the Assistant."""
    speakers = sub.add_parser(
        "speakers",
        help="list every span of reported speech and who said it",
        description="Print every span of reported speech found in the articles: who said it "
        "(the fullest name the article gives), their role, and the kind (direct, indirect, "
        "according-to).",
    )
    add_paths(speakers)
    speakers.add_argument("--article", metavar="ID", help="only this article (its id)")
    speakers.add_argument("--json", action="store_true", help="one JSON object a line")
    speakers.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    speakers.set_defaults(func=lambda args: cmd_speakers(args, opened), subparser=speakers)

    timeline = sub.add_parser(
        "timeline",
        help="the quotes on a topic in publication order, or what is new since a date",
        description="Show how a story moved: one quote per article on TOPIC, oldest first, with "
        "speaker and source. With --since only articles from that day on; with --since and no "
        "TOPIC, what is new: every article from that day on with its lead claim.",
    )
    timeline.add_argument("topic", metavar="TOPIC", nargs="?", help="what the story is about")
    add_paths(timeline)
    timeline.add_argument(
        "--since", type=checks.day, metavar="DATE", help="from this day on (YYYY-MM-DD)"
    )
    timeline.add_argument(
        "--limit", type=checks.positive_int, default=12, metavar="N", help="at most N (12)"
    )
    timeline.add_argument("--json", action="store_true", help="print the timeline as JSON")
    timeline.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    timeline.set_defaults(func=lambda args: cmd_timeline(args, opened), subparser=timeline)


def cmd_speakers(args: argparse.Namespace, opened: Callable[[argparse.Namespace], Any]) -> int:
    with opened(args) as assistant:
        spans = assistant.speakers(args.article)
    for span in spans:
        if args.json:
            print(json.dumps(span, ensure_ascii=False))
        else:
            who = span["speaker"] or "(no speaker named)"
            role = f" ({span['role']})" if span["role"] else ""
            print(f"{who}{role} — {span['kind']} — {span['title']} [{span['start']}:{span['end']}]")
    if not spans:
        print("no reported speech found", file=sys.stderr)
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace, opened: Callable[[argparse.Namespace], Any]) -> int:
    if not args.topic and not args.since:
        args.subparser.error("give a TOPIC, or --since DATE for what is new")
    since = args.since.isoformat() if args.since else None
    with opened(args) as assistant:
        if args.topic:
            found = assistant.timeline(args.topic, since=since, limit=args.limit)
        else:
            found = assistant.new_since(since, limit=args.limit)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    elif found.refusal_reason:
        print(found.refusal_reason)
    else:
        for quote in found.entries:
            said = f" — {quote.speaker}" if quote.speaker else ""
            carried = f" ({quote.carried_by})" if quote.carried_by else ""
            day = (quote.published or "undated")[:10]
            print(f"{day}  {quote.source or quote.title}{carried}\n    {quote.marked()}{said}")
    return EXIT_OK
