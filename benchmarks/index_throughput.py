"""Index MultiHop-RAG into a temporary index and print throughput, memory and re-sync times.

    python benchmarks/index_throughput.py [--corpus ../shared/data/multihop-rag/corpus.json.gz] [--limit N]

Prints: articles/s and chunks/s of the whole pipeline (read, chunk, embed, write Chroma + BM25),
peak memory, the throughput of a bare ``SentenceTransformer.encode`` over the same chunk texts
in the same run (and the ratio pipeline/bare), then the time of a no-op re-sync and of a
re-sync after one article changed (in-process, model loaded; and as a fresh CLI process).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant import Settings, open_index, sync_index
from assistant.embedding import SentenceEmbedder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "multihop-rag" / "corpus.json.gz"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, help="only the first N articles")
    args = parser.parse_args()

    records = json.loads(gzip.decompress(args.corpus.read_bytes()))
    if args.limit:
        records = records[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="briefing-bench-"))
    corpus = work / "corpus" / args.corpus.name
    corpus.parent.mkdir()
    corpus.write_bytes(gzip.compress(json.dumps(records).encode()))
    settings = Settings(corpus=corpus, index_dir=work / "index")

    embedder = SentenceEmbedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    started = time.perf_counter()
    _ = embedder.model  # load once, outside both timings
    print(f"model load: {time.perf_counter() - started:.1f} s", flush=True)

    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or done == total:
            last[0] = now
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = sync_index(settings, progress=progress, embedder=embedder)
    pipeline_s = time.perf_counter() - started
    peak = peak_rss_mib()
    print(f"build: {report.summary()}")
    print(
        f"pipeline: {report.total_articles / pipeline_s:.2f} articles/s, "
        f"{report.total_chunks / pipeline_s:.2f} chunks/s, {pipeline_s:.1f} s, "
        f"peak RSS {peak:.0f} MiB, chunk_tokens {settings.chunk_tokens}"
    )

    with open_index(settings) as index:
        texts = [c.text for c in index.chunks()]
    started = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True)
    bare_s = time.perf_counter() - started
    bare_rate, pipe_rate = len(texts) / bare_s, report.total_chunks / pipeline_s
    print(
        f"bare encode: {bare_rate:.2f} chunks/s ({bare_s:.1f} s, mean {sum(map(len, texts)) / len(texts):.0f} chars)"
    )
    print(f"ratio pipeline/bare: {pipe_rate / bare_rate:.3f}  (goal >= 0.85)")

    started = time.perf_counter()
    noop = sync_index(settings, embedder=embedder)
    print(
        f"no-op re-sync (in-process): {time.perf_counter() - started:.3f} s  (goal < 1 s); {noop.summary()}"
    )
    cli = [
        sys.executable,
        "-m",
        "assistant.cli",
        "index",
        "-q",
        "--corpus",
        str(corpus),
        "--index",
        str(settings.index_dir),
    ]
    started = time.perf_counter()
    subprocess.run(cli, check=True, capture_output=True)
    print(f"no-op re-sync (fresh CLI process): {time.perf_counter() - started:.3f} s")

    records[0]["body"] += "\nThis sentence was added to change the article."
    corpus.write_bytes(gzip.compress(json.dumps(records).encode()))
    started = time.perf_counter()
    one = sync_index(settings, embedder=embedder)
    print(
        f"one-article re-sync (in-process): {time.perf_counter() - started:.3f} s  (goal < 3 s); {one.summary()}"
    )
    records[1]["body"] += "\nAnother sentence, another change."
    corpus.write_bytes(gzip.compress(json.dumps(records).encode()))
    started = time.perf_counter()
    subprocess.run(cli, check=True, capture_output=True)
    print(
        f"one-article re-sync (fresh CLI process, includes ~8 s of torch/transformers imports): {time.perf_counter() - started:.3f} s"
    )
    print(f"index folder: {settings.index_dir}")


if __name__ == "__main__":
    main()
