"""Answering end to end: the real bundled model, a real Chroma store, small fixture articles."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.cli import main
from assistant.dates import parse_date
from assistant.types import Filters

from .conftest import SEED_ARTICLE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("api")
    corpus = root / "corpus"
    shutil.copytree(Path(__file__).parent / "data" / "articles", corpus)
    shutil.copy(SEED_ARTICLE, corpus / "article-000.txt")
    with Assistant.open(
        corpus=corpus, index_dir=root / "index", reference_date=date(2023, 12, 1)
    ) as opened:
        yield opened


def check_verbatim(assistant: Assistant, answer) -> None:
    assert answer.quotes, answer.answer
    for quote in answer.quotes:
        article = assistant.index.article(quote.article_id)
        assert article is not None, "citation does not resolve"
        assert article.text[quote.start : quote.end] == quote.text
        assert (quote.title, quote.source, quote.published) == (
            article.title,
            article.source,
            article.published,
        )
        assert f"[{quote.n}]" in answer.answer
        assert quote.reference() in answer.answer  # source, date, title


def test_seed_question_quotes_the_claim_and_the_rejection(assistant: Assistant):
    answer = assistant.ask("Did the Kremlin accept European peacekeepers in Ukraine?")
    assert not answer.refused
    check_verbatim(assistant, answer)
    texts = " ".join(q.text for q in answer.quotes)
    assert (
        "Yeah, he will accept that" in texts or "claimed that he and Putin supported" in texts
    )  # Trump's claim
    assert "unacceptable" in texts or "reject" in texts  # the Kremlin's rejection
    assert {q.article_id for q in answer.quotes} == {answer.quotes[0].article_id}


def test_answer_cites_the_article_that_answers(assistant: Assistant):
    answer = assistant.ask("How many dockworkers stopped work at the Port of Calder Bay?")
    check_verbatim(assistant, answer)
    assert answer.quotes[0].title.startswith("Dockworkers at Calder Bay")
    assert "1,400 dockworkers" in answer.quotes[0].text
    assert answer.timings_ms["total"] > 0 and answer.standalone_question == answer.question


def test_unrelated_question_is_refused_with_closest_articles(assistant: Assistant):
    answer = assistant.ask("What is the best recipe for a sourdough starter?")
    assert answer.refused and not answer.quotes
    assert answer.answer.startswith("The articles do not answer this.")
    assert answer.closest and all(a.title for a in answer.closest)


def test_question_citing_an_outlet_the_corpus_lacks_is_refused(assistant: Assistant):
    answer = assistant.ask("What did a Bloomberg report say about the Calder Bay strike?")
    assert answer.refused and "Bloomberg" in answer.answer


def test_follow_up_uses_the_history(assistant: Assistant):
    session = assistant.chat()
    first = session.ask("Why did the dockworkers at Calder Bay go on strike?")
    check_verbatim(assistant, first)
    follow = session.ask("What did the company say about that?")
    assert "Calder Bay" in follow.standalone_question
    check_verbatim(assistant, follow)
    assert any("Jane Roe" in q.text or "Calder Terminals" in q.text for q in follow.quotes)
    assert len(session.turns) == 2
    session.reset()
    assert session.turns == []


def test_dates_in_the_question_filter_the_articles(assistant: Assistant):
    answer = assistant.ask("What was reported on 15 November 2023?")
    assert answer.filters["date_range_applied"]
    check_verbatim(assistant, answer)
    assert {q.published[:10] for q in answer.quotes} == {"2023-11-15"}
    latest = assistant.ask("What is the latest news about exports?")
    assert latest.filters["time"]["recency"]


def test_explicit_date_and_source_filters(assistant: Assistant):
    start = parse_date("2023-11-20")[1]
    answer = assistant.ask("What happened?", filters=Filters(start_ts=start))
    for p in answer.passages:
        assert p.published is not None and p.published >= "2023-11-20"
    none = assistant.ask("What happened?", filters=Filters(sources=("No Such Wire",)))
    assert none.refused and "matches the filters" in none.answer
    only = assistant.search("strike", filters=Filters(sources=("Estmark Financial Review",)))
    assert only and {p.source for p in only} == {"Estmark Financial Review"}


def test_langchain_retriever(assistant: Assistant):
    from langchain_core.retrievers import BaseRetriever

    retriever = assistant.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("tram line to Riverside")
    assert 0 < len(docs) <= 3
    top = docs[0]
    article = assistant.index.article(top.metadata["article_id"])
    assert article.text[top.metadata["start"] : top.metadata["end"]] == top.page_content
    assert "tram" in article.title.lower()


def test_cli_ask_json(assistant: Assistant, capsys: pytest.CaptureFixture[str]):
    settings = assistant.index.settings
    code = main(
        [
            "ask",
            "How much did the Lindenport tram line cost?",
            "--json",
            "-q",
            "--corpus",
            str(settings.corpus),
            "--index",
            str(settings.index_dir),
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {
        "question",
        "standalone_question",
        "answer",
        "refused",
        "quotes",
        "closest",
        "timings_ms",
    } <= set(data)
    assert not data["refused"] and "486 million euros" in " ".join(
        q["text"] for q in data["quotes"]
    )
    assert set(data["quotes"][0]) >= {
        "n",
        "text",
        "article_id",
        "title",
        "source",
        "published",
        "url",
        "start",
        "end",
    }
