"""The ``Assistant``: open an index, ask questions, chat, or hand LangChain a retriever.

    assistant = Assistant.open(Settings(corpus="corpus", index_dir="index"))
    answer = assistant.ask("Did the Kremlin accept European peacekeepers in Ukraine?")

``ask`` runs the stages one after the other and keeps every intermediate on the ``Answer``:
condense (history) -> plan (outlets, dates) -> embed -> retrieve -> quote -> verify -> compose.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .answering import (
    RefusalPolicy,
    closest_articles,
    compose,
    compose_refusal,
    evidence,
    no_match_reason,
    refusal_reason,
)
from .chat import ChatSession
from .config import Settings
from .embedding import Embedder, SentenceEmbedder
from .errors import AssistantClosedError, BriefingError
from .index import Index, Progress, current_generation, open_index, sync_index
from .query import QueryPlan, condense, plan_query
from .quotes import QuoteConfig, score_sentences, select_quotes, verify
from .retrieval import Catalog, RetrievalConfig, retrieve
from .text import QUESTION_WORDS, keyword_tokens
from .types import Answer, Filters, Passage

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

_F = TypeVar("_F", bound=Callable[..., Any])


def _needs_open_index(method: _F) -> _F:
    """Raise ``AssistantClosedError`` for a call on a closed Assistant.

    Without it, a question after ``close()`` fails deep in Chroma (``'RustBindingsAPI' object
    has no attribute 'bindings'``) or SQLite; a call under way when another thread closes the
    Assistant gets the same error, from whatever failed first.
    """

    @functools.wraps(method)
    def guarded(self: Assistant, *args: Any, **kwargs: Any) -> Any:
        if self.index.closed:
            raise AssistantClosedError()
        try:
            return method(self, *args, **kwargs)
        except BriefingError:
            raise
        except Exception as exc:
            if self.index.closed:
                raise AssistantClosedError() from exc
            raise

    return cast(_F, guarded)


class Assistant:
    """Answers questions from one index with verified quotes. Build with ``Assistant.open``.

    One Assistant may answer from several threads at once (a web server's workers, LangChain's
    ``ainvoke``): its index is safe to share (see ``index.Index``), a question keeps its own
    state in local variables, and what it caches (article texts, the BM25 index) is the same
    whichever thread fills it. After ``close()``, questions raise ``AssistantClosedError``.
    """

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        *,
        reference_date: date | datetime | None = None,
        retrieval: RetrievalConfig | None = None,
        quotes: QuoteConfig | None = None,
        refusal: RefusalPolicy | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.catalog = Catalog(index)
        self.reference_date = reference_date
        self.retrieval = retrieval or RetrievalConfig()
        self.quotes = quotes or QuoteConfig()
        self.refusal = refusal or RefusalPolicy()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        corpus: str | Path | None = None,
        index_dir: str | Path | None = None,
        build_if_missing: bool = True,
        progress: Progress | None = None,
        **options: Any,
    ) -> Assistant:
        """Open the index of ``settings`` (building it from the corpus first if there is none).

        ``corpus`` and ``index_dir`` override the paths of ``settings`` (or of the defaults).
        """
        paths = {
            k: Path(v) for k, v in (("corpus", corpus), ("index_dir", index_dir)) if v is not None
        }
        settings = (settings or Settings()).model_copy(update=paths)
        embedder = SentenceEmbedder(settings.embedding_model, batch_size=settings.embed_batch_size)
        if build_if_missing and current_generation(settings.index_dir) is None:
            sync_index(settings, progress=progress, embedder=embedder)
        return cls(open_index(settings), embedder, **options)

    def close(self) -> None:
        """Release the index; later questions raise ``AssistantClosedError``. Twice is fine."""
        self.index.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the stages -------------------------------------------------------------------------
    def plan(self, question: str) -> QueryPlan:
        return plan_query(question, self.catalog.sources, self.reference_date)

    @_needs_open_index
    def search(
        self,
        question: str,
        *,
        k: int = 10,
        filters: Filters | None = None,
        plan: QueryPlan | None = None,
    ) -> list[Passage]:
        """Ranked passages for a standalone question (its dates rank, or filter; see _search)."""
        return self._search(question, k, filters, plan or self.plan(question))[0]

    def _search(
        self, question: str, k: int, filters: Filters | None, plan: QueryPlan
    ) -> tuple[list[Passage], bool]:
        """(passages, whether the question's period was applied as a hard filter).

        The period a question names ranks articles from it higher (``retrieve``); it filters
        only when it is what the question is about ("What was reported last week?"): as a hard
        filter on content-rich questions it dropped evidence on the MultiHop-RAG dev split.
        """
        vector = self.embedder.embed_query(question)
        dated = _about_the_period(plan)
        base = filters or Filters()
        scoped = base.within(plan.scope.start_ts, plan.scope.end_ts) if dated else filters
        passages = retrieve(self.catalog, plan, vector, k=k, filters=scoped, config=self.retrieval)
        if not passages and dated:  # no article in the named period: search them all, say so
            dated = False
            passages = retrieve(
                self.catalog, plan, vector, k=k, filters=filters, config=self.retrieval
            )
        if plan.scope.recency:
            passages = _newest_first(passages)
        return passages, dated

    @_needs_open_index
    def ask(
        self,
        question: str,
        history: Sequence[str | Answer] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer with verified quotes, or say the articles do not answer (``refused``)."""
        clock = _Clock()
        earlier = [h.standalone_question if isinstance(h, Answer) else h for h in history or ()]
        standalone = condense(question, earlier)
        clock.lap("condense")
        plan = self.plan(standalone)
        clock.lap("plan")
        passages, dated = self._search(standalone, 10, filters, plan)
        clock.lap("retrieve")
        scored = score_sentences(
            standalone, passages, self.catalog.article_text, self.index.keywords.idf, self.quotes
        )
        ev = evidence(plan, passages, scored, self.index.keywords.mentions, self.refusal)
        ev = replace(ev, period_only=dated and bool(passages))
        reason = refusal_reason(ev, self.refusal, plan)
        if not passages:
            base = filters or Filters()
            reason = no_match_reason(
                self.catalog.sources,
                self.catalog.date_span(),
                base.sources,
                (base.start_ts, base.end_ts),
            )
        applied = _applied_filters(filters, plan, ev, dated)
        if reason is None:
            picked = select_quotes(
                scored, self.catalog.article_text, self.quotes, sources=plan.sources
            )
            checked = verify(picked, self.catalog.article_text)
            quotes = tuple(replace(q, n=n) for n, q in enumerate(checked, 1))
            if not quotes:
                reason = "No sentence of the closest articles could be quoted."
        clock.lap("quotes")
        if reason is not None:
            closest = tuple(closest_articles(passages))
            return Answer(
                question=question,
                standalone_question=standalone,
                answer=compose_refusal(reason, closest),
                refused=True,
                closest=closest,
                passages=tuple(passages),
                filters=applied,
                timings_ms=clock.done(),
                refusal_reason=reason,
            )
        return Answer(
            question=question,
            standalone_question=standalone,
            answer=compose(quotes),
            refused=False,
            quotes=quotes,
            passages=tuple(passages),
            filters=applied,
            timings_ms=clock.done(),
        )

    def chat(self) -> ChatSession:
        return ChatSession(self)

    def as_retriever(self, *, k: int = 4, filters: Filters | None = None) -> BaseRetriever:
        """A LangChain retriever over this index (Documents carry offsets and metadata)."""
        from .retriever import BriefingRetriever

        return BriefingRetriever(assistant=self, k=k, filters=filters)


_PERIOD_ONLY_TERMS = 2


def _about_the_period(plan: QueryPlan) -> bool:
    """Whether the question is about its period itself: bounded, with little else to go on."""
    scope = plan.scope
    if scope.start_ts is None and scope.end_ts is None:
        return False
    rest = plan.question
    for phrase in scope.matched:
        rest = rest.replace(phrase, " ")
    terms = (
        set(keyword_tokens([rest])[0]) - QUESTION_WORDS - {"report", "news", "happen", "publish"}
    )
    return len(terms) <= _PERIOD_ONLY_TERMS


def _newest_first(passages: list[Passage]) -> list[Passage]:
    """For "latest" questions: of the passages scoring near the best, the newest lead."""
    if not passages:
        return passages
    best = passages[0].score
    near = [p for p in passages if p.score >= 0.8 * best]
    rest = [p for p in passages if p.score < 0.8 * best]
    near.sort(key=lambda p: p.published or "", reverse=True)
    return near + rest


def _applied_filters(
    filters: Filters | None, plan: QueryPlan, ev: Any, dated: bool
) -> dict[str, Any]:
    scope = plan.scope
    return {
        "date_range_applied": dated,
        "explicit": asdict(filters) if filters else {},
        "named_sources": list(plan.sources),
        "unknown_outlets": list(plan.unknown_outlets),
        "time": {
            "start_ts": scope.start_ts,
            "end_ts": scope.end_ts,
            "recency": scope.recency,
            "days": list(scope.days),
            "matched": list(scope.matched),
        },
        "evidence": {
            "best_similarity": round(ev.best_similarity, 4),
            "best_coverage": round(ev.best_coverage, 4),
            "missing_names": list(ev.missing_names),
        },
    }


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 2)
        self.last = now

    def done(self) -> dict[str, float]:
        return {**self.laps, "total": round((time.perf_counter() - self.start) * 1000, 2)}
