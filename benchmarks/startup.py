"""What a fresh process pays before its first answer: PyTorch against the ONNX query encoder.

    python benchmarks/startup.py [--export DIR] [--runs 3] [--chunks 200] [--rounds 3]
                                 [--index DIR | --no-ask]

Prints, each start-up figure the median of ``--runs`` fresh subprocesses:
(a) import + load + embed one query, with ``SentenceEmbedder`` and with ``OnnxQueryEncoder``
    (wall time of the process, and its own split: import, load, first query);
(b) encode throughput of both on ``--chunks`` corpus-like chunks of ~1,000 characters cut from
    ../shared/data/multihop-rag/corpus.json.gz (read from there), in this one process (best of
    ``--rounds`` interleaved passes), and the ratio ONNX / PyTorch, by wall clock and per
    CPU-second (with the cosine between their vectors);
(c) which heavy modules a fresh ``import assistant.api`` imports, and how long it takes;
(d) a fresh-process ``ask`` on the MultiHop-RAG index (``--index``, when it exists), with the
    default embedder and with the ONNX encoder passed in, and what each imported.

The export (``export_onnx``) is made into a temporary folder unless ``--export`` names one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"
MODEL = "all-MiniLM-L6-v2"
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "chromadb",
    "gradio",
    "langchain",
    "langchain_core",
    "onnxruntime",
    "scipy",
    "datasketch",
    "bm25s",
    "numpy",
)
QUESTION = "Did the Kremlin accept European peacekeepers in Ukraine?"


def corpus_chunks(
    n: int, size: int = 1000, first_article: int = 0, corpus: Path = DATA / "corpus.json.gz"
) -> list[str]:
    """``n`` pieces of ~``size`` characters from article bodies, cut at whitespace.

    At most two pieces from each article, articles taken in order from ``first_article``, so the
    texts vary as the index's chunks do. Read from ``corpus``: never copied into the project.
    """
    records = json.loads(gzip.decompress(corpus.read_bytes()))
    chunks: list[str] = []
    for record in records[first_article:]:
        body = re.sub(r"\s+", " ", record["body"]).strip()
        start = 0
        for _ in range(2):
            if len(body) - start < size // 2:
                break
            end = body.rfind(" ", start, start + size)
            end = start + size if end <= start else end
            chunks.append(body[start:end])
            start = end + 1
        if len(chunks) >= n:
            return chunks[:n]
    return chunks


def fresh(code: str, timeout: float = 600) -> tuple[float, dict]:
    """Run ``code`` in a new interpreter; its wall time and the JSON it printed last."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"a fresh process failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def median_of(runs: int, code: str) -> tuple[float, dict[str, float], dict]:
    walls, parts = [], []
    for _ in range(runs):
        wall, out = fresh(code)
        walls.append(wall)
        parts.append(out)
    split = {k: statistics.median(p[k] for p in parts) for k in parts[0] if k.endswith("_s")}
    return statistics.median(walls), split, parts[-1]


