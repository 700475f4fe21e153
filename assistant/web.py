"""The Gradio UI, built from an ``Assistant`` passed in: chat, quote cards, sources, corpus.

    demo = build_app(assistant, settings)
    demo.launch(server_name="127.0.0.1")

Three parts, top to bottom:

    render      pure functions: Answer / Article -> HTML. Article text, titles and sources are
                data: every one goes through ``_text`` (HTML- and Markdown-escaped) and a link
                is emitted only for an http(s) URL (``safe_url``).
    WebHandlers the event handlers as plain methods (tests call them directly). They own the
                current Assistant and swap it for one on the new index generation after an
                upload or a rebuild. Errors come back as a readable notice, never a traceback.
    build_app   the layout and the wiring of events to handlers; nothing else.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import gradio as gr

from .api import Assistant
from .config import Settings
from .dates import parse_date
from .errors import BriefingError, ConfigError
from .index import open_index, sync_index
from .retrieval import Filters
from .types import Answer, Article, ArticleRef, IndexReport, Quote
from .uploads import store_checked

logger = logging.getLogger(__name__)

MARK_ID = "briefing-quote"
"""The id of the highlighted span in the source panel (scrolled into view after it opens)."""
_STREAM_WORDS = 6
_DAY = 86_400
T = TypeVar("T")

# -- render ----------------------------------------------------------------------------------
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$"})


def _text(value: object) -> str:
    """Article data as inert text: HTML and Markdown/LaTeX punctuation as numeric entities.

    The chat pane renders Markdown: escaping HTML alone would let a title like
    ``[x](javascript:..)`` become a link there. One pass, so no entity is escaped twice.
    """
    return str(value).translate(_ENTITIES)


def safe_url(url: str | None) -> str | None:
    """The URL escaped for an ``href`` if it is an absolute http(s) URL, else None."""
    if not url:
        return None
    url = url.strip()
    if any(ord(c) < 33 or c in "\"'<>`\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return html.escape(url, quote=True)


def _title_html(title: str, url: str | None) -> str:
    href = safe_url(url)
    shown = f"“{_text(title)}”"
    if href is None:
        return shown
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{shown}</a>'


def _meta(source: str | None, published: str | None) -> str:
    return " · ".join(_text(p) for p in (source, (published or "")[:10]) if p)


_CARD = "border:1px solid #c7d2fe;border-left:4px solid #4f46e5;border-radius:6px;padding:6px 10px;margin:6px 0;"
_REFUSAL = "border:1px solid #fcd34d;border-left:4px solid #d97706;background:#fffbeb;color:#78350f;border-radius:6px;padding:8px 10px;"
_ERROR = "border:1px solid #fca5a5;border-left:4px solid #dc2626;background:#fef2f2;color:#7f1d1d;border-radius:6px;padding:8px 10px;"


def render_quote(quote: Quote) -> str:
    """One quote card: the verbatim text, [n], source, date, title (linked if http(s))."""
    speaker = f" — {_text(quote.speaker)}" if quote.speaker else ""
    meta = _meta(quote.source, quote.published)
    return (
        f'<div class="briefing-card" data-n="{quote.n}" style="{_CARD}">'
        f'<div class="briefing-card-text">“{_text(quote.text)}” <b>[{quote.n}]</b>{speaker}</div>'
        f'<div class="briefing-card-meta" style="font-size:0.85em;opacity:0.8">'
        f"[{quote.n}] {meta + ' · ' if meta else ''}{_title_html(quote.title, quote.url)}</div>"
        "</div>"
    )


def _closest_item(ref: ArticleRef) -> str:
    meta = _meta(ref.source, ref.published)
    return f"<li>{_title_html(ref.title, ref.url)}{f' ({meta})' if meta else ''}</li>"


def render_answer(answer: Answer) -> str:
    """The chat message of an answer: the composed text and a card per quote, or a refusal."""
    if answer.refused:
        reason = answer.refusal_reason or "The articles do not answer this."
        closest = "".join(_closest_item(ref) for ref in answer.closest)
        return (
            f'<div class="briefing-refusal" style="{_REFUSAL}">'
            f"<b>The articles do not answer this.</b> {_text(reason)}"
            + (f"<div>Closest articles:</div><ul>{closest}</ul>" if closest else "")
            + "</div>"
        )
    lead = f'<div class="briefing-answer" style="white-space:pre-wrap">{_text(answer.answer)}</div>'
    return lead + "".join(render_quote(q) for q in answer.quotes)


def render_partial(text: str) -> str:
    return f'<div class="briefing-answer" style="white-space:pre-wrap">{_text(text)}</div>'


def render_error(message: str) -> str:
    return f'<div class="briefing-error" role="alert" style="{_ERROR}">{_text(message)}</div>'


def render_notice(message: str) -> str:
    return f'<div class="briefing-notice" role="status">{_text(message)}</div>'


def render_source(article: Article, start: int, end: int) -> str:
    """The article with ``text[start:end]`` in a ``<mark id=MARK_ID>``, all of it escaped."""
    text = article.text
    meta = _meta(article.source, article.published)
    return (
        '<div class="briefing-source">'
        f"<h3 style='margin:0 0 4px'>{_title_html(article.title, article.url)}</h3>"
        f"<div style='font-size:0.85em;opacity:0.8'>{meta}</div>"
        '<div class="briefing-source-text" style="white-space:pre-wrap;max-height:60vh;'
        'overflow-y:auto;margin-top:8px">'
        f"{_text(text[:start])}<mark id='{MARK_ID}'>{_text(text[start:end])}</mark>"
        f"{_text(text[end:])}</div></div>"
    )


SOURCE_HINT = render_notice("Pick a citation of the last answer to read it in its article.")


def _citation_label(quote: Quote) -> str:
    """``[1] “About 1,400 dockworkers at…” — Source, 2023-11-08`` (Gradio escapes labels)."""
    meta = ", ".join(p for p in (quote.source, (quote.published or "")[:10]) if p)
    words = quote.text.split()
    snippet = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
    return f"[{quote.n}] “{snippet}”" + (f" — {meta}" if meta else "")


# -- handlers --------------------------------------------------------------------------------
ProgressFn = Callable[..., Any]
_TRACKED = gr.Progress()
"""Gradio passes its progress bar to a handler parameter whose default is a ``gr.Progress``."""


def _assistant_like(model: Assistant, settings: Settings) -> Assistant:
    """An Assistant on the index in use, sharing ``model``'s embedder (loaded once) and options."""
    return Assistant(
        open_index(settings),
        model.embedder,
        reference_date=model.reference_date,
        retrieval=model.retrieval,
        quotes=model.quotes,
        refusal=model.refusal,
    )


