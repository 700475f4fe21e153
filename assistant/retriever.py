"""A LangChain retriever over the index, so other LangChain apps can use it.

LangChain's ``Document`` is made here and nowhere else: each carries the chunk text and, in
its metadata, the chunk id, article id, offsets, title, source, date and url.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .types import Filters, Passage


def to_document(passage: Passage) -> Document:
    metadata: dict[str, Any] = {
        "chunk_id": passage.chunk_id,
        "article_id": passage.article_id,
        "start": passage.start,
        "end": passage.end,
        "title": passage.title,
        "source": passage.source,
        "published": passage.published,
        "url": passage.url,
        "score": passage.score,
    }
    return Document(page_content=passage.text, metadata=metadata, id=passage.chunk_id)


class BriefingRetriever(BaseRetriever):
    """Hybrid (BM25 + dense) retrieval of the Briefing Assistant as a LangChain retriever.

    ``ainvoke`` is LangChain's default: ``search`` on the event loop's executor, a thread other
    than the one that opened the Assistant, which may answer from any thread (see ``Assistant``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any
    """The ``assistant.Assistant`` whose index is searched."""
    k: int = 4
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.assistant.search(query, k=self.k, filters=self.filters)
        return [to_document(p) for p in passages]
