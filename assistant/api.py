"""The ``Assistant``: ask questions of an index, chat, sync it, or hand LangChain a retriever.

    assistant = Assistant.open(Settings(corpus="corpus", index_dir="index"))
    answer = assistant.ask("Did the Kremlin accept European peacekeepers in Ukraine?")

``stream`` runs the stages one after the other and keeps every intermediate on the ``Answer``:
condense (history) -> plan (outlets, dates) -> embed -> retrieve -> quote -> verify -> refuse or
write (the ``Answerer``, whose text pieces are yielded as they come); ``ask`` returns the
finished ``Answer``. ``sync`` brings the index in line with the corpus and moves the Assistant
to the new generation between questions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis import one_copy_per_story, prefer_named_speakers
from .answering import (
    Answerer,
    ComposedAnswerer,
    closest_articles,
    compose_refusal,
    evidence,
    no_match_reason,
    refusal_reason,
)
from .chat import ChatSession
from .config import Settings
from .disagreement import find_disagreements
from .embedding import Embedder, SentenceEmbedder
from .errors import AssistantClosedError, BriefingError, IndexBusyError
from .generations import current_generation
from .onnx_encoder import with_light_queries
from .query import QueryPlan, about_the_period, condense, plan_query
from .quotes import score_sentences, select_quotes, verify
from .reader import Catalog, Index, open_index
from .retrieval import Reranker, SentenceReranker, retrieve
from .timeline import Timeline, day_start, whats_new
from .timeline import pick as pick_timeline
from .types import Answer, Article, Filters, IndexReport, Passage, Quote, TextPiece, Written
from .writer import Progress, sync_index

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

logger = logging.getLogger(__name__)


class Assistant:
    """Answers questions from one index with verified quotes. Build with ``Assistant.open``.

    Tuning comes from ``settings`` (its ``retrieval``, ``quotes``, ``refusal`` and ``question``
    sections); the parts that may be swapped are the ``embedder``, the ``answerer`` (who writes
    the answer from the quotes) and the ``reranker``.

    One Assistant may answer from several threads at once (a web server's workers, LangChain's
    ``ainvoke``): its index is safe to share (see ``reader.Index``) and a question keeps its own
    state in local variables. Each question reads one generation from start to end: ``sync``
    and ``refresh`` swap in the new one for the questions after, and the old one is closed when
    the last question on it ends. After ``close()``, questions raise ``AssistantClosedError``.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        *,
        index: Index | None = None,
        reference_date: date | datetime | None = None,
        answerer: Answerer | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.reference_date = reference_date
        self.answerer: Answerer = answerer or ComposedAnswerer()
        self.reranker: Reranker = reranker or SentenceReranker(settings.retrieval.sentence_weight)
        self._index = index or open_index(settings)
        self._lock = threading.Lock()  # guards _index and the three fields below
        self._calls: dict[Index, int] = {}  # questions under way, per generation that has any
        self._retired: set[Index] = set()  # swapped out: closed when its last question ends
        self._closed = False
        self._syncing = threading.Lock()  # held while a sync of this Assistant runs
        self._moving = threading.Lock()  # held while it moves to a newer generation

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        corpus: str | Path | None = None,
        index_dir: str | Path | None = None,
        build_if_missing: bool = True,
        progress: Progress | None = None,
        embedder: Embedder | None = None,
        **options: Any,
    ) -> Assistant:
        """Open the index of ``settings`` (building it from the corpus first if there is none).

        ``corpus`` and ``index_dir`` override the paths of ``settings`` (or of the defaults);
        ``options`` are ``reference_date``, ``answerer`` (default: the one ``settings.llm``
        names) and ``reranker``.
        """
        paths = {
            k: Path(v) for k, v in (("corpus", corpus), ("index_dir", index_dir)) if v is not None
        }
        settings = (settings or Settings()).model_copy(update=paths)
        model = embedder or SentenceEmbedder(
            settings.embedding_model, batch_size=settings.embed_batch_size
        )
        if options.get("answerer") is None:  # a spec it cannot read fails before indexing
            from .llm import answerer_for

            options["answerer"] = answerer_for(settings)
        if build_if_missing and current_generation(settings.index_dir) is None:
            sync_index(settings, progress=progress, embedder=model)
        if embedder is None:  # questions through the index's ONNX export: no torch to import
            model = with_light_queries(settings, model)
        return cls(settings, model, **options)

    # -- the index's life ----------------------------------------------------------------------
    @property
    def index(self) -> Index:
        """The generation questions are answered from now (a sync may replace it)."""
        return self._index

    @property
    def catalog(self) -> Catalog:
        return self._index.catalog

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def reading(self) -> Iterator[Index]:
        """The current generation, kept open until the block ends even if a sync swaps it.

        Use it for several reads that must agree (a count and a list). A generation that a
        sync of another process made since is followed first. Raises ``AssistantClosedError``
        once the Assistant is closed.
        """
        try:
            self.refresh()
        except BriefingError as exc:  # e.g. rebuilt with other settings: keep the one open
            logger.warning("staying on %s: %s", self._index.generation.name, exc)
        with self._lock:
            if self._closed:
                raise AssistantClosedError()
            index = self._index
            self._calls[index] = self._calls.get(index, 0) + 1
        try:
            yield index
        except BriefingError:
            raise
        except Exception as exc:
            if self._closed and index.closed:
                raise AssistantClosedError() from exc
            raise
        finally:
            with self._lock:
                self._calls[index] -= 1
                last = self._calls[index] == 0
                if last:
                    del self._calls[index]
                close = last and index in self._retired
                if close:
                    self._retired.discard(index)
            if close:
                index.close()

    def _retire(self, index: Index) -> None:
        """Close ``index`` now if no question reads it, else when the last one ends."""
        with self._lock:
            close = index not in self._calls
            if not close:
                self._retired.add(index)
        if close:
            index.close()

    def sync(
        self,
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
        before: Callable[[], object] | None = None,
    ) -> IndexReport:
        """Apply the corpus's changes to the index and answer from the new generation.

        Questions keep being answered from the old generation while the sync runs; the ones
        asked after it ends read the new one. Raises ``IndexBusyError`` while another sync (of
        this Assistant or another process) runs. ``before`` runs first, once no other sync of
        this Assistant can start: a change to the corpus the sync must see (the web UI deletes
        an article's file there).
        """
        if self._closed:
            raise AssistantClosedError()
        if not self._syncing.acquire(blocking=False):
            raise IndexBusyError(
                "An index update is already running; try again when it has finished"
            )
        try:
            if before is not None:
                before()
            report = sync_index(
                self.settings, rebuild=rebuild, progress=progress, embedder=self.embedder
            )
            with self._moving:
                self._follow_current()
            return report
        finally:
            self._syncing.release()

    def refresh(self) -> bool:
        """Move to the generation ``CURRENT`` names if another process synced; True if moved.

        Every question does this first (reading ``CURRENT`` costs microseconds). Does nothing
        while a sync of this Assistant runs (it moves when it ends).
        """
        if self._closed or self._syncing.locked():
            return False
        if not self._moving.acquire(blocking=False):  # another thread is moving it already
            return False
        try:
            return self._follow_current()
        finally:
            self._moving.release()

    def _follow_current(self) -> bool:
        current = current_generation(self.settings.index_dir)
        if current is None or current == self._index.generation:
            return False
        new = open_index(self.settings)
        try:  # loaded while the other questions still read the old one: none of them waits
            new.warm()
        except BaseException:
            new.close()
            raise
        with self._lock:
            closed = self._closed
            if not closed:
                old, self._index = self._index, new
        self._retire(new if closed else old)
        return not closed

    def close(self) -> None:
        """Release the index (once the questions under way end); later questions raise
        ``AssistantClosedError``. Twice is fine."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._retire(self._index)

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the index holds -----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Generation, article and chunk counts, build time and backend of the index in use."""
        with self.reading() as index:
            return index.status()

    def articles(self) -> list[Article]:
        """Every indexed article's header (``text`` is empty; ``article`` gives the whole)."""
        with self.reading() as index:
            return list(index.catalog.articles.values())

    def article(self, article_id: str) -> Article | None:
        """One indexed article with its text, or None if the index does not hold it."""
        with self.reading() as index:
            return index.article(article_id)

    @property
    def sources(self) -> tuple[str, ...]:
        """The outlets the articles come from."""
        return self._index.catalog.sources

    # -- the stages -------------------------------------------------------------------------
    def plan(self, question: str, index: Index | None = None) -> QueryPlan:
        sources = (index or self._index).catalog.sources
        return plan_query(question, sources, self.reference_date, self.settings.question)

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        plan: QueryPlan | None = None,
    ) -> list[Passage]:
        """Ranked passages for a standalone question (its dates rank, or filter; see _search)."""
        with self.reading() as index:
            plan = plan or self.plan(question, index)
            return self._search(index, question, k, filters, plan)[0]

    def _search(
        self, index: Index, question: str, k: int | None, filters: Filters | None, plan: QueryPlan
    ) -> tuple[list[Passage], bool]:
        """(passages, whether the question's period was applied as a hard filter).

        The period a question names ranks articles from it higher (``retrieve``); it filters
        only when it is what the question is about ("What was reported last week?"): as a hard
        filter on content-rich questions it dropped evidence on the MultiHop-RAG dev split.
        """
        config = self.settings.retrieval
        k = k or config.passages
        vector = self.embedder.embed_query(question)
        dated = about_the_period(plan, self.settings.question.period_only_terms)
        base = filters or Filters()
        scoped = base.within(plan.scope.start_ts, plan.scope.end_ts) if dated else filters

        def find(within: Filters | None) -> list[Passage]:
            return retrieve(
                index, plan, vector, k=k, filters=within, config=config, reranker=self.reranker
            )

        passages = find(scoped)
        if not passages and dated:  # no article in the named period: search them all, say so
            dated = False
            passages = find(filters)
        if plan.scope.recency:
            passages = _newest_first(passages, config.newest_near_best)
        return passages, dated

    def ask(
        self,
        question: str,
        history: Sequence[str | Answer] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer with verified quotes, or say the articles do not answer (``refused``)."""
        for event in self.stream(question, history, filters):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the answer stream ended without an answer")

    def stream(
        self,
        question: str,
        history: Sequence[str | Answer] | None = None,
        filters: Filters | None = None,
    ) -> Iterator[TextPiece | Answer]:
        """``ask``, as it happens: the answer's ``TextPiece``s as they are written, then the
        finished ``Answer`` (the only event of a refusal decided before writing)."""
        with self.reading() as index:
            yield from self._stream(index, question, history, filters)

    def _stream(
        self,
        index: Index,
        question: str,
        history: Sequence[str | Answer] | None,
        filters: Filters | None,
    ) -> Iterator[TextPiece | Answer]:
        clock = _Clock()
        catalog = index.catalog
        earlier = [h.standalone_question if isinstance(h, Answer) else h for h in history or ()]
        own_terms = self.settings.question.follow_up_own_terms
        standalone = condense(question, earlier, own_terms)
        rewrite = getattr(self.answerer, "condense", None)  # a model rewrites follow-ups
        if standalone != question and rewrite is not None:
            standalone = rewrite(question, earlier) or standalone
        clock.lap("condense")
        plan = self.plan(standalone, index)
        clock.lap("plan")
        passages, dated = self._search(index, standalone, None, filters, plan)
        clock.lap("retrieve")
        quoting, policy = self.settings.quotes, self.settings.refusal
        scored = score_sentences(
            standalone, passages, catalog.article_text, index.keywords.idf, quoting
        )
        ev = evidence(plan, passages, scored, index.keywords.mentions, policy)
        ev = replace(ev, period_only=dated and bool(passages))
        reason = refusal_reason(ev, policy, plan)
        if not passages:
            base = filters or Filters()
            reason = no_match_reason(
                catalog.sources, catalog.date_span(), base.sources, (base.start_ts, base.end_ts)
            )
        answer = Answer(
            question=question,
            standalone_question=standalone,
            answer="",
            refused=False,
            passages=tuple(passages),
            filters=_applied_filters(filters, plan, ev, dated),
        )
        quotes: tuple[Quote, ...] = ()
        if reason is None:
            copies = one_copy_per_story([p.article_id for p in passages], catalog.stories)
            candidates = prefer_named_speakers(
                standalone,
                [s for s in scored if s.passage.article_id not in copies],
                plan.names,
                catalog.speech_at,
                quoting.named_speaker_weight,
            )
            picked = select_quotes(candidates, catalog.article_text, quoting, sources=plan.sources)
            checked = verify(picked, catalog.article_text)
            quotes = tuple(replace(catalog.attributed(q), n=n) for n, q in enumerate(checked, 1))
            if not quotes:
                reason = "No sentence of the closest articles could be quoted."
        clock.lap("quotes")
        if reason is None:
            written, pieces = Written(""), 0
            for event in self.answerer.write(standalone, quotes):
                if isinstance(event, TextPiece):
                    clock.once("first_text")  # a model's time to first token
                    pieces += 1
                    yield event
                else:
                    written = event
            clock.lap("write")
            if pieces:  # a model streams about a token a piece: its tokens/s
                clock.laps["pieces"] = pieces
                clock.laps["pieces_per_s"] = round(pieces / max(clock.laps["write"], 1) * 1000, 1)
            answer = replace(
                answer,
                generated=written.model is not None,
                model=written.model,
                checks=written.checks,
                raw_answer=written.raw,
            )
            reason = written.refusal_reason
            if reason is None:
                opposed = find_disagreements(standalone, quotes)
                clock.lap("disagreements")
                yield replace(
                    answer,
                    answer=written.text,
                    quotes=quotes,
                    disagreements=opposed,
                    timings_ms=clock.done(),
                )
                return
        closest = tuple(closest_articles(passages))
        yield replace(
            answer,
            answer=compose_refusal(reason, closest),
            refused=True,
            closest=closest,
            timings_ms=clock.done(),
            refusal_reason=reason,
        )

    def timeline(self, topic: str, *, since: str | None = None, limit: int = 12) -> Timeline:
        """How the story on ``topic`` moved: one quote per article (the best on the topic),
        ordered by publication date, with who said it; only articles from ``since`` (a date)
        on when given. Empty, with the reason, when the articles do not cover the topic."""
        since_ts = day_start(since) if since else None
        with self.reading() as index:
            catalog, policy = index.catalog, self.settings.refusal
            plan = self.plan(topic, index)
            within = Filters(start_ts=since_ts) if since_ts is not None else None
            k = max(3 * limit, self.settings.retrieval.passages)
            passages, _dated = self._search(index, topic, k, within, plan)
            quoting = self.settings.quotes.model_copy(update={"passages": k})
            scored = score_sentences(
                topic, passages, catalog.article_text, index.keywords.idf, quoting
            )
            ev = evidence(plan, passages, scored, index.keywords.mentions, policy)
            reason = refusal_reason(ev, policy, plan) if passages else None
            if not passages:
                reason = f"No article{f' since {since}' if since else ''} is about {topic!r}."
            if reason is not None:
                return Timeline(topic, (), since, reason)
            copies = one_copy_per_story([p.article_id for p in passages], catalog.stories)
            picked = pick_timeline(
                scored,
                catalog.article_text,
                catalog.articles,
                limit=limit,
                min_coverage=quoting.min_supporting_coverage,
                names=plan.names,
                skip=copies,
            )
            checked = verify(picked, catalog.article_text)
            return Timeline(topic, tuple(catalog.attributed(q) for q in checked), since)

    def new_since(self, since: str, *, limit: int = 20) -> Timeline:
        """What is new since ``since`` (a date): the articles published from that day on,
        oldest first, each with its lead claim (its first attributed speech, else its first
        sentence) and who made it."""
        with self.reading() as index:
            return whats_new(index.catalog, since, limit=limit)

    def speakers(self, article_id: str | None = None) -> list[dict[str, Any]]:
        """Every span of reported speech found at index time (of one article, or of all):
        ``article_id``, ``url``, ``title``, ``start``, ``end``, ``speaker``, ``speaker_text``,
        ``role``, ``kind``; in article order, then text order."""
        with self.reading() as index:
            headers = index.catalog.articles
            return [
                {
                    "article_id": aid,
                    "url": headers[aid].url,
                    "title": headers[aid].title,
                    **asdict(speech),
                }
                for aid, speech in index.speech(article_id)
            ]

    def chat(self) -> ChatSession:
        return ChatSession(self)

    def as_retriever(self, *, k: int = 4, filters: Filters | None = None) -> BaseRetriever:
        """A LangChain retriever over this index (Documents carry offsets and metadata)."""
        from .retriever import BriefingRetriever

        return BriefingRetriever(assistant=self, k=k, filters=filters)


def _newest_first(passages: list[Passage], near_best: float) -> list[Passage]:
    """For "latest" questions: of the passages scoring ``near_best`` x the best, the newest lead."""
    if not passages:
        return passages
    best = passages[0].score
    near = [p for p in passages if p.score >= near_best * best]
    rest = [p for p in passages if p.score < near_best * best]
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

    def once(self, name: str) -> None:
        """Record the time since the start under ``name``, the first time only."""
        if name not in self.laps:
            self.laps[name] = round((time.perf_counter() - self.start) * 1000, 2)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 2)
        self.last = now

    def done(self) -> dict[str, float]:
        return {**self.laps, "total": round((time.perf_counter() - self.start) * 1000, 2)}
