"""The typed objects that flow between the stages: Article -> Chunk -> (index) -> IndexReport."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


def plural(count: int, word: str) -> str:
    """``1 article``, ``2 articles``, ``6,813 chunks``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Article:
    """One news article as read from the corpus.

    `text` is the body exactly as stored; every offset in the project points into it.
    Metadata that the file does not give stays ``None``: nothing is invented.
    """

    id: str
    """Stable id derived from where the article lives (file path, or collection + record key)."""
    locator: str
    """Human-readable origin: a path relative to the corpus root, with ``#key`` for a record."""
    title: str
    text: str
    source: str | None = None
    published: str | None = None
    """ISO 8601 in UTC, e.g. ``2023-11-27T08:45:59+00:00``."""
    published_ts: int | None = None
    """The same instant as integer seconds since the epoch (for date-range filters)."""
    url: str | None = None
    author: str | None = None
    content_hash: str = ""
    """Hash of text and metadata: a changed hash means the article must be re-indexed."""


@dataclass(frozen=True)
class Problem:
    """A file or record that could not be read as given. ``skipped`` is False for warnings."""

    path: str
    reason: str
    skipped: bool = True
    forget: bool = False
    """What the index holds from ``path`` goes too: it must never be indexed (a link out of the
    corpus, a device). Otherwise a skipped file keeps what the index holds from it, so a file
    that fails to read once (a half-written save) does not vanish from the answers."""

    def __str__(self) -> str:
        kind = "skipped" if self.skipped else "warning"
        return f"{self.path}: {self.reason} ({kind})"


@dataclass(frozen=True)
class FileRecord:
    """A corpus file as it was read: its stat stamp and the articles it gave.

    ``articles`` holds (id, locator, content hash, text hash) per article. A file whose stamp
    is the same at the next sync need not be read again (``load_corpus(remembered=...)``).
    """

    locator: str
    stamp: tuple[int, ...]
    articles: tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True)