ENCODER_CODE = """
    import json, sys, time
    t0 = time.perf_counter()
    {imports}
    t1 = time.perf_counter()
    encoder = {make}
    t2 = time.perf_counter()
    vector = encoder.embed_query({question!r})
    t3 = time.perf_counter()
    print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "query_s": t3 - t2,
        "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def startup(args: argparse.Namespace, export: Path) -> None:
    print(f"(a) fresh process: import + load + embed one query (median of {args.runs})")
    variants = {
        "SentenceEmbedder": (
            "from assistant.embedding import SentenceEmbedder",
            f"SentenceEmbedder({MODEL!r})",
        ),
        "OnnxQueryEncoder": (
            "from assistant.onnx_encoder import OnnxQueryEncoder",
            f"OnnxQueryEncoder({str(export)!r})",
        ),
    }
    walls = {}
    for name, (imports, make) in variants.items():
        code = ENCODER_CODE.format(imports=imports, make=make, question=QUESTION, heavy=HEAVY)
        wall, split, last = median_of(args.runs, code)
        walls[name] = wall
        print(
            f"  {name:17s} {wall:6.2f} s  (import {split['import_s']:.2f}, load "
            f"{split['load_s']:.2f}, first query {split['query_s']:.3f}; imported: "
            f"{', '.join(last['heavy']) or 'none of ' + ', '.join(HEAVY)})"
        )
    wall, _, _ = median_of(args.runs, "import json; print('{}')")
    print(f"  bare interpreter  {wall:6.2f} s")
    print(f"  ONNX start-up is {walls['SentenceEmbedder'] / walls['OnnxQueryEncoder']:.1f}x faster")


def throughput(args: argparse.Namespace, export: Path) -> None:
    import numpy as np

    from assistant.embedding import SentenceEmbedder
    from assistant.onnx_encoder import OnnxQueryEncoder

    texts = corpus_chunks(args.chunks)
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"(b) encode throughput, {len(texts)} chunks of mean {mean_chars:.0f} characters")
    encoders = {"SentenceEmbedder": SentenceEmbedder(MODEL), "OnnxQueryEncoder": None}
    encoders["OnnxQueryEncoder"] = OnnxQueryEncoder(export)
    for encoder in encoders.values():
        encoder.embed(texts[:8])  # load and warm up, outside the timings
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    cpu: dict[str, list[float]] = {name: [] for name in encoders}
    vectors = {}
    for _ in range(args.rounds):  # interleaved, best pass: other processes' load moves both alike
        for name, encoder in encoders.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors[name] = encoder.embed(texts)
            seconds[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
    rates = {name: len(texts) / min(s) for name, s in seconds.items()}
    for name, rate in rates.items():
        passes = ", ".join(f"{s:.1f}" for s in seconds[name])
        print(f"  {name:17s} {rate:7.2f} chunks/s (passes {passes} s)")
    cos = np.sum(
        np.array(vectors["SentenceEmbedder"]) * np.array(vectors["OnnxQueryEncoder"]), axis=1
    )
    per_cpu = min(cpu["SentenceEmbedder"]) / min(cpu["OnnxQueryEncoder"])
    print(
        f"  ratio ONNX / PyTorch: {rates['OnnxQueryEncoder'] / rates['SentenceEmbedder']:.2f} "
        f"(per CPU-second {per_cpu:.2f}); cosine between them: mean {cos.mean():.6f}, "
        f"min {cos.min():.6f}"
    )


def import_api(args: argparse.Namespace) -> None:
    print(f"(c) fresh `import assistant.api` (median of {args.runs})")
    code = f"""
        import json, sys, time
        t0 = time.perf_counter()
        import assistant.api
        print(json.dumps({{"import_s": time.perf_counter() - t0,
            "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
    """
    wall, split, last = median_of(args.runs, code)
    print(f"  import {split['import_s']:.2f} s (process {wall:.2f} s)")
    print(f"  imported: {', '.join(last['heavy']) or 'none'}")
    print(f"  not imported: {', '.join(m for m in HEAVY if m not in last['heavy'])}")
    # where it goes: -X importtime's cumulative time of each heavy package and of assistant's
    # own modules, read from one more run
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import assistant.api"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    cumulative: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].strip()
            if name in HEAVY or name.startswith("assistant."):
                cumulative.setdefault(name, int(parts[1]))
    top = sorted(cumulative.items(), key=lambda kv: -kv[1])[:8]
    print(
        "  heaviest (cumulative, -X importtime): "
        + ", ".join(f"{n} {us / 1e6:.2f} s" for n, us in top)
    )


ASK_CODE = """
    import json, sys, time
    t0 = time.perf_counter()
    from assistant import Assistant, Settings
    {imports}
    t1 = time.perf_counter()
    settings = Settings(corpus={corpus!r}, index_dir={index!r})
    with Assistant.open(settings, embedder={embedder}, build_if_missing=False) as assistant:
        t2 = time.perf_counter()
        answer = assistant.ask({question!r})
        t3 = time.perf_counter()
    print(json.dumps({{"import_s": t1 - t0, "open_s": t2 - t1, "ask_s": t3 - t2,
        "refused": answer.refused, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def fresh_ask(args: argparse.Namespace, export: Path) -> None:
    if args.no_ask or not (args.index / "CURRENT").exists():
        print(f"(d) skipped: no index in {args.index} (build it with benchmarks/multihop_eval.py)")
        return
    print(f"(d) fresh-process ask on {args.index} (median of {args.runs})")
    for name, imports, embedder in (
        ("default (PyTorch)", "", "None"),
        (
            "ONNX passed in",
            "from assistant.onnx_encoder import OnnxQueryEncoder",
            f"OnnxQueryEncoder({str(export)!r})",
        ),
    ):
        code = ASK_CODE.format(
            imports=imports,
            corpus=str(DATA / "corpus.json.gz"),
            index=str(args.index),
            embedder=embedder,
            question=QUESTION,
            heavy=HEAVY,
        )
        wall, split, last = median_of(args.runs, code)
        print(
            f"  {name:17s} {wall:6.2f} s  (import {split['import_s']:.2f}, open + encoder "
            f"{split['open_s']:.2f}, ask {split['ask_s']:.2f}; "
            f"imported: {', '.join(last['heavy'])})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, help="an export folder to use (made if missing)")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved passes in (b)")
    parser.add_argument(
        "--index", type=Path, default=ROOT / "benchmarks" / "out" / "multihop-index"
    )
    parser.add_argument("--no-ask", action="store_true", help="skip (d)")
    args = parser.parse_args()

    from assistant.embedding import resolve_model_path
    from assistant.onnx_encoder import export_onnx

    export = args.export or Path(tempfile.mkdtemp(prefix="briefing-onnx-")) / "export"
    started = time.perf_counter()
    export_onnx(Path(resolve_model_path(MODEL)), export, identity=MODEL)
    print(f"export: {export} ({time.perf_counter() - started:.1f} s, torch imported here)")
    startup(args, export)
    throughput(args, export)
    import_api(args)
    fresh_ask(args, export)


if __name__ == "__main__":
    main()
