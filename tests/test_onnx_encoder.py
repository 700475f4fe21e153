"""The ONNX query encoder: same vectors as the PyTorch model, no torch, damaged exports refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import SentenceEmbedder, load_tokenizer, resolve_model_path
from assistant.onnx_encoder import (
    MANIFEST,
    ExportManifest,
    OnnxExportError,
    OnnxQueryEncoder,
    StaleOnnxExportError,
    export_is_current,
    export_onnx,
    model_digest,
)

from .conftest import FIXTURE_ARTICLES, SEED_ARTICLE

MODEL = "all-MiniLM-L6-v2"
HEAVY = ("torch", "transformers", "sentence_transformers")

LONG = SEED_ARTICLE.read_text(encoding="utf-8")  # well past 256 word pieces
TEXTS = [
    "",
    "   ",
    "Strike",
    "How many dockworkers went on strike at Calder Bay?",
    "What did the Kremlin say about European peacekeepers?",
    "Did the union and the company agree on how many jobs go: 1,200 or 850?",
    "The court ruled on 14 March 2026 that rationing in Ardval was lawful.",
    "Zürich's Bürgermeisterin und São Paulo's prefeito — «naïve» café façades.",
    "Пресс-секретарь Кремля Дмитрий Песков ответил журналистам.",
    "北京和上海的港口工人罢工了。",
    "東京の港で労働者がストライキを行った。",
    "Les dockers de Marseille ont voté la grève à 87 %.",
    "🚢⚓️ strike!!! 💥 #dockworkers @union",
    "e = mc², ∑ x_i ≥ 0, H₂O, ½ of €1.1bn",
    "tab\tseparated\nnew line\r\nand\u00a0no-break space\u200bzero width",
    "word " * 600,
    LONG,
    LONG[:1000],
    (FIXTURE_ARTICLES / "port-strike.md").read_text(encoding="utf-8"),
    (FIXTURE_ARTICLES / "tram-line.txt").read_text(encoding="utf-8"),
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return Path(resolve_model_path(MODEL))


@pytest.fixture(scope="module")
def export_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model, exported once for this module. Read it; copy it to change it."""
    return export_onnx(model_dir, tmp_path_factory.mktemp("onnx") / "export", identity=MODEL)


@pytest.fixture(scope="module")
def encoder(export_dir: Path) -> OnnxQueryEncoder:
    return OnnxQueryEncoder(export_dir)


@pytest.fixture
def export_copy(export_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(export_dir, tmp_path / "export"))


def cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    return np.sum(np.array(a) * np.array(b), axis=1)


@pytest.mark.slow
def test_the_texts_cover_the_window(model_dir: Path):
    counts = load_tokenizer(str(model_dir)).count(TEXTS)
    assert max(counts) > 600 and sum(c > 256 for c in counts) >= 3
    assert any(c > 128 for c in counts), "tokenizer.json's own truncation is 128: test past it"


@pytest.mark.slow
def test_same_vectors_as_sentence_transformers(encoder: OnnxQueryEncoder):
    reference = SentenceEmbedder(MODEL)
    expected = reference.embed(TEXTS)
    batched = encoder.embed(TEXTS)
    one_by_one = [encoder.embed_query(text) for text in TEXTS]
    assert len(batched[0]) == encoder.dimension == 384
    for got in (batched, one_by_one):
        similarity = cosines(got, expected)
        assert similarity.min() >= 0.9999, dict(zip(TEXTS, similarity.round(6), strict=True))
    assert np.allclose(np.linalg.norm(np.array(batched), axis=1), 1.0, atol=1e-5)
    assert reference.embed_query(TEXTS[3]) == pytest.approx(encoder.embed_query(TEXTS[3]), abs=1e-4)


@pytest.mark.slow
def test_batches_keep_input_order_and_report_progress(export_dir: Path):
    encoder = OnnxQueryEncoder(export_dir, batch_size=3)
    done: list[int] = []
    vectors = encoder.embed(TEXTS, progress=done.append)
    assert sum(done) == len(TEXTS) and max(done) == 3
    assert cosines(vectors, [encoder.embed_query(t) for t in TEXTS]).min() > 0.99999
    assert encoder.embed([]) == []


