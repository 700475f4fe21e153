"""Question -> ranked Passages: keyword (BM25) and dense (Chroma) search, fused and diversified.

Each stage is a plain function; the evidence each one gave is kept on ``Passage.stages``.

    candidates  BM25 and dense top-N over the whole index, and again inside each source the
                question names ("reported by The Verge and TechCrunch")
    fuse        weighted reciprocal-rank fusion of those lists, plus a bonus for articles from
                a named source or published on a day the question names
    diversify   at most ``per_article`` passages per article in the top-k
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from .index import Index
from .query import QueryPlan
from .text import QUESTION_WORDS, keyword_tokens
from .timescope import TimeScope
from .types import Article, Filters, Passage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalConfig:
    candidates: int = 60
    """How deep each list goes before fusion."""
    per_source_candidates: int = 20
    rrf_k: float = 60.0
    keyword_weight: float = 1.0
    dense_weight: float = 0.45
    source_list_weight: float = 1.0
    """Weight of the lists searched inside one named source."""
    source_bonus: float = 0.02
    day_bonus: float = 0.05
    per_article: int = 3
    distinct_first: int = 2
    """The first this many passages come from different articles."""
    rerank_depth: int = 40
    """How many fused candidates the sentence stage looks at."""
    sentence_weight: float = 0.06
    """Weight of the best single sentence's share of the question's weighted terms."""
    source_quota: int = 2
    """Each named source gets at least this many of its articles into the top k."""
    clause_weight: float = 1.0
    """Weight of the BM25 list for the clause of the question about one named source."""
    date_list_weight: float = 1.0
    """Weight of the lists searched inside the period the question names (0: no such lists)."""


@dataclass(frozen=True)
class _ChunkRow:
    article_id: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]


class Catalog:
    """Chunk spans and article headers of an index, in memory, for filters and passages."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.articles: dict[str, Article] = {a.id: a for a in index.store.article_headers()}
        self.chunks: dict[str, _ChunkRow] = {
            cid: _ChunkRow(aid, s, e, sents) for cid, aid, s, e, sents in index.store.chunk_spans()
        }
        self.sources: tuple[str, ...] = tuple(
            sorted({a.source for a in self.articles.values() if a.source})
        )
        self._texts: dict[str, str] = {}

    def date_span(self) -> tuple[str | None, str | None]:
        """The first and last publication dates (ISO) of the articles, None when undated."""
        dates = sorted(a.published for a in self.articles.values() if a.published)
        return (dates[0], dates[-1]) if dates else (None, None)

    @cached_property
    def _keyword_articles(self) -> np.ndarray:
        ids = self.index.keywords.ids
        return np.array([self.chunks[c].article_id for c in ids], dtype=object)

    def article_text(self, article_id: str) -> str:
        text = self._texts.get(article_id)
        if text is None:
            article = self.index.store.article(article_id)
            text = article.text if article else ""
            if len(self._texts) > 256:
                self._texts.clear()
            self._texts[article_id] = text
        return text

    def allowed_articles(self, filters: Filters, sources: Sequence[str] = ()) -> set[str] | None:
        """Article ids passing the filters (and, if given, from one of ``sources``); None = all."""
        wanted_sources: set[str] | None = None
        for group in (filters.sources, sources):
            if group:
                wanted_sources = (
                    set(group) if wanted_sources is None else wanted_sources & set(group)
                )
        if wanted_sources is None and filters.is_empty():
            return None
        allowed = set()
        for aid, a in self.articles.items():
            if wanted_sources is not None and a.source not in wanted_sources:
                continue
            if filters.article_ids and aid not in filters.article_ids:
                continue
            if filters.start_ts is not None and (
                a.published_ts is None or a.published_ts < filters.start_ts
            ):
                continue
            if filters.end_ts is not None and (
                a.published_ts is None or a.published_ts >= filters.end_ts
            ):
                continue
            allowed.add(aid)
        return allowed

    def keyword_mask(self, allowed: set[str] | None) -> np.ndarray | None:
        if allowed is None:
            return None
        return np.isin(self._keyword_articles, list(allowed)).astype(np.float32)

    def passage(self, chunk_id: str, score: float, stages: dict[str, float]) -> Passage:
        row = self.chunks[chunk_id]
        a = self.articles[row.article_id]
        return Passage(
            chunk_id=chunk_id,
            article_id=row.article_id,
            start=row.start,
            end=row.end,
            text=self.article_text(row.article_id)[row.start : row.end],
            title=a.title,
            source=a.source,
            published=a.published,
            url=a.url,
            sentences=row.sentences,
            score=score,
            stages=stages,
        )


