"""Tests for assistant.corpus: every format, dates, identity, and every kind of bad input."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.corpus import SUPPORTED_SUFFIXES, load_corpus
from assistant.dates import parse_date
from assistant.errors import CorpusError
from assistant.types import Article, CorpusLoad, Problem

DATA = Path(__file__).parent / "data" / "articles"
MULTIHOP = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag" / "corpus.json.gz"
)
CHIPS = "wire.jsonl#https://meridianwire.example/tech/valdoria-chip-licences"
RECALL = "wire.jsonl#https://healthdesk.example/recalls/calmira-dosing-cups"
GOOD = [
    "port-strike.md",
    "rate-decision.md",
    "tram-line.txt",
    "wildfire.html",
    CHIPS,
    RECALL,
]


def by_locator(load: CorpusLoad) -> dict[str, Article]:
    return {article.locator: article for article in load.articles}


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Article]:
    load = load_corpus(DATA)
    assert load.problems == ()
    return by_locator(load)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the good fixture articles, to put broken files beside."""
    folder = tmp_path / "corpus"
    shutil.copytree(DATA, folder)
    return folder


def assert_good_articles_loaded(load: CorpusLoad) -> None:
    loaded = [article.locator for article in load.articles]
    assert [locator for locator in loaded if locator in GOOD] == GOOD


def only_problem(load: CorpusLoad) -> Problem:
    assert len(load.problems) == 1, load.problems
    return load.problems[0]


# --- the good fixtures ---------------------------------------------------------------------


def test_fixture_folder_loads_six_articles_in_sorted_order() -> None:
    load = load_corpus(DATA)
    assert [article.locator for article in load.articles] == GOOD
    assert load.problems == ()


def test_markdown_front_matter_gives_title_and_metadata(fixtures: dict[str, Article]) -> None:
    strike = fixtures["port-strike.md"]
    assert strike.title == "Dockworkers at Calder Bay walk out over automation plans"
    assert strike.source == "Harbour Ledger"
    assert strike.author == "Mira Kovalenko"
    assert strike.url == "https://harbourledger.example/2023/11/08/calder-bay-strike"
    assert strike.published == "2023-11-08T06:30:00+00:00"
    assert strike.published_ts == 1699425000
    assert strike.text.startswith("About 1,400 dockworkers at the Port of Calder Bay")
    assert strike.text.endswith("withdraw its crane tender.")
    assert "title:" not in strike.text and "---" not in strike.text


def test_front_matter_plain_date_becomes_midnight_utc(fixtures: dict[str, Article]) -> None:
    rates = fixtures["rate-decision.md"]
    assert rates.source == "Estmark Financial Review"
    assert (rates.published, rates.published_ts) == ("2023-11-15T00:00:00+00:00", 1700006400)


def test_plain_text_title_is_first_line_and_no_metadata_is_invented(
    fixtures: dict[str, Article],
) -> None:
    tram = fixtures["tram-line.txt"]
    assert tram.title == "Riverside tram line opens to passengers after four years of works"
    assert tram.text.startswith(tram.title + "\n\nThe new Line 4 tram in Lindenport")
    assert tram.text.endswith("free for the first weekend.")
    assert (tram.source, tram.published, tram.published_ts, tram.url, tram.author) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_html_main_text_and_metadata_without_boilerplate(fixtures: dict[str, Article]) -> None:
    fire = fixtures["wildfire.html"]
    assert fire.title == "Pine Hollow residents evacuated as wildfire crosses Route 9"
    assert fire.author == "Priya Natarajan"
    assert fire.source == "Valley Courier"
    assert fire.url == "https://valleycourier.example/news/2023/11/21/pine-hollow-evacuation"
    assert fire.published == "2023-11-21T00:00:00+00:00"
    assert '"The wind changed direction twice in three hours' in fire.text
    assert "Lena Ortiz, a spokesperson for the county emergency management office" in fire.text
    for boilerplate in ("Subscribe", "Copyright", "Most read", "Privacy policy", "Valley United"):
        assert boilerplate not in fire.text


