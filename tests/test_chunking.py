from __future__ import annotations

import re

import pytest

from assistant.chunking import chunk_article, split_sentences
from assistant.corpus import load_corpus
from assistant.embedding import load_tokenizer, max_seq_length, resolve_model_path
from assistant.types import Article

from .conftest import FIXTURE_ARTICLES, MULTIHOP, SEED_ARTICLE


class WordTokenizer:
    """A deterministic stand-in: one token per whitespace-separated word."""

    def count(self, texts):
        return [len(t.split()) for t in texts]

    def split(self, text, max_tokens):
        words = [m.span() for m in re.finditer(r"\S+", text)]
        return [
            (words[i][0], words[min(i + max_tokens, len(words)) - 1][1])
            for i in range(0, len(words), max_tokens)
        ]


def article(text: str) -> Article:
    return Article(id="a1", locator="a.txt", title="t", text=text)


def spans_text(text, spans):
    return [text[s:e] for s, e in spans]


def test_sentences_split_on_punctuation_quotes_and_newlines():
    text = (
        'Trump said: "It could end." Peskov disagreed! Was it true? '
        "“Yes,” he said.\nA new paragraph without a stop\nDr. Roe met U.S. officials at 3.5 p.m. today."
    )
    assert spans_text(text, split_sentences(text)) == [
        'Trump said: "It could end."',
        "Peskov disagreed!",
        "Was it true?",
        "“Yes,” he said.",
        "A new paragraph without a stop",
        "Dr. Roe met U.S. officials at 3.5 p.m. today.",
    ]


def test_initials_do_not_end_a_sentence():
    text = "The report by J. K. Smith was late. It came out Monday."
    assert spans_text(text, split_sentences(text)) == [
        "The report by J. K. Smith was late.",
        "It came out Monday.",
    ]


def test_chunks_fit_window_keep_offsets_and_overlap():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(40)]
    text = " ".join(sentences)
    chunks = chunk_article(article(text), WordTokenizer(), max_tokens=30, overlap_tokens=10)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.n_tokens == len(chunk.text.split()) <= 30
        assert chunk.id == f"a1:{chunk.start}-{chunk.end}"
        assert [text[s:e] for s, e in chunk.sentences] == split_sentences_in(chunk.text)
    # consecutive chunks share one whole sentence (7 words <= 10 overlap; 2 would be 14)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.sentences[0] == before.sentences[-1]
    # together the chunks cover every sentence
    covered = {s for c in chunks for s in c.sentences}
    assert covered == set(split_sentences(text))


def split_sentences_in(text):
    return spans_text(text, split_sentences(text))


def test_no_overlap_when_disabled():
    text = " ".join(f"Short sentence {i} here." for i in range(30))
    chunks = chunk_article(article(text), WordTokenizer(), max_tokens=12, overlap_tokens=0)
    assert all(a.end < b.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_overlong_sentence_is_cut_into_window_sized_pieces():
    long_sentence = " ".join(f"w{i}" for i in range(95)) + "."
    text = f"Intro here. {long_sentence} Outro here."
    chunks = chunk_article(article(text), WordTokenizer(), max_tokens=20, overlap_tokens=5)
    assert all(c.n_tokens <= 20 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert "w0" in joined and "w94." in joined


def test_empty_text_gives_no_chunks():
    assert chunk_article(article("   \n "), WordTokenizer(), max_tokens=10, overlap_tokens=2) == []


# -- with the real tokenizer of the bundled model --------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(resolve_model_path("all-MiniLM-L6-v2"))


def check_article_chunks(art: Article, tokenizer, max_tokens: int = 254) -> int:
    chunks = chunk_article(art, tokenizer, max_tokens=max_tokens, overlap_tokens=40)
    window = max_seq_length(resolve_model_path("all-MiniLM-L6-v2"))
    assert window == 256
    counts = tokenizer.count([c.text for c in chunks])
    for chunk, count in zip(chunks, counts, strict=True):
        assert art.text[chunk.start : chunk.end] == chunk.text
        assert count == chunk.n_tokens
        assert count + 2 <= window, f"{chunk.id} would be truncated by the model"
        for s, e in chunk.sentences:
            assert chunk.start <= s < e <= chunk.end
    return len(chunks)


def test_real_tokenizer_chunks_of_fixture_and_seed_articles(tokenizer):
    loaded = load_corpus(FIXTURE_ARTICLES)
    seed = load_corpus(SEED_ARTICLE).articles
    assert sum(check_article_chunks(a, tokenizer) for a in (*loaded.articles, *seed)) >= 7


def test_real_tokenizer_splits_unicode_and_long_text(tokenizer):
    text = "Le café « naïve » coûte 3 €. " * 5 + ("Ωmega " * 400).strip() + ". Fin."
    assert check_article_chunks(article(text), tokenizer, max_tokens=60) > 3


@pytest.mark.slow
def test_no_multihop_chunk_exceeds_the_model_window(tokenizer):
    corpus = MULTIHOP / "corpus.json.gz"
    if not corpus.exists():
        pytest.skip("../shared/data/multihop-rag not present")
    loaded = load_corpus(corpus)
    assert sum(check_article_chunks(a, tokenizer) for a in loaded.articles) > 5000
