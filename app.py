"""Composition root: settings -> Assistant -> web UI -> launch.

    python app.py        # http://127.0.0.1:7860

Settings come from ``BRIEFING_*`` variables (see README): ``BRIEFING_HOST`` / ``BRIEFING_PORT``
(default 127.0.0.1:7860) and ``BRIEFING_AUTH=user:password`` for a login. No public share link
is ever opened. ``briefing serve`` does the same.
"""

from __future__ import annotations

import sys

from assistant import BriefingError, Settings
from assistant.web import serve


def _print_progress(stage: str, done: int, total: int) -> None:
    end = "" if done < total else "\n"
    print(f"\r{stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def main() -> int:
    try:
        serve(Settings(), progress=_print_progress)
    except BriefingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
