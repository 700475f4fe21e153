"""BM25 postings per segment, scored with the statistics of the live chunks of all segments."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexStoreError
from assistant.keyword import KEYWORD_FILE, KeywordIndex, SegmentKeywords, write_keywords
from assistant.text import _bm25s, keyword_tokens

from .conftest import FIXTURE_ARTICLES


def paragraphs(name: str) -> list[str]:
    """A fixture article's paragraphs, front matter aside: one chunk each."""
    text = (FIXTURE_ARTICLES / name).read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    return [p.strip() for p in text.split("\n\n") if p.strip()]


STRIKE = paragraphs("port-strike.md")
RATES = paragraphs("rate-decision.md")
TRAM = paragraphs("tram-line.txt")
FERRY = [
    "The Calder Bay ferry kept running during the dockworkers' strike, the operator said.",
    "Ferry crews are not members of the Coastal Stevedores Union and stayed at work.",
]
LIGHTHOUSE = [
    "The Estmark lighthouse at Cape Morrow will be automated next year, ending 140 years of keepers.",
    "Keeper Anna Velde said the cranes on the new pier can be seen from the lamp room.",
]
GADGETS = [
    "ChatGPT and the Chat-bot market grew; Open Harbour Labs hired 1,400 staff.",
    "Blue Finch, a start-up in Lindenport, sells tram tickets through a chat app.",
    "Arvid Tamsen spoke for the Harbour Council on Tuesday.",
    "The council's budget officer, Lena Kessling, did not comment.",
]

# Three segments, as three syncs wrote them: the first held an older version of the strike
# story, replaced by the third; the ferry story was deleted later. Their chunks are dead.
SEGMENTS: list[tuple[dict[str, list[str]], set[str]]] = [
    ({"port-strike": STRIKE[:4], "ferry": FERRY}, {"port-strike", "ferry"}),
    ({"rate-decision": RATES, "lighthouse": LIGHTHOUSE}, set()),
    ({"tram-line": TRAM, "port-strike": STRIKE, "gadgets": GADGETS}, set()),
]

QUERIES = [
    "Why did the dockworkers at Calder Bay strike?",
    "cranes cranes cranes union",  # a repeated token counts again
    "What did the Bank of Estmark decide about the key rate and inflation?",
    "tram Riverside mayor zeppelin",  # zeppelin: in no chunk
    "Calder ferry",  # the ferry story is dead: only the strike's chunks answer
    "harbour",
]


def write_segment(folder: Path, articles: dict[str, list[str]]) -> None:
    rows = [
        (f"{aid}:{i}", aid, text) for aid, texts in articles.items() for i, text in enumerate(texts)
    ]
    write_keywords(
        folder,
        [r[0] for r in rows],
        [r[1] for r in rows],
        keyword_tokens([r[2] for r in rows]) if rows else [],
    )


def live_chunks(
    segments: list[tuple[dict[str, list[str]], set[str]]],
) -> list[tuple[str, str, str]]:
    """(chunk id, article id, text) of the live chunks, in segment then chunk order."""
    return [
        (f"{aid}:{i}", aid, text)
        for articles, removed in segments
        for aid, texts in articles.items()
        if aid not in removed
        for i, text in enumerate(texts)
    ]


def open_segments(
    root: Path, segments: list[tuple[dict[str, list[str]], set[str]]]
) -> KeywordIndex:
    parts = []
    for n, (articles, removed) in enumerate(segments):
        write_segment(root / f"seg-{n}", articles)
        parts.append((root / f"seg-{n}", removed))
    return KeywordIndex(parts)


class Reference:
    """One bm25s index (method "lucene", its defaults) built over the live chunks."""

    def __init__(self, chunks: list[tuple[str, str, str]]) -> None:
        self.ids = [c[0] for c in chunks]
        self.articles = np.array([c[1] for c in chunks])
        self.terms = keyword_tokens([c[2] for c in chunks])
        self.bm25 = _bm25s().BM25()
        self.bm25.index(self.terms, show_progress=False)

    def scores(self, query: str, allowed: set[str] | None = None) -> np.ndarray:
        tokens = [t for t in keyword_tokens([query])[0] if t in self.bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.ids))
        scores = self.bm25.get_scores(tokens).astype(float)
        if allowed is not None:
            scores *= np.isin(self.articles, list(allowed))
        return scores

    def assert_same_hits(
        self, hits: list[tuple[str, float]], query: str, k: int, allowed: set[str] | None = None
    ) -> None:
        """The same top ``k`` as bm25s: its best scores, each id at its bm25s score.

        Chunks of equal score may come in either order, so ids are checked through scores.
        """
        scores = self.scores(query, allowed)
        best = np.sort(scores[scores > 0])[::-1][:k]
        assert [s for _, s in hits] == pytest.approx(best.tolist(), rel=1e-5)
        position = {cid: i for i, cid in enumerate(self.ids)}
        for cid, score in hits:
            assert scores[position[cid]] == pytest.approx(score, rel=1e-5), cid

    def idf(self, token: str) -> float:
        n = len(self.terms)
        df = sum(token in set(terms) for terms in self.terms)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


