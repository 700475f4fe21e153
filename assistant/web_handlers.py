"""The web UI's event handlers as plain methods over one Assistant.

Tests call them directly; ``web.build_app`` wires them to the page. An upload, a deletion or a
rebuild syncs through ``Assistant.sync`` (which moves the Assistant to the new generation
between questions); a page load follows a sync made by another process (``refresh``). Errors
come back as a readable notice, never a traceback. What they return is HTML from
``web_render`` and ``gr.update``s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from . import (
    Answer,
    Article,
    Assistant,
    BriefingError,
    CorpusError,
    Filters,
    IndexReport,
    Settings,
    TextPiece,
)
from .dates import parse_date
from .types import plural
from .uploads import article_file, store_checked, text_key
from .web_render import (
    SOURCE_HINT,
    _text,
    article_choices,
    article_id_of,
    render_answer,
    render_article,
    render_corpus,
    render_error,
    render_notice,
    render_pending,
    render_source,
    render_status,
    render_timeline,
    render_writing,
)

logger = logging.getLogger(__name__)

_DAY = 86_400
_UPDATE_SECONDS = 0.1
"""Least time between two updates of an answer being written: each sends the whole chat, and
an answer composed from quotes is written at once (one update, not one per line)."""
ProgressFn = Callable[..., Any]
_TRACKED = gr.Progress()
"""Gradio passes its progress bar to a handler parameter whose default is a ``gr.Progress``."""


def _index_line(report: IndexReport, verb: str = "Indexed") -> str:
    """``Indexed in 2.4 s: 1 added; the index holds 7 articles, 9 chunks.``"""
    changes = ", ".join(
        f"{count} {what}"
        for count, what in (
            (report.added, "added"),
            (report.updated, "updated"),
            (report.removed, "removed"),
        )
        if count
    )
    return (
        f"{verb} in {report.seconds:.1f} s: {changes or 'nothing changed'}; the index holds "
        f"{plural(report.total_articles, 'article')}, {plural(report.total_chunks, 'chunk')}."
    )


class WebHandlers:
    """The UI's event handlers over ``assistant``, which stays the caller's to close.

    Gradio calls the handlers on its worker threads, several at once; the Assistant answers
    from any thread, and a sync (on the thread of the handler that asked for it) leaves the
    answers under way on the generation they started on.
    """

    def __init__(self, assistant: Assistant, settings: Settings | None = None) -> None:
        self.assistant = assistant
        self.settings = settings or assistant.settings

    # the index as the page shows it
    def status(self) -> str:
        return render_status(self.assistant.status())

    def sources(self) -> list[str]:
        return list(self.assistant.sources)

    def articles(self) -> list[Article]:
        """Every article in the index, without its text."""
        return self.assistant.articles()

    def index_view(self) -> tuple[str, Any, str, Any]:
        """(status line, Sources filter choices, corpus list, corpus dropdown) from the index."""
        with self.assistant.reading() as index:  # all four from the same generation
            status = render_status(index.status())
            sources = list(index.catalog.sources)
            articles = list(index.catalog.articles.values())
        return (
            status,
            gr.update(choices=sources),
            render_corpus(articles),
            gr.update(choices=article_choices(articles), value=None),
        )

    def page_load(self) -> tuple[str, Any, str, Any]:
        """``index_view`` for a page (re)load, first following a sync made by another process."""
        try:
            self.assistant.refresh()
        except Exception:  # keep serving the generation already open
            logger.exception("reopening the index on page load failed")
        return self.index_view()

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
    ) -> Iterator[tuple[list[dict[str, Any]], list[Answer], str, str]]:
        """Yield (chat, history, question box, notice): the question at once, the answer's text
        as it is written, then the answer with its quote cards."""
        chat, history = list(chat or []), list(history or [])
        question = (question or "").strip()
        if not question:
            yield chat, history, "", render_error("Type a question first.")
            return
        chat.append({"role": "user", "content": _text(question)})
        yield [*chat, {"role": "assistant", "content": render_pending()}], history, "", ""
        try:
            filters = self.filters(sources, since, until)
            written, shown_at = "", None
            for event in self.assistant.stream(question, history=history, filters=filters):
                if isinstance(event, TextPiece):  # shown as it is written, then replaced
                    written += event.text
                    shown_at = shown_at or time.monotonic()  # from its first piece
                    if time.monotonic() - shown_at >= _UPDATE_SECONDS:
                        writing = {"role": "assistant", "content": render_writing(written)}
                        yield [*chat, writing], history, "", ""
                        shown_at = time.monotonic()
                else:
                    answer = event
        except (BriefingError, ValueError) as exc:
            chat.append({"role": "assistant", "content": render_error(str(exc))})
            yield chat, history, question, render_error(str(exc))
            return
        except Exception as exc:  # the page must show a message, not a stack trace
            logger.exception("answering %r failed", question)
            message = f"Something went wrong while answering ({type(exc).__name__}: {exc})."
            chat.append({"role": "assistant", "content": render_error(message)})
            yield chat, history, question, render_error(message)
            return
        chat.append({"role": "assistant", "content": render_answer(answer, turn=len(history))})
        # kept per visitor for follow-ups and citations, which need no passages (~15 KB each)
        history.append(replace(answer, passages=()))
        yield chat, history, "", ""

    def ask_example(
        self,
        chat: list[dict[str, Any]] | None,
        history: list[Answer] | None,
        sources: Sequence[str] | None,
        since: str | None,
        until: str | None,
        evt: gr.SelectData,
    ) -> Iterator[tuple[list[dict[str, Any]], list[Answer], str, str]]:
        """``ask`` the example question that was clicked in the empty chat."""
        value = evt.value if isinstance(evt.value, dict) else {}
        yield from self.ask(str(value.get("text") or ""), chat, history, sources, since, until)

    def new_chat(self) -> tuple[list[Any], list[Answer], str, str]:
        """(chat, history, source panel, notice), all cleared."""
        return [], [], SOURCE_HINT, ""

    def show_source(self, choice: str | None, history: list[Answer] | None) -> str:
        """The article of a quote, the quote highlighted.

        ``choice`` is ``turn:n`` (quote ``n`` of answer ``turn``; what a click on a card sends,
        maybe with ``@count`` after it) or ``n`` (of the last answer).
        """
        history = history or []
        value = str(choice or "").split("@", 1)[0].strip()
        if not value:
            return SOURCE_HINT
        turn, _, n = value.rpartition(":")
        try:
            answer = history[int(turn)] if turn else history[-1]
        except (ValueError, IndexError):
            return render_error("That answer is no longer in this chat; ask the question again.")
        quote = next((q for q in answer.quotes if str(q.n) == n), None)
        if quote is None:
            return render_error(f"Citation [{n}] is not in that answer.")
        article = self.assistant.article(quote.article_id)
        if article is None:
            return render_error("That article is no longer in the index; ask the question again.")
        if article.text[quote.start : quote.end] != quote.text:
            return render_error("The article changed since this answer; ask the question again.")
        return render_source(article, quote.start, quote.end)

    # timeline
    def timeline(self, topic: str | None, since: str | None) -> str:
        """How the story on ``topic`` moved (oldest first); with no topic, what is new since
        ``since``. A date it cannot read, or neither given, is a notice saying so."""
        topic, day = (topic or "").strip(), (since or "").strip()
        if not topic and not day:
            return render_notice("Name a topic, or give a date to see what is new since then.")
        parsed = parse_date(day) if day else None
        if day and parsed is None:
            return render_error(f"Cannot read the date {day!r}; write it like 2023-11-27.")
        when = parsed[0][:10] if parsed else None
        try:
            if topic:
                found = self.assistant.timeline(topic, since=when)
            else:
                found = self.assistant.new_since(when or day)
        except BriefingError as exc:
            return render_error(str(exc))
        return render_timeline(found)

    # corpus
    def open_article(self, article_id: str | None) -> str:
        """The whole article (source panel), or a notice if it is not in the index."""
        if not article_id:
            return SOURCE_HINT
        article = self.assistant.article(article_id)
        if article is None:
            return render_error("That article is no longer in the index.")
        return render_article(article)

    def open_listed(self, key: str | None) -> tuple[str, Any]:
        """A click on a title of the corpus list (``article_key@count``): (source, dropdown)."""
        article_id = article_id_of(str(key or "").split("@", 1)[0])
        if not article_id:
            return SOURCE_HINT, gr.update()
        return self.open_article(article_id), gr.update(value=article_id)

    def _deletable(self, article_id: str | None) -> tuple[Article | None, Path | str]:
        """(the indexed article, its file) or (article or None, why it cannot be deleted)."""
        if not article_id:
            return None, "Choose an article in the list first."
        article = next((a for a in self.assistant.articles() if a.id == article_id), None)
        if article is None:
            return None, "That article is not in the index."
        try:
            return article, article_file(self.settings, article)
        except ValueError as exc:
            return article, f"Cannot delete “{article.title}”: {exc}."

    def ask_delete(self, article_id: str | None) -> tuple[str | None, Any, str, str]:
        """(article to delete, confirm row, its question, notice) for "Delete…"."""
        article, path = self._deletable(article_id)
        if article is None or isinstance(path, str):
            return None, gr.update(visible=False), "", render_error(str(path))
        question = (
            f"Delete the file {article.locator} from the corpus folder? "
            f"“{article.title}” leaves the index."
        )
        return article.id, gr.update(visible=True), render_notice(question), ""

    def cancel_delete(self) -> tuple[None, Any]:
        return None, gr.update(visible=False)

    def delete(self, article_id: str | None, progress: ProgressFn = _TRACKED) -> tuple[Any, ...]:
        """Delete the article's file from the corpus folder and re-sync the index.

        Only a file the index lists as that article's, inside the corpus folder, is ever
        removed (``uploads.article_file``). Returns (notice, source panel, confirm row, article
        to delete, *index_view).
        """
        done = (gr.update(visible=False), None)
        article, path = self._deletable(article_id)
        if article is None or isinstance(path, str):
            return render_error(str(path)), gr.update(), *done, *self.index_view()
        result = self._sync(progress, rebuild=False, before=path.unlink)
        if isinstance(result, str):
            gone = "" if path.exists() else f"Deleted {article.locator}, but "
            return render_error(gone + result), gr.update(), *done, *self.index_view()
        notice = f"Deleted {article.locator} from the corpus folder. {_index_line(result)}"
        return render_notice(notice), SOURCE_HINT, *done, *self.index_view()

    def _known_texts(self) -> dict[str, str]:
        """``text_key`` of every indexed article -> its file (for refusing duplicate uploads)."""
        with self.assistant.reading() as index:
            return {text_key(a.text): a.locator for a in index.articles()}

    def upload(self, files: Sequence[Any] | None, progress: ProgressFn = _TRACKED) -> tuple:
        """Check and store uploaded files, index them, reopen.

        Returns (notice, file box: cleared, *index_view).
        """
        paths = [Path(getattr(f, "name", f)) for f in files or ()]
        if not paths:
            notice = render_error("Choose one or more article files first.")
            return notice, None, *self.index_view()
        known = self._known_texts()
        stored = [store_checked(p, self.settings, known) for p in paths]
        refused = [f"{s.original}: {s.reason}" for s in stored if s.reason]
        saved = [s.name for s in stored if s.name]
        lines = []
        if saved:
            lines.append("Saved " + ", ".join(saved) + ".")
            result = self._sync(progress, rebuild=False)
            if isinstance(result, str):
                return render_error(" ".join([*lines, result])), None, *self.index_view()
            lines.append(_index_line(result))
            lines += [
                f"Not indexed: {p.path}: {p.reason}."
                for p in result.problems
                if p.skipped and p.path.split("#", 1)[0] in saved
            ]
        if refused:
            lines.append("Not stored: " + "; ".join(refused) + ".")
        render = render_error if refused and not saved else render_notice
        return render(" ".join(lines)), None, *self.index_view()

    def rebuild(self, progress: ProgressFn = _TRACKED) -> tuple:
        """Rebuild the index from the corpus. Returns (notice, *index_view)."""
        result = self._sync(progress, rebuild=True)
        if isinstance(result, str):
            return render_error(result), *self.index_view()
        skipped = [f"{p.path}: {p.reason}" for p in result.problems if p.skipped]
        notice = _index_line(result, "Rebuilt") + (
            f" Skipped {len(skipped)}: " + "; ".join(skipped[:5]) if skipped else ""
        )
        return render_notice(notice), *self.index_view()

    def _sync(
        self, progress: ProgressFn, *, rebuild: bool, before: Callable[[], object] | None = None
    ) -> IndexReport | str:
        """Sync the index (the Assistant moves to the new generation); a readable message on
        failure. ``before`` (a change to the corpus folder) runs first, once no other sync of
        this Assistant can start.
        """

        def change() -> None:
            if before is None:
                return
            try:
                before()
            except OSError as exc:
                logger.exception("changing the corpus folder failed")
                raise CorpusError(
                    f"Changing the corpus folder failed ({exc.strerror or exc}); "
                    "the index is unchanged."
                ) from exc

        try:
            return self.assistant.sync(
                rebuild=rebuild,
                progress=lambda stage, done, total: progress((done, max(total, 1)), desc=stage),
                before=change,
            )
        except BriefingError as exc:
            return str(exc)
        except Exception as exc:
            logger.exception("index sync failed")
            return (
                f"Updating the index failed ({type(exc).__name__}: {exc}); "
                "the index in use is unchanged."
            )
