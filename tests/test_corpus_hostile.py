"""Hostile and unlucky input for assistant.corpus (issue 10, defects 1-4).

Links that lead out of the corpus folder, pipes and sockets, YAML alias bombs, lone UTF-16
surrogates and impossible dates: each is reported with a reason that names the file (and the
record), and it never costs the other articles. What must never be indexed also leaves the
index; a file that fails to read keeps its indexed version. Small files in tmp_path only; the
sync tests use the fake embedder, no model.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path

import pytest

from assistant import Settings, open_index, sync_index
from assistant import corpus as corpus_module
from assistant.corpus import load_corpus
from assistant.types import Article, CorpusLoad, IndexReport, Problem

from .fakes import HashEmbedder

HARBOUR = "Harbour report\n\nThe ferry to Osterlund sailed again on Monday after the storm.\n"
MARKET = (
    "---\ntitle: Market day returns\nsource: Vellin Gazette\npublished: 2023-11-02\n---\n"
    "Stalls came back to the square in Vellin for the first time since the floods.\n"
)
GOOD = ["harbour.txt", "market.md"]

posix_only = pytest.mark.skipif(os.name != "posix", reason="links, FIFOs and sockets: POSIX")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus folder with two good articles, to put hostile files beside."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "harbour.txt").write_text(HARBOUR)
    (folder / "market.md").write_text(MARKET)
    return folder


def locators(load: CorpusLoad) -> list[str]:
    return [article.locator for article in load.articles]


def by_locator(load: CorpusLoad) -> dict[str, Article]:
    return {article.locator: article for article in load.articles}


def only_problem(load: CorpusLoad) -> Problem:
    assert len(load.problems) == 1, load.problems
    return load.problems[0]


def assert_all_utf8(load: CorpusLoad) -> None:
    """Every string load_corpus returns can be stored: SQLite, Chroma and the tokenizer need it."""
    for item in (*load.articles, *load.problems):
        for value in astuple(item):
            if isinstance(value, str):
                value.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail, rather than hang the suite, if the block runs longer than ``seconds``.

    ``pytest.fail`` raises a BaseException, so the loader's catch-all cannot swallow it; the
    alarm also interrupts a blocking ``open`` of a FIFO.
    """

    def too_slow(signum: int, frame: object) -> None:
        pytest.fail(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- 1. links and special files ------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the corpus folder that must never be indexed."""
    path = tmp_path / "elsewhere" / "accounts.txt"
    path.parent.mkdir()
    path.write_text("Ledger of Tomas Brandt\n\nbrandt:x:1001:1001:Quay Office:/home/brandt\n")
    return path


@posix_only
@pytest.mark.parametrize("how", ["absolute", "relative", "through a link inside"])
def test_link_to_a_file_outside_the_corpus_is_skipped_naming_its_target(
    corpus: Path, secret: Path, how: str
) -> None:
    if how == "absolute":
        (corpus / "p.txt").symlink_to(secret)
    elif how == "relative":
        (corpus / "p.txt").symlink_to(Path("..", "elsewhere", "accounts.txt"))
    else:  # an inside link to an outside link: the real path decides
        (corpus / "hop.txt").symlink_to(secret)
        (corpus / "p.txt").symlink_to("hop.txt")
    load = load_corpus(corpus)
    assert locators(load) == GOOD
    assert not any("brandt" in article.text for article in load.articles)
    for problem in load.problems:
        assert problem.skipped and problem.forget
        assert f"links outside the corpus folder to {secret}" in problem.reason
        assert "copy the file into the corpus instead" in problem.reason
    assert "p.txt" in [problem.path for problem in load.problems]


@posix_only
def test_link_to_a_device_or_proc_file_outside_is_skipped(corpus: Path) -> None:
    (corpus / "null.txt").symlink_to("/dev/null")
    (corpus / "status.txt").symlink_to("/proc/self/status")
    with deadline(5):
        load = load_corpus(corpus)
    assert locators(load) == GOOD
    reasons = {problem.path: problem.reason for problem in load.problems}
    assert set(reasons) == {"null.txt", "status.txt"}
    assert all(problem.forget for problem in load.problems)
    assert "links outside the corpus folder to /dev/null" in reasons["null.txt"]
    assert "links outside the corpus folder to /proc/" in reasons["status.txt"]


@posix_only
def test_link_to_a_folder_outside_the_corpus_is_skipped(corpus: Path, secret: Path) -> None:
    (corpus / "archive").symlink_to(secret.parent)
    load = load_corpus(corpus)
    assert locators(load) == GOOD
    problem = only_problem(load)
    assert (problem.path, problem.skipped, problem.forget) == ("archive", True, True)
    assert f"links outside the corpus folder to the folder {secret.parent}" in problem.reason


def _make_socket(folder: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    monkeypatch.chdir(folder)  # a relative address: tmp_path can pass the 108-byte limit
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(name)
    return server


@posix_only
@pytest.mark.parametrize(
    ("kind", "fragments"),
    [
        ("broken link", ["is a broken link", "gone.md", "does not exist"]),
        ("link loop", ["loop of links"]),
        ("fifo", ["is a named pipe (FIFO), not a regular file", "remove it"]),
        ("socket", ["is a socket, not a regular file", "remove it"]),
    ],
)
def test_broken_links_loops_fifos_and_sockets_are_reported_and_never_opened(
    corpus: Path, kind: str, fragments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "odd.jsonl"
    server = None
    if kind == "broken link":
        (corpus / name).symlink_to("gone.md")
    elif kind == "link loop":
        (corpus / name).symlink_to("twin.jsonl")
        (corpus / "twin.jsonl").symlink_to(name)
    elif kind == "fifo":
        os.mkfifo(corpus / name)  # opening it for reading would block: it must not be opened
    else:
        server = _make_socket(corpus, name, monkeypatch)
    try:
        with deadline(5):
            load = load_corpus(corpus)
    finally:
        if server is not None:
            server.close()
    assert locators(load) == GOOD
    problem = next(problem for problem in load.problems if problem.path == name)
    assert problem.skipped and problem.forget
    for fragment in fragments:
        assert fragment in problem.reason
    if kind != "link loop":  # the loop's other link is reported the same way
        assert only_problem(load) == problem


@posix_only
def test_link_to_a_file_inside_the_corpus_is_read_once_under_the_files_own_name(
    corpus: Path,
) -> None:
    (corpus / "a-latest.txt").symlink_to("harbour.txt")  # sorts before its target
    load = load_corpus(corpus)
    assert locators(load) == GOOD
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("a-latest.txt", False)
    assert "harbour.txt" in problem.reason and "read under its own name" in problem.reason


@posix_only
def test_file_reached_only_through_links_is_read_once_under_the_first_link(corpus: Path) -> None:
    store = corpus / ".store"  # hidden: not read under its own name
    store.mkdir()
    (store / "obj-41.md").write_text("Tide tables\n\nHigh water at Pellwick is at 06:12.\n")
    (corpus / "tides.md").symlink_to(".store/obj-41.md")
    (corpus / "tides2.md").symlink_to(".store/obj-41.md")
    load = load_corpus(corpus)
    assert locators(load) == ["harbour.txt", "market.md", "tides.md"]
    assert by_locator(load)["tides.md"].title == "Tide tables"
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("tides2.md", False)
    assert "same file as tides.md" in problem.reason


@posix_only
def test_link_to_a_folder_inside_the_corpus_is_not_followed(corpus: Path) -> None:
    (corpus / "desk").mkdir()
    (corpus / "desk" / "brief.txt").write_text("Desk brief\n\nThe Vellin bridge reopens.\n")
    (corpus / "mirror").symlink_to("desk")
    (corpus / "self").symlink_to(".")
    load = load_corpus(corpus)
    assert locators(load) == ["desk/brief.txt", *GOOD]
    reasons = {problem.path: problem for problem in load.problems}
    assert set(reasons) == {"mirror", "self"}
    assert not any(problem.skipped or problem.forget for problem in load.problems)
    assert "links to the folder 'desk' in the corpus" in reasons["mirror"].reason
    assert "links to folders are not followed" in reasons["mirror"].reason


# --- 2. YAML alias bombs and oversized metadata ---------------------------------------------


def _billion_laughs(levels: int = 9) -> str:
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
        for prev, name in zip(names, names[1:], strict=False)
    ]
    return "---\n" + "\n".join(lines) + f"\ntitle: *{names[-1]}\n---\nLaughter in Pellwick.\n"


def test_yaml_alias_bomb_is_rejected_fast(corpus: Path) -> None:
    bomb = _billion_laughs()
    assert len(bomb.encode()) < 420  # a few hundred bytes that expand to 9**9 strings
    (corpus / "bomb.md").write_text(bomb)
    with deadline(10):
        started = time.perf_counter()
        load = load_corpus(corpus)
        elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert locators(load) == GOOD
    problem = only_problem(load)
    assert (problem.path, problem.skipped, problem.forget) == ("bomb.md", True, False)
    assert (
        "aliases" in problem.reason and "write the metadata out without aliases" in problem.reason
    )


@pytest.mark.parametrize(
    ("front", "fragments"),
    [
        ("a: &a [x, *a]\ntitle: Loop", ["alias (*name) inside its own anchor"]),
        ("tags: " + "[" * 2000 + "]" * 2000, ["nested more than", "levels deep"]),
        ("title: Quay\n" + "tag: harbour\n" * 6000, ["front matter is 78,012 characters", "limit"]),
        ("title: " + "Pellwick " * 300, ["'title' is 2,699 characters long", "limit of 2,000"]),
        (
            "author: [" + ", ".join(["Ilse Marren"] * 200) + "]",
            ["'author' is 2,598 characters long"],
        ),
        ("published: '" + "2023" * 600 + "'", ["'published' is 2,400 characters long"]),
    ],
    ids=["self-alias", "deep", "huge", "long title", "long author list", "long date"],
)
def test_front_matter_beyond_the_bounds_is_skipped_with_a_reason(
    corpus: Path, front: str, fragments: list[str]
) -> None:
    (corpus / "odd.md").write_text(f"---\n{front}\n---\nA note from Pellwick.\n")
    with deadline(10):
        load = load_corpus(corpus)
    assert locators(load) == GOOD
    problem = only_problem(load)
    assert (problem.path, problem.skipped, problem.forget) == ("odd.md", True, False)
    for fragment in fragments:
        assert fragment in problem.reason
    assert "unexpected error" not in problem.reason


def test_a_plain_alias_in_front_matter_is_still_fine(corpus: Path) -> None:
    (corpus / "desk.md").write_text(
        "---\ntitle: Desk notes\nauthor: &who Ilse Marren\nsource: *who\n---\nQuiet day.\n"
    )
    load = load_corpus(corpus)
    assert load.problems == ()
    desk = by_locator(load)["desk.md"]
    assert (desk.author, desk.source) == ("Ilse Marren", "Ilse Marren")


def test_long_metadata_skips_only_its_record(corpus: Path) -> None:
    records = [
        {"title": "T" * 2001, "body": "Too long a title."},
        {"title": "Fine", "body": "The Osterlund ferry is on time.", "url": "u" * 2001},
        {"title": "Also fine", "body": "Vellin council meets on Friday."},
    ]
    (corpus / "feed.json").write_text(json.dumps(records))
    load = load_corpus(corpus)
    assert locators(load) == ["feed.json#record-3", *GOOD]
    assert [(p.path, p.skipped) for p in load.problems] == [
        ("feed.json#1", True),
        ("feed.json#2", True),
    ]
    assert "record 1: 'title' is 2,001 characters long" in load.problems[0].reason
    assert "record 2: 'url' is 2,001 characters long" in load.problems[1].reason


# --- 3. lone surrogates ---------------------------------------------------------------------


def test_lone_surrogates_in_records_are_replaced_and_every_record_loads(corpus: Path) -> None:
    records = [
        {
            "title": "Quay \ud800 works",
            "body": "Cranes at Brisk Quay \udc00 stood idle.",
            "url": "https://tidings.example/quay-\ud800",
        },
        {"title": "Ferry", "body": "Ferry \ud83d\ude00 timetable for Osterlund."},  # a real pair
        {"body": "Rain in Vellin.", "author": "Ann\udfff Oakes", "source": ["\udbff", "Gazette"]},
        {"title": "Dry", "body": "No surrogates here."},
    ]
    (corpus / "wire.json").write_text(json.dumps(records))  # ensure_ascii: "\ud800" escapes
    load = load_corpus(corpus)
    assert_all_utf8(load)
    wire = [a for a in load.articles if a.locator.startswith("wire.json")]
    assert len(wire) == 4
    quay, ferry, rain, dry = wire
    assert quay.locator == "wire.json#https://tidings.example/quay-\ufffd"
    assert quay.title == "Quay \ufffd works"
    assert quay.text == "Cranes at Brisk Quay \ufffd stood idle."  # same length, one for one
    assert ferry.text == "Ferry \U0001f600 timetable for Osterlund."
    assert (rain.author, rain.source) == ("Ann\ufffd Oakes", "\ufffd, Gazette")
    assert dry.text == "No surrogates here."
    warned = {p.path: p for p in load.problems}
    assert set(warned) == {quay.locator, rain.locator}
    assert not any(p.skipped for p in load.problems)
    assert "title, text and url held lone UTF-16 surrogates" in warned[quay.locator].reason
    assert "source and author held" in warned[rain.locator].reason
    assert "replaced with U+FFFD" in warned[rain.locator].reason


def test_surrogates_in_front_matter_are_repaired_and_pairs_joined(corpus: Path) -> None:
    (corpus / "tide.md").write_text(
        '---\ntitle: "Tide \\ud800 tables"\nauthor: "Grin \\ud83d\\ude00"\n---\nHigh water.\n'
    )
    load = load_corpus(corpus)
    assert_all_utf8(load)
    tide = by_locator(load)["tide.md"]
    assert (tide.title, tide.author) == ("Tide \ufffd tables", "Grin \U0001f600")
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("tide.md", False)
    assert problem.reason.startswith("title held lone UTF-16 surrogates")  # the pair is no loss


@posix_only
def test_file_name_that_is_not_utf8_is_read_under_an_escaped_name(corpus: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes: a lone surrogate in Python's str
    try:
        (corpus / name).write_text("Cafe prices\n\nCoffee in Vellin costs more this winter.\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 file names")
    load = load_corpus(corpus)
    assert_all_utf8(load)
    assert locators(load) == ["caf\\xe9.txt", *GOOD]
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("caf\\xe9.txt", False)
    assert "file name is not valid UTF-8" in problem.reason and "rename" in problem.reason


# --- 4. impossible dates --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_impossible_date_affects_only_its_record(corpus: Path, value: str) -> None:
    records = [
        {"title": "One", "body": "Vellin tram fares rise.", "published_at": "2023-11-01"},
        {"title": "Two", "body": "Osterlund votes on a new pier.", "published_at": value},
        {"title": "Three", "body": "Pellwick harbour dredged.", "published_at": "2023-11-03"},
        {"title": "Four", "body": "Brisk Quay reopens.", "published_at": "2023-11-04"},
    ]
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    load = load_corpus(corpus)
    wire = [a for a in load.articles if a.locator.startswith("wire.jsonl")]
    assert [a.title for a in wire] == ["One", "Two", "Three", "Four"]
    assert [a.published for a in wire] == [
        "2023-11-01T00:00:00+00:00",
        None,
        "2023-11-03T00:00:00+00:00",
        "2023-11-04T00:00:00+00:00",
    ]
    assert wire[1].published_ts is None
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("wire.jsonl#record-2", False)
    assert value in problem.reason and "out of range" in problem.reason
    assert "kept without a date" in problem.reason


def test_impossible_date_in_front_matter_keeps_the_article(corpus: Path) -> None:
    (corpus / "far.md").write_text(
        '---\ntitle: Far future\npublished: "9999-12-31T23:00:00-05:00"\n---\nA note.\n'
    )
    load = load_corpus(corpus)
    far = by_locator(load)["far.md"]
    assert (far.title, far.published, far.published_ts) == ("Far future", None, None)
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("far.md", False)
    assert "out of range" in problem.reason


def test_unexpected_error_in_one_record_spares_the_records_after_it(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_parse = corpus_module.parse_date

    def fragile(value: object) -> tuple[str, int] | None:
        if value == "trip":
            raise RuntimeError("parser bug")
        return real_parse(value)

    monkeypatch.setattr(corpus_module, "parse_date", fragile)
    records = [
        {"body": "First.", "published_at": "trip"},
        {"body": "Second.", "published_at": "2023-11-02"},
    ]
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    load = load_corpus(corpus)
    assert locators(load) == [*GOOD, "wire.jsonl#record-2"]
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == ("wire.jsonl#1", True)
    assert "RuntimeError('parser bug')" in problem.reason and "line 1" in problem.reason


# --- 5. what the index keeps ----------------------------------------------------------------


def _sync(settings: Settings) -> tuple[IndexReport, dict[str, Article]]:
    """Sync with the fake embedder; the report and every indexed article (with text) by locator."""
    report = sync_index(settings, embedder=HashEmbedder())
    with open_index(settings) as index:
        held = {a.locator: index.article(a.id) for a in index.articles()}
        assert not any("Brandt" in chunk.text for chunk in index.chunks())
    return report, {locator: article for locator, article in held.items() if article}


@posix_only
@pytest.mark.parametrize(
    "replacement", ["link to a file outside", "link to a folder outside", "broken link", "fifo"]
)
def test_indexed_article_replaced_by_what_must_never_be_indexed_leaves_the_index(
    corpus: Path, secret: Path, tmp_path: Path, replacement: str
) -> None:
    settings = Settings(corpus=corpus, index_dir=tmp_path / "index")
    _report, before = _sync(settings)
    assert list(before) == GOOD
    harbour = corpus / "harbour.txt"
    harbour.unlink()
    if replacement == "link to a file outside":
        harbour.symlink_to(secret)
    elif replacement == "link to a folder outside":
        harbour.symlink_to(secret.parent)
    elif replacement == "broken link":
        harbour.symlink_to("gone.txt")
    else:
        os.mkfifo(harbour)
    with deadline(30):
        report, after = _sync(settings)
    problem = next(problem for problem in report.problems if problem.path == "harbour.txt")
    assert problem.skipped and problem.forget
    assert (report.removed, report.skipped) == (1, 1)
    assert list(after) == ["market.md"]  # the old harbour article is gone, and nothing new
    assert not any("Brandt" in article.text for article in after.values())
    with open_index(settings) as index:
        assert index.article(before["harbour.txt"].id) is None


def _can_read(path: Path) -> bool:
    try:
        path.read_bytes()
    except PermissionError:
        return False
    return True


@pytest.mark.parametrize("failure", ["bad YAML", "alias bomb", "no permission"])
def test_file_that_fails_to_read_keeps_its_indexed_version(
    corpus: Path, tmp_path: Path, failure: str
) -> None:
    settings = Settings(corpus=corpus, index_dir=tmp_path / "index")
    _report, before = _sync(settings)
    market = corpus / "market.md"
    if failure == "bad YAML":
        market.write_text("---\ntitle: [Market day\n---\nStalls came back, half-saved.\n")
    elif failure == "alias bomb":
        market.write_text(_billion_laughs())
    else:
        market.chmod(0)
        if _can_read(market):
            market.chmod(0o644)
            pytest.skip("this user reads a file whatever its mode (root, or not POSIX)")
    try:
        report, after = _sync(settings)
    finally:
        market.chmod(0o644)
    problem = next(problem for problem in report.problems if problem.path == "market.md")
    assert problem.skipped and not problem.forget
    assert (report.removed, report.skipped) == (0, 1)
    assert after == before  # the version indexed before, text and metadata
    assert after["market.md"].title == "Market day returns"
