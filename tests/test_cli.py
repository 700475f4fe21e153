"""The command line: bad usage and unwritable outputs fail at once, before anything slow.

Each fast test forbids the slow work (indexing, opening the assistant, loading the model), so a
check that came too late fails the test instead of costing it 20 seconds.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import date
from pathlib import Path

import pytest

from assistant.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main

from .conftest import DATA

QUERIES = DATA / "queries.json"


class SlowWork(BaseException):
    """Raised by the stand-ins of everything slow: the command got past its checks. (Not an
    ``Exception``: ``main`` turns those into one error line.)"""


@pytest.fixture(autouse=True)
def forbid_slow_work(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Make indexing, opening the assistant and loading the model fail the test if reached.

    Returns the keyword arguments ``Assistant.open`` was called with, for tests that expect
    the command to get that far. Tests marked slow do the real work.
    """
    calls: list[dict] = []
    if request.node.get_closest_marker("slow"):
        return calls

    def no_sync(*args: object, **kwargs: object) -> None:
        raise SlowWork("sync_index was called")

    def no_open(*args: object, **kwargs: object) -> None:
        calls.append(kwargs)
        raise SlowWork("Assistant.open was called")

    def no_model(*args: object, **kwargs: object) -> None:
        raise SlowWork("the model was loaded")

    monkeypatch.setattr("assistant.sync_index", no_sync)
    monkeypatch.setattr("assistant.api.Assistant.open", no_open)
    monkeypatch.setattr("assistant.embedding.load_model", no_model)
    return calls


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of ``briefing argv`` (argparse's SystemExit included)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return code, capsys.readouterr().err


def eval_args(*extra: str, corpus: Path = DATA / "articles") -> list[str]:
    return ["eval", str(QUERIES), "--corpus", str(corpus), "-q", *extra]


# -- ask -----------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_ask_without_a_question_is_usage(
    question: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, err = run(["ask", question], capsys)
    assert code == EXIT_USAGE
    assert "ask a question" in err
    assert not (tmp_path / "index").exists()


def test_unreadable_reference_date_is_usage(capsys: pytest.CaptureFixture[str]):
    code, err = run(["ask", "What happened?", "--reference-date", "someday"], capsys)
    assert code == EXIT_USAGE
    assert "--reference-date" in err and "'someday'" in err and "2023-11-27" in err


def test_reference_date_reaches_the_assistant(
    forbid_slow_work: list[dict], capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SlowWork):
        main(["ask", "What happened last week?", "--reference-date", "2023-12-01"])
    assert forbid_slow_work[0]["reference_date"] == date(2023, 12, 1)


def test_passages_without_json_is_usage(capsys: pytest.CaptureFixture[str]):
    code, err = run(["ask", "What happened?", "--passages"], capsys)
    assert code == EXIT_USAGE
    assert "--passages needs --json" in err


def test_since_after_until_is_usage(capsys: pytest.CaptureFixture[str]):
    code, err = run(
        ["ask", "What happened?", "--since", "2023-12-01", "--until", "2023-11-01"], capsys
    )
    assert code == EXIT_USAGE
    assert "--since 2023-12-01 is later than --until 2023-11-01" in err


def test_since_and_until_on_the_same_day_is_fine():
    with pytest.raises(SlowWork):  # got past the checks
        main(["ask", "What happened?", "--since", "2023-11-27", "--until", "2023-11-27"])


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_source_is_usage(value: str, capsys: pytest.CaptureFixture[str]):
    code, err = run(["ask", "What happened?", "--source", value], capsys)
    assert code == EXIT_USAGE
    assert "--source" in err


def test_index_that_is_a_file_is_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not an index", encoding="utf-8")
    code, err = run(["ask", "What happened?", "--index", str(a_file)], capsys)
    assert code == EXIT_USAGE
    assert f"--index {a_file} is a file" in err


def test_bad_setting_in_the_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("BRIEFING_CHUNK_TOKENS", "many")
    code, err = run(["ask", "What happened?"], capsys)
    assert code == EXIT_ERROR
    assert err.startswith("error: invalid setting (BRIEFING_CHUNK_TOKENS:")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.delenv("BRIEFING_CHUNK_TOKENS")
    monkeypatch.setenv("BRIEFING_REFUSAL__MIN_SIMILARITY", "2")  # a cosine is at most 1
    code, err = run(["ask", "What happened?"], capsys)
    assert code == EXIT_ERROR
    assert err.startswith("error: invalid setting (BRIEFING_REFUSAL__MIN_SIMILARITY:"), err


# -- eval ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-3", "three"])
def test_limit_must_be_positive(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, err = run(eval_args("--limit", value), capsys)
    assert code == EXIT_USAGE
    assert "--limit" in err and "1 or more" in err


def test_missing_queries_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    missing = tmp_path / "nowhere.json"
    code, err = run(["eval", str(missing), "--corpus", str(DATA / "articles")], capsys)
    assert code == EXIT_ERROR
    assert err == f"error: no questions file at {missing}; check the QUERIES path\n"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[]", "no questions in"),
        ("not json", "expected a JSON list"),
        ('[{"question": "x"}]', "a record has no 'query'"),
        ('[{"query": "x", "evidence_list": ["a fact"]}]', "expected a JSON list"),
    ],
)
def test_unreadable_queries_file_is_one_line(
    content: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    queries = tmp_path / "queries.json"
    queries.write_text(content, encoding="utf-8")
    code, err = run(["eval", str(queries), "--corpus", str(DATA / "articles")], capsys)
    assert code == EXIT_ERROR
    assert err.startswith("error: ") and reason in err and str(queries) in err
    assert len(err.strip().splitlines()) == 1


def test_output_under_a_file_fails_before_indexing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("a file, not a folder", encoding="utf-8")
    out = a_file / "reports" / "out.json"
    code, err = run(eval_args("--json", str(out)), capsys)
    assert code == EXIT_ERROR
    assert err == f"error: cannot write --json {out}: {a_file} is a file, not a folder\n"
    assert not (tmp_path / "index").exists()


def test_log_under_a_file_fails_before_indexing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("a file, not a folder", encoding="utf-8")
    log = a_file / "log.jsonl"
    code, err = run(eval_args("--log", str(log)), capsys)
    assert code == EXIT_ERROR
    assert f"cannot write --log {log}" in err
    assert not (tmp_path / "index").exists()


def test_output_that_is_a_folder_fails_before_indexing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "reports"
    folder.mkdir()
    code, err = run(eval_args("--json", str(folder)), capsys)
    assert code == EXIT_ERROR
    assert f"cannot write --json {folder}: it is a folder" in err
    code, err = run(eval_args("--json", f"{folder}/"), capsys)
    assert code == EXIT_USAGE
    assert "expected a file name" in err


def test_output_in_a_read_only_folder_fails_before_indexing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if (
        getattr(os, "geteuid", lambda: -1)() == 0
    ):  # root may write anywhere: let access() answer as for a user
        real_access = os.access

        def access(path: object, mode: int, **kwargs: object) -> bool:
            if Path(str(path)) == folder and mode & os.W_OK:
                return False
            return real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    try:
        code, err = run(eval_args("--json", str(folder / "out" / "eval.json")), capsys)
    finally:
        folder.chmod(0o755)
    assert code == EXIT_ERROR
    assert f"no permission to write in {folder}" in err
    assert not (folder / "out").exists()


@pytest.mark.parametrize(
    ("outputs", "clash"),
    [
        (["--json", "out.html"], "--json and the HTML report beside --json"),
        (["--json", "out.jsonl"], "--json and the log beside --json"),
        (["--json", "out.json", "--log", "out.json"], "--json and --log"),
        (["--json", str(QUERIES)], "QUERIES and --json"),
    ],
)
def test_outputs_that_overwrite_each_other_are_usage(
    outputs: list[str], clash: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, err = run(eval_args(*outputs), capsys)
    assert code == EXIT_USAGE
    assert f"{clash} are the same file" in err


def test_missing_output_folders_are_not_made_before_indexing(tmp_path: Path):
    out = tmp_path / "missing" / "dir" / "out.json"
    with pytest.raises(SlowWork, match="sync_index"):  # the checks passed
        main(eval_args("--json", str(out)))
    assert not (tmp_path / "missing").exists()  # a failed run leaves nothing behind


@pytest.mark.slow
def test_eval_makes_missing_output_folders(tmp_path: Path, corpus_dir: Path):
    out = tmp_path / "missing" / "dir" / "out.json"
    log = tmp_path / "logs" / "run.jsonl"
    argv = eval_args("--limit", "1", corpus=corpus_dir)
    assert main([*argv, "--json", str(out), "--log", str(log)]) == EXIT_OK
    assert json.loads(out.read_text(encoding="utf-8"))["n_queries"] == 1
    assert out.with_suffix(".html").exists() and len(log.read_text().splitlines()) == 1


# -- serve ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "65536", "-1", "http"])
def test_port_out_of_range_is_usage(value: str, capsys: pytest.CaptureFixture[str]):
    code, err = run(["serve", "--port", value], capsys)
    assert code == EXIT_USAGE
    assert "1 to 65535" in err


def test_port_in_use_fails_before_loading_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setitem(sys.modules, "assistant.web", None)  # importing gradio would fail
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(["serve", "--host", "127.0.0.1", "--port", str(port)], capsys)
    assert code == EXIT_ERROR
    assert err.startswith(f"error: cannot serve on 127.0.0.1:{port}") and "--port" in err


@pytest.mark.parametrize("store", [True, False], ids=["chroma", "other"])
def test_an_unexpected_error_is_one_line(
    store: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from chromadb.errors import InternalError

    def failing(*args: object, **kwargs: object) -> None:
        raise InternalError("Failed to apply logs") if store else ZeroDivisionError("oops")

    monkeypatch.setattr("assistant.sync_index", failing)
    code, err = run(["index", "-q"], capsys)
    assert code == EXIT_ERROR and len(err.strip().splitlines()) == 1, err
    if store:
        assert err.startswith("error: the vector store (Chroma) failed: InternalError: Failed")
    else:
        assert err.startswith("error: unexpected error: ZeroDivisionError: oops;")
        assert "please report it" in err
