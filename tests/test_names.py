"""Key names of a question, and whether the keyword index mentions them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.keyword import KeywordIndex, write_keywords
from assistant.names import key_names
from assistant.query import plan_query
from assistant.text import keyword_tokens


def texts(question: str, sources: tuple[str, ...] = ()) -> list[str]:
    return [n.text for n in plan_query(question, sources).names]


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What is the weather like in Tokyo?", ["Tokyo"]),
        ("What is the boiling point of liquid nitrogen at sea level?", []),
        ("What did Anthropic say about Chat GPT?", ["Anthropic", "Chat GPT"]),
        ("How did OpenAI's board react?", ["OpenAI"]),
        ("What did President Joe Biden say?", ["Joe Biden"]),
        ("Sam Altman was fired by whom?", ["Sam Altman"]),
        ("Which company did Ms. Okafor-Lind found?", ["Okafor-Lind"]),
        ("How many of the 1,400 dockworkers kept their jobs?", ["1,400"]),
        ("Did the 'Diablo 4 guide' change?", ["Diablo 4"]),
        ("Is the Bank of Valdmark raising rates?", ["Bank of Valdmark"]),
        ("Did the Kremlin accept European peacekeepers?", ["Kremlin", "European"]),
    ],
)
def test_key_names(question: str, names: list[str]) -> None:
    assert texts(question) == names


def test_question_words_months_corpus_sources_and_dates_are_not_names() -> None:
    assert texts("Who won on Monday?") == []
    assert texts("What happened in March 2024?") == []
    assert texts("Considering the Harbour Ledger article, who won?", ("The Harbour Ledger",)) == []
    # an outlet no article comes from stays a name: "coverage of X" may be about X, not by X
    assert texts("What did the Valdmark Post article say?", ()) == ["Valdmark Post"]
    assert texts("What did Reuters report published on October 7, 2023?") == ["Reuters"]


def test_terms_are_keyword_tokens() -> None:
    (name,) = key_names("What did Vladimir Putin's aides say?")
    assert name.text == "Vladimir Putin"
    assert name.terms == tuple(keyword_tokens(["Vladimir Putin"])[0])


@pytest.fixture
def keywords(tmp_path: Path) -> KeywordIndex:
    chunks = [
        "Dmitry Peskov spoke for the Kremlin on Tuesday.",
        "ChatGPT and the Chat-bot market grew; Open Harbour Labs hired 1,400 staff.",
        "The sticking point is likely the timetable.",
    ]
    write_keywords(tmp_path, ["a", "b", "c"], ["x", "y", "z"], keyword_tokens(chunks))
    return KeywordIndex([(tmp_path, ())])


def test_mentions_needs_one_chunk_holding_every_term(keywords: KeywordIndex) -> None:
    def mentions(question: str) -> list[bool]:
        return [keywords.mentions(n.terms) for n in key_names(question)]

    assert mentions("What did Dmitry Peskov say?") == [True]
    assert mentions("What did the Kremlin's Peskov say?") == [True, True]
    assert mentions("Did Dmitry Lavrov speak?") == [False]  # both words exist, never together
    assert mentions("What is Anthropic?") == [False]
    assert mentions("Did Chat GPT grow?") == [True]  # written as one word in the chunk
    assert mentions("Did OPEN HARBOUR hire?") == [True]  # case
    assert mentions("How many did Open Harbour Labs hire, 1,400?") == [True, True]


def test_unseen_terms_weigh_more_than_the_rarest_seen_term(keywords: KeywordIndex) -> None:
    idf = keywords.idf(["tokyo", "peskov", "likely", "the"])
    assert idf["tokyo"] > idf["peskov"] > 0
    assert idf["tokyo"] > max(keywords.idf(keyword_tokens(["likely sticking point"])[0]).values())


def test_an_empty_keyword_index_mentions_nothing(tmp_path: Path) -> None:
    write_keywords(tmp_path, [], [], [])
    empty = KeywordIndex([(tmp_path, ())])
    assert not empty.mentions(("tokyo",))
    assert empty.idf(["tokyo"])["tokyo"] > 0