def test_jsonl_records_keyed_by_url_with_multihop_style_date(
    fixtures: dict[str, Article],
) -> None:
    chips = fixtures[CHIPS]
    assert chips.title == "Valdoria to require licences for exports of advanced chips"
    assert (chips.source, chips.author) == ("Meridian Wire", "Hannah Weiss")
    assert (chips.published, chips.published_ts) == ("2023-11-27T08:45:59+00:00", 1701074759)
    assert chips.text.startswith("Valdoria's Ministry of Trade said on Monday, 27 November")
    recall = fixtures[RECALL]
    assert recall.source == "Health Desk Daily"
    assert recall.author is None
    assert recall.published == "2023-11-29T15:20:00+00:00"  # given as 16:20 at +01:00


def test_fixtures_have_distinct_sources_and_november_dates(fixtures: dict[str, Article]) -> None:
    dated = [article for article in fixtures.values() if article.published]
    assert len({article.source for article in dated}) == len(dated) == 5
    assert len({article.published[:10] for article in dated}) == 5
    assert all("2023-11-01" <= article.published[:10] <= "2023-11-30" for article in dated)


# --- dates ---------------------------------------------------------------------------------

MULTIHOP_INSTANT = ("2023-11-27T08:45:59+00:00", 1701074759)
MIDNIGHT = ("2023-11-27T00:00:00+00:00", 1701043200)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-11-27 08:45:59.000000000Z", MULTIHOP_INSTANT),
        ("2023-11-27T08:45:59Z", MULTIHOP_INSTANT),
        ("2023-11-27T09:45:59+01:00", MULTIHOP_INSTANT),
        ("2023-11-27T08:45:59", MULTIHOP_INSTANT),
        ("Mon, 27 Nov 2023 08:45:59 GMT", MULTIHOP_INSTANT),
        ("Mon, 27 Nov 2023 03:45:59 -0500", MULTIHOP_INSTANT),
        (datetime(2023, 11, 27, 8, 45, 59), MULTIHOP_INSTANT),
        (datetime(2023, 11, 27, 10, 45, 59, tzinfo=timezone(timedelta(hours=2))), MULTIHOP_INSTANT),
        (1701074759, MULTIHOP_INSTANT),
        (1701074759.75, MULTIHOP_INSTANT),
        ("2023-11-27", MIDNIGHT),
        (" 2023-11-27 ", MIDNIGHT),
        (date(2023, 11, 27), MIDNIGHT),
        ("November 27, 2023", MIDNIGHT),
        ("Nov 27, 2023", MIDNIGHT),
        ("27 November 2023", MIDNIGHT),
    ],
)
def test_parse_date_accepts_common_forms(value: object, expected: tuple[str, int]) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["sometime last week", "", "2023-13-45", "27/11/2023", None, True, [2023], float("nan")],
)
def test_parse_date_returns_none_when_unreadable(value: object) -> None:
    assert parse_date(value) is None


def test_parse_date_epoch_matches_iso() -> None:
    iso, seconds = parse_date("2023-11-01T23:30:00-02:00") or ("", 0)
    assert iso == "2023-11-02T01:30:00+00:00"
    assert datetime.fromtimestamp(seconds, UTC).isoformat() == iso


@pytest.mark.parametrize("key", ["published", "published_at", "date"])
def test_front_matter_date_aliases(tmp_path: Path, key: str) -> None:
    (tmp_path / "a.md").write_text(f"---\ntitle: T\n{key}: 2023-11-27 08:45:59Z\n---\nBody.\n")
    article = load_corpus(tmp_path).articles[0]
    assert (article.published, article.published_ts) == MULTIHOP_INSTANT


# --- identity ------------------------------------------------------------------------------


def test_ids_are_stable_distinct_and_independent_of_the_corpus_location(corpus: Path) -> None:
    first = {a.locator: a.id for a in load_corpus(DATA).articles}
    again = {a.locator: a.id for a in load_corpus(DATA).articles}
    moved = {a.locator: a.id for a in load_corpus(corpus).articles}
    assert first == again == moved
    assert len(set(first.values())) == len(GOOD)
    assert first["port-strike.md"] == hashlib.sha1(b"port-strike.md").hexdigest()[:16]