@pytest.mark.slow
def test_threads_share_one_encoder(encoder: OnnxQueryEncoder):
    expected = {text: encoder.embed_query(text) for text in TEXTS}
    results: dict[tuple[int, int], list[float]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i, text in enumerate(TEXTS * 2):
                results[worker, i] = encoder.embed_query(text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 4 * 2 * len(TEXTS)
    for (_, i), vector in results.items():
        assert vector == pytest.approx(expected[(TEXTS * 2)[i]], abs=1e-5)


@pytest.mark.slow
def test_a_fresh_process_embeds_without_torch(export_dir: Path):
    code = textwrap.dedent(
        f"""
        import json, sys
        from assistant.onnx_encoder import OnnxQueryEncoder
        vector = OnnxQueryEncoder({str(export_dir)!r}).embed_query("Did the Kremlin agree?")
        print(json.dumps({{"dim": len(vector), "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == {"dim": 384, "heavy": []}, done.stderr


@pytest.mark.slow
def test_a_current_export_is_kept_and_recorded(model_dir: Path, export_copy: Path):
    manifest = ExportManifest.read(export_copy)
    assert manifest.model_identity == MODEL and manifest.model_digest == model_digest(model_dir)
    assert (manifest.max_seq_length, manifest.pooling, manifest.dimension) == (256, "mean", 384)
    assert sorted(p.name for p in export_copy.iterdir()) == sorted(
        [MANIFEST, manifest.onnx_file, manifest.tokenizer_file]
    )
    onnx_file = export_copy / manifest.onnx_file
    before = onnx_file.stat().st_mtime_ns
    assert export_is_current(model_dir, export_copy)
    assert export_onnx(model_dir, export_copy) == export_copy
    assert onnx_file.stat().st_mtime_ns == before  # not exported again


@pytest.mark.slow
def test_an_export_of_another_model_is_stale(model_dir: Path, export_copy: Path):
    manifest_file = export_copy / MANIFEST
    data = json.loads(manifest_file.read_text())
    data["model_digest"] = "0" * 64  # as if exported from other weights
    manifest_file.write_text(json.dumps(data))
    assert not export_is_current(model_dir, export_copy)
    with pytest.raises(StaleOnnxExportError, match="export it again"):
        OnnxQueryEncoder(export_copy, expected_digest=model_digest(model_dir))
    with pytest.raises(StaleOnnxExportError, match="not 'another-model'"):
        OnnxQueryEncoder(export_copy, expected_identity="another-model")

    data["format"] = 0  # written by an older version
    manifest_file.write_text(json.dumps(data))
    with pytest.raises(StaleOnnxExportError, match="format 0"):
        OnnxQueryEncoder(export_copy)


@pytest.mark.slow
def test_a_damaged_export_is_refused(model_dir: Path, export_copy: Path):
    manifest = ExportManifest.read(export_copy)
    onnx_file = export_copy / manifest.onnx_file
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the weights
    onnx_file.write_bytes(bytes(data))
    with pytest.raises(OnnxExportError, match="does not match its checksum"):
        OnnxQueryEncoder(export_copy)
    assert not export_is_current(model_dir, export_copy)

    onnx_file.unlink()
    with pytest.raises(OnnxExportError, match="lacks model-"):
        OnnxQueryEncoder(export_copy)

    (export_copy / MANIFEST).write_text('{"format": 1, "model_')  # cut short
    with pytest.raises(OnnxExportError, match="cannot be read"):
        OnnxQueryEncoder(export_copy)


@pytest.mark.slow
def test_files_of_an_unfinished_export_are_ignored(export_copy: Path):
    """A killed export leaves a temp file or a new model file; the manifest still names the old."""
    (export_copy / ".tmp-abc.onnx").write_bytes(b"half an export")
    (export_copy / "model-0123456789abcdef.onnx").write_bytes(b"not yet in the manifest")
    assert len(OnnxQueryEncoder(export_copy).embed_query("still answers")) == 384


def test_a_missing_export_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(OnnxExportError, match=r"No ONNX export .* export_onnx"):
        OnnxQueryEncoder(tmp_path)


def test_a_model_the_encoder_would_get_wrong_is_refused(tmp_path: Path):
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(OnnxExportError, match="Use SentenceEmbedder"):
        export_onnx(tmp_path, tmp_path / "export")
    with pytest.raises(OnnxExportError, match="not a sentence-transformers folder"):
        export_onnx(tmp_path / "nothing", tmp_path / "export")


@pytest.mark.slow
def test_a_sync_exports_and_a_fresh_ask_answers_without_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The default path end to end: a sync with the model leaves the export in the index folder;
    a fresh ``briefing ask`` process embeds its question with it (torch never imported) and
    answers as the model's own query vector does."""
    from assistant import Assistant, Settings, sync_index
    from assistant.onnx_encoder import QUERY_EXPORT, LightQueries

    monkeypatch.setenv("BRIEFING_QUERY_ENCODER", "onnx")
    shutil.copytree(FIXTURE_ARTICLES, tmp_path / "corpus")
    settings = Settings(corpus=tmp_path / "corpus", index_dir=tmp_path / "index")
    sync_index(settings)
    assert (settings.index_dir / QUERY_EXPORT / MANIFEST).is_file()
    question = "How many dockworkers stopped work at the Port of Calder Bay?"
    code = textwrap.dedent(
        f"""
        import json, sys
        from assistant import Assistant, Settings
        settings = Settings(corpus={str(settings.corpus)!r}, index_dir={str(settings.index_dir)!r})
        with Assistant.open(settings) as assistant:
            answer = assistant.ask({question!r})
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"quotes": [q.text for q in answer.quotes], "heavy": heavy}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=180
    )
    fresh = json.loads(done.stdout.splitlines()[-1])
    assert fresh["heavy"] == [], done.stderr
    with Assistant.open(settings) as light:
        assert isinstance(light.embedder, LightQueries)
    model = settings.model_copy(update={"query_encoder": "model"})
    with Assistant.open(model) as assistant:
        assert not isinstance(assistant.embedder, LightQueries)
        assert fresh["quotes"] == [q.text for q in assistant.ask(question).quotes]