class CorpusLoad:
    """What reading a corpus gave: the articles in a stable order and the problems met.

    With ``load_corpus(remembered=...)``, the articles of files not read again (their stamp
    unchanged) are not in ``articles`` but listed by id in ``unchanged``; ``files`` is what to
    remember for the next load: every file that read cleanly and was not just modified.
    """

    articles: tuple[Article, ...]
    problems: tuple[Problem, ...] = ()
    unchanged: tuple[str, ...] = ()
    files: tuple[FileRecord, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage of an article with exact offsets: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = ()
    """Sentence spans inside the chunk, as absolute (start, end) offsets into the article."""
    n_tokens: int = 0
    """Word pieces of the text under the embedding model's tokenizer (no special tokens)."""


def chunk_id(article_id: str, start: int, end: int) -> str:
    """A chunk id that survives a rebuild: the article id plus the character offsets."""
    return f"{article_id}:{start}-{end}"


@dataclass(frozen=True)
class IndexReport:
    """The summary of one ``sync_index`` run."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    """Articles (or files) rejected this run; see ``problems``."""
    unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    total_articles: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    generation: str = ""
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.skipped} skipped, {self.unchanged} unchanged articles; "
            f"+{self.chunks_added}/-{self.chunks_removed} chunks "
            f"({plural(self.total_articles, 'article')}, {plural(self.total_chunks, 'chunk')} "
            "in index); "
            f"{self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return data


# -- answering -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and the score of every retrieval stage."""

    chunk_id: str
    article_id: str
    start: int
    end: int
    text: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    sentences: tuple[tuple[int, int], ...]
    score: float
    """The final score the ranking used (higher is better)."""
    stages: dict[str, float] = field(default_factory=dict)
    """Per-stage evidence, e.g. ``{"dense_rank": 3, "keyword_rank": 1, "source_match": 1}``."""


@dataclass(frozen=True)
class Quote:
    """Verbatim text of an article: ``article.text[start:end] == text`` (checked before shown)."""

    n: int
    text: str
    article_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    start: int
    end: int
    speaker: str | None = None
    """Who is speaking: the fullest name the article gives ("Dmitry Peskov" where the sentence
    says "Peskov" or "he"), found at index time; None for the reporter's own words."""
    role: str | None = None
    """The speaker's role, when the article gives it ("Putin's spokesperson")."""
    carried_by: str | None = None
    """When the article is one wire story carried by several outlets, who carried it
    ("AP, via The Ledger and Harbour Times"): one source, not several."""

    def marked(self) -> str:
        """The text in quotation marks, without doubling the article's own: a sentence that
        opens a quotation (“There is…) gets no second “, and a closing ” is added only when
        a quotation is left open."""
        opens = self.text.startswith("“")
        left_open = self.text.count("“") + (not opens) > self.text.count("”")
        return f"{'' if opens else '“'}{self.text}{'”' if left_open else ''}"

    def reference(self) -> str:
        """``Source, 2023-11-27, “Title”`` with the unknown parts left out."""
        parts = [p for p in (self.source, (self.published or "")[:10]) if p]
        return ", ".join([*parts, f"“{self.title}”"])

    def citation(self) -> str:
        """``[n] Source, 2023-11-27, “Title”``."""
        return f"[{self.n}] {self.reference()}"


@dataclass(frozen=True)
class ArticleRef:
    """An article named on a refusal (the closest matches) or in citations."""

    article_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    score: float = 0.0


@dataclass(frozen=True)
class Answer:
    question: str
    standalone_question: str
    answer: str
    refused: bool
    quotes: tuple[Quote, ...] = ()
    closest: tuple[ArticleRef, ...] = ()
    passages: tuple[Passage, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)
    """The filters applied: sources, date range, recency, and where each came from."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    refusal_reason: str | None = None
    generated: bool = False
    """Whether a language model wrote ``answer`` (then checked against the quotes)."""
    model: str | None = None
    checks: tuple[dict[str, str], ...] = ()
    """What the checks of a written answer did (``grounding.Check.to_dict``), or why the
    answer fell back to the composed one."""
    raw_answer: str | None = None
    """The model's own text, before the checks."""
    disagreements: tuple[Disagreement, ...] = ()
    """Quotes that oppose each other (a claim and its denial, two figures, two outcomes)."""

    def to_dict(self, *, passages: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not passages:
            data.pop("passages")
        return data


@dataclass(frozen=True)
class Disagreement:
    """Quotes of an answer that oppose each other, shown side by side."""

    quotes: tuple[int, ...]
    """The opposing quotes' numbers (``Quote.n``)."""
    kind: str
    """"denial" (a claim and its denial or rejection), "figures" (two figures for the same
    quantity) or "outcome" (different outcomes reported)."""
    why: str
    """One line a reader understands: "Ketterby denied [2] the breach the regulator reported [1]"."""


@dataclass(frozen=True)
class TextPiece:
    """A piece of an answer's text as it is written (``Assistant.stream``); the pieces of one
    answer, joined, are the text the writer finished with before any check."""

    text: str


@dataclass(frozen=True)
class Written:
    """What an answer writer finished with: the text, or why the quotes do not answer."""

    text: str
    refusal_reason: str | None = None
    model: str | None = None
    """The model that wrote ``text``; None when it was composed from the quotes."""
    checks: tuple[dict[str, str], ...] = ()
    raw: str | None = None


@dataclass(frozen=True)
class Filters:
    """Filters a caller sets explicitly (the question's own dates and outlets come on top)."""

    sources: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()
    start_ts: int | None = None
    """Inclusive, epoch seconds."""
    end_ts: int | None = None
    """Exclusive, epoch seconds."""

    def __post_init__(self) -> None:  # a list given for a tuple: kept hashable all the same
        for name in ("sources", "article_ids"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def within(self, start_ts: int | None, end_ts: int | None) -> Filters:
        """These filters narrowed to a period (a side given as None stays as it is)."""
        return replace(
            self,
            start_ts=_tighter(max, self.start_ts, start_ts),
            end_ts=_tighter(min, self.end_ts, end_ts),
        )

    def is_empty(self) -> bool:
        return not (
            self.sources or self.article_ids or self.start_ts is not None or self.end_ts is not None
        )


def _tighter(pick, a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else pick(a, b)
