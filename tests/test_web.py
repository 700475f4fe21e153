"""The web UI's handlers, called directly on a real Assistant over the fixture articles."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web UI needs gradio: pip install -e '.[test]'")

from assistant import (  # noqa: E402
    Assistant,
    Settings,
    TextPiece,
    Written,
    sync_index,
)
from assistant.types import Answer, Article, ArticleRef, Quote  # noqa: E402
from assistant.uploads import article_file, safe_name, store_upload  # noqa: E402
from assistant.web import (  # noqa: E402
    BUNDLED_CORPUS,
    DEMO_QUESTIONS,
    WebHandlers,
    demo_questions,
)
from assistant.web_render import (  # noqa: E402
    MARK_ID,
    article_id_of,
    article_key,
    render_answer,
    render_corpus,
    render_status,
    safe_url,
)

from .conftest import FIXTURE_ARTICLES  # noqa: E402
from .fakes import HashEmbedder  # noqa: E402

HOSTILE = """---
title: "<script>window.__pwned=1</script> Harbour <img src=x onerror=alert(1)> [x](javascript:alert(2))"
source: "<b>Evil Wire</b>"
published: 2023-11-20
url: "javascript:window.__pwned=1"
---

The <img src=x onerror="window.__pwned=1"> lighthouse keepers of Gull Point voted to strike on Monday over pay. <script>window.__pwned=1</script> A spokesperson said 85 keepers would walk out.
"""


def last_answer_html(chat) -> str:
    return chat[-1]["content"]


def run_ask(ui: WebHandlers, question: str, history=None, **filters):
    steps = list(ui.ask(question, [], history or [], **filters))
    return steps, steps[-1]


def quote(n: int = 1, text: str = "About 1,400 dockworkers stopped work.", **fields) -> Quote:
    base = dict(
        article_id=f"a{n}",
        title="Port strike",
        source="Harbour Ledger",
        published="2023-11-08T00:00:00+00:00",
        url=None,
        start=0,
        end=len(text),
    )
    return Quote(n=n, text=text, **{**base, **fields})


def article(locator: str, title: str = "T") -> Article:
    return Article(id="x", locator=locator, title=title, text="text")


# -- pure pieces (fast) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ('https://example.org/"onmouseover=alert(1)', False),
        ("//example.org", False),
        (None, False),
    ],
)
def test_only_http_links_are_emitted(url, ok):
    assert (safe_url(url) is not None) is ok


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../evil.md", "evil.md"),
        ("..\\..\\evil.txt", "evil.txt"),
        ("/etc/passwd", "passwd"),
        ("a b/..//c d.JSON.GZ", "c-d.json.gz"),
        ("...", "article"),
        (".hidden.md", "hidden.md"),
    ],
)
def test_safe_name_keeps_only_a_plain_basename(name, expected):
    assert safe_name(name) == expected


def test_hostile_quote_and_refusal_render_as_text():
    quote = Quote(
        n=1,
        text='<img src=x onerror="window.__pwned=1"> said 85',
        article_id="a",
        title="<script>window.__pwned=1</script> [x](javascript:alert(2))",
        source="<b>Evil</b>",
        published="2023-11-20T00:00:00+00:00",
        url="javascript:window.__pwned=1",
        start=0,
        end=10,
    )
    answer = Answer("q", "q", "“<script>x</script>” [1]", False, quotes=(quote,))
    refusal = Answer(
        "q",
        "q",
        "no",
        True,
        closest=(ArticleRef("a", "<script>t</script>", None, None, "javascript:x"),),
    )
    for out in (render_answer(answer), render_answer(refusal)):
        assert "<script" not in out and "<img" not in out and "<b>Evil" not in out
        assert "href" not in out  # the only URLs are javascript: ones
        assert "](" not in out  # no Markdown link syntax survives for the chat pane
    assert '<img src=x onerror="window.__pwned=1"> said 85' in unescape(render_answer(answer))
    assert "briefing-refusal" in render_answer(refusal)


def test_answer_shows_each_quote_once_under_a_one_line_lead():
    quotes = (
        quote(1),
        quote(2, "The strike ended on Friday.", article_id="a2"),
        quote(3, "Pay rose.", article_id="a2"),
    )
    answer = Answer(
        "q", "q", "“About 1,400 dockworkers stopped work.” [1] ...", False, quotes=quotes
    )
    page = unescape(render_answer(answer, turn=4))
    assert "3 quotes from 2 articles answer this; the best first:" in page
    for q in quotes:
        assert page.count(q.text) == 1, q.text
    assert "briefing-cite-4-1" in page and "briefing-cite-4-3" in page  # what a click opens
    one = unescape(render_answer(Answer("q", "q", "x", False, quotes=quotes[:1])))
    assert "1 quote from 1 article answers this:" in one


@pytest.mark.parametrize(
    "articles, chunks, expected",
    [(1, 1, "1 article, 1 chunk in"), (2, 14, "2 articles, 14 chunks in"), (0, 0, "0 articles")],
)
def test_status_line_counts_in_the_plural(articles, chunks, expected):
    line = unescape(
        render_status({"articles": articles, "chunks": chunks, "built_at": "2025-03-01T10:29:05Z"})
    )
    assert expected in line and "last sync 2025-03-01 10:29 UTC" in line


def test_corpus_list_escapes_every_field_and_opens_by_key():
    hostile = Article(
        id="../id<x>",
        locator="<img src=x onerror=alert(1)>.md",
        title="<script>alert(1)</script> [x](javascript:alert(2))",
        text="",
        source="<b>Evil</b>",
        published="2023-11-20T00:00:00+00:00",
    )
    page = render_corpus([hostile])
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "](" not in page
    assert f"briefing-open-{article_key(hostile.id)}" in page
    assert article_id_of(article_key(hostile.id)) == hostile.id
    assert article_id_of("zz") is None
    assert "1 article in the index" in page


@pytest.mark.parametrize(
    "locator, why",
    [
        (
            "wire.jsonl#https://meridianwire.example/a",
            "record inside the collection file wire.jsonl",
        ),
        ("wire.jsonl", "not the path of an article file"),
        ("../outside.md", "not the path of an article file"),
        ("sub/../../outside.md", "not the path of an article file"),
        ("/etc/passwd", "not the path of an article file"),
        ("missing.md", "no file"),
    ],
)
def test_only_an_indexed_articles_own_file_inside_the_corpus_can_be_deleted(
    tmp_path: Path, locator, why
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wire.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "outside.md").write_text("keep me", encoding="utf-8")
    settings = Settings(corpus=corpus, index_dir=tmp_path / "index")
    with pytest.raises(ValueError, match=re.escape(why)):
        article_file(settings, article(locator))
    (corpus / "sub").mkdir()
    (corpus / "sub" / "a#1.md").write_text("x", encoding="utf-8")
    assert article_file(settings, article("sub/a#1.md")) == (corpus / "sub" / "a#1.md").resolve()


def test_a_one_file_corpus_has_no_article_files_to_delete(tmp_path: Path):
    corpus = tmp_path / "one.md"
    corpus.write_text("Text.", encoding="utf-8")
    with pytest.raises(ValueError, match="one file"):
        article_file(Settings(corpus=corpus, index_dir=tmp_path / "i"), article("one.md"))


def test_demo_questions_only_on_the_bundled_corpus(tmp_path: Path):
    assert demo_questions(Settings(corpus=BUNDLED_CORPUS)) == DEMO_QUESTIONS
    assert 4 <= len(DEMO_QUESTIONS) <= 6
    assert demo_questions(Settings(corpus=tmp_path / "corpus")) == ()


# -- on a real index ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("web")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_ARTICLES, corpus)
    settings = Settings(corpus=corpus, index_dir=root / "index")
    assistant = Assistant.open(settings, reference_date=date(2023, 12, 1))
    ui = WebHandlers(assistant, settings)
    yield ui, settings, root
    assistant.close()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def counts(status_html: str) -> str:
    return unescape(status_html).split(" in the index", 1)[0].rsplit(">", 1)[-1]


@pytest.mark.slow
def test_answer_shows_the_question_at_once_then_the_cards(world):
    ui, _, _ = world
    steps, (chat, history, box, notice) = run_ask(
        ui, "How many dockworkers stopped work at the Port of Calder Bay?"
    )
    first = steps[0][0]
    # the answer composed from quotes is written at once: one update, then the cards
    assert len(steps) == 2 and "briefing-pending" in first[-1]["content"], first
    assert "dockworkers" in unescape(first[-2]["content"])
    html = last_answer_html(chat)
    text = unescape(html)  # Markdown punctuation is sent as entities
    assert "briefing-card" in html and "1,400 dockworkers" in text
    assert "Harbour Ledger" in text and "2023-11-08" in text
    assert 'href="https://harbourledger.example/' in html
    answer = history[-1]
    assert answer.quotes and "briefing-cite-0-1" in html
    for q in answer.quotes:  # the answer is shown once: each quote on its card only
        assert text.count(q.text) == 1, q.text
    assert text.count("answer this") + text.count("answers this") == 1
    assert box == "" and notice == ""


@pytest.mark.slow
def test_citation_opens_the_article_with_the_span_marked(world):
    ui, _, _ = world
    _, (_, history, _, _) = run_ask(
        ui, "How many dockworkers stopped work at the Port of Calder Bay?"
    )
    quote = history[-1].quotes[0]
    for choice in ("1", "0:1", "0:1@7"):  # the last answer's [1]; answer 0's [1], as clicked
        page = ui.show_source(choice, history)
        assert f"<mark id='{MARK_ID}'>" in page
        marked = unescape(page.split(f"<mark id='{MARK_ID}'>", 1)[1].split("</mark>", 1)[0])
        assert marked == quote.text
        assert quote.title in unescape(page)
    assert "Citation [9]" in unescape(ui.show_source("9", history))
    assert "no longer in this chat" in ui.show_source("5:1@2", history)
    assert "no longer in this chat" in ui.show_source("x:1", history)


@pytest.mark.slow
def test_refusal_looks_different_and_lists_closest_articles(world):
    ui, _, _ = world
    _, (chat, history, _, _) = run_ask(ui, "What is the best recipe for a sourdough starter?")
    html = last_answer_html(chat)
    assert history[-1].refused
    assert "briefing-refusal" in html and "Closest articles" in html and "briefing-card" not in html


@pytest.mark.slow
def test_bad_filter_date_is_a_readable_message(world):
    ui, _, _ = world
    _, (chat, history, box, notice) = run_ask(
        ui, "How many dockworkers stopped work?", since="next tuesday-ish"
    )
    assert "Cannot read the date" in notice and "Traceback" not in notice
    assert history == [] and "briefing-error" in last_answer_html(chat)
    assert box == "How many dockworkers stopped work?"  # kept, to correct and ask again


@pytest.mark.slow
def test_source_filter_limits_the_answer(world):
    ui, _, _ = world
    assert "Harbour Ledger" in ui.sources()
    _, (chat, history, *_rest) = run_ask(
        ui, "How many dockworkers stopped work?", sources=["Harbour Ledger"], until="2023-11-08"
    )
    assert all(q.source == "Harbour Ledger" for q in history[-1].quotes)


@pytest.mark.slow
def test_new_chat_clears_history(world):
    ui, _, _ = world
    chat, history, source, notice = ui.new_chat()
    assert chat == [] and history == [] and "Click a quote" in source


@pytest.mark.slow
def test_corpus_panel_lists_and_opens_the_indexed_articles(world):
    ui, _, _ = world
    status, sources, listing, dropdown = ui.index_view()
    articles = ui.articles()
    assert len(articles) == int(counts(status).split()[0])
    page = unescape(listing)
    assert all(a.title in page for a in articles)
    assert "Harbour Ledger" in page and "record in wire.jsonl" in page
    labels = dict((v, k) for k, v in dropdown["choices"])
    port = next(a for a in articles if a.locator == "port-strike.md")
    assert labels[port.id].startswith(port.title) and "Harbour Ledger" in labels[port.id]
    opened, picked = ui.open_listed(f"{article_key(port.id)}@3")
    assert picked["value"] == port.id and "1,400 dockworkers" in unescape(opened)
    assert "<mark" not in opened
    assert ui.open_listed("not-hex@1")[1] == {"__type__": "update"}
    assert "no longer in the index" in ui.open_article("0123456789abcdef")


@pytest.mark.slow
def test_upload_with_a_path_in_its_name_lands_in_the_corpus(world, tmp_path: Path):
    ui, settings, root = world
    evil = write(tmp_path, "evil.md", "The Lowmoor council met on Thursday to discuss bins.\n")
    stored = store_upload(evil, "../../evil.md", settings)
    assert stored.name == "evil.md"
    assert (settings.corpus / "evil.md").is_file()
    assert not (root.parent / "evil.md").exists() and not (root / "evil.md").exists()
    # and the handler indexes what is uploaded: the new article answers
    upload = write(
        tmp_path,
        "ferry.md",
        "---\ntitle: Ferry fares rise\nsource: Harbour Ledger\npublished: 2023-11-21\n---\n\n"
        "The Calder Bay ferry company raised fares by 12 percent on Tuesday, citing fuel costs.\n",
    )
    before, status_before = ui.assistant.index, counts(ui.status())
    notice, files, status, *_view = ui.upload([str(upload)])
    assert "Saved" in notice and "Indexed" in notice, notice
    assert files is None  # the file box is cleared
    assert ui.assistant.index is not before and before.closed  # moved to the new generation
    assert counts(status) != status_before  # the status line is the index's, after the sync
    _, (chat, history, *_r) = run_ask(
        ui, "By how much did the Calder Bay ferry company raise fares?"
    )
    assert any("12 percent" in q.text for q in history[-1].quotes), history[-1].answer


@pytest.mark.slow
def test_page_load_shows_a_sync_made_elsewhere(world, tmp_path: Path):
    ui, settings, _ = world
    write(
        settings.corpus,
        "bakery.md",
        "---\ntitle: Bakery opens\nsource: Lowmoor Post\npublished: 2023-11-22\n---\n\n"
        "A bakery opened on the Lowmoor quay on Wednesday.\n",
    )
    before = counts(ui.status())
    report = sync_index(settings, embedder=ui.assistant.embedder)  # as `briefing index` would
    assert report.added == 1
    status, sources, listing, _ = ui.page_load()
    assert counts(status) != before and f"{report.total_articles} articles" in counts(status)
    assert "Lowmoor Post" in sources["choices"] and "Bakery opens" in unescape(listing)


@pytest.mark.slow
def test_duplicate_upload_is_refused_once_with_where_it_is(world, tmp_path: Path):
    ui, settings, _ = world
    text = (settings.corpus / "port-strike.md").read_text(encoding="utf-8")
    copy = write(tmp_path, "copy.md", text.replace("title:", "title: Copy of", 1))
    notice, files, *_ = ui.upload([str(copy)])
    page = unescape(notice)
    assert "Not stored: copy.md: the same text is already in the corpus (port-strike.md)" in page
    assert page.count("same text") == 1 and "Saved" not in page and files is None
    assert not (settings.corpus / "copy.md").exists()
    # two copies of a new article in one upload: the first is saved, the second refused
    one = write(tmp_path, "one.md", "The Sorrel Holm ferry pier reopened on Monday.\n")
    (tmp_path / "two").mkdir()
    two = write(tmp_path / "two", "one-again.md", one.read_text(encoding="utf-8"))
    notice, *_ = ui.upload([str(one), str(two)])
    page = unescape(notice)
    assert "Saved one.md." in page and "one-again.md: the same text is already" in page, page
    assert page.count("same text") == 1 and "Not indexed" not in page
    assert not (settings.corpus / "one-again.md").exists()


@pytest.mark.slow
def test_delete_removes_the_file_and_resyncs(world, tmp_path: Path):
    ui, settings, _ = world
    upload = write(tmp_path, "gone.md", "The Gull Point ferry timetable changed on Sunday.\n")
    ui.upload([str(upload)])
    gone = next(a for a in ui.articles() if a.locator == "gone.md")
    before = counts(ui.status())
    pending, row, question, notice = ui.ask_delete(gone.id)
    assert pending == gone.id and row["visible"] and "gone.md" in unescape(question)
    notice, source, row, pending, status, _s, listing, dropdown = ui.delete(gone.id)
    assert "Deleted gone.md" in unescape(notice) and "1 removed" in notice, notice
    assert not (settings.corpus / "gone.md").exists()
    assert counts(status) != before and "gone.md" not in unescape(listing)
    assert gone.id not in [v for _, v in dropdown["choices"]] and pending is None
    assert gone.id not in {a.id for a in ui.articles()}


@pytest.mark.slow
def test_delete_refuses_a_collection_record_and_what_is_not_indexed(world):
    ui, settings, _ = world
    files = sorted(p.name for p in settings.corpus.iterdir())
    record = next(a for a in ui.articles() if a.locator.startswith("wire.jsonl#"))
    pending, row, _q, notice = ui.ask_delete(record.id)
    assert pending is None and not row["visible"]
    assert "record inside the collection file wire.jsonl" in unescape(notice)
    notice, *_ = ui.delete(record.id)
    assert "cannot be deleted alone" in unescape(notice) and "briefing-error" in notice
    for bad in ("0123456789abcdef", "../port-strike.md", "port-strike.md", None):
        notice, *_ = ui.delete(bad)
        assert "briefing-error" in notice, bad
    assert sorted(p.name for p in settings.corpus.iterdir()) == files


@pytest.mark.slow
def test_duplicate_name_is_not_overwritten(world, tmp_path: Path):
    _, settings, _ = world
    original = (settings.corpus / "port-strike.md").read_bytes()
    upload = write(
        tmp_path, "port-strike.md", "Tram drivers in Lowmoor accepted a new contract on Friday.\n"
    )
    stored = store_upload(upload, "port-strike.md", settings)
    assert stored.name == "port-strike-2.md"
    assert (settings.corpus / "port-strike.md").read_bytes() == original
    again = store_upload(upload, "port-strike.md", settings)
    assert again.name == "port-strike-3.md"
    (settings.corpus / "port-strike-2.md").unlink()
    (settings.corpus / "port-strike-3.md").unlink()


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, data, why",
    [
        ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20, "binary file"),
        ("notes.pdf", b"%PDF-1.4 hello", "unsupported file type"),
        ("empty.txt", b"", "empty.txt: the file has no article text"),
        ("blank.md", b"  \n\n ", "blank.md: the file has no article text"),
        ("none.json", b"[]", "none.json: holds no records."),
    ],
)
def test_bad_upload_is_refused_and_nothing_is_stored(world, tmp_path: Path, name, data, why):
    ui, settings, _ = world
    before = sorted(p.name for p in settings.corpus.iterdir())
    upload = tmp_path / name
    upload.write_bytes(data)
    notice, files, *_ = ui.upload([str(upload)])
    assert "Not stored" in notice and why in unescape(notice), notice
    assert "delete the file" not in notice  # advice about corpus files, not uploads
    assert "briefing-error" in notice and "Traceback" not in notice and files is None
    assert sorted(p.name for p in settings.corpus.iterdir()) == before


@pytest.mark.slow
def test_too_big_upload_is_refused(world, tmp_path: Path):
    _, settings, _ = world
    small = settings.model_copy(update={"max_file_bytes": 10})
    upload = write(tmp_path, "long.md", "A long article about the harbour.\n")
    stored = store_upload(upload, "long.md", small)
    assert stored.name is None and "over the limit" in stored.reason


@pytest.mark.slow
def test_hostile_article_renders_escaped_everywhere(world, tmp_path: Path):
    ui, _, _ = world
    upload = write(tmp_path, "hostile.md", HOSTILE)
    notice, *_ = ui.upload([str(upload)])
    assert "Indexed" in notice, notice
    _, (chat, history, *_r) = run_ask(
        ui, "Why did the lighthouse keepers of Gull Point vote to strike?"
    )
    answer = history[-1]
    assert not answer.refused and answer.quotes, answer.answer
    hostile = next(a for a in ui.articles() if a.locator == "hostile.md")
    _, listing, _ = ui.index_view()[1:]
    shown = [
        last_answer_html(chat),
        ui.show_source("1", history),
        ui.open_article(hostile.id),
        listing,
    ]
    for out in shown:
        assert "<script" not in out and "<img" not in out and "<b>Evil" not in out
        assert 'href="javascript' not in out.lower() and "](" not in out
    assert "<script>window.__pwned=1</script>" in unescape(shown[1])  # there, as text


@pytest.mark.slow
def test_rebuild_reports_and_reopens(world):
    ui, _, _ = world
    before = ui.assistant.index
    notice, status, *_view = ui.rebuild()
    assert "Rebuilt" in notice and "articles" in status and ui.assistant.index is not before


class _SlowWriter:
    """An answer writer that takes its time, as a language model does."""

    name = "slow"

    def write(self, question, quotes):
        text = ""
        for word in ["<b>Dockworkers</b> ", "stopped ", "work ", "[1]."]:
            time.sleep(0.15)
            text += word
            yield TextPiece(word)
        yield Written(text)


def test_an_answer_is_shown_as_it_is_written_then_replaced_by_the_cards(fake_index: Settings):
    with Assistant(fake_index, HashEmbedder(), answerer=_SlowWriter()) as assistant:
        steps, (chat, history, _box, notice) = run_ask(
            WebHandlers(assistant), "How many dockworkers stopped work at Calder Bay?"
        )
    writing = [step[0][-1]["content"] for step in steps[1:-1]]
    assert len(writing) >= 2, writing  # several updates while it writes, escaped, no cards
    assert all("briefing-writing" in w and "briefing-card" not in w for w in writing)
    assert "<b>" not in writing[-1] and "<b>Dockworkers</b> stopped" in unescape(writing[-1])
    assert notice == "" and "briefing-card" in chat[-1]["content"]
    assert history[-1].answer.startswith("<b>Dockworkers</b>") and history[-1].passages == ()


def test_a_written_answer_is_shown_escaped_with_its_model_above_the_cards():
    base = Answer(
        question="How many?",
        standalone_question="How many?",
        answer="About <b>1,400</b> stopped work [1]. It rained. [unsupported]",
        refused=False,
        quotes=(quote(1),),
    )
    written = replace(
        base,
        generated=True,
        model="smollm2",
        checks=({"kind": "uncited", "action": "marked", "detail": "It rained."},),
    )
    html = render_answer(written)
    assert "<b>1,400</b>" not in html and "About <b>1,400</b> stopped" in unescape(html)
    assert "Written by smollm2" in unescape(html) and "changed 1 place" in html
    assert html.index("briefing-written") < html.index("briefing-card")
    fell = replace(
        base,
        checks=({"kind": "model", "action": "fell back", "detail": "m failed (ConnectionError)"},),
    )
    assert "m failed (ConnectionError); the quotes answer alone." in unescape(render_answer(fell))
    assert "briefing-written" not in render_answer(base) and "briefing-model" not in render_answer(
        base
    )
