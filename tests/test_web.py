"""The web UI's handlers, called directly on a real Assistant over the fixture articles."""

from __future__ import annotations

import shutil
from datetime import date
from html import unescape
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web UI needs gradio: pip install -e '.[test]'")

from assistant import Assistant, Settings  # noqa: E402
from assistant.types import Answer, ArticleRef, Quote  # noqa: E402
from assistant.uploads import safe_name, store_upload  # noqa: E402
from assistant.web import MARK_ID, WebHandlers, render_answer, safe_url  # noqa: E402

from .conftest import FIXTURE_ARTICLES  # noqa: E402

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
    assert "“<script>x</script>” [1]" in unescape(render_answer(answer))  # shown, as text
    assert "briefing-refusal" in render_answer(refusal)


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
    ui.close()
    assistant.close()


@pytest.mark.slow
def test_answer_streams_and_ends_with_quote_cards(world):
    ui, _, _ = world
    steps, (chat, history, choices, box, notice) = run_ask(
        ui, "How many dockworkers stopped work at the Port of Calder Bay?"
    )
    assert len(steps) > 1, "the answer should stream in"
    assert all(len(s[0][-1]["content"]) <= len(chat[-1]["content"]) for s in steps)
    html = last_answer_html(chat)
    text = unescape(html)  # Markdown punctuation is sent as entities
    assert 'class="briefing-card"' in html and "1,400 dockworkers" in text
    assert "Harbour Ledger" in text and "2023-11-08" in text
    assert 'href="https://harbourledger.example/' in html
    assert history[-1].quotes and choices["choices"][0][1] == "1"
    assert box == "" and notice == ""


@pytest.mark.slow
def test_citation_opens_the_article_with_the_span_marked(world):
    ui, _, _ = world
    _, (_, history, _, _, _) = run_ask(
        ui, "How many dockworkers stopped work at the Port of Calder Bay?"
    )
    quote = history[-1].quotes[0]
    page = ui.show_source("1", history)
    assert f"<mark id='{MARK_ID}'>" in page
    marked = unescape(page.split(f"<mark id='{MARK_ID}'>", 1)[1].split("</mark>", 1)[0])
    assert marked == quote.text
    assert quote.title in unescape(page)
    assert "Citation [9]" in unescape(ui.show_source("9", history))


@pytest.mark.slow
def test_refusal_looks_different_and_lists_closest_articles(world):
    ui, _, _ = world
    _, (chat, history, _, _, _) = run_ask(ui, "What is the best recipe for a sourdough starter?")
    html = last_answer_html(chat)
    assert history[-1].refused
    assert "briefing-refusal" in html and "Closest articles" in html and "briefing-card" not in html


@pytest.mark.slow
def test_bad_filter_date_is_a_readable_message(world):
    ui, _, _ = world
    _, (chat, history, _, _, notice) = run_ask(
        ui, "How many dockworkers stopped work?", since="next tuesday-ish"
    )
    assert "Cannot read the date" in notice and "Traceback" not in notice
    assert history == [] and "briefing-error" in last_answer_html(chat)


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
    chat, history, choices, source, notice = ui.new_chat()
    assert chat == [] and history == [] and choices["choices"] == []


@pytest.mark.slow
def test_upload_with_a_path_in_its_name_lands_in_the_corpus(world, tmp_path: Path):
    ui, settings, root = world
    evil = tmp_path / "evil.md"
    evil.write_text("The Lowmoor council met on Thursday to discuss bins.\n", encoding="utf-8")
    stored = store_upload(evil, "../../evil.md", settings)
    assert stored.name == "evil.md"
    assert (settings.corpus / "evil.md").is_file()
    assert not (root.parent / "evil.md").exists() and not (root / "evil.md").exists()
    # and the handler indexes what is uploaded: the new article answers
    upload = tmp_path / "ferry.md"
    upload.write_text(
        "---\ntitle: Ferry fares rise\nsource: Harbour Ledger\npublished: 2023-11-21\n---\n\n"
        "The Calder Bay ferry company raised fares by 12 percent on Tuesday, citing fuel costs.\n",
        encoding="utf-8",
    )
    before = ui.assistant
    notice, status, _ = ui.upload([str(upload)])
    assert "Saved" in notice and "Indexed" in notice, notice
    assert ui.assistant is not before
    _, (chat, history, *_r) = run_ask(
        ui, "By how much did the Calder Bay ferry company raise fares?"
    )
    assert any("12 percent" in q.text for q in history[-1].quotes), history[-1].answer


@pytest.mark.slow
def test_duplicate_name_is_not_overwritten(world, tmp_path: Path):
    _, settings, _ = world
    original = (settings.corpus / "port-strike.md").read_bytes()
    upload = tmp_path / "port-strike.md"
    upload.write_text(
        "Tram drivers in Lowmoor accepted a new contract on Friday.\n", encoding="utf-8"
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
        ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20, ""),
        ("notes.pdf", b"%PDF-1.4 hello", "unsupported file type"),
        ("empty.txt", b"", ""),
    ],
)
def test_bad_upload_is_refused_and_nothing_is_stored(world, tmp_path: Path, name, data, why):
    ui, settings, _ = world
    before = sorted(p.name for p in settings.corpus.iterdir())
    upload = tmp_path / name
    upload.write_bytes(data)
    notice, _, _ = ui.upload([str(upload)])
    assert "Not stored" in notice and name in notice and why in notice
    assert "briefing-error" in notice and "Traceback" not in notice
    assert sorted(p.name for p in settings.corpus.iterdir()) == before


@pytest.mark.slow
def test_too_big_upload_is_refused(world, tmp_path: Path):
    _, settings, _ = world
    small = settings.model_copy(update={"max_file_bytes": 10})
    upload = tmp_path / "long.md"
    upload.write_text("A long article about the harbour.\n", encoding="utf-8")
    stored = store_upload(upload, "long.md", small)
    assert stored.name is None and "over the limit" in stored.reason


@pytest.mark.slow
def test_hostile_article_renders_escaped_everywhere(world, tmp_path: Path):
    ui, _, _ = world
    upload = tmp_path / "hostile.md"
    upload.write_text(HOSTILE, encoding="utf-8")
    notice, _, _ = ui.upload([str(upload)])
    assert "Indexed" in notice, notice
    _, (chat, history, *_r) = run_ask(
        ui, "Why did the lighthouse keepers of Gull Point vote to strike?"
    )
    answer = history[-1]
    assert not answer.refused and answer.quotes, answer.answer
    shown = [last_answer_html(chat), ui.show_source("1", history)]
    for out in shown:
        assert "<script" not in out and "<img" not in out and "<b>Evil" not in out
        assert 'href="javascript' not in out.lower() and "](" not in out
    assert "<script>window.__pwned=1</script>" in unescape(shown[1])  # there, as text


@pytest.mark.slow
def test_rebuild_reports_and_reopens(world):
    ui, _, _ = world
    before = ui.assistant
    notice, status, _ = ui.rebuild()
    assert "Rebuilt" in notice and "articles" in status and ui.assistant is not before
