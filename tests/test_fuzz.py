"""Property tests of the readers, the chunker and the store (issue 10, "Fuzzing").

The strategies and checks are those of ``benchmarks/fuzz.py``, which runs thousands of examples
and prints the figures; here a few dozen run per target, derandomized, so CI keeps the
properties without flaking (about 10 s in all; the sync test writes real Chroma stores).

Below them, the smallest inputs of what fuzzing found, each of which failed before its fix.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from assistant.chunking import chunk_article
from assistant.corpus import MAX_META_CHARS, load_corpus
from assistant.store import ArticleStore
from assistant.types import Article, Chunk


def _benchmark() -> Any:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("benchmarks_fuzz", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _benchmark()


def fuzzed(max_examples: int) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the properties, on a few examples ------------------------------------------------------
@fuzzed(60)
@given(fuzz.corpora())
def test_load_corpus_never_raises_and_good_records_beside_bad_ones_load(files):
    assert fuzz.check_load(files) == []


@fuzzed(80)
@given(fuzz.chunk_cases())
def test_chunks_keep_offsets_order_and_the_window(case):
    assert fuzz.check_chunks(case) == []


@fuzzed(80)
@given(fuzz.chunk_cases(small=True))
def test_chunks_keep_their_properties_when_small_windows_cut_sentences(case):
    assert fuzz.check_chunks(case) == []


@fuzzed(40)
@given(fuzz.store_cases())
def test_store_round_trips_articles_and_chunks_exactly(case):
    assert fuzz.check_store(case) == []


@fuzzed(4)
@given(fuzz.corpora(max_files=3))
def test_sync_indexes_the_good_articles_beside_bad_files(files):
    assert fuzz.check_sync(files) == []


# --- what fuzzing found (each failed before its fix) -----------------------------------------
def test_a_url_like_another_records_key_keeps_ids_unique(tmp_path: Path):
    records = [{"url": "record-2", "body": "The ferry sailed."}, {"body": "The tram ran late."}]
    (tmp_path / "wire.json").write_text(json.dumps(records))
    load = load_corpus(tmp_path)
    assert len(load.articles) == 2  # both load ...
    ids = [article.id for article in load.articles]
    assert len(set(ids)) == 2, ids  # ... under one id: the sync stops (DuplicateIDError)


def test_a_title_taken_from_a_long_first_line_is_bounded(tmp_path: Path):
    line = "The ferry to Osterlund sailed again on Monday. " * 100
    (tmp_path / "long.txt").write_text(line)
    (article,) = load_corpus(tmp_path).articles
    assert len(article.title) <= MAX_META_CHARS


def test_a_sentence_cut_inside_a_word_fits_the_window():
    text = "kestria/" * 127  # 508 word pieces and no space: cut inside "kest|ria"
    article = Article(id="a", locator="a.txt", title="t", text=text)
    chunks = chunk_article(article, fuzz.tokenizer(), max_tokens=254, overlap_tokens=40)
    counts = fuzz.tokenizer().count([chunk.text for chunk in chunks])
    assert [chunk.n_tokens for chunk in chunks] == counts
    assert max(counts) <= 254


def test_characters_the_tokenizer_drops_stay_in_a_chunk():
    text = "\ufffd" + "ferry " * 300  # U+FFFD is what the reader puts for a lone surrogate
    article = Article(id="a", locator="a.txt", title="t", text=text.strip())
    chunks = chunk_article(article, fuzz.tokenizer(), max_tokens=254, overlap_tokens=40)
    assert chunks[0].start == 0


def test_chunk_text_is_exact_after_a_nul(tmp_path: Path):
    article = Article(id="a", locator="a.json#1", title="t", text="Before \x00 after.")
    chunk = Chunk(id="a:0-15", article_id="a", start=0, end=15, text=article.text)
    with ArticleStore(tmp_path) as store:
        store.put_article(article, [chunk], [["before"]])
        assert store.chunk_text(chunk.id) == article.text