def keyword_search(catalog: Catalog, query: str, k: int, allowed: set[str] | None) -> list[str]:
    """Chunk ids ranked by BM25 among the allowed articles."""
    if allowed is not None and not allowed:
        return []
    hits = catalog.index.keywords.search(query, k, mask=catalog.keyword_mask(allowed))
    return [cid for cid, _score in hits]


def dense_search(
    catalog: Catalog, vector: Sequence[float], k: int, allowed: set[str] | None
) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity) ranked by the embedding, among the allowed articles."""
    if allowed is not None and not allowed:
        return []
    where: dict[str, Any] | None = None
    if allowed is not None:
        where = {"article_id": {"$in": sorted(allowed)}}
    found = catalog.index.collection.query(
        query_embeddings=[list(vector)],
        n_results=max(1, min(k, len(catalog.chunks))),
        where=where,
        include=["distances"],
    )
    return [(cid, 1.0 - d) for cid, d in zip(found["ids"][0], found["distances"][0], strict=True)]


@dataclass
class _Fused:
    score: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)


def fuse(lists: dict[str, tuple[float, Sequence[str]]], rrf_k: float) -> dict[str, _Fused]:
    """Weighted reciprocal-rank fusion: score = sum of weight / (rrf_k + rank) over the lists."""
    fused: dict[str, _Fused] = {}
    for name, (weight, ids) in lists.items():
        for rank, cid in enumerate(ids, 1):
            entry = fused.setdefault(cid, _Fused())
            entry.score += weight / (rrf_k + rank)
            entry.stages[f"{name}_rank"] = rank
    return fused


def diversify(
    ranked: Sequence[Passage], k: int, per_article: int, distinct_first: int = 2
) -> list[Passage]:
    """The top k: the first ``distinct_first`` from different articles, then at most
    ``per_article`` passages of one article (others fill in after)."""
    taken: list[Passage] = []
    counts: dict[str, int] = {}
    for passage in ranked:
        if len(taken) >= distinct_first:
            break
        if passage.article_id not in counts:
            counts[passage.article_id] = 1
            taken.append(passage)
    overflow: list[Passage] = []
    for passage in ranked:
        if len(taken) >= k:
            break
        if passage in taken:
            continue
        if counts.get(passage.article_id, 0) < per_article:
            counts[passage.article_id] = counts.get(passage.article_id, 0) + 1
            taken.append(passage)
        else:
            overflow.append(passage)
    return (taken + overflow)[:k]


def retrieve(
    catalog: Catalog,
    plan: QueryPlan,
    vector: Sequence[float],
    *,
    k: int = 10,
    filters: Filters | None = None,
    config: RetrievalConfig | None = None,
) -> list[Passage]:
    """The k best passages for the planned question; ``vector`` is its query embedding."""
    cfg = config or RetrievalConfig()
    filters = filters or Filters()
    scope: TimeScope = plan.scope
    allowed = catalog.allowed_articles(filters)
    dense = dense_search(catalog, vector, cfg.candidates, allowed)
    similarity = dict(dense)
    lists: dict[str, tuple[float, Sequence[str]]] = {
        "keyword": (
            cfg.keyword_weight,
            keyword_search(catalog, plan.question, cfg.candidates, allowed),
        ),
        "dense": (cfg.dense_weight, [c for c, _ in dense]),
    }
    for source in plan.sources:
        inside = catalog.allowed_articles(filters, (source,))
        n = cfg.per_source_candidates
        lists[f"keyword[{source}]"] = (
            cfg.source_list_weight,
            keyword_search(catalog, plan.question, n, inside),
        )
        if cfg.clause_weight and source in plan.clauses:
            lists[f"clause[{source}]"] = (
                cfg.clause_weight,
                keyword_search(catalog, plan.clauses[source], n, inside),
            )
        dense_inside = dense_search(catalog, vector, n, inside)
        similarity.update(dense_inside)
        lists[f"dense[{source}]"] = (
            cfg.source_list_weight * cfg.dense_weight,
            [c for c, _ in dense_inside],
        )
    if cfg.date_list_weight and (scope.start_ts is not None or scope.end_ts is not None):
        period = filters.within(scope.start_ts, scope.end_ts)
        inside = catalog.allowed_articles(period)
        n = cfg.per_source_candidates
        lists["keyword[dates]"] = (
            cfg.date_list_weight,
            keyword_search(catalog, plan.question, n, inside),
        )
        dense_inside = dense_search(catalog, vector, n, inside)
        similarity.update(dense_inside)
        lists["dense[dates]"] = (
            cfg.date_list_weight * cfg.dense_weight,
            [c for c, _ in dense_inside],
        )
    fused = fuse(lists, cfg.rrf_k)
    logger.debug(
        "retrieve %r: %d lists (%s), %d candidates fused",
        plan.question,
        len(lists),
        ", ".join(f"{name} {len(ids)}" for name, (_w, ids) in lists.items()),
        len(fused),
    )
    days = set(scope.days)
    ranked = []
    for cid, entry in fused.items():
        article = catalog.articles[catalog.chunks[cid].article_id]
        if cid in similarity:
            entry.stages["dense_similarity"] = round(similarity[cid], 4)
        if plan.sources and article.source in plan.sources:
            entry.score += cfg.source_bonus
            entry.stages["source_match"] = 1
        if days and article.published and article.published[:10] in days:
            entry.score += cfg.day_bonus
            entry.stages["day_match"] = 1
        ranked.append((entry.score, cid, entry.stages))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    passages = [
        catalog.passage(cid, score, stages) for score, cid, stages in ranked[: cfg.rerank_depth]
    ]
    if cfg.sentence_weight:
        passages = rerank_by_sentence(catalog, plan, passages, cfg.sentence_weight)
    chosen = diversify(passages, k, cfg.per_article, cfg.distinct_first)
    if cfg.source_quota:
        chosen = _with_each_source(chosen, passages, plan.sources, cfg.source_quota)
    return [replace(p, stages={**p.stages, "rank": i}) for i, p in enumerate(chosen, 1)]


def _with_each_source(
    chosen: list[Passage], ranked: Sequence[Passage], sources: Sequence[str], quota: int
) -> list[Passage]:
    """Make room for up to ``quota`` articles of each named source (their best passages),
    in place of the lowest passages that are not the only one of a named source's article."""
    out = list(chosen)
    for source in sources:
        have = {p.article_id for p in out if p.source == source}
        for passage in ranked:
            if len(have) >= quota:
                break
            if passage.source != source or passage.article_id in have:
                continue
            slot = _lowest_replaceable(out, sources)
            if slot is None:
                break
            out[slot] = passage
            have.add(passage.article_id)
    return sorted(out, key=lambda p: -p.score)


