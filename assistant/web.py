"""The Gradio UI, built from an ``Assistant`` passed in: chat, quote cards, source, corpus.

    demo = build_app(assistant, settings)
    demo.launch(server_name="127.0.0.1")

Three parts, three modules:

    web_render    pure functions: Answer / Article / index status -> HTML, and the page's click
                  script (a click on a quote card opens it in its article).
    web_handlers  ``WebHandlers``: the event handlers as plain methods (tests call them
                  directly), over an Assistant they keep current.
    web           (here) ``build_app``: the layout and the wiring of events to handlers, and
                  ``serve``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from . import Assistant, ConfigError, Settings
from .web_handlers import WebHandlers
from .web_render import (
    CITE_BOX,
    CLICK_JS,
    OPEN_BOX,
    SCROLL_TO_MARK_JS,
    SCROLL_TO_SOURCE_JS,
    SOURCE_HINT,
)

__all__ = [
    "BUNDLED_CORPUS",
    "DEMO_QUESTIONS",
    "WebHandlers",
    "build_app",
    "demo_questions",
    "serve",
]

BUNDLED_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
"""The demo briefing shipped with the project; its example questions are offered only on it."""
DEMO_QUESTIONS: tuple[str, ...] = (
    "How many jobs are at risk at the Eastbank terminal?",
    "What did Odile Brack deny?",
    "When did the harbour board vote on the Eastbank automation plan?",
    "How much will the Eastbank automation cost?",
    "What happened after Ketterby admitted the breach?",
)
"""Clickable questions shown in the empty chat when the app serves ``BUNDLED_CORPUS``."""


def demo_questions(settings: Settings) -> tuple[str, ...]:
    """``DEMO_QUESTIONS`` if ``settings.corpus`` is the bundled corpus folder, else none."""
    try:
        bundled = Path(settings.corpus).resolve() == BUNDLED_CORPUS
    except OSError:
        bundled = False
    return DEMO_QUESTIONS if bundled else ()


# -- layout ----------------------------------------------------------------------------------
def build_app(
    assistant: Assistant, settings: Settings, *, examples: Sequence[str] | None = None
) -> gr.Blocks:
    """The Gradio app over ``assistant``; ``settings`` gives the corpus folder and limits.

    ``examples`` are questions offered in the empty chat; by default ``DEMO_QUESTIONS`` when
    ``settings.corpus`` is the bundled corpus folder, else none.
    """
    ui = WebHandlers(assistant, settings)
    shown_examples = demo_questions(settings) if examples is None else tuple(examples)
    status0, sources0, corpus0, articles0 = ui.index_view()
    with gr.Blocks(title="Briefing Assistant", analytics_enabled=False) as demo:
        gr.Markdown("# Briefing Assistant\nAnswers quote the articles' own words.")
        status = gr.HTML(status0, elem_id="briefing-status")
        notice = gr.HTML("", elem_id="briefing-notice")
        history = gr.State([])
        pending_delete = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="briefing-chat",
                    height=560,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy_all"],  # no "share" (it posts to Hugging Face)
                    examples=[{"text": q} for q in shown_examples] or None,
                )
                question = gr.Textbox(
                    label="Question",
                    placeholder="Ask about the articles…",
                    elem_id="briefing-question",
                )
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="briefing-ask")
                    new_chat = gr.Button("New chat", elem_id="briefing-new-chat")
                with gr.Accordion("Filters", open=False):
                    sources = gr.Dropdown(
                        choices=sources0["choices"],
                        multiselect=True,
                        label="Sources",
                        elem_id="briefing-sources",
                    )
                    with gr.Row():
                        since = gr.Textbox(label="Since (YYYY-MM-DD)", elem_id="briefing-since")
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", elem_id="briefing-until")
            with gr.Column(scale=2):
                source = gr.HTML(SOURCE_HINT, elem_id="briefing-source")
                with gr.Accordion("Timeline", open=False, elem_id="briefing-timeline"):
                    with gr.Row():
                        topic = gr.Textbox(
                            label="Topic",
                            placeholder="e.g. Ketterby breach",
                            elem_id="briefing-topic",
                        )
                        topic_since = gr.Textbox(
                            label="Since (optional)", elem_id="briefing-topic-since"
                        )
                    show_timeline = gr.Button(
                        "Show how the story moved", elem_id="briefing-show-timeline", size="sm"
                    )
                    timeline = gr.HTML("", elem_id="briefing-timeline-view")
                with gr.Accordion("Corpus", open=False, elem_id="briefing-corpus"):
                    corpus_list = gr.HTML(corpus0, elem_id="briefing-corpus-list")
                    article_pick = gr.Dropdown(
                        choices=articles0["choices"],
                        value=None,
                        label="Article",
                        elem_id="briefing-article",
                    )
                    delete = gr.Button("Delete its file…", elem_id="briefing-delete", size="sm")
                    with gr.Row(visible=False) as confirm_row:
                        confirm_text = gr.HTML("", elem_id="briefing-delete-question")
                        confirm = gr.Button(
                            "Delete", variant="stop", elem_id="briefing-delete-confirm", size="sm"
                        )
                        cancel = gr.Button("Cancel", elem_id="briefing-delete-cancel", size="sm")
                    files = gr.File(
                        file_count="multiple",
                        type="filepath",
                        label="Add article files",
                        elem_id="briefing-files",
                    )
                    with gr.Row():
                        upload = gr.Button("Add to corpus", elem_id="briefing-upload")
                        rebuild = gr.Button("Rebuild index", elem_id="briefing-rebuild")
        cite = gr.Textbox(visible="hidden", elem_id=CITE_BOX)
        opened = gr.Textbox(visible="hidden", elem_id=OPEN_BOX)

        view = [status, sources, corpus_list, article_pick]
        asked = [question, chatbot, history, sources, since, until]
        answered = [chatbot, history, question, notice]
        ask.click(ui.ask, asked, answered)
        question.submit(ui.ask, asked, answered)
        chatbot.example_select(ui.ask_example, asked[1:], answered)
        new_chat.click(ui.new_chat, None, [chatbot, history, source, notice])
        chatbot.clear(ui.new_chat, None, [chatbot, history, source, notice])
        cite.change(ui.show_source, [cite, history], source).then(None, js=SCROLL_TO_MARK_JS)
        opened.change(ui.open_listed, opened, [source, article_pick]).then(
            None, js=SCROLL_TO_SOURCE_JS
        )
        show_timeline.click(ui.timeline, [topic, topic_since], timeline)
        topic.submit(ui.timeline, [topic, topic_since], timeline)
        article_pick.select(ui.open_article, article_pick, source)
        article_pick.change(ui.cancel_delete, None, [pending_delete, confirm_row])
        delete.click(
            ui.ask_delete, article_pick, [pending_delete, confirm_row, confirm_text, notice]
        )
        confirm.click(
            ui.delete, pending_delete, [notice, source, confirm_row, pending_delete, *view]
        )
        cancel.click(ui.cancel_delete, None, [pending_delete, confirm_row])
        upload.click(ui.upload, files, [notice, files, *view])
        rebuild.click(ui.rebuild, None, [notice, *view])
        demo.load(ui.page_load, None, view)
        demo.load(None, js=CLICK_JS)
    return demo


def _login(auth: str | None) -> tuple[str, str] | None:
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not (sep and user and password):
        raise ConfigError("BRIEFING_AUTH must look like user:password")
    return user, password


def serve(settings: Settings, *, progress: Callable[[str, int, int], None] | None = None) -> None:
    """Open the index (building it from the corpus first if missing) and serve the UI.

    Binds ``settings.host:settings.port`` (127.0.0.1:7860 by default); never opens a public
    share link. Gradio is launched quiet (its start-up lines suggest ``share=True``), so the
    address is printed here, and the call blocks until Ctrl+C.
    """
    login = _login(settings.auth)
    with Assistant.open(settings, progress=progress) as assistant:
        # load the model, the catalog and BM25 now, not under the first visitor's question
        print("Loading the model and the index…", file=sys.stderr)
        assistant.search("warm up", k=1)
        demo = build_app(assistant, settings)
        # the index is safe to share between threads: answer up to four questions at once
        demo.queue(default_concurrency_limit=4)
        demo.launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=login,
            share=False,
            max_file_size=settings.max_file_bytes,
            quiet=True,
            prevent_thread_lock=True,
        )
        print(f"Briefing Assistant on {demo.local_url} (Ctrl+C stops it)", file=sys.stderr)
        try:
            demo.block_thread()
        finally:
            demo.close()
