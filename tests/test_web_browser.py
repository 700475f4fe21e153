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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_ARTICLES, corpus)
    settings = Settings(corpus=corpus, index_dir=root / "index")
    assistant = Assistant.open(settings, reference_date=date(2023, 12, 1))
    demo = build_app(assistant, settings)
    port = _free_port()
    demo.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        assistant.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    page.locator("#briefing-question textarea").wait_for()
    yield page
    context.close()


def ask(page, question: str) -> None:
    before = page.locator("#briefing-chat .briefing-card, #briefing-chat .briefing-refusal").count()
    page.locator("#briefing-question textarea").fill(question)
    page.locator("#briefing-ask").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#briefing-chat .briefing-card, #briefing-chat .briefing-refusal').length > n",
        arg=before,
        timeout=60_000,
    )


def upload(page, path: Path) -> str:
    accordion = page.get_by_text("Corpus", exact=True)
    if not page.locator("#briefing-files").is_visible():
        accordion.click()
    page.locator("#briefing-files input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(1500)  # the file goes to the server first
    page.locator("#briefing-upload").click()
    notice = page.locator("#briefing-notice")
    sync_api.expect(notice).to_contain_text("Saved", timeout=120_000)
    return notice.inner_text()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_question_shows_quote_cards_and_citation_opens_highlighted_source(page):
    ask(page, "How many dockworkers stopped work at the Port of Calder Bay?")
    card = page.locator("#briefing-chat .briefing-card").first
    sync_api.expect(card).to_contain_text("1,400 dockworkers")
    sync_api.expect(card).to_contain_text("Harbour Ledger")
    page.locator("#briefing-citations label").first.click()
    mark = page.locator("#briefing-source mark#briefing-quote")
    sync_api.expect(mark).to_be_visible(timeout=10_000)
    sync_api.expect(mark).to_contain_text("dockworkers")
    sync_api.expect(mark).to_be_in_viewport()
    shot(page, "answer-and-source")


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
    page.locator("#briefing-citations label").first.click()
    sync_api.expect(page.locator("#briefing-source mark#briefing-quote")).to_be_visible()
    sync_api.expect(page.locator("#briefing-source")).to_contain_text("<script>")
    page.wait_for_timeout(500)
    shot(page, "hostile-article")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    for where in ("#briefing-chat", "#briefing-source", "#briefing-citations"):
        assert page.locator(f"{where} script, {where} img[src='x']").count() == 0
        hrefs = page.locator(f"{where} a[href]").evaluate_all("els => els.map(e => e.href)")
        assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
