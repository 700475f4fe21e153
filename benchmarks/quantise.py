"""Does a quantised export keep MiniLM's vectors, and is it faster? Measured, nothing adopted.

    python benchmarks/quantise.py [--export DIR] [--chunks 300] [--calibration 100] [--rounds 3]
                                  [--threads N] [--variants NAME,...] [--out DIR]

Makes each variant of the fp32 ONNX export (``export_onnx``) with onnxruntime.quantization and
onnxruntime.transformers, runs it through ``OnnxQueryEncoder`` (as the package would), and
prints for each: the cosine of its vectors to the fp32 export's (mean and min over ``--chunks``
corpus-like chunks of ~1,000 characters from ../shared/data/multihop-rag/corpus.json.gz, and
the min over as many dev questions from queries-dev.json.gz), and its speed as a ratio to the
fp32 export and to the bare PyTorch ``SentenceEmbedder.embed``, all measured in this one run
(best of ``--rounds`` interleaved passes; also per CPU-second, which other processes' load
disturbs less, most of all with ``--threads 1``). Static variants are calibrated on
``--calibration`` chunks of other articles. The bar to adopt one is cosine >= 0.99 (and
dev-split retrieval within 0.005 of fp32: benchmarks/quantise_retrieval.py measures that, and
the cosine over every chunk of the index and every dev question).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from assistant.embedding import SentenceEmbedder, resolve_model_path
from assistant.onnx_encoder import MANIFEST, ExportManifest, OnnxQueryEncoder, export_onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import DATA, corpus_chunks  # noqa: E402  (benchmarks/ is no package)

MODEL = "all-MiniLM-L6-v2"
BAR = 0.99


class Corpus:
    """Calibration inputs: texts cut to the model's full window, four a batch, so every batch
    has one shape (the histogram calibrators need it) and no padding skews the ranges."""

    def __init__(self, export: Path, texts: list[str], count: int) -> None:
        from tokenizers import Tokenizer

        manifest = ExportManifest.read(export)
        tokenizer = Tokenizer.from_file(str(export / manifest.tokenizer_file))
        tokenizer.enable_truncation(max_length=manifest.max_seq_length)
        tokenizer.no_padding()
        full = [
            e.ids for e in tokenizer.encode_batch(texts) if len(e.ids) == manifest.max_seq_length
        ][:count]
        self.count = len(full) - len(full) % 4
        self.inputs = []
        for begin in range(0, self.count, 4):
            ids = np.array(full[begin : begin + 4], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in manifest.input_names:
                feed["token_type_ids"] = np.zeros_like(ids)
            self.inputs.append(feed)

    def reader(self) -> object:
        from onnxruntime.quantization import CalibrationDataReader

        inputs = self.inputs

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self._it: Iterator[dict] = iter(inputs)

            def get_next(self) -> dict | None:
                return next(self._it, None)

        return Reader()


def matmuls(model_path: Path) -> dict[str, list[str]]:
    """The MatMul nodes by role: attention (activation x activation), FFN output, the others."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    roles: dict[str, list[str]] = {"attention": [], "ffn_out": [], "weights": []}
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        if not any(name in weights for name in node.input):
            roles["attention"].append(node.name)
        elif node.name.endswith("/output/dense/MatMul") and "/attention/" not in node.name:
            roles["ffn_out"].append(node.name)  # its input is GELU's output: long-tailed
        else:
            roles["weights"].append(node.name)
    return roles


Build = Callable[[Path, Path, Corpus], None]
"""Writes a variant of the fp32 model (first path) to the second, calibrating on the corpus."""


def dynamic(
    *, weights_only: bool = True, exclude_ffn_out: bool = False, **options: object
) -> Build:
    """int8 weights, activations quantised at run time. ``weights_only``: MatMuls with a
    constant B (attention's activation x activation MatMuls stay fp32)."""

    def build(fp32: Path, out: Path, corpus: Corpus) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        extra: dict[str, object] = {"DefaultTensorType": 1}  # FLOAT, for fused ops' outputs
        if weights_only:
            extra["MatMulConstBOnly"] = True
        quantize_dynamic(
            fp32,
            out,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=matmuls(fp32)["ffn_out"] if exclude_ffn_out else None,
            extra_options=extra,
            **options,
        )

    return build


