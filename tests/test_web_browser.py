"""The running web app driven in headless Chromium (Debian's /usr/bin/chromium, Playwright).

Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
import socket
from datetime import date
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium: apt-get install -y chromium"
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install -e '.[test]'"
)
pytest.importorskip("gradio", reason="the web UI needs gradio: pip install -e '.[test]'")

from assistant import Assistant, Settings  # noqa: E402
from assistant.web import build_app  # noqa: E402

from .conftest import FIXTURE_ARTICLES  # noqa: E402
from .test_web import HOSTILE  # noqa: E402

FERRY = """---
title: Calder Bay ferry fares rise
source: Harbour Ledger
published: 2023-11-21
url: https://harbourledger.example/2023/11/21/ferry-fares
---

The Calder Bay ferry company raised its fares by 12 percent on Tuesday, citing fuel costs.

Commuters from the island of Sorrel Holm said the rise would cost them about 300 dollars a year.
"""


EXAMPLES = (
    "How many dockworkers stopped work at the Port of Calder Bay?",
    "What did the central bank decide about interest rates?",
)

GAZETTE = """---
title: Sorrel Holm opens a lifeboat station
source: Sorrel Gazette
published: 2023-11-23
---

The island of Sorrel Holm opened its first lifeboat station on Thursday, with a crew of 14 volunteers.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """(URL of the running app, its corpus folder)."""
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_ARTICLES, corpus)
    settings = Settings(corpus=corpus, index_dir=root / "index")
    assistant = Assistant.open(settings, reference_date=date(2023, 12, 1))
    demo = build_app(assistant, settings, examples=EXAMPLES)
    port = _free_port()
    demo.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        yield f"http://127.0.0.1:{port}/", corpus
    finally:
        demo.close()
        assistant.close()


@pytest.fixture(scope="module")
def app_url(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.locator("#briefing-question textarea").wait_for()
    return page


@pytest.fixture
def page(browser, app_url):
    page = open_page(browser, app_url)
    yield page
    page.context.close()


def ask(page, question: str) -> None:
    before = page.locator("#briefing-chat .briefing-card, #briefing-chat .briefing-refusal").count()
    page.locator("#briefing-question textarea").fill(question)
    page.locator("#briefing-ask").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#briefing-chat .briefing-card, #briefing-chat .briefing-refusal').length > n",
        arg=before,
        timeout=60_000,
    )


def open_corpus(page) -> None:
    if not page.locator("#briefing-files").is_visible():
        page.get_by_text("Corpus", exact=True).click()
    page.locator("#briefing-files").wait_for()