def test_content_hash_follows_text_and_metadata_but_id_does_not(corpus: Path) -> None:
    before = by_locator(load_corpus(corpus))
    tram = corpus / "tram-line.txt"
    tram.write_text(tram.read_text() + "\nA night service will start in March.\n")
    strike = corpus / "port-strike.md"
    strike.write_text(strike.read_text().replace("source: Harbour Ledger", "source: Dock News"))
    after = by_locator(load_corpus(corpus))
    for changed in ("tram-line.txt", "port-strike.md"):
        assert after[changed].id == before[changed].id
        assert after[changed].content_hash != before[changed].content_hash
    assert after["tram-line.txt"].text.endswith("A night service will start in March.")
    assert after["rate-decision.md"].content_hash == before["rate-decision.md"].content_hash
    assert len(before["rate-decision.md"].content_hash) == 64


def test_single_file_corpus_uses_the_file_name_as_locator(fixtures: dict[str, Article]) -> None:
    load = load_corpus(DATA / "wire.jsonl")
    assert [a.locator for a in load.articles] == [CHIPS, RECALL]
    assert [a.id for a in load.articles] == [fixtures[CHIPS].id, fixtures[RECALL].id]
    (strike,) = load_corpus(DATA / "port-strike.md").articles
    assert strike == fixtures["port-strike.md"]


def test_same_text_under_two_names_keeps_the_first(corpus: Path) -> None:
    (corpus / "zz-archive").mkdir()
    shutil.copy(corpus / "port-strike.md", corpus / "zz-archive" / "strike-copy.md")
    load = load_corpus(corpus)
    assert_good_articles_loaded(load)
    assert len(load.articles) == len(GOOD)
    problem = only_problem(load)
    assert problem.path == "zz-archive/strike-copy.md"
    assert problem.reason.startswith("same text as port-strike.md")
    assert problem.skipped


# --- bad input -----------------------------------------------------------------------------

BAD_FILES = [
    ("blank.md", b"  \n\t\n", ["file is empty"]),
    ("scan.txt", b"PK\x03\x04\x00\x00 zipped", ["binary file", "NUL byte at offset 4"]),
    (
        "cafe.txt",
        "Caf\xe9 prices rose".encode("latin-1"),
        ["not valid UTF-8", "offset 3", "save it as UTF-8"],
    ),
    (
        "broken.md",
        b"---\ntitle: [never closed\nsource: X\n---\nBody text.\n",
        ["front matter is not valid YAML", "(line 3, column 7)"],
    ),
    ("listy.md", b"---\n- a\n- b\n---\nBody text.\n", ["not a mapping"]),
    ("open.md", b"---\ntitle: No end\n\nBody text here.\n", ["never closed", "'---'"]),
    ("only-meta.md", b"---\ntitle: Nothing below\n---\n\n", ["no article text"]),
    ("report.pdf", b"%PDF-1.4 not really", ["unsupported extension '.pdf'", ".md", ".jsonl.gz"]),
    ("notes", b"plain words", ["unsupported file without an extension"]),
    (
        "bad.json",
        b'[{"title": "A", "body": "Some text."},\n {"title": "B" "body": "x"}]',
        ["not valid JSON", "line 2, column 16"],
    ),
    ("scalar.json", b'"just a string"', ["JSON holds a str", "list of records"]),
    ("empty-list.json", b"[]", ["holds no records"]),
    ("broken.json.gz", b"this is not gzip", ["not a valid gzip file"]),
    (
        "shell.html",
        b"<html><head><title>App</title></head><body><div id='root'></div>"
        b"<script src='/app.js'></script></body></html>",
        ["no article text found in the HTML"],
    ),
]