@pytest.fixture
def keywords(tmp_path: Path) -> KeywordIndex:
    return open_segments(tmp_path, SEGMENTS)


@pytest.fixture
def reference() -> Reference:
    return Reference(live_chunks(SEGMENTS))


def test_the_corpus_has_dead_chunks_that_share_live_terms(reference: Reference) -> None:
    # otherwise counting dead chunks in the statistics would go unnoticed
    assert len(STRIKE) > 4 and len(RATES) > 2 and len(TRAM) > 2
    assert all(reference.idf(t) > 0 for t in ("calder", "ferri", "union"))


@pytest.mark.parametrize("k", [1, 3, 100])
@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_those_of_one_bm25s_index_over_the_live_chunks(
    keywords: KeywordIndex, reference: Reference, query: str, k: int
) -> None:
    hits = keywords.search(query, k)
    assert hits, query
    reference.assert_same_hits(hits, query, k)


def test_best_first_and_every_hit_scores_above_zero(keywords: KeywordIndex) -> None:
    hits = keywords.search("Calder ferry", 100)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    assert {cid.split(":")[0] for cid, _ in hits} == {"port-strike"}
    assert not any(cid.startswith("ferry:") for cid in keywords.ids)


def test_idf_counts_the_live_chunks_of_every_segment(
    keywords: KeywordIndex, reference: Reference
) -> None:
    tokens = ["calder", "ferri", "crane", "rate", "tram", "harbour", "zeppelin", "the"]
    idf = keywords.idf(tokens)
    assert list(idf) == tokens
    for token in tokens:
        assert idf[token] == pytest.approx(reference.idf(token), rel=1e-12), token
    n = len(reference.ids)
    assert idf["zeppelin"] == pytest.approx(math.log(1 + (n + 0.5) / 0.5))
    assert idf["ferri"] > idf["calder"]  # the dead ferry story holds "ferry" twice, not counted


def test_unseen_terms_weigh_more_than_the_rarest_seen_term(keywords: KeywordIndex) -> None:
    idf = keywords.idf(["tokyo", "tamsen", "harbour"])
    assert idf["tokyo"] > idf["tamsen"] > idf["harbour"] > 0


def test_queries_without_known_terms_find_nothing(keywords: KeywordIndex) -> None:
    assert keywords.search("zeppelin", 5) == []
    assert keywords.search("", 5) == []
    assert keywords.search("What is it?", 5) == []  # stop words only
    assert keywords.search("tram", 0) == []


def test_allowed_keeps_the_chunks_of_those_articles_at_their_global_scores(
    keywords: KeywordIndex, reference: Reference
) -> None:
    query = "Calder Bay strike union cranes tram harbour"
    everything = dict(keywords.search(query, 100))
    for allowed in ({"tram-line"}, {"tram-line", "gadgets"}, {"lighthouse", "nowhere"}):
        hits = keywords.search(query, 3, allowed=allowed)
        assert hits and {cid.split(":")[0] for cid, _ in hits} <= allowed
        assert all(everything[cid] == score for cid, score in hits)
        reference.assert_same_hits(hits, query, 3, allowed)
    assert keywords.search(query, 3, allowed=set()) == []
    assert keywords.search(query, 3, allowed={"nowhere"}) == []
    assert keywords.search("ferry", 3, allowed={"ferry"}) == []  # removed from its segment


def test_an_article_removed_from_one_segment_lives_on_in_a_later_one(
    keywords: KeywordIndex,
) -> None:
    strike = [cid for cid in keywords.ids if cid.startswith("port-strike:")]
    assert strike == [f"port-strike:{i}" for i in range(len(STRIKE))]