def static(method: str, *, exclude_ffn_out: bool = False, **extra: object) -> Build:
    """QDQ int8 with activation ranges calibrated on corpus chunks (``method``)."""

    def build(fp32: Path, out: Path, corpus: Corpus) -> None:
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        prepared = out.with_suffix(".prep.onnx")
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        roles = matmuls(prepared)
        exclude = roles["attention"] + (roles["ffn_out"] if exclude_ffn_out else [])
        quantize_static(
            prepared,
            out,
            corpus.reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],  # LayerNorm, Add, Softmax, GELU stay fp32
            per_channel=True,
            reduce_range=True,  # 7-bit weights: no u8 x s8 saturation without VNNI (this CPU)
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=exclude,
            calibrate_method=getattr(CalibrationMethod, method),
            extra_options=extra,
        )
        prepared.unlink()

    return build


def fused(then: Build | None = None) -> Build:
    """ORT's BERT fusions (Attention, SkipLayerNorm, BiasGelu), then ``then`` on the result."""

    def build(fp32: Path, out: Path, corpus: Corpus) -> None:
        from onnxruntime.transformers.optimizer import optimize_model

        config = json.loads((Path(resolve_model_path(MODEL)) / "config.json").read_text())
        model = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config["num_attention_heads"],
            hidden_size=config["hidden_size"],
            opt_level=1,
        )
        target = out.with_suffix(".fused.onnx") if then else out
        model.save_model_to_file(str(target))
        if then:
            then(target, out, corpus)
            target.unlink()

    return build


PC7 = {"per_channel": True, "reduce_range": True}  # 7-bit weights: no saturation without VNNI
VARIANTS: dict[str, tuple[str, Build]] = {
    "dynamic": (
        "int8 dynamic, per-tensor, every MatMul (the naive one)",
        dynamic(weights_only=False),
    ),
    "dynamic-pc": ("int8 dynamic, per-channel 7-bit weights, weight MatMuls", dynamic(**PC7)),
    "dynamic-pc8": (
        "as dynamic-pc with 8-bit weights",
        dynamic(per_channel=True, reduce_range=False),
    ),
    "dynamic-pc-ffn32": (
        "as dynamic-pc, FFN output MatMuls (after GELU) left fp32",
        dynamic(exclude_ffn_out=True, **PC7),
    ),
    "static-minmax": (
        "int8 static QDQ, per-channel 7-bit, weight MatMuls, MinMax calibration",
        static("MinMax"),
    ),
    "static-pct": (
        "int8 static QDQ, per-channel 7-bit, weight MatMuls, percentile 99.999 calibration",
        static("Percentile", CalibPercentile=99.999),
    ),
    "static-pct-ffn32": (
        "as static-pct, FFN output MatMuls (after GELU) left fp32",
        static("Percentile", exclude_ffn_out=True, CalibPercentile=99.999),
    ),
    "fused-fp32": ("fp32, ORT BERT fusions (Attention, SkipLayerNorm, BiasGelu)", fused()),
    "fused-dynamic-pc": (
        "ORT BERT fusions + int8 dynamic per-channel 7-bit weights (QAttention too)",
        fused(dynamic(weights_only=False, **PC7)),
    ),
    "fused-dynamic-pc-ffn32": (
        "as fused-dynamic-pc, FFN output MatMuls left fp32",
        fused(dynamic(weights_only=False, exclude_ffn_out=True, **PC7)),
    ),
}


