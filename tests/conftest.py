"""Shared fixtures: every path setting points into tmp_path, so no test touches corpus/ or index/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Settings

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


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture articles."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_ARTICLES, target)
    return target


@pytest.fixture
def settings(corpus_dir: Path, tmp_path: Path) -> Settings:
    return Settings(corpus=corpus_dir, index_dir=tmp_path / "index")
