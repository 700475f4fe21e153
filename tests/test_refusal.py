"""Refusal holds on any corpus: one article, the ~27-article demo briefing, and 609 articles.

Every off-topic question of ``tests/data/off_topic_questions.txt`` must be refused on each, with
a reason a person can read; questions the articles do answer must still be answered, and a
question about a name no article mentions is refused naming it.

The 609-article corpus is MultiHop-RAG's (in ../shared); its index is kept in
``benchmarks/out/multihop-index`` (the benchmarks' own) and built there if missing, which takes
about 9 minutes on two cores.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Settings
from assistant.api import Assistant
from assistant.types import Answer

from .conftest import DATA, MULTIHOP, SEED_ARTICLE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OFF_TOPIC = [
    line.strip()
    for line in (DATA / "off_topic_questions.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


def _open(corpus: Path, index: Path) -> Iterator[Assistant]:
    with Assistant.open(Settings(corpus=corpus, index_dir=index)) as assistant:
        yield assistant


@pytest.fixture(scope="module")
def one_article(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    root = tmp_path_factory.mktemp("one")
    (root / "corpus").mkdir()
    shutil.copy(SEED_ARTICLE, root / "corpus")
    yield from _open(root / "corpus", root / "index")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    yield from _open(ROOT / "corpus", tmp_path_factory.mktemp("demo") / "index")


@pytest.fixture(scope="module")
def multihop() -> Iterator[Assistant]:
    corpus = MULTIHOP / "corpus.json.gz"
    if not corpus.exists():
        pytest.skip(f"MultiHop-RAG corpus not found at {corpus}")
    yield from _open(corpus, ROOT / "benchmarks" / "out" / "multihop-index")


def assert_refused_readably(answer: Answer) -> None:
    assert answer.refused, f"{answer.question!r} was answered: {answer.answer[:200]}"
    assert not answer.quotes
    reason = answer.refusal_reason or ""
    assert reason.endswith(".") and len(reason.split()) >= 4, reason
    assert answer.answer.startswith("The articles do not answer this. " + reason)


@pytest.mark.parametrize("corpus", ["one_article", "demo", "multihop"])
def test_every_off_topic_question_is_refused(corpus: str, request: pytest.FixtureRequest):
    assert len(OFF_TOPIC) >= 20
    assistant: Assistant = request.getfixturevalue(corpus)
    answered = []
    for question in OFF_TOPIC:
        answer = assistant.ask(question)
        if not answer.refused:
            answered.append((question, answer.quotes[0].text[:80]))
            continue
        assert_refused_readably(answer)
    assert not answered, answered


@pytest.mark.parametrize(
    ("corpus", "question"),
    [
        ("one_article", "Did the Kremlin accept European peacekeepers in Ukraine?"),
        ("one_article", "What did Lavrov say about peacekeepers?"),
        ("one_article", "What did Peskov say?"),
        ("demo", "How many jobs are at risk at the Eastbank terminal?"),
        ("demo", "What did Odile Brack deny?"),
        ("demo", "When did the harbour board vote on the Eastbank automation plan?"),
        ("multihop", "Who is the individual associated with the crypto exchange FTX?"),
    ],
)
def test_questions_the_articles_answer_are_answered(
    corpus: str, question: str, request: pytest.FixtureRequest
):
    answer = request.getfixturevalue(corpus).ask(question)
    assert not answer.refused, answer.answer


@pytest.mark.parametrize(
    ("corpus", "question", "name"),
    [
        ("one_article", "What did Anthropic say about European peacekeepers?", "Anthropic"),
        ("one_article", "Did Olaf Scholz accept European peacekeepers in Ukraine?", "Olaf Scholz"),
        ("demo", "What did Governor Elna Vastrup say about water rationing?", "Elna Vastrup"),
        ("demo", "How many jobs are at risk at the Westhaven terminal?", "Westhaven"),
        (
            "multihop",
            "What did Vashti Quillfeather say about OpenAI's board?",
            "Vashti Quillfeather",
        ),
    ],
)
def test_a_name_no_article_mentions_is_refused_by_name(
    corpus: str, question: str, name: str, request: pytest.FixtureRequest
):
    answer = request.getfixturevalue(corpus).ask(question)
    assert_refused_readably(answer)
    assert answer.refusal_reason == f"The articles never mention {name}."
    assert answer.filters["evidence"]["missing_names"] == [name]


def test_spelling_variants_of_a_name_still_match(demo: Assistant):
    for question in (
        "What did odile brack deny?",  # case
        "What is Corvane Port Holdings' plan for Eastbank?",  # possessive
        "What did Ketterby's chief executive say?",
    ):
        answer = demo.ask(question)
        assert not answer.filters["evidence"]["missing_names"], question
