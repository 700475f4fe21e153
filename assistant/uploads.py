"""Article files in and out of the corpus folder, for the web UI.

In: an uploaded file is checked and copied in under a safe, new name (never overwriting).
Out: the file of an indexed article is found for deleting, only ever inside the corpus folder.
Free of the UI, so the checks are plain functions to test.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import Settings
from .corpus import JSON_SUFFIXES, JSONL_SUFFIXES, SUPPORTED_SUFFIXES, load_corpus
from .types import Article

logger = logging.getLogger(__name__)

_MAX_NAME = 120
_COLLECTIONS = JSON_SUFFIXES + JSONL_SUFFIXES


def text_key(text: str) -> str:
    """A digest of an article's text: two files with the same key hold the same article."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


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
    text_keys: tuple[str, ...] = ()
    """``text_key`` of each article the saved file holds."""


def _upload_reason(reason: str) -> str:
    """A corpus problem reworded for a file that is not in the corpus yet.

    The corpus reader's advice ("... or delete the file", "remove one of the two copies") is
    about a file already in the folder; for an upload the diagnosis alone says it.
    """
    diagnosis, _, advice = reason.partition("; ")
    return diagnosis if "delete" in advice or "remove" in advice else reason


def store_upload(
    source: Path,
    original_name: str,
    settings: Settings,
    known: Mapping[str, str] | None = None,
) -> Stored:
    """Check one uploaded file and copy it into the corpus folder under a safe, new name.

    Checks: supported suffix, size, article text (``load_corpus`` on a temporary copy), not the
    text of an article already there: ``known`` maps ``text_key`` of each to where it is. An
    existing file is never replaced: ``name-2.md`` etc. is used.
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
    if not source.read_bytes().strip():
        return Stored(shown, reason="the file has no article text")
    with tempfile.TemporaryDirectory(prefix="briefing-upload-") as tmp:
        trial = Path(tmp) / name
        shutil.copyfile(source, trial)
        loaded = load_corpus(trial, max_file_bytes=settings.max_file_bytes)
    if not loaded.articles:
        reasons = "; ".join(_upload_reason(p.reason) for p in loaded.problems)
        return Stored(shown, reason=reasons or "the file has no article text")
    keys = tuple(text_key(a.text) for a in loaded.articles)
    twins = [known[k] for k in keys if k in (known or {})]
    if len(twins) == len(loaded.articles):
        where = ", ".join(dict.fromkeys(twins))
        return Stored(shown, reason=f"the same text is already in the corpus ({where})")
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
        return Stored(shown, name=candidate.name, text_keys=keys)
    return Stored(shown, reason="too many files with this name in the corpus; rename it")


def store_checked(path: Path, settings: Settings, known: dict[str, str]) -> Stored:
    """``store_upload`` of a file under its own name; an OS error becomes a refusal.

    The texts of a stored file join ``known``, so a second copy in the same upload is refused.
    """
    try:
        stored = store_upload(path, path.name, settings, known)
    except OSError as exc:
        logger.exception("storing upload %s failed", path)
        return Stored(path.name, reason=f"could not be saved ({exc.strerror or exc})")
    if stored.name:
        known.update(dict.fromkeys(stored.text_keys, stored.name))
    return stored


# -- out -------------------------------------------------------------------------------------
def article_file(settings: Settings, article: Article) -> Path:
    """The file in the corpus folder that holds ``article`` and nothing else, for deleting it.

    ``article`` comes from the index; its ``locator`` is its path relative to the corpus folder,
    or ``file#key`` for a record of a collection file. Raises ``ValueError`` saying why there is
    no such file: the corpus is one file, the article is a record of a collection, or the path
    is not a plain file inside the corpus folder.
    """
    corpus = Path(settings.corpus)
    locator = article.locator
    if corpus.is_file():
        raise ValueError(
            f"the corpus '{corpus}' is one file, not a folder; its articles cannot be deleted "
            "one by one"
        )
    if not corpus.is_dir():
        raise ValueError(f"there is no corpus folder '{corpus}'")
    for i, char in enumerate(locator):
        if char == "#" and locator[:i].lower().endswith(_COLLECTIONS):
            raise ValueError(
                f"it is a record inside the collection file {locator[:i]}; a record cannot be "
                "deleted alone: edit that file, or delete the whole file from the corpus folder"
            )
    parts = PurePosixPath(locator).parts
    if (
        not parts
        or PurePosixPath(locator).is_absolute()
        or any(p in ("", ".", "..") for p in parts)
        or locator.lower().endswith(_COLLECTIONS)
    ):
        raise ValueError(f"'{locator}' is not the path of an article file in the corpus folder")
    root = corpus.resolve()
    path = root.joinpath(*parts)
    if not path.parent.resolve().is_relative_to(root) or not path.is_file():
        raise ValueError(f"there is no file '{locator}' in the corpus folder")
    return path
