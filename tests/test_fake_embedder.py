"""The pipeline on a deterministic fake embedder: fast, no model, a real Chroma store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant, Embedder, RefusalPolicy, Settings, sync_index

from .fakes import HashEmbedder

LOOSER = RefusalPolicy(min_similarity=0.15, min_named_similarity=0.05)


def test_the_fake_is_an_embedder_and_deterministic():
    fake: Embedder = HashEmbedder()
    one, again = (
        fake.embed(["Dockworkers strike at Valmere"]),
        fake.embed_query("Dockworkers strike at Valmere"),
    )
    assert one[0] == again and abs(sum(v * v for v in again) - 1.0) < 1e-9
    far = fake.embed_query("rain over the reservoir")
    near = fake.embed_query("the dockworkers' strike")
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert dot(again, near) > dot(again, far)


def test_index_and_answer_on_the_fake(settings: Settings, tmp_path: Path):
    fake = HashEmbedder()
    report = sync_index(settings, embedder=fake)
    assert report.added and fake.calls
    # the thresholds are MiniLM's; the fake's bag-of-words cosines run lower
    with Assistant(settings.model_copy(update={"refusal": LOOSER}), fake) as assistant:
        answer = assistant.ask("How many dockworkers went on strike at Calder Bay?")
        assert not answer.refused, answer.answer
        for quote in answer.quotes:
            assert assistant.article(quote.article_id).text[quote.start : quote.end] == quote.text
        assert assistant.ask("What is the boiling point of liquid nitrogen?").refused


@pytest.mark.parametrize("question", ["", "   "])
def test_blank_questions_are_refused_without_error(settings: Settings, question: str):
    sync_index(settings, embedder=HashEmbedder())
    with Assistant(settings, HashEmbedder()) as assistant:
        assert assistant.ask(question).refused