def upload(page, path: Path) -> str:
    open_corpus(page)
    page.locator("#briefing-files input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(1500)  # the file goes to the server first
    page.locator("#briefing-upload").click()
    notice = page.locator("#briefing-notice")
    sync_api.expect(notice).to_contain_text("Saved", timeout=120_000)
    sync_api.expect(page.locator("#briefing-files")).not_to_contain_text(path.name)  # cleared
    return notice.inner_text()


def open_quote(page, n: int = 1):
    """Click ``[n]`` on the last answer's cards; the source panel's mark once it is shown."""
    card = page.locator(f"#briefing-chat .briefing-card[class$='-{n}']").last
    card.locator(".briefing-n").click()
    mark = page.locator("#briefing-source mark#briefing-quote")
    sync_api.expect(mark).to_be_visible(timeout=30_000)
    return mark


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_question_shows_quote_cards_and_citation_opens_highlighted_source(page):
    ask(page, "How many dockworkers stopped work at the Port of Calder Bay?")
    card = page.locator("#briefing-chat .briefing-card").first
    sync_api.expect(card).to_contain_text("1,400 dockworkers")
    sync_api.expect(card).to_contain_text("Harbour Ledger")
    quotes = page.locator("#briefing-chat .briefing-card-text").all_inner_texts()
    assert len(quotes) == len(set(quotes))
    chat = page.locator("#briefing-chat").inner_text()
    assert all(chat.count(q.strip("“” ")) == 1 for q in quotes), chat  # each quote shown once
    sync_api.expect(page.locator("#briefing-chat .briefing-lead")).to_contain_text("answer")
    mark = open_quote(page, 1)
    sync_api.expect(mark).to_contain_text("dockworkers")
    sync_api.expect(mark).to_be_in_viewport()
    shot(page, "answer-and-source")
    if page.locator("#briefing-chat .briefing-card").count() > 1:  # another card, another span
        first = mark.inner_text()
        mark = open_quote(page, 2)
        sync_api.expect(mark).not_to_have_text(first)
        sync_api.expect(mark).to_be_in_viewport()
        page.locator("#briefing-chat .briefing-card").first.focus()  # and from the keyboard
        page.keyboard.press("Enter")
        sync_api.expect(mark).to_have_text(first)


def test_example_question_asks_and_the_examples_go(page):
    examples = page.locator("#briefing-chat button.example")
    sync_api.expect(examples).to_have_count(len(EXAMPLES))
    examples.first.click()
    card = page.locator("#briefing-chat .briefing-card").first
    sync_api.expect(card).to_contain_text("dockworkers", timeout=60_000)
    sync_api.expect(examples).to_have_count(0)
    page.locator("#briefing-new-chat").click()
    sync_api.expect(examples).to_have_count(len(EXAMPLES))


def test_refusal_is_shown_differently(page):
    ask(page, "What is the best recipe for a sourdough starter?")
    sync_api.expect(page.locator("#briefing-chat .briefing-refusal")).to_contain_text(
        "Closest articles"
    )
    page.locator("#briefing-new-chat").click()
    sync_api.expect(page.locator("#briefing-chat .briefing-refusal")).to_have_count(0)


def test_uploaded_article_answers(page, tmp_path: Path):
    path = tmp_path / "ferry-fares.md"
    path.write_text(FERRY, encoding="utf-8")
    text = upload(page, path)
    assert "Indexed" in text, text
    ask(page, "By how much did the Calder Bay ferry company raise its fares?")
    sync_api.expect(page.locator("#briefing-chat .briefing-card").first).to_contain_text(
        "12 percent"
    )
    shot(page, "uploaded-article")


def test_hostile_article_runs_nothing(page, tmp_path: Path):
    path = tmp_path / "hostile.md"
    path.write_text(HOSTILE, encoding="utf-8")
    text = upload(page, path)
    assert "Indexed" in text, text
    ask(page, "Why did the lighthouse keepers of Gull Point vote to strike?")
    card = page.locator("#briefing-chat .briefing-card").first
    sync_api.expect(card).to_contain_text("<img src=x")  # shown as text
    open_quote(page, 1)
    sync_api.expect(page.locator("#briefing-source")).to_contain_text("<script>")
    open_corpus(page)
    sync_api.expect(page.locator("#briefing-corpus-list")).to_contain_text("<script>")
    page.wait_for_timeout(500)
    shot(page, "hostile-article")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    for where in ("#briefing-chat", "#briefing-source", "#briefing-corpus-list"):
        assert page.locator(f"{where} script, {where} img[src='x']").count() == 0
        hrefs = page.locator(f"{where} a[href]").evaluate_all("els => els.map(e => e.href)")
        assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs


def test_reload_shows_the_index_after_an_upload_elsewhere(browser, app_url, page, tmp_path: Path):
    other = open_page(browser, app_url)  # opened before the upload
    try:
        before = other.locator("#briefing-status").inner_text()
        path = tmp_path / "lifeboat.md"
        path.write_text(GAZETTE, encoding="utf-8")
        assert "Indexed" in upload(page, path)
        after = page.locator("#briefing-status").inner_text()
        assert after != before and "articles" in after, (before, after)
        other.reload()
        sync_api.expect(other.locator("#briefing-status")).to_have_text(after)
        other.get_by_text("Filters", exact=True).click()
        other.locator("#briefing-sources input").click()
        sync_api.expect(other.get_by_role("option", name="Sorrel Gazette")).to_be_visible()
    finally:
        other.context.close()


NOTICE = """---
title: Fares notice to delete
source: Harbour Ledger
published: 2023-11-24
---

The harbour office posted a notice about winter fares on Friday.

Commuters from the island of Sorrel Holm will pay the new winter fares from December.
"""


def test_corpus_panel_opens_and_deletes_an_article(page, served, tmp_path: Path):
    path = tmp_path / "to-delete.md"
    path.write_text(NOTICE, encoding="utf-8")
    upload(page, path)
    listing = page.locator("#briefing-corpus-list")
    sync_api.expect(listing).to_contain_text("Fares notice to delete")
    listing.get_by_text("Fares notice to delete").click()
    source = page.locator("#briefing-source")
    sync_api.expect(source).to_contain_text("to-delete.md")
    sync_api.expect(source).to_contain_text("Commuters from the island of Sorrel Holm")
    before = page.locator("#briefing-status").inner_text()
    page.locator("#briefing-delete").click()
    question = page.locator("#briefing-delete-question")
    sync_api.expect(question).to_contain_text("Delete the file to-delete.md")
    page.locator("#briefing-delete-confirm").click()
    notice = page.locator("#briefing-notice")
    sync_api.expect(notice).to_contain_text("Deleted to-delete.md", timeout=120_000)
    sync_api.expect(listing).not_to_contain_text("Fares notice to delete")
    sync_api.expect(page.locator("#briefing-status")).not_to_have_text(before)
    assert not (served[1] / "to-delete.md").exists()


def test_timeline_panel_and_speakers_on_cards(page):
    ask(page, "What did the Bank of Estmark's governor say about inflation?")
    speaker = page.locator("#briefing-chat .briefing-speaker").first
    sync_api.expect(speaker).to_contain_text("—")  # whose words, on the card
    page.get_by_text("Timeline", exact=True).click()
    page.locator("#briefing-topic textarea, #briefing-topic input").first.fill(
        "Calder Bay dockworkers strike"
    )
    page.locator("#briefing-show-timeline").click()
    view = page.locator("#briefing-timeline-view")
    sync_api.expect(view).to_contain_text("oldest first", timeout=60_000)
    sync_api.expect(view).to_contain_text("Harbour Ledger")
    view.locator(".briefing-event").first.click()  # an entry opens its article
    sync_api.expect(page.locator("#briefing-source")).to_contain_text(
        "Dockworkers at Calder Bay", timeout=30_000
    )
    shot(page, "timeline")
