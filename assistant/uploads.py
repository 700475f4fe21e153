"""Uploaded article files -> the corpus folder: checked, under safe names, never overwriting.

Used by the web UI; free of it, so the checks are plain functions to test.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .corpus import SUPPORTED_SUFFIXES, load_corpus

logger = logging.getLogger(__name__)

_MAX_NAME = 120


def _suffix(name: str) -> str:
    lower = name.lower()
    return next(
        (s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), ""
    )


def safe_name(name: str) -> str:
    """A plain file name from an uploaded one: the last path part, letters, digits, ``._-``."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip(".-_ ")
    suffix = _suffix(base)
    stem = base[: len(base) - len(suffix)] if suffix else base
    stem = re.sub(r"\.+", ".", stem).strip(".-_")[:_MAX_NAME] or "article"
    return stem + (suffix or (Path(base).suffix.lower() if "." in base else ""))


@dataclass(frozen=True)
class Stored:
    """What became of one uploaded file: saved as ``name``, or refused with ``reason``."""

    original: str
    name: str | None = None
    reason: str | None = None


def store_upload(
    source: Path, original_name: str, settings: Settings, known_hashes: set[str] = frozenset()
) -> Stored:
    """Check one uploaded file and copy it into the corpus folder under a safe, new name.

    Checks: supported suffix, size, readable text (``load_corpus`` on a temporary copy), not an
    article already indexed. An existing file is never replaced: ``name-2.md`` etc. is used.
    """
    shown = Path(original_name.replace("\\", "/")).name or original_name
    corpus = Path(settings.corpus)
    if corpus.exists() and not corpus.is_dir():
        return Stored(
            shown, reason=f"the corpus '{corpus}' is one file, not a folder; uploads need a folder"
        )
    name = safe_name(original_name)
    suffix = _suffix(name)
    if not suffix:
        return Stored(
            shown, reason=f"unsupported file type; upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        size = source.stat().st_size
    except OSError as exc:
        return Stored(shown, reason=f"cannot read the uploaded file ({exc.strerror})")
    if size > settings.max_file_bytes:
        return Stored(
            shown,
            reason=f"{size:,} bytes is over the limit of {settings.max_file_bytes:,} (max_file_bytes)",
        )
    with tempfile.TemporaryDirectory(prefix="briefing-upload-") as tmp:
        trial = Path(tmp) / name
        shutil.copyfile(source, trial)
        loaded = load_corpus(trial, max_file_bytes=settings.max_file_bytes)
    if not loaded.articles:
        reasons = "; ".join(p.reason for p in loaded.problems) or "no article text found"
        return Stored(shown, reason=reasons)
    if known_hashes and all(a.content_hash in known_hashes for a in loaded.articles):
        return Stored(shown, reason="already in the index (same text and metadata)")
    corpus.mkdir(parents=True, exist_ok=True)
    root = corpus.resolve()
    stem = name[: len(name) - len(suffix)]
    for attempt in range(1, 1000):
        candidate = root / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        if candidate.parent != root:  # cannot happen with safe_name; never write outside
            return Stored(shown, reason="unsafe file name")
        try:
            with source.open("rb") as src, candidate.open("xb") as dst:
                shutil.copyfileobj(src, dst)
        except FileExistsError:
            continue
        return Stored(shown, name=candidate.name)
    return Stored(shown, reason="too many files with this name in the corpus; rename it")


def store_checked(path: Path, settings: Settings, known: set[str]) -> Stored:
    """``store_upload`` of a file under its own name; an OS error becomes a refusal."""
    try:
        return store_upload(path, path.name, settings, known)
    except OSError as exc:
        logger.exception("storing upload %s failed", path)
        return Stored(path.name, reason=f"could not be saved ({exc.strerror or exc})")
