"""HTML of the web UI: Answer / Article / index status -> markup, and the page's click script.

Pure functions, no Gradio. Article text, titles and sources are data: every one goes through
``_text`` (HTML- and Markdown-escaped) and a link is emitted only for an http(s) URL
(``safe_url``). The chat pane's sanitizer drops ``data-*`` attributes, so what a click acts on is
carried in a class name: ``briefing-cite-<turn>-<n>`` (quote ``n`` of answer ``turn``) and
``briefing-open-<hex of the article id>``; ``CLICK_JS`` turns a click (or Enter) on one into a
value of a hidden textbox, whose change event the server handles.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .corpus import JSON_SUFFIXES, JSONL_SUFFIXES
from .timeline import Timeline
from .types import Answer, Article, ArticleRef, Quote, plural

MARK_ID = "briefing-quote"
"""The id of the highlighted span in the source panel (scrolled into view after it opens)."""
CITE_BOX = "briefing-cite"
"""elem_id of the hidden textbox a click on a card's ``[n]`` writes ``turn:n`` into."""
OPEN_BOX = "briefing-open"
"""elem_id of the hidden textbox a click on an article of the corpus list writes its id into."""

_COLLECTIONS = JSON_SUFFIXES + JSONL_SUFFIXES
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


def article_key(article_id: str) -> str:
    """The article id as a class-name-safe token (hex of its UTF-8), for ``briefing-open-``."""
    return article_id.encode("utf-8").hex()


def article_id_of(key: str) -> str | None:
    """The article id back from ``article_key``; None if ``key`` is not one."""
    try:
        return bytes.fromhex(key).decode("utf-8")
    except ValueError:
        return None


# -- chat ------------------------------------------------------------------------------------
_CARD = "border:1px solid #c7d2fe;border-left:4px solid #4f46e5;border-radius:6px;padding:6px 10px;margin:6px 0;cursor:pointer;"
_CITE = "display:inline-block;padding:0 5px;border-radius:4px;background:#e0e7ff;color:#3730a3;font-weight:600;"
_REFUSAL = "border:1px solid #fcd34d;border-left:4px solid #d97706;background:#fffbeb;color:#78350f;border-radius:6px;padding:8px 10px;"
_ERROR = "border:1px solid #fca5a5;border-left:4px solid #dc2626;background:#fef2f2;color:#7f1d1d;border-radius:6px;padding:8px 10px;"
_MUTED = "font-size:0.85em;opacity:0.8"


def render_quote(quote: Quote, turn: int = 0) -> str:
    """One quote card: the verbatim text, who said it, ``[n]``, source, date, title.

    A click on the card (or Enter on it) opens the quote in its article; the title links to
    the original only if its URL is http(s).
    """
    meta = _meta(quote.source, quote.published)
    carried = (
        f'<div class="briefing-carried" style="{_MUTED}">One wire story: {_text(quote.carried_by)}'
        "</div>"
        if quote.carried_by
        else ""
    )
    return (
        f'<div class="briefing-card briefing-cite-{turn}-{quote.n}" role="button" tabindex="0" '
        f'title="Show this quote in its article" style="{_CARD}">'
        f'<div class="briefing-card-text">{_text(quote.marked())}{_said_by(quote)}</div>'
        f'<div class="briefing-card-meta" style="{_MUTED}">'
        f'<span class="briefing-n" style="{_CITE}">[{quote.n}]</span> '
        f"{meta + ' · ' if meta else ''}{_title_html(quote.title, quote.url)}</div>"
        f"{carried}</div>"
    )


def _said_by(quote: Quote) -> str:
    """`` — Dmitry Peskov, Putin's spokesperson`` (escaped), or nothing."""
    if not quote.speaker:
        return ""
    role = f", {_text(quote.role)}" if quote.role else ""
    return f' <span class="briefing-speaker">— {_text(quote.speaker)}{role}</span>'


_SIDES = "display:flex;gap:8px;flex-wrap:wrap;margin:4px 0"
_SIDE = "flex:1 1 14em;border:1px solid #fecaca;border-left:4px solid #b91c1c;border-radius:6px;padding:6px 10px;background:#fff7f7"


def render_disagreements(answer: Answer, turn: int = 0) -> str:
    """Quotes that oppose each other, side by side, each with who said it and the why line."""
    by_n = {q.n: q for q in answer.quotes}
    blocks = []
    for found in answer.disagreements:
        sides = "".join(
            f'<div class="briefing-side briefing-cite-{turn}-{n}" role="button" tabindex="0" '
            f'style="{_SIDE}"><span class="briefing-n" style="{_CITE}">[{n}]</span> '
            f"{_text(by_n[n].marked())}{_said_by(by_n[n])}"
            f'<div style="{_MUTED}">{_meta(by_n[n].source, by_n[n].published)}</div></div>'
            for n in found.quotes
            if n in by_n
        )
        blocks.append(
            f'<div class="briefing-disagreement"><div><b>Sources disagree</b> '
            f'<span style="{_MUTED}">({_text(found.kind)})</span>: {_text(found.why)}</div>'
            f'<div style="{_SIDES}">{sides}</div></div>'
        )
    return "".join(blocks)


