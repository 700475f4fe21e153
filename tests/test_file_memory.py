"""A sync reads only the corpus files that changed, and finds what a full read finds.

Real syncs (fake embedder, embedded Chroma) on a corpus of Markdown files and a JSON-lines
feed. Which files a sync reads is seen by counting ``corpus._read_file`` calls. Files are
written with a modification time in the past, as files are by the time a next sync comes
(``corpus.RACY_SECONDS``): a file modified just now is not remembered.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from assistant import Settings, open_index, sync_index
from assistant import corpus as corpus_module
from assistant.file_memory import FILE_NAME

from .fakes import HashEmbedder

_clock = iter(range(10**6))


def write(path: Path, text: str) -> None:
    """Write ``path`` with a modification time of its own, an hour ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    then = time.time() - 3600 + next(_clock) * 0.001
    os.utime(path, (then, then))


def article(n: int, word: str = "harbour") -> str:
    return f"# Quay report {n}\n\nThe {word} board of Vellmar counted {n} ferries on Quay {n}.\n"


def feed(*bodies: str) -> str:
    rows = [{"title": f"Wire {i}", "body": body} for i, body in enumerate(bodies)]
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The locators of the files each sync reads, in order."""
    seen: list[str] = []
    real = corpus_module._read_file

    def counted(file: str, locator: str, max_bytes: int):
        seen.append(locator)
        return real(file, locator, max_bytes)

    monkeypatch.setattr(corpus_module, "_read_file", counted)
    return seen


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    for n in range(4):
        write(corpus / f"quay-{n}.md", article(n))
    write(corpus / "wire.jsonl", feed("Ferries ran late at Vellmar.", "The Quay 9 crane failed."))
    return Settings(corpus=corpus, index_dir=tmp_path / "index")


def live(settings: Settings) -> list[tuple[str, str, str]]:
    with open_index(settings) as index:
        return sorted((a.locator, a.content_hash, a.text) for a in index.articles())


def sync(settings: Settings, reads: list[str], **options) -> list[str]:
    """Sync; return the files it read."""
    reads.clear()
    sync_index(settings, embedder=HashEmbedder(), **options)
    return sorted(reads)


def test_a_sync_reads_only_the_files_whose_stamp_changed(small: Settings, reads: list[str]):
    assert len(sync(small, reads)) == 5  # nothing remembered yet
    assert (small.index_dir / FILE_NAME).exists()
    assert sync(small, reads) == []  # the no-op reads nothing

    write(small.corpus / "quay-1.md", article(1, "ferry"))
    write(small.corpus / "quay-9.md", article(9))
    (small.corpus / "quay-2.md").unlink()
    assert sync(small, reads) == ["quay-1.md", "quay-9.md"]
    locators = [row[0] for row in live(small)]
    assert locators == [
        "quay-0.md",
        "quay-1.md",
        "quay-3.md",
        "quay-9.md",
        "wire.jsonl#record-1",
        "wire.jsonl#record-2",
    ]
    assert "ferry board" in dict((r[0], r[2]) for r in live(small))["quay-1.md"]
    assert sync(small, reads) == []

    # --reread reads them all, and finds nothing new
    assert len(sync(small, reads, reread=True)) == 5


def test_an_edit_that_keeps_size_and_modification_time_is_still_seen(
    small: Settings, reads: list[str]
):
    sync(small, reads)
    path = small.corpus / "quay-3.md"
    before = path.stat()
    text = article(3).replace("harbour", "harBOUR")
    assert len(text.encode()) == before.st_size
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the change time still moves
    assert sync(small, reads) == ["quay-3.md"]
    assert any("harBOUR" in row[2] for row in live(small))


def test_a_new_copy_of_a_remembered_article_is_still_a_duplicate(small: Settings, reads: list[str]):
    sync(small, reads)
    write(small.corpus / "copy.md", article(2))
    report = sync_index(small, embedder=HashEmbedder())
    assert report.added == 0
    assert [p.path for p in report.problems] == ["copy.md"]
    assert "same text as quay-2.md" in report.problems[0].reason
    assert [row[0] for row in live(small)].count("copy.md") == 0


def test_files_with_problems_are_read_and_reported_every_time(small: Settings, reads: list[str]):
    write(small.corpus / "bad.jsonl", '{"title": "no body"}\n')
    sync(small, reads)
    for _ in range(2):
        reads.clear()
        report = sync_index(small, embedder=HashEmbedder())
        assert reads == ["bad.jsonl"]
        assert [p.path for p in report.problems] == ["bad.jsonl#1"]


def test_a_record_the_index_does_not_bear_out_is_read_past(small: Settings, reads: list[str]):
    sync(small, reads)
    # a rebuild reads every file, whatever is remembered
    assert len(sync(small, reads, rebuild=True)) == 5
    # the memory claims quay-0.md gave an article the index does not hold (as after a crash)
    with __import__("sqlite3").connect(small.index_dir / FILE_NAME) as db:
        (articles,) = db.execute(
            "SELECT articles FROM files WHERE locator = 'quay-0.md'"
        ).fetchone()
        rows = json.loads(articles)
        rows[0][2] = "0" * 64
        db.execute("UPDATE files SET articles = ? WHERE locator = 'quay-0.md'", (json.dumps(rows),))
    assert sync(small, reads) == ["quay-0.md"]
    assert sync(small, reads) == []  # and remembered right again


def test_a_broken_memory_costs_only_a_full_read(small: Settings, reads: list[str], caplog):
    sync(small, reads)
    (small.index_dir / FILE_NAME).write_bytes(b"not a database " * 100)
    assert len(sync(small, reads)) == 5
    assert "every corpus file is read" in caplog.text
    assert sync(small, reads) == []  # written anew
    assert len(live(small)) == 6


def test_another_corpus_folder_is_read_whole(small: Settings, reads: list[str], tmp_path: Path):
    sync(small, reads)
    moved = tmp_path / "moved"
    small.corpus.rename(moved)
    elsewhere = small.model_copy(update={"corpus": moved})
    assert len(sync(elsewhere, reads)) == 5


def test_remembering_finds_what_reading_everything_finds(tmp_path: Path, reads: list[str]):
    """Random edits, additions, removals, copies and bad records; after each, a sync that
    remembers and one that rereads hold the same articles and report the same problems."""
    rng = random.Random(7)
    corpus = tmp_path / "corpus"
    settings = {
        name: Settings(corpus=corpus, index_dir=tmp_path / name) for name in ("kept", "reread")
    }
    names = [f"quay-{n}.md" for n in range(6)] + ["wire.jsonl", "more.jsonl"]
    bodies = [article(n) for n in range(8)] + ["A body with no title line at all."]
    for name in names[:4]:
        write(corpus / name, rng.choice(bodies))
    read = {"kept": 0, "reread": 0}
    copies = 0
    for step in range(12):
        name = rng.choice(names)
        path = corpus / name
        if path.exists() and rng.random() < 0.25:
            path.unlink()
        elif name.endswith(".jsonl"):
            rows = rng.sample(bodies, rng.randrange(1, 4))
            text = feed(*rows) + ('{"title": "no body"}\n' if rng.random() < 0.3 else "")
            write(path, text)
        else:
            write(path, rng.choice(bodies))
        found = {}
        for mode, s in settings.items():
            reads.clear()
            report = sync_index(s, embedder=HashEmbedder(), reread=mode == "reread")
            found[mode] = (live(s), sorted(map(str, report.problems)))
            read[mode] += len(reads)
        assert found["kept"] == found["reread"], f"step {step}: {name}"
        copies += any("same text as" in problem for problem in found["kept"][1])
    assert read["kept"] < read["reread"] / 2, read
    assert copies >= 3  # the steps met copies across files, which remembering must still see
