"""Briefing Assistant: ask questions of a folder of news articles, answered with verbatim quotes.

The public API; everything else is internal.
"""

from .api import Assistant
from .chat import ChatSession
from .config import Settings
from .corpus import load_corpus
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
from .index import Index, open_index, sync_index
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
)

__all__ = [
    "Answer",
    "Article",
    "ArticleRef",
    "Assistant",
    "ChatSession",
    "Filters",
    "Passage",
    "Quote",
    "AssistantClosedError",
    "BriefingError",
    "Chunk",
    "ConfigError",
    "CorpusError",
    "CorpusLoad",
    "Index",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexReport",
    "IndexStoreError",
    "Problem",
    "Settings",
    "load_corpus",
    "open_index",
    "sync_index",
]
