"""The ``briefing`` command's argument types and usage checks, run before anything slow.

Argument types raise ``argparse.ArgumentTypeError`` (argparse turns it into "usage: ...", exit
2); checks of files and ports raise ``ConfigError`` naming the path or address (exit 1).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError

DAY = 86400


# -- argument types: argparse turns their ArgumentTypeError into "usage: ...", exit 2 -------
def date_ts(value: str) -> int:
    from .dates import parse_date

    parsed = parse_date(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(
            f"cannot read the date {value!r}; write it like 2023-11-27"
        )
    return parsed[1]


def day(value: str) -> date:
    return datetime.fromtimestamp(date_ts(value), UTC).date()


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {value!r}")
    return number


def port_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, not {value!r}")
    return number


def nonempty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a value, got an empty one")
    return value.strip()


def out_file(value: str) -> Path:
    path = Path(value)
    if path.name in ("", "..") or value.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"expected a file name, not the folder {value!r}")
    return path


def check_usage(args: argparse.Namespace) -> None:
    """Usage errors that involve more than one argument, found before anything slow starts."""
    error = args.subparser.error  # prints the subcommand's usage line and exits 2
    if args.index is not None and args.index.exists() and not args.index.is_dir():
        error(f"--index {args.index} is a file; give a folder (it is made if missing)")
    if args.command == "ask":
        if not args.question.strip():
            error('ask a question, e.g. briefing ask "What did the minister say about the strike?"')
        if args.passages and not args.json:
            error("--passages needs --json (it adds the retrieved passages to the JSON answer)")
        if args.since is not None and args.until is not None and args.since >= args.until + DAY:
            since, until = (datetime.fromtimestamp(t, UTC).date() for t in (args.since, args.until))
            error(f"--since {since} is later than --until {until}; no article could match")
    if args.command == "eval":
        named: dict[Path, str] = {args.queries.resolve(): "QUERIES"}
        for path, what in eval_outputs(args):
            other = named.setdefault(path.resolve(), what)
            if other != what:
                error(f"{other} and {what} are the same file ({path}); choose another name")


_QUERIES_FORMAT = (
    "expected a JSON list of {query, answer, question_type, evidence_list: [{title, fact}]}"
)


def load_queries_file(path: Path) -> list[Any]:
    from .evaluation import load_queries

    try:
        queries = load_queries(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"no questions file at {path}; check the QUERIES path") from exc
    except OSError as exc:  # a folder, no permission, a broken .gz
        raise ConfigError(f"cannot read the questions in {path}: {exc.strerror or exc}") from exc
    except KeyError as exc:
        raise ConfigError(
            f"cannot read the questions in {path}: a record has no {exc}; {_QUERIES_FORMAT}"
        ) from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"cannot read the questions in {path} ({exc}); {_QUERIES_FORMAT}"
        ) from exc
    if not queries:
        raise ConfigError(f"no questions in {path}; {_QUERIES_FORMAT}")
    return queries


def eval_outputs(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """The files ``eval`` writes, each with how to name it in a message."""
    outputs: list[tuple[Path, str]] = []
    if args.json:
        outputs.append((args.json, "--json"))
        outputs.append((args.json.with_suffix(".html"), "the HTML report beside --json"))
    if args.log:
        outputs.append((args.log, "--log"))
    elif args.json:
        outputs.append((args.json.with_suffix(".jsonl"), "the log beside --json"))
    return outputs


def check_writable(path: Path, what: str) -> None:
    """Raise ConfigError unless ``path`` can be written; missing folders on the way are fine."""
    cannot = f"cannot write {what} {path}"
    try:
        if path.is_dir():
            raise ConfigError(f"{cannot}: it is a folder; give a file name")
        if path.exists():
            if not os.access(path, os.W_OK):
                raise ConfigError(f"{cannot}: the file is read-only")
            return
        folder = path.parent
        while not folder.exists():  # the nearest folder that exists; the rest will be made
            folder = folder.parent
        if not folder.is_dir():
            raise ConfigError(f"{cannot}: {folder} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"{cannot}: no permission to write in {folder}")
    except OSError as exc:
        raise ConfigError(f"{cannot}: {exc.strerror or exc}") from exc


def make_parent(path: Path, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc


def check_bindable(host: str, port: int) -> None:
    """Raise ConfigError if the web UI could not listen on host:port (taken, or no such address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(
            f"cannot serve on {host}:{port} ({reason}); is the app already running there? "
            "pick another with --port or BRIEFING_PORT"
        ) from exc
