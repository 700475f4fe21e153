"""A light query encoder: ONNX Runtime and ``tokenizers`` on an fp32 ONNX export of the model.

A fresh process that needs one query vector should not import torch, transformers and
sentence-transformers (15-30 s) to get it. ``export_onnx`` turns a sentence-transformers folder
into an export folder once, at index time, where torch is loaded anyway; ``OnnxQueryEncoder``
embeds from that folder with onnxruntime, tokenizers and numpy only, giving the same unit
vectors as ``SentenceEmbedder`` (cosine >= 0.9999; ``tests/test_onnx_encoder.py``).

An export folder holds::

    manifest.json                what was exported from what: written last, so it is the commit
    model-<sha256[:16]>.onnx     the transformer (token embeddings), fp32
    tokenizer-<sha256[:16]>.json the model's tokenizer.json

Files are named by their content and the manifest names them with their checksums, so a
``kill -9`` at any moment leaves either the old complete export or the new one; an export made
from another model (stale) or a damaged file (corrupt) is refused with ``OnnxExportError``.
Pooling (mean or CLS, read from the model folder) and L2 normalisation run in numpy.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .embedding import model_identity, resolve_model_path
from .errors import IndexMismatchError, IndexStoreError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

FORMAT = 1
"""Bump when the layout or meaning of an export changes: older exports then read as stale."""

MANIFEST = "manifest.json"
OPSET = 17
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
# what the export depends on, besides the weights (*.safetensors / pytorch_model.bin)
_MODEL_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentence_bert_config.json",
)
_PROBES = (
    "",
    "Dockworkers walked out at Eastbank on Monday.",
    "The governor said the agency had ignored the warnings for months, and the court agreed. " * 20,
)
"""Texts the export is checked on against the PyTorch model before it is kept."""


class OnnxExportError(IndexStoreError):
    """The ONNX export is missing or damaged: export it again (``export_onnx``)."""


class StaleOnnxExportError(OnnxExportError, IndexMismatchError):
    """The ONNX export was made from another model or by another version: export it again."""


@dataclass(frozen=True)
class ExportManifest:
    """What ``manifest.json`` records: the model it came from and how to run it."""

    format: int
    model_identity: str  # a name for people and fingerprints (the caller's, or the folder's)
    model_digest: str  # sha256 over the model folder's files that the export depends on
    onnx_file: str
    onnx_sha256: str
    tokenizer_file: str
    tokenizer_sha256: str
    input_names: tuple[str, ...]
    max_seq_length: int  # word pieces, [CLS]/[SEP] included, as the model truncates
    pooling: str  # "mean" or "cls"
    dimension: int
    opset: int
    exported_with: str  # torch and transformers versions

    @classmethod
    def read(cls, export_dir: Path) -> ExportManifest:
        path = Path(export_dir) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise OnnxExportError(
                f"No ONNX export in {export_dir} ({MANIFEST} is missing): export it with "
                "export_onnx(model_dir, export_dir), which a sync of the index does."
            ) from exc
        except (OSError, ValueError) as exc:
            raise OnnxExportError(
                f"The ONNX export's {path} cannot be read ({exc}): export it again."
            ) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise StaleOnnxExportError(
                f"The ONNX export in {export_dir} has format {found!r}, this version reads "
                f"{FORMAT}: export it again."
            )
        try:
            data["input_names"] = tuple(data["input_names"])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise OnnxExportError(
                f"The ONNX export's {path} lacks a field or has an unknown one ({exc}): "
                "export it again."
            ) from exc


# -- reading the model folder ----------------------------------------------------------------


@dataclass(frozen=True)
class _ModelLayout:
    transformer_dir: Path
    pooling_config: Path
    max_seq_length: int
    pooling: str
    dimension: int


def _layout(model_dir: Path) -> _ModelLayout:
    """Read modules.json and the module configs; refuse what this encoder would get wrong."""
    modules_file = model_dir / "modules.json"
    if not modules_file.exists():
        raise OnnxExportError(
            f"{model_dir} is not a sentence-transformers folder (no modules.json); "
            "the ONNX encoder needs one."
        )
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    types = [m.get("type") for m in modules]
    if types[:2] != [_TRANSFORMER, _POOLING] or any(t != _NORMALIZE for t in types[2:]):
        raise OnnxExportError(
            f"The model in {model_dir} is {types}; the ONNX encoder supports Transformer, "
            "Pooling and Normalize only. Use SentenceEmbedder for it."
        )
    transformer_dir = model_dir / modules[0].get("path", "")
    st_config = transformer_dir / "sentence_bert_config.json"
    config = json.loads(st_config.read_text(encoding="utf-8")) if st_config.exists() else {}
    if config.get("do_lower_case"):
        raise OnnxExportError(
            f"{st_config} asks for do_lower_case, which the ONNX encoder does not do: "
            "use SentenceEmbedder for this model."
        )
    model_config = json.loads((transformer_dir / "config.json").read_text(encoding="utf-8"))
    window = int(config.get("max_seq_length") or model_config.get("max_position_embeddings", 512))
    pooling_file = model_dir / modules[1]["path"] / "config.json"
    pooling_config = json.loads(pooling_file.read_text(encoding="utf-8"))
    modes = [mode for key, mode in _POOLING_MODES.items() if pooling_config.get(key)]
    others = [
        key
        for key, value in pooling_config.items()
        if key.startswith("pooling_mode") and value and key not in _POOLING_MODES
    ]
    if len(modes) != 1 or others:
        raise OnnxExportError(
            f"The pooling of {model_dir} ({pooling_config}) is not one of mean or CLS, "
            "which are what the ONNX encoder does: use SentenceEmbedder for this model."
        )
    return _ModelLayout(
        transformer_dir=transformer_dir,
        pooling_config=pooling_file,
        max_seq_length=window,
        pooling=modes[0],
        dimension=int(pooling_config["word_embedding_dimension"]),
    )


def model_digest(model_dir: Path) -> str:
    """sha256 over what an export depends on: configs, tokenizer, weights, module configs.

    About 0.1 s for all-MiniLM-L6-v2 (90 MB of weights). Two folders with the same digest give
    the same export, whatever their paths.
    """
    model_dir = Path(model_dir)
    layout = _layout(model_dir)
    files = [model_dir / "modules.json", layout.pooling_config]
    files += [layout.transformer_dir / name for name in _MODEL_FILES]
    files += sorted(layout.transformer_dir.glob("*.safetensors"))
    files += [layout.transformer_dir / "pytorch_model.bin"]
    digest = hashlib.sha256()
    for file in files:
        if file.is_file():
            digest.update(str(file.relative_to(model_dir)).encode() + b"\0")
            digest.update(_sha256_file(file).encode() + b"\0")
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- export (index time: torch) --------------------------------------------------------------


def export_is_current(model_dir: Path, export_dir: Path) -> bool:
    """Whether ``export_dir`` holds a complete, undamaged export of the model in ``model_dir``."""
    return _is_current(Path(export_dir), model_digest(Path(model_dir)))


def _is_current(export_dir: Path, digest: str) -> bool:
    try:
        manifest = ExportManifest.read(export_dir)
        _verify_files(export_dir, manifest)
    except OnnxExportError:
        return False
    return manifest.model_digest == digest


def export_onnx(
    model_dir: Path, out_dir: Path, *, identity: str | None = None, force: bool = False
) -> Path:
    """Export the sentence-transformers model in ``model_dir`` to ``out_dir``; return ``out_dir``.

    Keeps a current export (same model digest, files intact) unless ``force``. Uses torch and
    transformers (the legacy TorchScript exporter, one ``.onnx`` file, opset 17); checks the
    export on a few texts against the PyTorch model before writing its manifest. ``identity``
    is recorded for fingerprints (default: the folder's name and digest). One export at a time
    into a folder (the index's sync lock sees to it): it removes the files its manifest does
    not name, temp files of a killed export included.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    digest = model_digest(model_dir)
    if not force and _is_current(out_dir, digest):
        logger.info("ONNX export in %s is current", out_dir)
        return out_dir
    layout = _layout(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX in %s", model_dir, out_dir)

    import torch
    import transformers
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its weight-loading bar would print to stderr
    model = AutoModel.from_pretrained(
        layout.transformer_dir, attn_implementation="eager", dtype=torch.float32
    ).eval()
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        input_names.append("token_type_ids")
    module = _token_embeddings(model, input_names)

    tokenizer_file = layout.transformer_dir / "tokenizer.json"
    if not tokenizer_file.exists():
        raise OnnxExportError(
            f"{layout.transformer_dir} has no tokenizer.json, which the ONNX encoder reads."
        )
    tokenizer = _configured_tokenizer(tokenizer_file, layout.max_seq_length)
    probe = _encode(tokenizer, _PROBES, input_names)  # padded: the mask path is traced
    with torch.no_grad():
        expected = module(*(torch.from_numpy(probe[name]) for name in input_names)).numpy()

    onnx_tmp = _temp_path(out_dir, ".onnx")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation and tracer warnings: checked below
            torch.onnx.export(
                module,
                tuple(torch.from_numpy(probe[name]) for name in input_names),
                str(onnx_tmp),
                dynamo=False,  # the TorchScript exporter: no onnxscript needed, one file
                input_names=input_names,
                output_names=["token_embeddings"],
                dynamic_axes={
                    name: {0: "batch", 1: "sequence"} for name in [*input_names, "token_embeddings"]
                },
                opset_version=OPSET,
                do_constant_folding=True,
            )
        _check_export(onnx_tmp, probe, expected, layout.pooling)
        onnx_name, onnx_sha256 = _commit_file(onnx_tmp, out_dir, "model", ".onnx")
    finally:
        onnx_tmp.unlink(missing_ok=True)
    tok_tmp = _temp_path(out_dir, ".json")
    try:
        tok_tmp.write_bytes(tokenizer_file.read_bytes())
        tokenizer_name, tokenizer_sha256 = _commit_file(tok_tmp, out_dir, "tokenizer", ".json")
    finally:
        tok_tmp.unlink(missing_ok=True)

    manifest = ExportManifest(
        format=FORMAT,
        model_identity=identity or f"{model_dir.resolve().name}:{digest[:12]}",
        model_digest=digest,
        onnx_file=onnx_name,
        onnx_sha256=onnx_sha256,
        tokenizer_file=tokenizer_name,
        tokenizer_sha256=tokenizer_sha256,
        input_names=tuple(input_names),
        max_seq_length=layout.max_seq_length,
        pooling=layout.pooling,
        dimension=layout.dimension,
        opset=OPSET,
        exported_with=f"torch {torch.__version__}, transformers {transformers.__version__}",
    )
    _write_atomic(out_dir / MANIFEST, json.dumps(asdict(manifest), indent=2).encode("utf-8"))
    _remove_unreferenced(out_dir, manifest)
    return out_dir


def _token_embeddings(model: Any, input_names: list[str]) -> Any:
    """A torch module: the inputs, positionally, to the transformer's last hidden state."""
    import torch

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(input_names, inputs, strict=True))).last_hidden_state

    return TokenEmbeddings().eval()  # a new Module starts in training mode (dropout on)


def _check_export(path: Path, probe: dict[str, np.ndarray], expected: np.ndarray, pooling: str):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, probe)[0]
    mask = probe["attention_mask"]
    a, b = _pool(got, mask, pooling), _pool(expected, mask, pooling)
    worst = float(np.min(np.sum(a * b, axis=1)))
    if worst < 0.99999:
        raise OnnxExportError(
            f"The ONNX export differs from the PyTorch model (cosine {worst:.6f} on a probe "
            "text): it was not kept. Use SentenceEmbedder for this model."
        )