def _lowest_replaceable(passages: Sequence[Passage], sources: Sequence[str]) -> int | None:
    for i in range(len(passages) - 1, -1, -1):
        article = passages[i].article_id
        if passages[i].source not in sources or sum(p.article_id == article for p in passages) > 1:
            return i
    return None


def rerank_by_sentence(
    catalog: Catalog, plan: QueryPlan, passages: list[Passage], weight: float
) -> list[Passage]:
    """Add ``weight`` x the best sentence's coverage of the question's weighted terms.

    BM25 and the embedding judge a whole chunk; a question usually paraphrases one sentence.
    For a passage from a source the question names, the clause about that source is used.
    """
    queries = {None: plan.question, **plan.clauses}
    terms = {key: set(keyword_tokens([q])[0]) - QUESTION_WORDS for key, q in queries.items()}
    idf = catalog.index.keywords.idf(sorted(set().union(*terms.values())))
    spans = [(i, s, e) for i, p in enumerate(passages) for s, e in p.sentences]
    texts = [catalog.article_text(passages[i].article_id)[s:e] for i, s, e in spans]
    best = [0.0] * len(passages)
    for (i, _s, _e), words in zip(spans, keyword_tokens(texts) if texts else [], strict=True):
        key = passages[i].source if passages[i].source in plan.clauses else None
        wanted = terms[key]
        total = sum(idf[t] for t in wanted) or 1.0
        best[i] = max(best[i], sum(idf[t] for t in wanted.intersection(words)) / total)
    rescored = [
        replace(p, score=p.score + weight * b, stages={**p.stages, "best_sentence": round(b, 3)})
        for p, b in zip(passages, best, strict=True)
    ]
    return sorted(rescored, key=lambda p: (-p.score, p.chunk_id))
