"""Shared fixtures: every path setting points into tmp_path, so no test touches corpus/ or index/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Settings, sync_index

DATA = Path(__file__).parent / "data"
FIXTURE_ARTICLES = DATA / "articles"
SEED_ARTICLE = Path(__file__).resolve().parents[1] / "corpus" / "article-000.txt"
MULTIHOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag"


@pytest.fixture(autouse=True)
def _isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFING_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("BRIEFING_INDEX_DIR", str(tmp_path / "index"))
    for name in ("BRIEFING_CHROMA_HOST", "BRIEFING_CHUNK_TOKENS", "BRIEFING_EMBEDDING_MODEL"):
        monkeypatch.delenv(name, raising=False)
    # exporting the model for questions takes 10-25 s per index; tests/test_onnx_encoder.py
    # covers that path, the others embed questions with the model
    monkeypatch.setenv("BRIEFING_QUERY_ENCODER", "model")


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture articles."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_ARTICLES, target)
    return target


@pytest.fixture
def settings(corpus_dir: Path, tmp_path: Path) -> Settings:
    return Settings(corpus=corpus_dir, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture articles and the seed, indexed once per session with the fake embedder.

    Read it, never sync it: a test that changes the index copies it (``fake_index_copy``).
    The refusal thresholds are MiniLM's; the fake's bag-of-words cosines run lower.
    """
    from .fakes import HashEmbedder

    root = tmp_path_factory.mktemp("fake-index")
    shutil.copytree(FIXTURE_ARTICLES, root / "corpus")
    shutil.copy(SEED_ARTICLE, root / "corpus" / "article-000.txt")
    settings = Settings(
        corpus=root / "corpus",
        index_dir=root / "index",
        refusal={"min_similarity": 0.15, "min_named_similarity": 0.05},
    )
    sync_index(settings, embedder=HashEmbedder())
    return settings


@pytest.fixture
def fake_index_copy(fake_index: Settings, tmp_path: Path) -> Settings:
    """A copy of ``fake_index`` (corpus and index) that a test may change."""
    shutil.copytree(fake_index.corpus, tmp_path / "corpus")
    shutil.copytree(fake_index.index_dir, tmp_path / "index")
    return fake_index.model_copy(
        update={"corpus": tmp_path / "corpus", "index_dir": tmp_path / "index"}
    )