def _temp_path(folder: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp's 0600 would hide the export from a server run as another user
    return Path(name)


def _commit_file(tmp: Path, folder: Path, stem: str, suffix: str) -> tuple[str, str]:
    """fsync ``tmp`` and rename it to its content name; return that name and its sha256."""
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    checksum = _sha256_file(tmp)
    name = f"{stem}-{checksum[:16]}{suffix}"
    os.replace(tmp, folder / name)
    return name, checksum


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = _temp_path(path.parent, path.suffix)
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove_unreferenced(out_dir: Path, manifest: ExportManifest) -> None:
    keep = {MANIFEST, manifest.onnx_file, manifest.tokenizer_file}
    for path in [*out_dir.glob("model-*.onnx"), *out_dir.glob("tokenizer-*.json")]:
        if path.name not in keep:
            path.unlink(missing_ok=True)
    for path in out_dir.glob(".tmp-*"):  # left by an export that was killed
        path.unlink(missing_ok=True)


# -- the encoder (question time: no torch) ---------------------------------------------------


def _verify_files(export_dir: Path, manifest: ExportManifest) -> dict[str, bytes]:
    """The export's files, read once and checked against the manifest's checksums."""
    contents = {}
    for name, checksum in (
        (manifest.onnx_file, manifest.onnx_sha256),
        (manifest.tokenizer_file, manifest.tokenizer_sha256),
    ):
        try:
            data = (export_dir / name).read_bytes()
        except OSError as exc:
            raise OnnxExportError(
                f"The ONNX export in {export_dir} lacks {name} ({exc.strerror}): export it again."
            ) from exc
        if hashlib.sha256(data).hexdigest() != checksum:
            raise OnnxExportError(
                f"The ONNX export's {export_dir / name} does not match its checksum (damaged "
                "or changed since the export): export it again."
            )
        contents[name] = data
    return contents


def _configured_tokenizer(source: Path | bytes, max_seq_length: int) -> Any:
    from tokenizers import Tokenizer

    if isinstance(source, bytes):
        tokenizer = Tokenizer.from_str(source.decode("utf-8"))
    else:
        tokenizer = Tokenizer.from_file(str(source))
    # tokenizer.json may carry its own settings (all-MiniLM-L6-v2's: 128, padded to 128);
    # sentence-transformers truncates at max_seq_length and pads to the longest in a batch
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding()
    return tokenizer


def _encode(tokenizer: Any, texts: Sequence[str], input_names: Sequence[str]) -> dict:
    import numpy as np

    encodings = tokenizer.encode_batch_fast(list(texts))
    fields = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
    return {
        name: np.array([getattr(e, fields[name]) for e in encodings], dtype=np.int64)
        for name in input_names
    }


def _pool(tokens: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Pooling as sentence-transformers does it, then L2 normalisation (as ``SentenceEmbedder``)."""
    import numpy as np

    if pooling == "cls":
        pooled = tokens[:, 0]
    else:
        weights = mask[:, :, None].astype(tokens.dtype)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class OnnxQueryEncoder:
    """An ``Embedder`` on an export folder: onnxruntime, tokenizers and numpy, never torch.

    Loads at construction (~0.8 s for all-MiniLM-L6-v2 with onnxruntime's import; its files are
    read once and checked against the manifest's checksums); one session is shared by every
    thread (``InferenceSession.run`` is thread-safe).
    ``expected_identity`` / ``expected_digest``, when given, must match the manifest, or
    ``StaleOnnxExportError`` says to export again. ``threads``: intra-op threads (default: the
    cores this process may use).
    """

    def __init__(
        self,
        export_dir: str | Path,
        *,
        expected_identity: str | None = None,
        expected_digest: str | None = None,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        import onnxruntime as ort

        self.export_dir = Path(export_dir)
        self.manifest = manifest = ExportManifest.read(self.export_dir)
        for wanted, found, what in (
            (expected_identity, manifest.model_identity, "model"),
            (expected_digest, manifest.model_digest, "model digest"),
        ):
            if wanted is not None and wanted != found:
                raise StaleOnnxExportError(
                    f"The ONNX export in {self.export_dir} is of {what} {found!r}, not "
                    f"{wanted!r}: export it again (a sync does)."
                )
        contents = _verify_files(self.export_dir, manifest)
        self.batch_size = batch_size
        self._tokenizer = _configured_tokenizer(
            contents[manifest.tokenizer_file], manifest.max_seq_length
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _default_threads()
        options.inter_op_num_threads = 1
        # Its threads would spin after each question, taking the cores from numpy's BLAS
        # threads (the searches) and theirs from it: a warm ask p50 67 -> 43 ms without.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: its warnings are not the user's business
        try:
            self._session = ort.InferenceSession(
                contents[manifest.onnx_file], options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise OnnxExportError(
                f"ONNX Runtime cannot load {self.export_dir / manifest.onnx_file} ({exc}): "
                "export it again."
            ) from exc
        logger.info("ONNX query encoder loaded from %s", self.export_dir)

    @property
    def dimension(self) -> int:
        return self.manifest.dimension

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        """Unit-length embeddings in input order; ``progress(n_done)`` after each batch.

        Longest first in batches of ``batch_size``, so batches pad little (as
        ``SentenceEmbedder``); the result is put back in input order.
        """
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for ids in _batches(order, self.batch_size):
            vectors = self._run([texts[i] for i in ids])
            for i, vector in zip(ids, vectors.tolist(), strict=True):
                out[i] = vector
            if progress is not None:
                progress(len(ids))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._run([text])[0].tolist()

    def _run(self, texts: list[str]) -> np.ndarray:
        inputs = _encode(self._tokenizer, texts, self.manifest.input_names)
        tokens = self._session.run(None, inputs)[0]
        return _pool(tokens, inputs["attention_mask"], self.manifest.pooling)


def _batches(order: list[int], size: int) -> Iterator[list[int]]:
    for begin in range(0, len(order), size):
        yield order[begin : begin + size]


QUERY_EXPORT = "onnx"
"""The export's folder inside ``index_dir``: one for every generation (it depends on the
model only)."""


class LightQueries:
    """An ``Embedder`` that embeds questions with ``queries`` (the ONNX encoder) and documents
    with ``documents`` (the full model, which loads only when a sync needs it)."""

    def __init__(self, queries: OnnxQueryEncoder, documents: Any) -> None:
        self.queries, self.documents = queries, documents

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        return self.documents.embed(texts, progress=progress)

    def embed_query(self, text: str) -> list[float]:
        return self.queries.embed_query(text)


def with_light_queries(settings: Settings, documents: Any) -> Any:
    """``documents`` (the full model) with questions embedded through the index's ONNX export
    when ``settings.query_encoder`` is "onnx" and a current export is there; else as it is."""
    folder = Path(settings.index_dir) / QUERY_EXPORT
    if settings.query_encoder != "onnx" or not (folder / MANIFEST).exists():
        return documents
    try:
        queries = OnnxQueryEncoder(
            folder, expected_identity=model_identity(settings.embedding_model)
        )
    except (OnnxExportError, ImportError) as exc:
        logger.warning("questions use the full model: %s", exc)
        return documents
    return LightQueries(queries, documents)


def export_for_queries(settings: Settings, *, check: bool) -> None:
    """Make (or keep) the index's ONNX export of the model for questions; ``check`` reads the
    model's files to see the export is current (a sync that wrote a generation), else only the
    manifest's model name is compared (a sync that changed nothing). A failure is a warning:
    questions then use the full model."""
    path = Path(resolve_model_path(settings.embedding_model))
    if settings.query_encoder != "onnx" or not path.is_dir():
        return
    folder = Path(settings.index_dir) / QUERY_EXPORT
    identity = model_identity(settings.embedding_model)
    if not check:
        try:
            if ExportManifest.read(folder).model_identity == identity:
                return
        except OnnxExportError:
            pass
    try:
        export_onnx(path, folder, identity=identity)
    except Exception as exc:  # the index is fine without it
        logger.warning("could not export the model for questions (%s); they use the model", exc)