def variant_export(fp32_export: Path, model: Path, folder: Path) -> Path:
    """An export folder for ``model``: the fp32 export's manifest and tokenizer, this model."""
    import hashlib

    manifest = ExportManifest.read(fp32_export)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(fp32_export / manifest.tokenizer_file, folder / manifest.tokenizer_file)
    name = f"model-{model.stem}.onnx"
    model.replace(folder / name)
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(
        json.dumps(asdict(replace(manifest, onnx_file=name, onnx_sha256=digest)))
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, help="the fp32 export folder (made if missing)")
    parser.add_argument("--out", type=Path, help="where the variants go (default: a temp folder)")
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--calibration", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, help="threads for PyTorch and ONNX Runtime (default: all cores)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    args = parser.parse_args()
    names = [n for n in args.variants.split(",") if n]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")

    work = args.out or Path(tempfile.mkdtemp(prefix="briefing-quantise-"))
    work.mkdir(parents=True, exist_ok=True)
    export = args.export or work / "fp32"
    export_onnx(Path(resolve_model_path(MODEL)), export, identity=MODEL)
    fp32_file = export / ExportManifest.read(export).onnx_file
    texts = corpus_chunks(args.chunks)
    # calibration: 2,000-character pieces of later articles, so each fills the 256-piece window
    corpus = Corpus(
        export, corpus_chunks(args.calibration * 2, size=2000, first_article=400), args.calibration
    )
    print(
        f"{len(texts)} chunks (mean {sum(map(len, texts)) / len(texts):.0f} characters), "
        f"{corpus.count} calibration chunks of a full window from other articles; fp32 export "
        f"{fp32_file.stat().st_size / 1e6:.0f} MB"
    )

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    encoders: dict[str, object] = {"pytorch": SentenceEmbedder(MODEL)}
    encoders["fp32"] = OnnxQueryEncoder(export, threads=args.threads)
    sizes = {"fp32": fp32_file.stat().st_size}
    for name in names:
        started = time.perf_counter()
        built = work / f"{name}.onnx"
        VARIANTS[name][1](fp32_file, built, corpus)
        sizes[name] = built.stat().st_size
        folder = variant_export(export, built, work / name)
        encoders[name] = OnnxQueryEncoder(folder, threads=args.threads)
        print(f"  built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    for encoder in encoders.values():
        encoder.embed(texts[:8])  # load and warm up, outside the timings
    wall: dict[str, list[float]] = {name: [] for name in encoders}
    cpu: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):  # interleaved: other processes' load moves all alike
        for name, encoder in encoders.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors[name] = np.array(encoder.embed(texts))
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
            print(f"  round {round_ + 1} {name}: {wall[name][-1]:.1f} s", file=sys.stderr)

    # the other side of a search: short questions (the dev split's), untimed
    records = json.loads(gzip.decompress((DATA / "queries-dev.json.gz").read_bytes()))
    questions = [r["query"] for r in records][: args.chunks]
    asked = {n: np.array(e.embed(questions)) for n, e in encoders.items() if n != "pytorch"}

    rate = {name: len(texts) / min(s) for name, s in wall.items()}  # best pass, wall clock
    cpu_rate = {name: len(texts) / min(s) for name, s in cpu.items()}  # per CPU-second
    threads = args.threads or "all"
    print(
        f"threads: {threads}; bare PyTorch SentenceEmbedder.embed {rate['pytorch']:.2f} chunks/s, "
        f"fp32 ONNX {rate['fp32']:.2f} chunks/s ({rate['fp32'] / rate['pytorch']:.2f}x; "
        f"per CPU-second {cpu_rate['fp32'] / cpu_rate['pytorch']:.2f}x)"
    )
    header = (
        f"{'variant':23s} {'cos mean':>8s} {'cos min':>8s} {'q min':>7s} {'x ONNX32':>9s} "
        f"{'x PyTorch':>9s} "
        f"{'chunks/s':>8s} {'xPT cpu':>8s} {'MB':>4s}  what"
    )
    print(header)
    print("-" * len(header))
    passing = []
    for name in ["fp32", *names]:
        cos = np.sum(vectors[name] * vectors["fp32"], axis=1)
        q_min = np.sum(asked[name] * asked["fp32"], axis=1).min()
        what = VARIANTS[name][0] if name in VARIANTS else "the export (reference)"
        print(
            f"{name:23s} {cos.mean():8.5f} {cos.min():8.5f} {q_min:7.5f} "
            f"{rate[name] / rate['fp32']:9.2f} "
            f"{rate[name] / rate['pytorch']:9.2f} {rate[name]:8.2f} "
            f"{cpu_rate[name] / cpu_rate['pytorch']:8.2f} {sizes[name] / 1e6:4.0f}  {what}"
        )
        if name != "fp32" and min(cos.min(), q_min) >= BAR:
            passing.append((rate[name] / rate["pytorch"], name))
    print(
        f"(q min: min cosine over {len(questions)} dev questions; x ONNX32, x PyTorch: speed "
        f"ratios by wall clock, best of {args.rounds}; xPT cpu: per CPU-second, to PyTorch)"
    )
    cos = np.sum(vectors["pytorch"] * vectors["fp32"], axis=1)
    print(f"fp32 ONNX to PyTorch: cosine mean {cos.mean():.6f}, min {cos.min():.6f}")
    if passing:
        speed, best = max(passing)
        print(
            f"clear the cosine bar (min >= {BAR}, chunks and questions): "
            f"{', '.join(n for _, n in sorted(passing))}; "
            f"fastest {best} at {speed:.2f}x bare PyTorch (retrieval: quantise_retrieval.py)"
        )
    else:
        print(f"no variant keeps min cosine >= {BAR}: keep fp32")


if __name__ == "__main__":
    main()