def test_len_and_ids_are_the_live_chunks_in_segment_then_chunk_order(
    keywords: KeywordIndex,
) -> None:
    expected = [c[0] for c in live_chunks(SEGMENTS)]
    assert keywords.ids == expected
    assert len(keywords) == len(expected) == len(RATES) + 2 + len(TRAM) + len(STRIKE) + 4


def test_empty_and_wholly_removed_segments_change_nothing(
    tmp_path: Path, keywords: KeywordIndex, reference: Reference
) -> None:
    more = [
        ({}, set()),
        *SEGMENTS[:2],
        ({"old-tram": TRAM[:2], "old-rates": RATES[:1]}, {"old-tram", "old-rates"}),
        SEGMENTS[2],
        ({}, {"never-there"}),
    ]
    padded = open_segments(tmp_path / "padded", more)
    assert padded.ids == keywords.ids
    for query in QUERIES:
        hits = padded.search(query, 5)
        assert hits == pytest.approx(keywords.search(query, 5))
        reference.assert_same_hits(hits, query, 5)
    tokens = ["tram", "rate", "riversid", "zeppelin"]
    assert padded.idf(tokens) == pytest.approx(keywords.idf(tokens))
    assert not padded.together(["riversid", "tram", "estmark"])


def test_an_index_of_empty_segments_answers_nothing(tmp_path: Path) -> None:
    write_keywords(tmp_path / "empty", [], [], [])
    write_segment(tmp_path / "gone", {"tram-line": TRAM})
    for parts in ([(tmp_path / "empty", set())], [(tmp_path / "gone", {"tram-line"})], []):
        keywords = KeywordIndex(parts)
        assert len(keywords) == 0 and keywords.ids == []
        assert keywords.search("tram Riverside", 5) == []
        assert keywords.idf(["tram"]) == {"tram": pytest.approx(math.log(2))}
        assert not keywords.together(["tram"]) and not keywords.mentions(["tram"])


def test_together_needs_one_live_chunk_holding_every_term(keywords: KeywordIndex) -> None:
    assert keywords.together(["arvid", "tamsen", "council"])
    assert keywords.together(["open", "harbour", "lab"])
    assert not keywords.together(["arvid", "kessling"])  # both exist, never in one chunk
    assert not keywords.together(["tamsen", "lighthous"])  # in two segments
    assert not keywords.together(["ferri", "crew"])  # only in the removed ferry story
    assert not keywords.together([])


def test_mentions_takes_spelling_variants(keywords: KeywordIndex) -> None:
    def mentions(name: str) -> bool:
        return keywords.mentions(keyword_tokens([name])[0])

    assert mentions("Arvid Tamsen") and mentions("OPEN HARBOUR")
    assert mentions("Chat GPT")  # written as one word in the chunk
    assert mentions("BlueFinch")  # written as two
    assert not mentions("Arvid Kessling") and not mentions("Anthropic")
    assert not mentions("ferry crews")  # dead
    assert keywords.mentions([])


def test_segment_file_loads_without_pickle(tmp_path: Path) -> None:
    write_segment(tmp_path, {"tram-line": TRAM[:2], "gadgets": GADGETS[:1]})
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEYWORD_FILE]
    with np.load(tmp_path / KEYWORD_FILE, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
    segment = SegmentKeywords.load(tmp_path)
    assert segment.ids == ["tram-line:0", "tram-line:1", "gadgets:0"]
    assert segment.article_ids == ["tram-line", "tram-line", "gadgets"]
    terms = keyword_tokens([TRAM[0], TRAM[1], GADGETS[0]])
    assert segment.lengths.tolist() == [len(t) for t in terms]
    chunks, tfs = segment.postings("tram")
    assert chunks.tolist() == [i for i, t in enumerate(terms) if "tram" in t]
    assert tfs.tolist() == [t.count("tram") for t in terms if "tram" in t]
    assert segment.indptr[-1] == sum(len(set(t)) for t in terms)


def test_a_damaged_segment_file_says_rebuild(tmp_path: Path) -> None:
    write_segment(tmp_path, {"tram-line": TRAM})
    path = tmp_path / KEYWORD_FILE
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexStoreError, match="rebuild"):
        KeywordIndex([(tmp_path, set())])
    with pytest.raises(IndexStoreError, match="rebuild"):
        SegmentKeywords.load(tmp_path / "missing")


def test_write_needs_one_article_and_terms_per_chunk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one entry per chunk"):
        write_keywords(tmp_path, ["a:0", "a:1"], ["a"], [["x"], ["y"]])
