from __future__ import annotations

from pathlib import Path

import bm25s
import pytest
import Stemmer

from assistant.text import keyword_tokens, sentence_tokens

ARTICLES = Path(__file__).parent / "data" / "articles"
MULTIHOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag"
TRICKY = [
    "",
    "   ",
    "a I x",  # one-letter words are no tokens
    "The Kremlin's answer, on 25 February 2025: \u201cnot acceptable\u201d.",
    "İstanbul ŞEHİR Straße ǅemal naïve café résumé ΣΑΣ K\u212aelvin",  # lower() changes lengths
    "ﬁnance Ⅻ x² 3rd 1,200 jobs; 1.1bn crowns; e-mail re-elected",
    "don't can't won't I'm it's they're",
    "running runs ran runner's generously generous",
    "THE AND OF between themselves",
]


def _bm25s_tokens(texts: list[str]) -> list[list[str]]:
    """The tokenizer the keyword index was defined by (``keyword.KEYWORD_VERSION``)."""
    return bm25s.tokenize(
        texts,
        stopwords="en",
        stemmer=Stemmer.Stemmer("english").stemWords,
        return_ids=False,
        show_progress=False,
    )


def _texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(ARTICLES.iterdir())]
    return texts + [line for t in texts for line in t.splitlines()] + TRICKY


def test_keyword_tokens_are_bm25s_tokens():
    texts = _texts()
    assert keyword_tokens(texts) == _bm25s_tokens(texts)
    for text in texts:  # one at a time, as a question is
        assert keyword_tokens([text]) == _bm25s_tokens([text])


def test_sentence_tokens_are_keyword_tokens_remembered():
    texts = _texts()
    first = sentence_tokens(texts)
    assert [list(t) for t in first] == keyword_tokens(texts)
    again = sentence_tokens(texts)
    assert all(a is b for a, b in zip(first, again, strict=True))  # the same tuples, not redone
    assert keyword_tokens([]) == sentence_tokens([]) == []


@pytest.mark.slow  # about 6 s: 609 articles, 1,549 questions
@pytest.mark.skipif(not MULTIHOP.is_dir(), reason="MultiHop-RAG data not present")
def test_keyword_tokens_of_every_multihop_question_and_article():
    from assistant.corpus import load_corpus
    from assistant.evaluation import load_queries

    questions = [q.query for q in load_queries(MULTIHOP / "queries-dev.json.gz")]
    articles = [a.text for a in load_corpus(MULTIHOP / "corpus.json.gz").articles]
    assert keyword_tokens(questions) == _bm25s_tokens(questions)
    assert keyword_tokens(articles) == _bm25s_tokens(articles)