def answer_lead(answer: Answer) -> str:
    """One line above the cards: how many quotes from how many articles, best first."""
    quotes = len(answer.quotes)
    articles = len({q.article_id for q in answer.quotes})
    counted = f"{plural(quotes, 'quote')} from {plural(articles, 'article')}"
    if quotes == 1:
        return f"{counted} answers this:"
    return f"{counted} answer this; the best first:"


def _closest_item(ref: ArticleRef) -> str:
    meta = _meta(ref.source, ref.published)
    return f"<li>{_title_html(ref.title, ref.url)}{f' ({meta})' if meta else ''}</li>"


def render_answer(answer: Answer, turn: int = 0) -> str:
    """The chat message of answer number ``turn``: a one-line lead and a card per quote, or a
    refusal (its reason and the closest articles). Each quote is shown once, on its card."""
    if answer.refused:
        reason = answer.refusal_reason or "The articles do not answer this."
        closest = "".join(_closest_item(ref) for ref in answer.closest)
        return (
            f'<div class="briefing-refusal" style="{_REFUSAL}">'
            f"<b>The articles do not answer this.</b> {_text(reason)}"
            + (f"<div>Closest articles:</div><ul>{closest}</ul>" if closest else "")
            + "</div>"
        )
    lead = f'<div class="briefing-lead">{_text(answer_lead(answer))}</div>'
    cards = "".join(render_quote(q, turn) for q in answer.quotes)
    return _written(answer) + render_disagreements(answer, turn) + lead + cards


def _written(answer: Answer) -> str:
    """A model's checked answer above the cards, with who wrote it and what the checks did;
    or why the configured model did not write it."""
    if answer.generated:
        changed = len(answer.checks)
        checks = f"; the checks changed {plural(changed, 'place')}" if changed else ""
        return (
            f'<div class="briefing-written" style="white-space: pre-wrap">{_text(answer.answer)}'
            f'</div><div class="briefing-model" style="{_MUTED}">Written by '
            f"{_text(answer.model or 'a model')} from the quotes below{checks}.</div>"
        )
    fell_back = [c["detail"] for c in answer.checks if c.get("action") == "fell back"]
    if fell_back:
        return (
            f'<div class="briefing-model" style="{_MUTED}">{_text(fell_back[0])}; '
            "the quotes answer alone.</div>"
        )
    return ""


def render_writing(text: str) -> str:
    """An answer's text while it is being written (escaped; the cards come when it ends)."""
    return f'<div class="briefing-writing" style="white-space: pre-wrap">{_text(text)}</div>'


def render_pending() -> str:
    return f'<div class="briefing-pending" style="{_MUTED}">Looking in the articles…</div>'


def render_error(message: str) -> str:
    return f'<div class="briefing-error" role="alert" style="{_ERROR}">{_text(message)}</div>'


def render_notice(message: str) -> str:
    return f'<div class="briefing-notice" role="status">{_text(message)}</div>'


# -- timeline --------------------------------------------------------------------------------
def render_timeline(timeline: Timeline) -> str:
    """The quotes of a timeline, oldest first: date, source, the words and who said them."""
    if timeline.refusal_reason:
        return f'<div class="briefing-refusal" style="{_REFUSAL}">{_text(timeline.refusal_reason)}</div>'
    what = f"“{_text(timeline.topic)}”" if timeline.topic else "What is new"
    since = f" since {_text(timeline.since)}" if timeline.since else ""
    items = "".join(
        f'<li class="briefing-event briefing-open-{article_key(q.article_id)}" role="button" '
        'tabindex="0" title="Read this article" style="margin:0 0 8px;cursor:pointer">'
        f"<b>{_text((q.published or 'undated')[:10])}</b> · {_text(q.source or '')}"
        f"<div>{_text(q.marked())}{_said_by(q)}</div>"
        f"<div style='{_MUTED}'>{_title_html(q.title, q.url)}"
        f"{' · ' + _text(q.carried_by) if q.carried_by else ''}</div></li>"
        for q in timeline.entries
    )
    return (
        f'<div class="briefing-timeline"><div>{what}{since}: '
        f"{plural(len(timeline.entries), 'article')}, oldest first.</div>"
        f'<ol style="max-height:50vh;overflow-y:auto;padding-left:1.2em">{items}</ol></div>'
    )


# -- source panel ----------------------------------------------------------------------------
_SOURCE_TEXT = "white-space:pre-wrap;max-height:60vh;overflow-y:auto;margin-top:8px"


def _source_head(article: Article) -> str:
    meta = _meta(article.source, article.published)
    return (
        f"<h3 style='margin:0 0 4px'>{_title_html(article.title, article.url)}</h3>"
        f"<div style='{_MUTED}'>{meta}</div>"
    )


