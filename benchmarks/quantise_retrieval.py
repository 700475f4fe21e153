"""Does the int8 export keep MultiHop-RAG retrieval? Two indexes, every dev question, one command.

    python benchmarks/quantise_retrieval.py [--out benchmarks/out/quantise-retrieval]
                                            [--variant dynamic-pc-ffn32] [--limit N]
                                            [--rebuild] [--sample 300] [--rounds 3]
                                            [--corpus FILE] [--queries FILE]

Builds the index of ../shared/data/multihop-rag/corpus.json.gz twice with this code, each in its
own folder under ``--out``:

- fp32, as the package does it: chunks through ``SentenceEmbedder`` (PyTorch), questions
  through the fp32 ONNX export the sync makes (``query_encoder`` "onnx", ``Assistant.open``);
- int8: chunks and questions through the quantised export (``--variant``, a variant of
  benchmarks/quantise.py made from the fp32 export), passed as the embedder to ``sync_index``
  and ``Assistant.open``.

Then asks every dev question of both (``run_eval``, as ``briefing eval``) and prints Hits@4,
Hits@10, MRR@10 and doc R@10 of each, the differences and whether each is within 0.005 (the
bar to adopt), plus the refusal rates; and the other half of the bar, cosine >= 0.99 of int8
to fp32, over every chunk of the two indexes (their stored vectors) and every question as it
is asked (``embed_query``, to the fp32 export's vector). Ingest speed, as a ratio int8 /
bare fp32 ``SentenceEmbedder.embed``: (a) the embedding stage of each build (wall and CPU
seconds of the embed call inside ``sync_index``, the model loaded beforehand; the two builds
run one after the other, so other processes' load can differ), and (b) on ``--sample`` of the
index's chunks embedded by both in interleaved passes (best of ``--rounds``), beside the fp32
ONNX export's.

An index already under ``--out`` is reused with the embedding timings saved beside it (a
no-op sync), unless ``--rebuild`` or the int8 model differs from the one it was built with.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from assistant import Assistant, Settings, open_index, sync_index
from assistant.embedding import SentenceEmbedder, model_identity, resolve_model_path
from assistant.evaluation import load_queries, run_eval
from assistant.generations import current_generation
from assistant.onnx_encoder import ExportManifest, OnnxQueryEncoder, export_onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantise import VARIANTS, variant_export  # noqa: E402  (benchmarks/ is no package)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"
MODEL = "all-MiniLM-L6-v2"
BAR = 0.005
COSINE = 0.99
FIGURES = (
    ("fact_hits_at_4", "Hits@4"),
    ("fact_hits_at_10", "Hits@10"),
    ("fact_mrr_at_10", "MRR@10"),
    ("doc_recall_at_10", "doc R@10"),
)


def build(
    settings: Settings, embedder: object, *, rebuild: bool, tag: str, timing_file: Path
) -> dict:
    """Sync ``settings``' index with ``embedder``; the embed call's wall and CPU seconds (saved
    to ``timing_file``, read back when the sync had nothing to embed)."""
    marks: dict[str, tuple[float, float]] = {}
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == 0 and stage in ("embedding", "writing"):
            marks.setdefault(stage, (now, time.process_time()))
        if now - last[0] > 60 or (done == total and stage == "embedding"):
            last[0] = now
            print(f"  {tag} {stage}: {done}/{total}", file=sys.stderr, flush=True)

    fresh = rebuild or current_generation(settings.index_dir) is None
    report = sync_index(settings, rebuild=fresh, progress=progress, embedder=embedder)
    print(f"  {tag} index: {report.summary()}", file=sys.stderr, flush=True)
    if "embedding" in marks and "writing" in marks:
        timing = {
            "chunks": report.chunks_added,
            "wall": marks["writing"][0] - marks["embedding"][0],
            "cpu": marks["writing"][1] - marks["embedding"][1],
        }
        timing_file.write_text(json.dumps(timing))
        return timing
    return json.loads(timing_file.read_text()) if timing_file.exists() else {}


def stored_vectors(settings: Settings) -> dict[str, np.ndarray]:
    """Chunk id -> the unit vector the index holds for it."""
    ids: list[str] = []
    rows: list[np.ndarray] = []
    with open_index(settings) as index:
        for segment in index.segments:
            got = segment.collection.get(include=["embeddings"], limit=segment.ref.chunks)
            live = [n for n, cid in enumerate(got["ids"]) if cid not in segment.dead_chunks]
            ids += [got["ids"][n] for n in live]
            rows += [np.asarray(got["embeddings"][n]) for n in live]
    vectors = np.array(rows)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return dict(zip(ids, vectors, strict=True))


def interleaved(encoders: dict[str, object], texts: list[str], rounds: int) -> dict:
    """Best-of-``rounds`` wall and CPU seconds of each encoder's ``embed(texts)``, passes
    interleaved so other processes' load moves all alike."""
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for encoder in encoders.values():
        encoder.embed(texts[:8])  # warm up, outside the timings
    for round_ in range(rounds):
        for name, encoder in encoders.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            encoder.embed(texts)
            spent = time.perf_counter() - started
            wall[name] = min(wall.get(name, spent), spent)
            used = time.process_time() - cpu_started
            cpu[name] = min(cpu.get(name, used), used)
            print(f"  round {round_ + 1} {name}: {spent:.1f} s", file=sys.stderr, flush=True)
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "out" / "quantise-retrieval"
    )
    parser.add_argument("--variant", default="dynamic-pc-ffn32", choices=sorted(VARIANTS))
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json.gz")
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json.gz")
    parser.add_argument("--limit", type=int, help="a random sample of N questions (seed 0)")
    parser.add_argument("--rebuild", action="store_true", help="build both indexes again")
    parser.add_argument("--sample", type=int, default=300, help="chunks for the interleaved speed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    # the exports: fp32 (as a sync makes it), and the variant made from it
    export = export_onnx(
        Path(resolve_model_path(MODEL)), out / "export-fp32", identity=model_identity(MODEL)
    )
    fp32_file = export / ExportManifest.read(export).onnx_file
    built = out / f"{args.variant}.onnx"
    VARIANTS[args.variant][1](fp32_file, built, None)  # dynamic variants read no calibration
    int8_export = variant_export(export, built, out / f"export-{args.variant}")
    int8_sha = ExportManifest.read(int8_export).onnx_sha256
    int8 = OnnxQueryEncoder(int8_export)
    print(f"{args.variant}: {VARIANTS[args.variant][0]}; model sha256 {int8_sha[:16]}")

    corpus = args.corpus
    fp32_settings = Settings(corpus=corpus, index_dir=out / "index-fp32")
    int8_settings = Settings(corpus=corpus, index_dir=out / f"index-{args.variant}")
    stamp = out / f"index-{args.variant}.model"  # which int8 model built that index
    int8_rebuild = args.rebuild or not stamp.exists() or stamp.read_text() != int8_sha

    pytorch = SentenceEmbedder(MODEL, batch_size=fp32_settings.embed_batch_size)
    _ = pytorch.model  # load outside the timings
    timings = {
        "fp32": build(
            fp32_settings,
            pytorch,
            rebuild=args.rebuild,
            tag="fp32",
            timing_file=out / "index-fp32.embed.json",
        ),
        "int8": build(
            int8_settings,
            int8,
            rebuild=int8_rebuild,
            tag="int8",
            timing_file=out / f"index-{args.variant}.embed.json",
        ),
    }
    stamp.write_text(int8_sha)

    queries = load_queries(args.queries)
    if args.limit:
        queries = random.Random(0).sample(queries, args.limit)
    reports = {}
    for name, settings, embedder in (
        ("fp32", fp32_settings, None),  # the package's own choice: the sync's ONNX export
        ("int8", int8_settings, int8),
    ):
        started = time.perf_counter()
        with Assistant.open(settings, embedder=embedder, build_if_missing=False) as assistant:
            if name == "fp32":
                print(f"  fp32 questions through {type(assistant.embedder).__name__}")
            reports[name] = run_eval(assistant, queries).report()
        took = time.perf_counter() - started
        print(f"  {name}: {len(queries)} questions in {took:.0f} s", file=sys.stderr, flush=True)

    # cosine: every chunk as the two builds stored it, every question as it is asked
    stored = [stored_vectors(s) for s in (fp32_settings, int8_settings)]
    ids = sorted(stored[0])
    chunk_cos = np.sum(
        np.array([stored[0][i] for i in ids]) * np.array([stored[1][i] for i in ids]), axis=1
    )
    fp32_onnx = OnnxQueryEncoder(export)
    question_cos = np.array(
        [np.dot(fp32_onnx.embed_query(q.query), int8.embed_query(q.query)) for q in queries]
    )

    # speed on one sample of the index's chunks, interleaved
    with open_index(fp32_settings) as index:
        texts = [c.text for c in index.chunks()]
    texts = random.Random(0).sample(texts, min(args.sample, len(texts)))
    speed = interleaved(
        {"pytorch": pytorch, "fp32-onnx": fp32_onnx, "int8": int8}, texts, args.rounds
    )

    a, b = reports["fp32"]["retrieval"], reports["int8"]["retrieval"]
    print(
        f"\nMultiHop-RAG dev split, {a['n']} answerable of {len(queries)} questions; "
        f"chunk_tokens {fp32_settings.chunk_tokens}; int8 = {args.variant}"
    )
    print(f"{'figure':10s} {'fp32':>7s} {'int8':>7s} {'int8-fp32':>9s}  within {BAR}")
    holds = True
    for key, label in FIGURES:
        diff = b[key] - a[key]
        ok = abs(diff) <= BAR
        holds &= ok
        print(f"{label:10s} {a[key]:7.4f} {b[key]:7.4f} {diff:+9.4f}  {'yes' if ok else 'NO'}")
    for t in sorted(reports["fp32"]["retrieval_by_type"]):
        x, y = reports["fp32"]["retrieval_by_type"][t], reports["int8"]["retrieval_by_type"][t]
        diffs = " ".join(f"{label} {y[k] - x[k]:+.4f}" for k, label in FIGURES)
        print(f"  {t} (n {x['n']}): {diffs}")
    ra, rb = reports["fp32"]["refusal"], reports["int8"]["refusal"]
    print(
        f"refused: null {ra['null_refused']:.3f} -> {rb['null_refused']:.3f}, answerable "
        f"{ra['answerable_refused']:.3f} -> {rb['answerable_refused']:.3f} (not part of the bar)"
    )
    for what, cos in (("chunks (stored, to PyTorch's)", chunk_cos), ("questions", question_cos)):
        print(
            f"cosine of int8 to fp32, {len(cos)} {what}: mean {cos.mean():.5f}, "
            f"min {cos.min():.5f}, {(cos < COSINE).sum()} below {COSINE}"
        )
    cos_ok = min(chunk_cos.min(), question_cos.min()) >= COSINE
    tp, ti = timings["fp32"], timings["int8"]
    if tp and ti:
        print(
            f"ingest, embed stage of each build: PyTorch {tp['chunks'] / tp['wall']:.2f} chunks/s "
            f"({tp['wall']:.0f} s, {tp['cpu']:.0f} CPU-s), int8 {ti['chunks'] / ti['wall']:.2f} "
            f"chunks/s ({ti['wall']:.0f} s, {ti['cpu']:.0f} CPU-s): int8 / PyTorch "
            f"{tp['wall'] / ti['wall']:.2f}x wall, {tp['cpu'] / ti['cpu']:.2f}x per CPU-second"
        )
    else:
        print("ingest, embed stage: not measured (an index was reused without saved timings)")
    wall, cpu = speed["wall"], speed["cpu"]
    print(
        f"ingest, {len(texts)} index chunks interleaved (best of {args.rounds}): int8 / PyTorch "
        f"{wall['pytorch'] / wall['int8']:.2f}x wall, {cpu['pytorch'] / cpu['int8']:.2f}x per "
        f"CPU-second; int8 / fp32 ONNX {wall['fp32-onnx'] / wall['int8']:.2f}x wall, "
        f"{cpu['fp32-onnx'] / cpu['int8']:.2f}x per CPU-second"
    )
    verdict = "holds" if holds and cos_ok else "fails"
    print(
        f"the bar: retrieval (each figure within {BAR} of fp32) {'holds' if holds else 'fails'}; "
        f"cosine (min >= {COSINE}) {'holds' if cos_ok else 'fails'}: {verdict}"
    )
    result = {
        "variant": args.variant,
        "int8_sha256": int8_sha,
        "questions": len(queries),
        "reports": reports,
        "embed_stage": timings,
        "interleaved": {"chunks": len(texts), "rounds": args.rounds, **speed},
        "cosine": {
            "chunks": len(chunk_cos),
            "chunks_min": float(chunk_cos.min()),
            "chunks_mean": float(chunk_cos.mean()),
            "chunks_below": int((chunk_cos < COSINE).sum()),
            "questions": len(question_cos),
            "questions_min": float(question_cos.min()),
            "questions_mean": float(question_cos.mean()),
            "questions_below": int((question_cos < COSINE).sum()),
        },
        "bar_holds": verdict == "holds",
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
