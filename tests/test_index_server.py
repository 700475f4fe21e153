"""Index into a real Chroma server started on 127.0.0.1 (`chroma run` from the chromadb package)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Settings, open_index, sync_index
from assistant.reader import Index

from .test_index import assert_consistent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import chromadb

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the Chroma server did not start")
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_index_into_a_chroma_server(settings: Settings, corpus_dir: Path, chroma_server: int):
    import chromadb

    remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server})
    report = sync_index(remote)
    assert report.added == 6
    assert_consistent(remote)
    server = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)

    def collections(index: Index) -> set[str]:
        return {s.store.get_meta("collection") for s in index.segments}

    def on_server() -> set[str]:
        return {c.name for c in server.list_collections()}

    with open_index(remote) as index:
        assert on_server() == collections(index)
        (name,) = collections(index)
        assert server.get_collection(name).count() == report.total_chunks

    (corpus_dir / "tram-line.txt").unlink()
    second = sync_index(remote)
    assert second.removed == 1
    assert_consistent(remote)
    third = sync_index(remote.model_copy())  # no-op
    assert third.generation == second.generation
    (corpus_dir / "extra.txt").write_text(
        "Extra headline\nA bridge reopened on Sunday.\n", encoding="utf-8"
    )
    reader = open_index(remote)  # a server still answering from the third generation
    fourth = sync_index(remote)
    assert fourth.added == 1
    assert_consistent(remote)
    compacted = sync_index(remote, compact=True)  # the reader's segment is merged away
    assert_consistent(remote)
    with open_index(remote) as index:
        assert len(index.segments) == 1
        # the generation in use, and the one a reader still has open; nothing else
        assert on_server() == collections(index) | collections(reader)
        assert compacted.generation == index.generation.name
    assert reader.dense_search([1.0] + [0.0] * 383, k=1)  # its collection still answers
    reader.close()
    sync_index(remote)  # a no-op sync still clears what no reader holds
    with open_index(remote) as index:
        assert on_server() == collections(index) and len(on_server()) == 1

    # the embedded store and the server are not mixed up silently
    from assistant import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="rebuild"):
        open_index(settings)