@pytest.mark.parametrize(("name", "content", "fragments"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_reported_and_the_others_still_load(
    corpus: Path, name: str, content: bytes, fragments: list[str]
) -> None:
    (corpus / name).write_bytes(content)
    load = load_corpus(corpus)
    assert_good_articles_loaded(load)
    problem = only_problem(load)
    assert problem.path == name
    assert problem.skipped
    for fragment in fragments:
        assert fragment in problem.reason


def test_oversized_file_is_skipped_with_the_setting_to_raise(corpus: Path) -> None:
    (corpus / "huge.txt").write_text("Headline\n" + "word " * 4000)  # 20,009 bytes
    load = load_corpus(corpus, max_file_bytes=10_000)
    assert_good_articles_loaded(load)
    problem = only_problem(load)
    assert problem.path == "huge.txt"
    assert "20,009 bytes" in problem.reason and "limit of 10,000" in problem.reason
    assert "raise BRIEFING_MAX_FILE_BYTES or split the file" in problem.reason


def test_gzip_is_read_and_a_gzip_bomb_is_not_expanded(corpus: Path) -> None:
    record = {"title": "Gzipped", "body": "A record inside a gzipped JSON file."}
    (corpus / "extra.json.gz").write_bytes(gzip.compress(json.dumps([record]).encode()))
    with gzip.open(corpus / "bomb.jsonl.gz", "wb") as bomb:  # 32 MB of newlines, ~32 KB on disk
        for _ in range(32):
            bomb.write(b"\n" * 1_000_000)
    tracemalloc.start()
    try:
        load = load_corpus(corpus, max_file_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # read up to the limit, never the whole 32 MB
    assert_good_articles_loaded(load)
    assert by_locator(load)["extra.json.gz#record-1"].title == "Gzipped"
    problem = only_problem(load)
    assert problem.path == "bomb.jsonl.gz"
    assert "more than 1,000,000 bytes after gunzip" in problem.reason


def test_json_bad_records_are_skipped_one_by_one(corpus: Path) -> None:
    url = "https://example.org/a"
    records = [
        {"title": "First", "body": "First story.", "url": url, "published_at": "2023-11-03"},
        {"title": "No body", "body": "   "},
        "not an object",
        {"text": "Untitled story\nsecond line."},
        {"title": "Same url", "body": "Another story.", "url": url},
    ]
    (corpus / "batch.json").write_text(json.dumps(records))
    load = load_corpus(corpus)
    assert_good_articles_loaded(load)
    batch = {a.locator: a for a in load.articles if a.locator.startswith("batch.json")}
    assert list(batch) == [f"batch.json#{url}", "batch.json#record-4", "batch.json#record-5"]
    assert batch[f"batch.json#{url}"].published == "2023-11-03T00:00:00+00:00"
    assert batch["batch.json#record-4"].title == "Untitled story"
    assert batch["batch.json#record-5"].url == url
    assert [(p.path, p.skipped) for p in load.problems] == [
        ("batch.json#2", True),
        ("batch.json#3", True),
    ]
    assert "record 2 has no text" in load.problems[0].reason
    assert "record 3 is a str, not an object" in load.problems[1].reason


def test_bad_jsonl_line_is_skipped_and_the_other_lines_load(corpus: Path) -> None:
    lines = [
        '{"title": "One", "body": "Line one story."}',
        '{"title": "Two", ',
        "",
        '{"body": "Four."}',
    ]
    (corpus / "feed.jsonl").write_text("\n".join(lines) + "\n")
    load = load_corpus(corpus)
    assert_good_articles_loaded(load)
    feed = [a.locator for a in load.articles if a.locator.startswith("feed.jsonl")]
    assert feed == ["feed.jsonl#record-1", "feed.jsonl#record-4"]
    problem = only_problem(load)
    assert problem.path == "feed.jsonl#2"
    assert (
        "line 2 is not valid JSON" in problem.reason and "fix or remove that line" in problem.reason
    )


@pytest.mark.parametrize(
    ("name", "content", "locator"),
    [
        (
            "undated.md",
            "---\ntitle: Undated\npublished: sometime last week\n---\nBody.\n",
            "undated.md",
        ),
        (
            "bad-month.md",
            "---\ntitle: Bad month\npublished: 2023-13-45\n---\nBody.\n",
            "bad-month.md",
        ),
        ("one.jsonl", '{"body": "Body.", "published_at": "soon"}\n', "one.jsonl#record-1"),
    ],
)
def test_unreadable_date_is_a_warning_and_the_article_is_kept(
    corpus: Path, name: str, content: str, locator: str
) -> None:
    (corpus / name).write_text(content)
    load = load_corpus(corpus)
    assert_good_articles_loaded(load)
    article = by_locator(load)[locator]
    assert (article.published, article.published_ts) == (None, None)
    problem = only_problem(load)
    assert (problem.path, problem.skipped) == (locator, False)
    assert "cannot read the date" in problem.reason and "kept without a date" in problem.reason


def test_an_unexpected_parser_error_is_one_problem_not_a_crash(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trafilatura

    def broken_extract(*args: object, **kwargs: object) -> str:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(trafilatura, "extract", broken_extract)
    load = load_corpus(corpus)
    assert [a.locator for a in load.articles] == [loc for loc in GOOD if loc != "wildfire.html"]
    problem = only_problem(load)
    assert problem.path == "wildfire.html"
    assert "RuntimeError('parser bug')" in problem.reason


# --- details of the text formats -------------------------------------------------------------


def test_markdown_without_front_matter_takes_the_heading_as_title(tmp_path: Path) -> None:
    (tmp_path / "note.md").write_text("\n\n## Council approves budget\n\nThe vote was 7 to 2.\n")
    (article,) = load_corpus(tmp_path).articles
    assert article.title == "Council approves budget"
    assert article.text == "## Council approves budget\n\nThe vote was 7 to 2."


def test_bom_and_crlf_are_normalised(tmp_path: Path) -> None:
    raw = (
        "\ufeff---\r\ntitle: Windows file\r\nauthor: [Ann Lee, Bo Chen]\r\n---\r\n"
        "\r\nLine one.\r\nLine two.\r\n"
    )
    (tmp_path / "win.md").write_bytes(raw.encode("utf-8"))
    (article,) = load_corpus(tmp_path).articles
    assert (article.title, article.author) == ("Windows file", "Ann Lee, Bo Chen")
    assert article.text == "Line one.\nLine two."


def test_hidden_files_and_folders_are_ignored(corpus: Path) -> None:
    (corpus / ".draft.md").write_text("Draft\n\nNot ready.\n")
    (corpus / ".cache").mkdir()
    (corpus / ".cache" / "old.txt").write_text("Old\n\nStale copy.\n")
    load = load_corpus(corpus)
    assert [a.locator for a in load.articles] == GOOD
    assert load.problems == ()


def test_missing_corpus_path_raises_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CorpusError, match="does not exist") as info:
        load_corpus(missing)
    assert str(missing) in str(info.value)


def test_supported_suffixes() -> None:
    expected = {
        ".md",
        ".markdown",
        ".txt",
        ".html",
        ".htm",
        ".json",
        ".jsonl",
        ".json.gz",
        ".jsonl.gz",
    }
    assert set(SUPPORTED_SUFFIXES) == expected


# --- the MultiHop-RAG corpus ---------------------------------------------------------------


def test_multihop_corpus_loads_every_article_with_its_date() -> None:
    if not MULTIHOP.exists():
        pytest.skip(f"{MULTIHOP} not found")
    load = load_corpus(MULTIHOP)
    assert load.problems == ()
    assert len(load.articles) == 609
    assert len({a.id for a in load.articles}) == 609
    assert all(a.locator.startswith("corpus.json.gz#https://") for a in load.articles)
    earliest = parse_date("2023-09-26")[1]  # type: ignore[index]
    latest = parse_date("2023-12-26")[1]  # type: ignore[index]
    assert all(
        a.published_ts is not None and earliest <= a.published_ts < latest for a in load.articles
    )
    assert sum(a.author is None for a in load.articles) == 68
    assert len({a.source for a in load.articles}) == 49
    deals = by_locator(load)[
        "corpus.json.gz#https://mashable.com/article/cyber-monday-deals-amazon-2023"
    ]
    assert (deals.source, deals.published) == ("Mashable", "2023-11-27T08:45:59+00:00")
