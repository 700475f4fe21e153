"""How a sync and a question scale with the index: synthetic corpora of ~7k, ~30k, ~100k chunks.

    python benchmarks/scale.py [--sizes 7000,30000,100000] [--questions 100] [--server]
                               [--real] [--json FILE]

Each corpus is made from the 609 MultiHop-RAG dev articles (../shared/data/multihop-rag, read
there, written only to a temporary folder): copy ``k`` of an article has one lower-case word
in nine swapped for one of another article, its own title and url, so no two texts are the
same (names stay: the speakers found are the original's).
Records are kept as JSON lines, 500 articles a file, as a newsroom feed would arrive.

Embedding costs nothing here: ``tests/fakes.HashEmbedder`` (bag-of-words vectors, no model)
embeds chunks and questions. What is measured is the index, not the model (embedding speed is
``benchmarks/index_throughput.py``'s and ``benchmarks/quantise.py``'s). Each size runs in a
fresh process, so its peak memory is its own:

- the build (seconds, chunks);
- a no-op re-sync (seconds), and one that reads every file again (``reread``; a sync
  otherwise reads only the files whose size or times changed);
- a one-article re-sync: one article's text changed (seconds, bytes written by the process as
  ``/proc/self/io`` ``write_bytes`` counts them, and that as a share of the index's bytes);
- in a fresh process, as a server answers an index another process built: opening the index
  and a first question (Chroma imported first, untimed), then ``ask`` p50/p95 over
  ``--questions`` dev questions;
- peak memory (VmHWM) of the building and of the asking process, the index's size on disk.

``--server`` repeats each size with a Chroma server (``chroma run``) holding the vectors.
``--real`` measures the one-article re-sync of the real 609-article index with the real model
(``benchmarks/out/multihop-index``, built by ``benchmarks/multihop_eval.py``), on a copy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "multihop-rag"
REAL_INDEX = ROOT / "benchmarks" / "out" / "multihop-index"
PER_FILE = 500
CHUNKS_PER_ARTICLE = 11.2
"""6,813 chunks of 609 articles: how many copies a size needs."""


# -- the synthetic corpus --------------------------------------------------------------------------
def make_corpus(folder: Path, chunks: int, seed: int = 0) -> int:
    """Write about ``chunks`` chunks' worth of perturbed copies of the dev articles into
    ``folder``; return the number of articles."""
    records = json.loads(gzip.decompress((DATA / "corpus.json.gz").read_bytes()))
    wanted = max(1, round(chunks / CHUNKS_PER_ARTICLE))
    rng = random.Random(seed)
    # lower-case words for lower-case words: names, which attribution reads, stay as they were
    words = [w for r in records for w in r["body"].split()[:200] if w.isalpha() and w.islower()]
    folder.mkdir(parents=True)
    out = []
    for n in range(wanted):
        record = dict(records[n % len(records)])
        copy = n // len(records)
        if copy:
            body = record["body"].split(" ")
            for i in range(rng.randrange(9), len(body), 9):
                if body[i].isalpha() and body[i].islower():
                    body[i] = rng.choice(words)
            record["body"] = " ".join(body)
            record["title"] = f"{record['title']} (edition {copy})"
        record["url"] = f"https://scale.example/{n}"
        out.append(record)
    for begin in range(0, len(out), PER_FILE):
        lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in out[begin : begin + PER_FILE])
        (folder / f"feed-{begin // PER_FILE:04d}.jsonl").write_text(lines + "\n", encoding="utf-8")
    return len(out)


def change_one_article(folder: Path) -> None:
    """Append a sentence to the first article of the last feed file."""
    path = sorted(folder.glob("feed-*.jsonl"))[-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["body"] += "\n\nThe harbour office of Vellmar said the count would be checked again."
    lines[0] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- measuring -------------------------------------------------------------------------------------
def written_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed_sync(
    settings: Any, embedder: Any, server: int | None = None, **options: Any
) -> tuple[float, int, Any]:
    """A sync's seconds, and the bytes this process (and the Chroma server's, pid ``server``)
    wrote to disk for it."""
    from assistant import sync_index

    os.sync()  # what earlier work left in the page cache is not counted here
    pids: list[int | str] = ["self", *([server] if server else [])]
    before = sum(written_bytes(p) for p in pids)
    started = time.perf_counter()
    report = sync_index(settings, embedder=embedder, **options)
    seconds = time.perf_counter() - started
    os.sync()
    return seconds, sum(written_bytes(p) for p in pids) - before, report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def questions(count: int) -> list[str]:
    queries = json.loads(gzip.decompress((DATA / "queries-dev.json.gz").read_bytes()))
    return [q["query"] for q in random.Random(0).sample(queries, count)]


def measure_size(
    chunks: int, count: int, work: Path, server_port: int | None, server_pid: int | None
) -> dict[str, Any]:
    """One size, in this process: build, re-syncs, questions. With a Chroma server, its writes
    and its folder (``work/chroma-server``) count as the index's."""
    from assistant import Settings
    from tests.fakes import HashEmbedder

    corpus = work / "corpus"
    articles = make_corpus(corpus, chunks)
    settings = Settings(corpus=corpus, index_dir=work / "index")
    if server_port is not None:
        settings = settings.model_copy(
            update={"chroma_host": "127.0.0.1", "chroma_port": server_port}
        )
    embedder = HashEmbedder()
    build_s, _, built = timed_sync(settings, embedder, server_pid)
    reread_s, _, _ = timed_sync(settings, embedder, server_pid, reread=True)
    noop_s, _, _ = timed_sync(settings, embedder, server_pid)
    change_one_article(corpus)
    one_s, one_bytes, one = timed_sync(settings, embedder, server_pid)
    assert one.updated == 1, one.summary()
    index_bytes = tree_bytes(settings.index_dir)
    if server_pid:
        index_bytes += tree_bytes(work / "chroma-server")
    build_rss = peak_rss_mib()
    asking = subprocess.run(
        [sys.executable, __file__, "--ask", str(count), "--work", str(work)]
        + (["--port", str(server_port)] if server_port is not None else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if asking.returncode != 0:
        raise RuntimeError(f"asking failed:\n{asking.stderr[-3000:]}")
    return {
        "backend": "chroma-server" if server_port is not None else "embedded",
        "articles": articles,
        "chunks": built.total_chunks,
        "build_s": round(build_s, 1),
        "noop_resync_s": round(noop_s, 2),
        "noop_reread_s": round(reread_s, 2),
        "one_article_resync_s": round(one_s, 2),
        "one_article_written_mb": round(one_bytes / 1e6, 2),
        "index_mb": round(index_bytes / 1e6, 1),
        "written_share": round(one_bytes / index_bytes, 4) if index_bytes else None,
        "peak_rss_mib": round(build_rss),
        **json.loads(asking.stdout.strip().splitlines()[-1]),
    }


def measure_asking(count: int, work: Path, server_port: int | None) -> dict[str, Any]:
    """Questions in a fresh process, as a server answers them: the index opened (Chroma
    imported first, untimed), a first question, then ``count`` timed ones."""
    import chromadb  # noqa: F401 - a server has imported it long before

    from assistant import Assistant, Settings
    from tests.fakes import HashEmbedder

    settings = Settings(corpus=work / "corpus", index_dir=work / "index")
    if server_port is not None:
        settings = settings.model_copy(
            update={"chroma_host": "127.0.0.1", "chroma_port": server_port}
        )
    asked = questions(count)
    timings = []
    started = time.perf_counter()
    with Assistant(settings, HashEmbedder()) as assistant:
        assistant.ask(asked[0])  # opens the segments, reads catalog, postings and vectors
        first_s = time.perf_counter() - started
        for q in asked[1:5]:  # warm the caches
            assistant.ask(q)
        for q in asked:
            started = time.perf_counter()
            assistant.ask(q)
            timings.append((time.perf_counter() - started) * 1000)
        segments = assistant.status().get("segments")
    return {
        "segments": segments,
        "open_and_first_ask_s": round(first_s, 2),
        "ask_p50_ms": round(statistics.median(timings), 1),
        "ask_p95_ms": round(percentile(timings, 0.95), 1),
        "asking_peak_rss_mib": round(peak_rss_mib()),
    }


def measure_real() -> dict[str, Any]:
    """The one-article re-sync of the real 609-article index, real model, on a copy."""
    from assistant import Settings, sync_index
    from assistant.embedding import SentenceEmbedder

    if not REAL_INDEX.is_dir():
        raise SystemExit(f"{REAL_INDEX} is missing: build it with benchmarks/multihop_eval.py")
    with tempfile.TemporaryDirectory(prefix="scale-real-") as tmp:
        work = Path(tmp)
        records = json.loads(gzip.decompress((DATA / "corpus.json.gz").read_bytes()))
        corpus = work / "corpus" / "corpus.json.gz"
        corpus.parent.mkdir()
        corpus.write_bytes(gzip.compress(json.dumps(records).encode()))
        settings = Settings(corpus=corpus, index_dir=work / "index")
        shutil.copytree(REAL_INDEX, settings.index_dir)
        converted = sync_index(settings)  # an index of the older layout is converted here
        records[0]["body"] += "\n\nThe harbour office of Vellmar said the count would be checked."
        corpus.write_bytes(gzip.compress(json.dumps(records).encode()))
        model = SentenceEmbedder(settings.embedding_model, batch_size=settings.embed_batch_size)
        model.embed(["warm the model up"])
        index_bytes = tree_bytes(settings.index_dir) - tree_bytes(settings.index_dir / "onnx")
        seconds, written, report = timed_sync(settings, model)
        assert report.updated == 1, report.summary()
        return {
            "backend": "embedded (real model)",
            "articles": report.total_articles,
            "chunks": report.total_chunks,
            "converted_first": converted.generation,
            "one_article_resync_s": round(seconds, 2),
            "one_article_written_mb": round(written / 1e6, 2),
            "index_mb_without_onnx": round(index_bytes / 1e6, 1),
            "written_share": round(written / index_bytes, 4),
        }


# -- running -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chroma_server(path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the Chroma server did not start")


def run_worker(chunks: int, count: int, server: bool) -> dict[str, Any]:
    """Measure one size in a fresh process (its own peak memory)."""
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        proc = port = None
        if server:
            proc, port = chroma_server(Path(tmp) / "chroma-server")
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(chunks),
                    "--questions",
                    str(count),
                    "--work",
                    tmp,
                    *(["--port", str(port), "--server-pid", str(proc.pid)] if proc else []),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"size {chunks} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="7000,30000,100000", help='chunks, comma-separated ("" for none)'
    )
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--server", action="store_true", help="also with a Chroma server")
    parser.add_argument("--real", action="store_true", help="also the real 609-article index")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ask", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.ask:
        print(json.dumps(measure_asking(args.ask, args.work, args.port)))
        return
    if args.worker:
        row = measure_size(args.worker, args.questions, args.work, args.port, args.server_pid)
        print(json.dumps(row))
        return
    rows = []
    if args.real:
        rows.append(measure_real())
        print(json.dumps(rows[-1]), flush=True)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        for server in (False, True) if args.server else (False,):
            rows.append(run_worker(size, args.questions, server))
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