def render_source(article: Article, start: int, end: int) -> str:
    """The article with ``text[start:end]`` in a ``<mark id=MARK_ID>``, all of it escaped."""
    text = article.text
    return (
        f'<div class="briefing-source">{_source_head(article)}'
        f'<div class="briefing-source-text" style="{_SOURCE_TEXT}">'
        f"{_text(text[:start])}<mark id='{MARK_ID}'>{_text(text[start:end])}</mark>"
        f"{_text(text[end:])}</div></div>"
    )


def render_article(article: Article) -> str:
    """The whole article, escaped, nothing marked (opened from the corpus list)."""
    return (
        f'<div class="briefing-source">{_source_head(article)}'
        f"<div style='{_MUTED}'>{_text(article.locator)}</div>"
        f'<div class="briefing-source-text" style="{_SOURCE_TEXT}">{_text(article.text)}</div>'
        "</div>"
    )


SOURCE_HINT = render_notice("Click a quote of an answer to read it in its article.")


# -- index -----------------------------------------------------------------------------------
def render_status(status: Mapping[str, Any]) -> str:
    """``2 articles, 14 chunks in the index · last sync 2025-03-01 10:29 UTC``."""
    built = str(status.get("built_at") or "")
    when = f"{built[:10]} {built[11:16]} UTC" if len(built) >= 16 else "unknown"
    return render_notice(
        f"{plural(int(status['articles']), 'article')}, {plural(int(status['chunks']), 'chunk')} "
        f"in the index · last sync {when}"
    )


def _newest_first(articles: Iterable[Article]) -> list[Article]:
    by_title = sorted(articles, key=lambda a: (a.title.casefold(), a.locator))
    return sorted(by_title, key=lambda a: a.published or "", reverse=True)


def article_choices(articles: Iterable[Article]) -> list[tuple[str, str]]:
    """(label, article id) pairs for the corpus dropdown, newest first (Gradio escapes labels)."""
    choices = []
    for a in _newest_first(articles):
        meta = ", ".join(p for p in (a.source, (a.published or "")[:10]) if p)
        choices.append((f"{a.title} ({meta})" if meta else a.title, a.id))
    return choices


def _where(locator: str) -> str:
    """``port-strike.md``, or ``record in wire.jsonl`` for a record of a collection file."""
    file, sep, _key = locator.partition("#")
    return f"record in {file}" if sep and file.lower().endswith(_COLLECTIONS) else locator


def render_corpus(articles: Iterable[Article]) -> str:
    """The articles in the index, newest first: title (a click opens it), source, date, file."""
    shown = _newest_first(articles)
    items = "".join(
        '<li style="margin:0 0 6px">'
        f'<span class="briefing-open-{article_key(a.id)}" role="button" tabindex="0" '
        f'style="cursor:pointer;text-decoration:underline dotted">{_text(a.title)}</span>'
        f"<div style='{_MUTED}'>"
        + " · ".join(_text(p) for p in (a.source, (a.published or "")[:10], _where(a.locator)) if p)
        + "</div></li>"
        for a in shown
    )
    return (
        f'<div class="briefing-corpus"><div>{plural(len(shown), "article")} in the index; '
        "click a title to read it.</div>"
        '<ul style="max-height:40vh;overflow-y:auto;list-style:none;padding:0;margin:6px 0">'
        f"{items}</ul></div>"
    )


# -- scripts ---------------------------------------------------------------------------------
CLICK_JS = f"""() => {{
  if (window.briefingClicks) return;
  window.briefingClicks = true;
  let clicks = 0;
  const send = (id, value) => {{
    const box = document.querySelector(`#${{id}} textarea, #${{id}} input`);
    if (!box) return;
    clicks += 1;
    box.value = `${{value}}@${{clicks}}`;
    box.dispatchEvent(new Event('input', {{ bubbles: true }}));
  }};
  const act = (event) => {{
    if (event.target.closest('a[href]')) return;
    const target = event.target.closest('[class*="briefing-cite-"], [class*="briefing-open-"]');
    if (!target) return;
    const cite = target.className.match(/briefing-cite-(\\d+)-(\\d+)/);
    const open = target.className.match(/briefing-open-([0-9a-f]+)/);
    if (cite) send('{CITE_BOX}', `${{cite[1]}}:${{cite[2]}}`);
    else if (open) send('{OPEN_BOX}', open[1]);
    else return;
    event.preventDefault();
  }};
  document.addEventListener('click', act);
  document.addEventListener('keydown', (event) => {{
    if (event.key === 'Enter' || event.key === ' ') act(event);
  }});
}}"""
"""Run once on page load: clicks on quote cards and corpus titles go to the hidden textboxes.

Each value gets ``@count`` appended so that clicking the same quote twice is still a change.
"""

SCROLL_TO_MARK_JS = f"""() => {{
  const mark = document.getElementById('{MARK_ID}');
  if (mark) mark.scrollIntoView({{ block: 'center' }});
}}"""

SCROLL_TO_SOURCE_JS = """() => {
  const panel = document.getElementById('briefing-source');
  if (panel) panel.scrollIntoView({ block: 'nearest' });
}"""