class WebHandlers:
    """The UI's event handlers over the current Assistant (replaced after a sync).

    Gradio calls handlers on worker threads, but the index's SQLite connection may only be
    used on the thread that opened it. So the handlers keep their own Assistant (same model
    and options as the one passed in, which stays the caller's to close), open it on one
    dedicated thread, and run everything that reads the index there, one call at a time. A
    sync runs on the caller's thread: answers keep coming from the old generation meanwhile.
    """

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.settings = settings
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="briefing-index")
        self._syncing = threading.Lock()
        self.assistant: Assistant = self._run(_assistant_like, assistant, settings)

    def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the thread that owns the current Assistant."""
        return self._worker.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self._run(self.assistant.close)
        self._worker.shutdown()

    # status and filters
    def status(self) -> str:
        s = self._run(lambda: self.assistant.index.status())
        return render_notice(
            f"{s['articles']} articles, {s['chunks']} chunks in the index · "
            f"last sync {s.get('built_at') or 'unknown'}"
        )

    def sources(self) -> list[str]:
        return self._run(lambda: list(self.assistant.catalog.sources))

    @staticmethod
    def filters(sources: Sequence[str] | None, since: str | None, until: str | None) -> Filters:
        """Filters from the form; a date it cannot read raises ``ValueError`` saying which."""
        start = end = None
        for label, value in (("Since", since), ("Until", until)):
            if not value or not str(value).strip():
                continue
            parsed = parse_date(str(value).strip())
            if parsed is None:
                raise ValueError(
                    f"Cannot read the date {value!r} in '{label}'; write it like 2023-11-27."
                )
            if label == "Since":
                start = parsed[1]
            else:  # inclusive: a bare date means up to the end of that day
                end = parsed[1] + (_DAY if len(str(value).strip()) <= 10 else 1)
        return Filters(sources=tuple(sources or ()), start_ts=start, end_ts=end)

    # chat
    def ask(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        history: list[Answer] | None,
        sources: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], list[Answer], Any, str, str]]:
        """Stream (chat, history, citation choices, question box, notice) as the answer grows."""
        chat, history = list(chat or []), list(history or [])
        question = (question or "").strip()
        if not question:
            yield chat, history, gr.update(), "", render_error("Type a question first.")
            return
        chat.append({"role": "user", "content": _text(question)})
        try:
            filters = self.filters(sources, since, until)
            answer = self._run(
                lambda: self.assistant.ask(question, history=history, filters=filters)
            )
        except (BriefingError, ValueError) as exc:
            chat.append({"role": "assistant", "content": render_error(str(exc))})
            yield chat, history, gr.update(), question, render_error(str(exc))
            return
        except Exception as exc:  # the page must show a message, not a stack trace
            logger.exception("answering %r failed", question)
            message = f"Something went wrong while answering ({type(exc).__name__}: {exc})."
            chat.append({"role": "assistant", "content": render_error(message)})
            yield chat, history, gr.update(), question, render_error(message)
            return
        history.append(answer)
        if not answer.refused:  # stream the composed text, then the cards
            words = answer.answer.split(" ")
            for n in range(_STREAM_WORDS, len(words), _STREAM_WORDS):
                partial = chat + [
                    {"role": "assistant", "content": render_partial(" ".join(words[:n]))}
                ]
                yield partial, history, gr.update(), "", ""
        chat.append({"role": "assistant", "content": render_answer(answer)})
        choices = [(_citation_label(q), str(q.n)) for q in answer.quotes]
        yield chat, history, gr.update(choices=choices, value=None), "", ""

    def new_chat(self) -> tuple[list[Any], list[Answer], Any, str, str]:
        return [], [], gr.update(choices=[], value=None), SOURCE_HINT, ""

    def show_source(self, choice: str | None, history: list[Answer] | None) -> str:
        """The article of citation ``choice`` of the last answer, the quote highlighted."""
        if not choice or not history:
            return SOURCE_HINT
        quote = next((q for q in history[-1].quotes if str(q.n) == str(choice)), None)
        if quote is None:
            return render_error(f"Citation [{choice}] is not in the last answer.")
        article = self._run(lambda: self.assistant.index.article(quote.article_id))
        if article is None:
            return render_error("That article is no longer in the index; ask the question again.")
        if article.text[quote.start : quote.end] != quote.text:
            return render_error("The article changed since this answer; ask the question again.")
        return render_source(article, quote.start, quote.end)

    # corpus
    def upload(
        self, files: Sequence[Any] | None, progress: ProgressFn = _TRACKED
    ) -> tuple[str, str, Any]:
        """Check and store uploaded files, index them, reopen. Returns (notice, status, sources)."""
        paths = [Path(getattr(f, "name", f)) for f in files or ()]
        if not paths:
            return (
                render_error("Choose one or more article files first."),
                self.status(),
                gr.update(),
            )
        known = self._run(
            lambda: {a.content_hash for a in self.assistant.catalog.articles.values()} - {""}
        )
        stored = [store_checked(p, self.settings, known) for p in paths]
        refused = [f"{s.original}: {s.reason}" for s in stored if s.reason]
        saved = [s.name for s in stored if s.name]
        lines = []
        if saved:
            lines.append("Saved " + ", ".join(saved) + ".")
            result = self._sync(progress, rebuild=False)
            if isinstance(result, str):
                return render_error(" ".join([*lines, result])), self.status(), gr.update()
            lines.append("Indexed: " + result.summary())
            lines += [f"Skipped {p}" for p in result.problems if any(p.path == n for n in saved)]
        if refused:
            lines.append("Not stored: " + "; ".join(refused))
        render = render_error if refused and not saved else render_notice
        return render(" ".join(lines)), self.status(), gr.update(choices=self.sources())

    def rebuild(self, progress: ProgressFn = _TRACKED) -> tuple[str, str, Any]:
        result = self._sync(progress, rebuild=True)
        if isinstance(result, str):
            return render_error(result), self.status(), gr.update()
        return (
            render_notice("Rebuilt: " + result.summary()),
            self.status(),
            gr.update(choices=self.sources()),
        )

    def _sync(self, progress: ProgressFn, *, rebuild: bool) -> IndexReport | str:
        """Sync the index and reopen the Assistant on it; a readable message on failure."""
        if not self._syncing.acquire(blocking=False):
            return "An index update is already running; try again when it has finished."
        try:
            report = sync_index(
                self.settings,
                rebuild=rebuild,
                embedder=self.assistant.embedder,
                progress=lambda stage, done, total: progress((done, max(total, 1)), desc=stage),
            )
            self._reopen()
            return report
        except BriefingError as exc:
            return str(exc)
        except Exception as exc:
            logger.exception("index sync failed")
            return f"Updating the index failed ({type(exc).__name__}: {exc}); the index in use is unchanged."
        finally:
            self._syncing.release()

    def _reopen(self) -> None:
        """Swap in an Assistant on the new generation (same model and options), close the old."""

        def swap() -> None:
            old = self.assistant
            self.assistant = _assistant_like(old, self.settings)
            old.close()

        self._run(swap)


# -- layout ----------------------------------------------------------------------------------
_SCROLL_JS = f"() => {{ const m = document.getElementById('{MARK_ID}'); if (m) m.scrollIntoView({{block: 'center'}}); }}"


def build_app(assistant: Assistant, settings: Settings) -> gr.Blocks:
    """The Gradio app over ``assistant``; ``settings`` gives the corpus folder and limits."""
    ui = WebHandlers(assistant, settings)
    with gr.Blocks(title="Briefing Assistant", analytics_enabled=False) as demo:
        gr.Markdown("# Briefing Assistant\nAnswers quote the articles' own words.")
        status = gr.HTML(ui.status(), elem_id="briefing-status")
        notice = gr.HTML("", elem_id="briefing-notice")
        history = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="briefing-chat",
                    height=520,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=None,
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
                        choices=ui.sources(),
                        multiselect=True,
                        label="Sources",
                        elem_id="briefing-sources",
                    )
                    with gr.Row():
                        since = gr.Textbox(label="Since (YYYY-MM-DD)", elem_id="briefing-since")
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", elem_id="briefing-until")
            with gr.Column(scale=2):
                citation = gr.Radio(
                    choices=[], label="Citations of the last answer", elem_id="briefing-citations"
                )
                source = gr.HTML(SOURCE_HINT, elem_id="briefing-source")
                with gr.Accordion("Corpus", open=False):
                    files = gr.File(
                        file_count="multiple",
                        type="filepath",
                        label="Article files",
                        elem_id="briefing-files",
                    )
                    with gr.Row():
                        upload = gr.Button("Add to corpus", elem_id="briefing-upload")
                        rebuild = gr.Button("Rebuild index", elem_id="briefing-rebuild")

        asked = [question, chatbot, history, sources, since, until]
        answered = [chatbot, history, citation, question, notice]
        ask.click(ui.ask, asked, answered)
        question.submit(ui.ask, asked, answered)
        new_chat.click(ui.new_chat, None, [chatbot, history, citation, source, notice])
        citation.input(ui.show_source, [citation, history], source).then(None, js=_SCROLL_JS)
        upload.click(ui.upload, files, [notice, status, sources])
        rebuild.click(ui.rebuild, None, [notice, status, sources])
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
    share link.
    """
    login = _login(settings.auth)
    with Assistant.open(settings, progress=progress) as assistant:
        build_app(assistant, settings).launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=login,
            share=False,
            max_file_size=settings.max_file_bytes,
        )
