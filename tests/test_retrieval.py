"""Retrieval, stage by stage: fusion, diversity, the source quota, re-scoring, filters.

The pure stages on hand-made passages; ``retrieve`` on the session's fake-embedder index (a
real Chroma store and BM25 over the fixture articles, no model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from assistant import Assistant, Filters, Index, Passage, Settings, open_index
from assistant.query import plan_query
from assistant.retrieval import (
    SentenceReranker,
    _with_each_source,
    diversify,
    fuse,
    retrieve,
)

from .fakes import HashEmbedder


def passage(chunk: str, article: str, score: float, source: str | None = None) -> Passage:
    return Passage(
        chunk_id=chunk,
        article_id=article,
        start=0,
        end=1,
        text="x",
        title=article,
        source=source,
        published=None,
        url=None,
        sentences=((0, 1),),
        score=score,
    )


# -- the pure stages ---------------------------------------------------------------------------
def test_fusion_is_weighted_reciprocal_rank():
    fused = fuse({"keyword": (1.0, ["a", "b"]), "dense": (0.5, ["b", "c"])}, rrf_k=60)
    assert fused["a"].score == pytest.approx(1 / 61)
    assert fused["b"].score == pytest.approx(1 / 62 + 0.5 / 61)
    assert fused["c"].score == pytest.approx(0.5 / 62)
    assert fused["b"].stages == {"keyword_rank": 2, "dense_rank": 1}
    assert "dense_rank" not in fused["a"].stages


def test_diversify_takes_distinct_articles_first_then_caps_each_article():
    ranked = [
        passage("a1", "A", 0.9),
        passage("a2", "A", 0.8),
        passage("a3", "A", 0.7),
        passage("b1", "B", 0.6),
        passage("a4", "A", 0.5),
        passage("c1", "C", 0.4),
    ]
    ids = lambda ps: [p.chunk_id for p in ps]  # noqa: E731
    # two distinct first (a1, b1), then at most two of A; A's third fills in only at the end
    assert ids(diversify(ranked, k=6, per_article=2, distinct_first=2)) == [
        "a1",
        "b1",
        "a2",
        "c1",
        "a3",
        "a4",
    ]
    assert ids(diversify(ranked, k=3, per_article=3, distinct_first=0)) == ["a1", "a2", "a3"]
    assert ids(diversify(ranked, k=3, per_article=1, distinct_first=3)) == ["a1", "b1", "c1"]


def test_each_named_source_gets_room_for_its_articles():
    chosen = [
        passage("a1", "A", 0.9, "Ledger"),
        passage("a2", "A", 0.8, "Ledger"),
        passage("b1", "B", 0.7, "Courier"),
        passage("c1", "C", 0.6, None),
    ]
    ranked = [*chosen, passage("d1", "D", 0.2, "Courier"), passage("e1", "E", 0.1, "Courier")]
    out = _with_each_source(chosen, ranked, ["Courier"], quota=2)
    # the lowest passage that is not a named source's only one (c1) makes room for D
    assert [p.chunk_id for p in out] == ["a1", "a2", "b1", "d1"]
    out = _with_each_source(chosen, ranked, ["Courier"], quota=3)
    assert {p.article_id for p in out if p.source == "Courier"} == {"B", "D", "E"}
    assert "b1" in [p.chunk_id for p in out]  # a named source's only passage stays


# -- on the fake index -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def index(fake_index: Settings):
    with open_index(fake_index) as opened:
        yield opened


def _retrieve(index: Index, question: str, **options) -> list[Passage]:
    plan = plan_query(question, index.catalog.sources)
    return retrieve(index, plan, HashEmbedder().embed_query(question), **options)


def test_passages_are_the_article_text_at_their_offsets(index: Index):
    passages = _retrieve(index, "How many dockworkers stopped work at the Port of Calder Bay?")
    assert passages and "dockworkers" in passages[0].text.lower()
    assert [p.stages["rank"] for p in passages] == list(range(1, len(passages) + 1))
    for p in passages:
        assert index.article(p.article_id).text[p.start : p.end] == p.text
        assert {"keyword_rank", "dense_rank"} & set(p.stages)


def test_a_named_source_gets_its_own_lists_and_a_bonus(index: Index):
    question = "What did the Harbour Ledger report about cranes?"
    passages = _retrieve(index, question)
    top = passages[0]
    assert top.source == "Harbour Ledger" and top.stages["source_match"] == 1
    assert "keyword[Harbour Ledger]_rank" in top.stages
    assert "dense[Harbour Ledger]_rank" in top.stages


def test_filters_keep_to_the_allowed_articles(index: Index):
    question = "What did officials say?"
    only = _retrieve(index, question, filters=Filters(sources=("Meridian Wire",)))
    assert only and {p.source for p in only} == {"Meridian Wire"}
    november_15 = Filters(start_ts=1_700_006_400, end_ts=1_700_092_800)  # 2023-11-15 UTC
    dated = _retrieve(index, question, filters=november_15)
    assert dated and {p.published[:10] for p in dated} == {"2023-11-15"}
    assert _retrieve(index, question, filters=Filters(sources=("Nobody's Gazette",))) == []


def test_sentence_rescoring_lifts_the_passage_whose_sentence_holds_the_question(index: Index):
    plan = plan_query("remote-controlled cranes by 2025", index.catalog.sources)
    fused = _retrieve(
        index,
        plan.question,
        config=Settings().retrieval.model_copy(update={"sentence_weight": 0.0}),
    )
    flat = [replace(p, score=1.0) for p in fused]  # a tie: only the sentences decide
    rescored = SentenceReranker(weight=0.5).rerank(plan, flat, index)
    assert "cranes" in rescored[0].text and rescored[0].stages["best_sentence"] > 0.5
    assert rescored[0].score == pytest.approx(
        1.0 + 0.5 * rescored[0].stages["best_sentence"], abs=1e-3
    )
    assert all(p.stages["best_sentence"] <= rescored[0].stages["best_sentence"] for p in rescored)


class _Reversed:
    """A reranker that puts the fused order upside down (any object with ``rerank`` fits)."""

    def __init__(self) -> None:
        self.seen = 0

    def rerank(self, plan, passages: Sequence[Passage], index: Index) -> list[Passage]:
        self.seen += len(passages)
        upside_down = list(reversed(passages))
        return [replace(p, score=float(len(passages) - i)) for i, p in enumerate(upside_down)]


def test_a_reranker_can_be_dropped_in(fake_index: Settings):
    question = "How many dockworkers stopped work at the Port of Calder Bay?"
    reranker = _Reversed()
    with Assistant(fake_index, HashEmbedder()) as plain:
        default = plain.search(question)
    with Assistant(fake_index, HashEmbedder(), reranker=reranker) as assistant:
        swapped = assistant.search(question)
    assert reranker.seen > len(default)  # it saw the fused candidates, not just the top k
    assert "dockworkers" in default[0].text
    assert swapped[0].chunk_id != default[0].chunk_id
