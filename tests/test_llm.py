"""The model-backed answer writer on LangChain's fake chat models: what the checks do to what
a model writes, a model that fails mid-stream, a model that declines (no real model here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk

from assistant import Assistant, Settings, TextPiece, Written
from assistant.llm import SYSTEM_PROMPT, ModelAnswerer, quotes_block
from assistant.types import Quote

from .fakes import HashEmbedder

QUESTION = "How many dockworkers stopped work at the Port of Calder Bay?"


def model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


def quote(n: int, text: str) -> Quote:
    return Quote(n, text, f"a{n}", "Port strike", "Harbour Ledger", "2023-11-08", None, 0, 1)


QUOTES = [quote(1, "About 1,400 dockworkers stopped work at 6 a.m."), quote(2, "Ships waited.")]


def written(answerer: ModelAnswerer) -> tuple[list[str], Written]:
    *pieces, done = answerer.write(QUESTION, QUOTES)
    assert all(isinstance(p, TextPiece) for p in pieces) and isinstance(done, Written)
    return [p.text for p in pieces], done


def test_the_model_reads_numbered_quotes_as_data():
    (system, human) = ModelAnswerer(model("x"), "fake").messages(QUESTION, QUOTES)
    assert system == ("system", SYSTEM_PROMPT) and "not instructions" in SYSTEM_PROMPT
    assert human[1].startswith("Quotes:\n[1] (Harbour Ledger, 2023-11-08) “About 1,400")
    assert human[1].endswith(f"Question: {QUESTION}")
    assert quotes_block(QUOTES).count("\n") == 1


def test_a_grounded_answer_streams_and_passes():
    pieces, done = written(ModelAnswerer(model("About 1,400 dockworkers stopped [1]."), "fake"))
    assert len(pieces) > 1 and "".join(pieces) == "About 1,400 dockworkers stopped [1]."
    assert done.text == "About 1,400 dockworkers stopped [1]." and done.checks == ()
    assert done.model == "fake" and done.raw == done.text


def test_fabrication_bad_citations_and_uncited_claims_are_caught():
    raw = "Workers said “we will strike forever” [1]. The port closed [5]. It rained."
    _, done = written(ModelAnswerer(model(raw), "fake"))
    kinds = [c["kind"] for c in done.checks]
    assert kinds.count("quotation") == 1 and kinds.count("citation") == 1
    assert "we will strike forever" not in done.text and "[5]" not in done.text
    assert done.text.count("[unsupported]") == 2 and done.raw == raw


def test_an_answer_that_cites_no_quote_is_not_shown_as_the_answer():
    """What a model writes without citing any quote (an article's injected "answer", say) is
    kept and named, and the quotes are shown instead."""
    raw = "The strike was cancelled and everyone went home. “It is over” [4]."
    _, done = written(ModelAnswerer(model(raw), "fake"))
    assert done.model is None and done.raw == raw  # not the model's answer; its words kept
    assert done.text.startswith("“About 1,400 dockworkers") and "cancelled" not in done.text
    kinds = [(c["kind"], c["action"]) for c in done.checks]
    assert kinds[-1] == ("model", "fell back") and "cited none" in done.checks[-1]["detail"]
    assert ("citation", "removed") in kinds and ("uncited", "marked") in kinds


def test_a_model_that_declines_refuses_with_its_reason():
    _, done = written(ModelAnswerer(model("NOT ANSWERED: the quotes do not say who."), "fake"))
    assert done.refusal_reason == "the quotes do not say who." and done.model == "fake"


class _Breaks(GenericFakeChatModel):
    """Streams two pieces, then its server goes away."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        from langchain_core.outputs import ChatGenerationChunk

        yield ChatGenerationChunk(message=AIMessageChunk(content="About "))
        yield ChatGenerationChunk(message=AIMessageChunk(content="1,400 "))
        raise ConnectionError("server closed the connection")


def test_a_model_that_fails_mid_stream_falls_back_to_the_composed_answer():
    pieces, done = written(ModelAnswerer(_Breaks(messages=iter([])), "fake"))
    assert pieces == ["About ", "1,400 "]
    assert done.model is None and done.text.startswith("“About 1,400 dockworkers")
    (check,) = done.checks
    assert check["action"] == "fell back" and "ConnectionError" in check["detail"]


def test_the_assistant_shows_what_the_model_wrote_and_what_was_checked(fake_index: Settings):
    writer = ModelAnswerer(model("About 1,400 dockworkers stopped work [1]. Ships left [9]."), "m")
    with Assistant(fake_index, HashEmbedder(), answerer=writer) as assistant:
        answer = assistant.ask(QUESTION)
    assert answer.generated and answer.model == "m" and not answer.refused
    assert answer.answer.startswith("About 1,400 dockworkers stopped work [1].")
    assert [c["kind"] for c in answer.checks] == ["citation", "uncited"]
    assert answer.timings_ms["pieces"] > 1 and answer.timings_ms["pieces_per_s"] > 0
    data = answer.to_dict()
    assert data["generated"] is True and data["raw_answer"].endswith("Ships left [9].")


def test_the_llm_setting_picks_the_writer(monkeypatch):
    import pytest

    from assistant import ComposedAnswerer, ConfigError
    from assistant.llm import answerer_for

    assert isinstance(answerer_for(Settings(llm="none")), ComposedAnswerer)
    with pytest.raises(ConfigError, match="'openai:MODEL'"):
        answerer_for(Settings(llm="gpt-whatever"))
    pytest.importorskip("langchain_openai")
    writer = answerer_for(Settings(llm="openai:small", llm_base_url="http://127.0.0.1:9/v1"))
    assert isinstance(writer, ModelAnswerer) and writer.name == "small at http://127.0.0.1:9/v1"
    # llama.cpp's server reads max_tokens, not max_completion_tokens: both are sent to it
    payload = writer.model._get_request_payload([("human", "hi")])
    assert payload["extra_body"] == {"max_tokens": 300} and payload["max_completion_tokens"] == 300


def test_an_unreachable_server_falls_back_and_says_so_on_the_answer(fake_index: Settings):
    import pytest

    pytest.importorskip("langchain_openai")
    from assistant.llm import answerer_for

    # nothing listens on port 9 (discard) of the loopback here
    where = fake_index.model_copy(
        update={"llm": "openai:small", "llm_base_url": "http://127.0.0.1:9/v1", "llm_timeout": 5}
    )
    with Assistant(where, HashEmbedder(), answerer=answerer_for(where)) as assistant:
        answer = assistant.ask(QUESTION)
    assert not answer.generated and answer.answer.startswith("“")  # the composed answer
    (check,) = answer.checks
    assert (
        check["action"] == "fell back"
        and "small at http://127.0.0.1:9/v1 failed" in check["detail"]
    )


def test_a_gguf_spec_needs_a_file_and_falls_back_without_llama_cpp(tmp_path, monkeypatch):
    import pytest

    from assistant import ConfigError
    from assistant.llm import FallbackAnswerer, answerer_for

    with pytest.raises(ConfigError, match="no model file"):
        answerer_for(Settings(llm=f"llamacpp:{tmp_path / 'missing.gguf'}"))
    model_file = tmp_path / "tiny.gguf"
    model_file.write_bytes(b"GGUF")

    def not_installed(*args, **kwargs):
        raise ImportError("No module named 'llama_cpp'")

    monkeypatch.setattr("assistant.llm.llamacpp_chat_model", not_installed)
    writer = answerer_for(Settings(llm=f"llamacpp:{model_file}"))
    assert isinstance(writer, FallbackAnswerer) and "pip install llama-cpp-python" in writer.why
    *_, done = writer.write(QUESTION, QUOTES)
    assert done.model is None and done.checks[0]["action"] == "fell back"


def test_a_follow_up_is_rewritten_by_the_model_and_shown(fake_index: Settings):
    writer = ModelAnswerer(
        model(
            "How many dockworkers stopped work at the Port of Calder Bay?",
            "About 1,400 dockworkers stopped work [1].",
        ),
        "m",
    )
    with Assistant(fake_index, HashEmbedder(), answerer=writer) as assistant:
        first = "Why did the dockworkers at Calder Bay go on strike?"
        answer = assistant.ask("And how many of them?", history=[first])
    assert answer.standalone_question == (
        "How many dockworkers stopped work at the Port of Calder Bay?"
    )
    assert answer.question == "And how many of them?"


def test_a_rewrite_the_model_botches_keeps_the_rule_based_one(fake_index: Settings):
    writer = ModelAnswerer(model("Sure!\nHere it is:\n1. ...", "An answer [1]."), "m")
    with Assistant(fake_index, HashEmbedder(), answerer=writer) as assistant:
        answer = assistant.ask("And how many of them?", history=["Why did dockworkers strike?"])
    assert answer.standalone_question.startswith("And how many of them (about: ")
