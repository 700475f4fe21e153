"""Question -> ranked Passages: keyword (BM25) and dense (Chroma) search, fused and diversified.

Each stage is a plain function; the evidence each one gave is kept on ``Passage.stages``.

    candidates  BM25 and dense top-N over the whole index, and again inside each source the
                question names ("reported by The Verge and TechCrunch")
    fuse        weighted reciprocal-rank fusion of those lists, plus a bonus for articles from
                a named source or published on a day the question names
    rerank      the top of the fused list re-scored (``Reranker``; by default the share of the
                question's weighted terms its best sentence holds)
    diversify   at most ``per_article`` passages per article in the top-k, room for each
                named source

The index is read only through ``reader.Index`` (its catalog, BM25 and Chroma searches).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from .config import RetrievalConfig
from .query import QueryPlan
from .reader import Index
from .text import QUESTION_WORDS, keyword_tokens, sentence_tokens
from .timescope import TimeScope
from .types import Filters, Passage

logger = logging.getLogger(__name__)


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
    index: Index,
    plan: QueryPlan,
    vector: Sequence[float],
    *,
    k: int = 10,
    filters: Filters | None = None,
    config: RetrievalConfig | None = None,
    reranker: Reranker | None = None,
) -> list[Passage]:
    """The k best passages for the planned question; ``vector`` is its query embedding.

    ``reranker`` re-scores the top ``config.rerank_depth`` fused passages; by default the
    best-sentence overlap (``SentenceReranker``) with ``config.sentence_weight``.
    """
    cfg = config or RetrievalConfig()
    filters = filters or Filters()
    catalog = index.catalog
    scope: TimeScope = plan.scope
    allowed = catalog.allowed_articles(filters)
    dense = index.dense_search(vector, cfg.candidates, allowed)
    similarity = dict(dense)
    lists: dict[str, tuple[float, Sequence[str]]] = {
        "keyword": (
            cfg.keyword_weight,
            index.keyword_search(plan.question, cfg.candidates, allowed),
        ),
        "dense": (cfg.dense_weight, [c for c, _ in dense]),
    }
    for source in plan.sources:
        inside = catalog.allowed_articles(filters, (source,))
        n = cfg.per_source_candidates
        lists[f"keyword[{source}]"] = (
            cfg.source_list_weight,
            index.keyword_search(plan.question, n, inside),
        )
        if cfg.clause_weight and source in plan.clauses:
            lists[f"clause[{source}]"] = (
                cfg.clause_weight,
                index.keyword_search(plan.clauses[source], n, inside),
            )
        dense_inside = index.dense_search(vector, n, inside)
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
            index.keyword_search(plan.question, n, inside),
        )
        dense_inside = index.dense_search(vector, n, inside)
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
    reranker = reranker or SentenceReranker(cfg.sentence_weight)
    passages = reranker.rerank(plan, passages, index)
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


class Reranker(Protocol):
    """Re-scores the fused passages before the top k are chosen (a cross-encoder fits here).

    ``rerank`` returns the passages best first, each with its new ``score`` and what decided
    it added to ``stages``; ``index`` gives what it may need of the corpus (word weights,
    article texts).
    """

    def rerank(
        self, plan: QueryPlan, passages: Sequence[Passage], index: Index
    ) -> list[Passage]: ...


@dataclass(frozen=True)
class SentenceReranker:
    """Adds ``weight`` x the best sentence's share of the question's weighted terms.

    BM25 and the embedding judge a whole chunk; a question usually paraphrases one sentence.
    For a passage from a source the question names, the clause about that source is used.
    """

    weight: float = RetrievalConfig().sentence_weight

    def rerank(self, plan: QueryPlan, passages: Sequence[Passage], index: Index) -> list[Passage]:
        if not self.weight:
            return list(passages)
        queries = {None: plan.question, **plan.clauses}
        terms = {key: set(keyword_tokens([q])[0]) - QUESTION_WORDS for key, q in queries.items()}
        idf = index.keywords.idf(sorted(set().union(*terms.values())))
        totals = {key: sum(idf[t] for t in wanted) or 1.0 for key, wanted in terms.items()}
        article_text = index.catalog.article_text
        best = [0.0] * len(passages)
        for i, passage in enumerate(passages):
            key = passage.source if passage.source in plan.clauses else None
            wanted, total = terms[key], totals[key]
            text = article_text(passage.article_id)
            for words in sentence_tokens([text[s:e] for s, e in passage.sentences]):
                best[i] = max(best[i], sum(idf[t] for t in wanted.intersection(words)) / total)
        rescored = [
            replace(
                p,
                score=p.score + self.weight * b,
                stages={**p.stages, "best_sentence": round(b, 3)},
            )
            for p, b in zip(passages, best, strict=True)
        ]
        return sorted(rescored, key=lambda p: (-p.score, p.chunk_id))
