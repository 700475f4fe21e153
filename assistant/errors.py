"""Exceptions raised by the assistant. Every message says what happened and what to do.

    BriefingError
    ├── ConfigError          a setting has a value that cannot work
    ├── CorpusError          the corpus path itself cannot be read (not one bad article)
    ├── AssistantClosedError the Assistant was used after ``close()``
    └── IndexStoreError      the index on disk or on the Chroma server cannot be used
        ├── IndexMissingError    no index has been built yet
        ├── IndexMismatchError   built with other settings: rebuild it
        └── IndexBusyError       another sync holds the lock

A single bad article is not an exception: it becomes a ``Problem`` on the report and the
other articles are still indexed.
"""

from __future__ import annotations


class BriefingError(Exception):
    """Base class of the assistant's own errors."""


class ConfigError(BriefingError):
    pass


class CorpusError(BriefingError):
    pass


class AssistantClosedError(BriefingError):
    """The Assistant (or the index under it) was used after ``close()``."""

    def __init__(
        self, message: str = "the assistant is closed; open it again with Assistant.open(...)"
    ) -> None:
        super().__init__(message)


class IndexStoreError(BriefingError):
    pass


class IndexMissingError(IndexStoreError):
    pass


class IndexMismatchError(IndexStoreError):
    pass


class IndexBusyError(IndexStoreError):
    pass
