"""Briefing Assistant: ask questions of a folder of news articles, answered with verbatim quotes.

The public API; everything else is internal.
"""

from .answering import Answerer, ComposedAnswerer
from .api import Assistant
from .chat import ChatSession
from .config import QuestionConfig, QuoteConfig, RefusalPolicy, RetrievalConfig, Settings
from .corpus import load_corpus
from .embedding import Embedder, SentenceEmbedder
from .errors import (
    AssistantClosedError,
    BriefingError,
    ConfigError,
    CorpusError,
    IndexBusyError,
    IndexMismatchError,
    IndexMissingError,
    IndexStoreError,
)
from .reader import Index, open_index
from .retrieval import Reranker, SentenceReranker
from .types import (
    Answer,
    Article,
    ArticleRef,
    Chunk,
    CorpusLoad,
    Filters,
    IndexReport,
    Passage,
    Problem,
    Quote,
    TextPiece,
    Written,
)
from .writer import sync_index

__all__ = [
    "Answer",
    "Answerer",
    "Article",
    "ArticleRef",
    "Assistant",
    "AssistantClosedError",
    "BriefingError",
    "ChatSession",
    "Chunk",
    "ComposedAnswerer",
    "ConfigError",
    "CorpusError",
    "CorpusLoad",
    "Embedder",
    "Filters",
    "Index",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexReport",
    "IndexStoreError",
    "load_corpus",
    "open_index",
    "Passage",
    "Problem",
    "QuestionConfig",
    "Quote",
    "QuoteConfig",
    "RefusalPolicy",
    "Reranker",
    "RetrievalConfig",
    "SentenceEmbedder",
    "SentenceReranker",
    "Settings",
    "sync_index",
    "TextPiece",
    "Written",
]
