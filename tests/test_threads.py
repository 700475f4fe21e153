"""One Assistant, many threads: the store, Chroma and BM25 shared; closing; generation swaps.

The first two tests are fast (a store written here; the fake embedder); the rest use the real
bundled model and a real Chroma store over the fixture articles, built once for the module.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from html import unescape
from pathlib import Path

import pytest

from assistant import Assistant, RefusalPolicy, Settings, sync_index
from assistant.errors import AssistantClosedError, BriefingError
from assistant.store import ArticleStore
from assistant.types import Answer, Article, Chunk, chunk_id

from .conftest import FIXTURE_ARTICLES, SEED_ARTICLE
from .fakes import HashEmbedder

QUESTIONS = (
    "How many dockworkers stopped work at the Port of Calder Bay?",
    "Why did the dockworkers at Calder Bay go on strike?",
    "Did the Kremlin accept European peacekeepers in Ukraine?",
    "What did the Bank of Estmark decide about its key rate?",
    "When did the Riverside tram line open and what did it cost?",
    "Which chips will need an export licence in Valdoria?",
    "What was reported on 15 November 2023?",
    "What is the best recipe for a sourdough starter?",
)
CLOSED = "the assistant is closed; open it again with Assistant.open(...)"


def same(a: Answer, b: Answer) -> bool:
    """The same answer, whatever the timings."""
    return (a.answer, a.quotes, a.refused, a.closest, [p.chunk_id for p in a.passages]) == (
        b.answer,
        b.quotes,
        b.refused,
        b.closest,
        [p.chunk_id for p in b.passages],
    )


# -- the article store from many threads (fast) ------------------------------------------------
def test_one_store_serves_many_threads(tmp_path: Path):
    with ArticleStore(tmp_path) as writer:
        for n in range(20):
            text = f"Article {n} says one thing. It then says another thing."
            article = Article(id=f"a{n:02}", locator=f"a{n:02}.md", title=f"T{n}", text=text)
            spans = [(0, text.index(" It")), (text.index(" It") + 1, len(text))]
            chunks = [
                Chunk(chunk_id(article.id, s, e), article.id, s, e, text[s:e], ((s, e),))
                for s, e in spans
            ]
            writer.put_article(article, chunks, [["one"], ["anoth"]])
        writer.commit()
    store = ArticleStore(tmp_path, readonly=True)
    half_read = store.chunks()  # a generator left open on this thread ...
    first = next(half_read)

    def read(n: int) -> tuple[int, int, str]:  # ... while other threads read
        article = store.article(f"a{n % 20:02}")
        assert article is not None
        return len(list(store.chunks())), len(list(store.articles())), article.title

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, range(400)))
    assert {(c, a) for c, a, _t in results} == {(40, 20)}
    assert [t for *_x, t in results][:3] == ["T0", "T1", "T2"]
    rest = list(half_read)
    assert [first, *rest] == list(store.chunks()) and first.text == "Article 0 says one thing."
    store.close()
    store.close()  # twice is fine


class _HeldEmbedder(HashEmbedder):
    """The fake embedder, whose question vectors wait until the test lets them go."""

    def __init__(self) -> None:
        super().__init__()
        self.asking = threading.Event()
        self.release = threading.Event()

    def embed_query(self, text: str) -> list[float]:
        self.asking.set()
        assert self.release.wait(10)
        return super().embed_query(text)


def test_a_sync_swaps_generations_under_a_question_and_closes_the_old_after_it(tmp_path: Path):
    shutil.copytree(FIXTURE_ARTICLES, tmp_path / "corpus")
    settings = Settings(corpus=tmp_path / "corpus", index_dir=tmp_path / "index")
    embedder = _HeldEmbedder()
    sync_index(settings, embedder=embedder)
    loose = settings.model_copy(update={"refusal": RefusalPolicy(min_similarity=0.1)})
    assistant = Assistant(loose, embedder)
    old = assistant.index
    with ThreadPoolExecutor(1) as pool:
        asking = pool.submit(assistant.ask, "How many dockworkers stopped work at Calder Bay?")
        assert embedder.asking.wait(10)  # the question has started on the old generation
        (tmp_path / "corpus" / "pier.md").write_text(
            "The Sorrel Holm pier has a new gangway, 14 metres long.\n", encoding="utf-8"
        )
        report = assistant.sync()
        assert report.added == 1 and assistant.index is not old
        assert assistant.index.generation.name == "gen-000002"
        assert not old.closed, "closed under a question"
        embedder.release.set()
        answer = asking.result()
    assert not answer.refused and answer.quotes
    assert old.closed and not assistant.index.closed  # closed once its last question ended
    assert assistant.refresh() is False  # nothing newer on disk
    assert any("gangway" in q.text for q in assistant.ask("How long is the new gangway?").quotes)
    assistant.close()
    assert assistant.index.closed


# -- on a real index ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("threads")
    shutil.copytree(FIXTURE_ARTICLES, root / "corpus")
    shutil.copy(SEED_ARTICLE, root / "corpus" / "article-000.txt")
    settings = Settings(corpus=root / "corpus", index_dir=root / "index")
    sync_index(settings)
    return settings


@pytest.mark.slow
def test_eight_threads_get_the_answers_one_thread_gets(built: Settings):
    # the answers to compare with, from another Assistant (this loads the model, once)
    with Assistant.open(built, reference_date=date(2023, 12, 1)) as alone:
        expected = {q: alone.ask(q) for q in QUESTIONS}
        earlier = [expected[QUESTIONS[1]]]
        follow_up = alone.ask("What did the company say about that?", history=earlier)
    assert sum(not a.refused for a in expected.values()) >= 5
    expected["follow-up"] = follow_up

    def asks(worker: int) -> list[tuple[str, Answer]]:
        out = []
        for n in range(25):
            if n % 5 == 4:
                out.append(("follow-up", shared.ask(follow_up.question, history=earlier)))
            else:
                question = QUESTIONS[(worker + n) % len(QUESTIONS)]
                out.append((question, shared.ask(question)))
        return out

    # a fresh Assistant: its first reads of the store (article texts) come from the 8 threads
    with Assistant.open(built, reference_date=date(2023, 12, 1)) as shared:
        with ThreadPoolExecutor(8) as pool:
            results = [pair for batch in pool.map(asks, range(8)) for pair in batch]
    assert len(results) == 8 * 25
    for question, answer in results:
        assert same(answer, expected[question]), question


@pytest.mark.slow
def test_retriever_ainvoke_on_a_cold_assistant(built: Settings):
    # opened on one thread; the event loop runs on this one and LangChain searches on its
    # executor: no article text is cached yet, so every read of the store is a first
    with ThreadPoolExecutor(1) as pool:
        fresh = pool.submit(Assistant.open, built).result()
    try:
        retriever = fresh.as_retriever(k=3)

        async def ask() -> list:
            first = await retriever.ainvoke("tram line to Riverside")
            more = await asyncio.gather(*(retriever.ainvoke(q) for q in QUESTIONS[:4]))
            return [first, *more]

        results = asyncio.run(ask())
        assert all(results) and "tram" in results[0][0].metadata["title"].lower()
        for doc in (d for docs in results for d in docs):
            article = fresh.index.article(doc.metadata["article_id"])
            assert article.text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    finally:
        fresh.close()


@pytest.mark.slow
def test_a_closed_assistant_says_so(built: Settings):
    closed = Assistant.open(built)
    closed.ask(QUESTIONS[0])
    closed.close()
    closed.close()  # twice is fine
    calls = {
        "ask": lambda: closed.ask(QUESTIONS[0]),
        "search": lambda: closed.search("strike"),
        "chat": lambda: closed.chat().ask(QUESTIONS[0]),
        "invoke": lambda: closed.as_retriever().invoke("strike"),
        "ainvoke": lambda: asyncio.run(closed.as_retriever().ainvoke("strike")),
    }
    for name, call in calls.items():
        with pytest.raises(AssistantClosedError) as raised:
            call()
        assert str(raised.value) == CLOSED, name
    assert issubclass(AssistantClosedError, BriefingError)


@pytest.mark.slow
def test_closing_under_questions_gives_answers_or_the_closed_error(built: Settings):
    shared = Assistant.open(built)
    shared.ask(QUESTIONS[0])
    closing = threading.Event()

    def asks(worker: int) -> list[str]:
        seen = []
        while len(seen) < 200:
            try:
                shared.ask(QUESTIONS[worker % len(QUESTIONS)])
                seen.append("answered")
            except AssistantClosedError:
                seen.append("closed")
                if shared.index.closed:  # the last question on it has ended
                    break
            if len(seen) == 3:
                closing.set()
        return seen

    with ThreadPoolExecutor(6) as pool:
        running = [pool.submit(asks, n) for n in range(6)]
        assert closing.wait(60)
        shared.close()
        outcomes = [r.result() for r in running]  # anything else would be raised here
    assert all(seen[-1] == "closed" for seen in outcomes)


@pytest.mark.slow
def test_questions_keep_coming_while_the_web_ui_swaps_generations(built: Settings, tmp_path: Path):
    pytest.importorskip("gradio", reason="the web UI needs gradio: pip install -e '.[test]'")
    from assistant.web import WebHandlers

    shutil.copytree(built.corpus, tmp_path / "corpus")
    shutil.copytree(built.index_dir, tmp_path / "index")
    settings = Settings(corpus=tmp_path / "corpus", index_dir=tmp_path / "index")
    callers = Assistant.open(settings, reference_date=date(2023, 12, 1))
    ui = WebHandlers(callers, settings)
    first = ui.assistant.index
    started = [threading.Event() for _ in range(4)]
    stop = threading.Event()
    answered: list[int] = []

    def asks(worker: int) -> list[str]:
        notices = []
        while not stop.is_set():
            question = QUESTIONS[worker % len(QUESTIONS)]
            *_, (_chat, history, _box, notice) = ui.ask(question, [], [])
            notices.append(notice or ("" if history else "no answer"))
            answered.append(worker)
            started[worker].set()
        return notices

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    ferry = uploads / "ferry.md"
    ferry.write_text(
        "---\ntitle: Sorrel Holm ferry pier reopens\nsource: Harbour Ledger\n"
        "published: 2023-11-28\n---\n\n"
        "The Sorrel Holm ferry pier reopened on Monday after a storm closed it for nine days.\n",
        encoding="utf-8",
    )
    pier = uploads / "pier.md"
    pier.write_text("The Sorrel Holm pier has a new gangway, 14 metres long.\n", encoding="utf-8")
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(asks, n) for n in range(4)]
        assert all(s.wait(60) for s in started)  # everyone is asking before the first swap
        before = len(answered)
        swaps = [ui.upload([str(ferry)]), ui.upload([str(pier)])]
        during = len(answered) - before
        stop.set()
        notices = [n for r in running for n in r.result()]
    for notice, *_view in swaps:
        assert "Indexed" in unescape(notice) and "1 added" in notice, notice
    assert during > 0 and set(notices) == {""}, set(notices)
    assert ui.assistant.index is not first and first.closed
    assert ui.assistant.index.generation.name == "gen-000003"
    *_, (_chat, history, _box, notice) = ui.ask(
        "When did the Sorrel Holm ferry pier reopen?", [], []
    )
    assert notice == "" and any("Sorrel Holm" in q.text for q in history[-1].quotes)
    callers.close()
    assert ui.assistant.index.closed
