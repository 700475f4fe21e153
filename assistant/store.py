"""The article store of one index segment: a SQLite file beside its vectors.

It holds the text and metadata of the segment's articles, each chunk's offsets, sentence spans
and keyword terms, the reported speech and MinHash signature of each article, and the segment's
own facts (fingerprint, backend, collection name, analysis version). Written once by the sync
that makes the segment, then only read. Quotes are checked against
the article text kept here, so the store is the source of truth for offsets.

One ``ArticleStore`` may be shared by any number of threads (the web UI answers on Gradio's
worker threads, LangChain's ``ainvoke`` on an executor's): see ``ArticleStore``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .attribution import Speech
from .types import Article, Chunk

STORE_FILE = "store.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, locator TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT, published TEXT, published_ts INTEGER, url TEXT, author TEXT,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, sentences TEXT NOT NULL,
    n_tokens INTEGER NOT NULL, terms TEXT
);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS speech (
    article_id TEXT NOT NULL REFERENCES articles(id), start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, speaker TEXT, speaker_text TEXT, role TEXT, kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS speech_by_article ON speech(article_id);
CREATE TABLE IF NOT EXISTS analysed (article_id TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signatures (article_id TEXT PRIMARY KEY, minhash BLOB NOT NULL);
"""

_ARTICLE_COLUMNS = (
    "id, locator, title, text, source, published, published_ts, url, author, content_hash"
)


class ArticleStore:
    """Articles and chunks of one segment. Open with ``ArticleStore(folder)``.

    Thread-safe: one connection, opened with ``check_same_thread=False``, and a lock held
    from each statement until its rows are fetched, so statements of different threads never
    interleave on the connection. Methods that yield rows fetch them all under the lock first,
    so a caller that stops half-way holds nothing open.

    Why one locked connection rather than one per thread: every read here is a short indexed
    lookup, or a scan done once when an index is opened, far cheaper than the embedding and
    BM25 work of a question, so taking turns costs nothing measurable. Connections per thread
    would be opened again on each thread Gradio or an executor happens to use, and ``close()``
    could only close them all from one thread with ``check_same_thread=False`` and a lock
    anyway, or leave files of an old generation open after it is closed.
    """

    def __init__(self, folder: Path, *, readonly: bool = False) -> None:
        self.path = folder / STORE_FILE
        self._lock = threading.Lock()
        if readonly:
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
        else:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
            if "terms" not in columns:  # stores written before keyword terms were kept
                self._db.execute("ALTER TABLE chunks ADD COLUMN terms TEXT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a query, fetched while the connection is ours."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _write(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def close(self) -> None:
        """Close the connection (waiting for a statement under way); closing twice is fine."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ArticleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commit(self) -> None:
        with self._lock:
            self._db.commit()

    # -- facts about the index -------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self._row("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self._write(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    # -- articles --------------------------------------------------------------------------
    def manifest(self) -> dict[str, tuple[str, str]]:
        """article id -> (content hash, locator) for every stored article."""
        rows = self._rows("SELECT id, content_hash, locator FROM articles")
        return {row[0]: (row[1], row[2]) for row in rows}

    def article(self, article_id: str) -> Article | None:
        row = self._row(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        return Article(*row) if row else None

    def articles(self) -> Iterator[Article]:
        rows = self._rows(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY locator")
        for row in rows:
            yield Article(*row)

    def put_article(
        self, article: Article, chunks: Sequence[Chunk], terms: Sequence[Sequence[str]]
    ) -> None:
        """Store an article with its chunks and each chunk's keyword terms."""
        a = article
        row = (
            a.id,
            a.locator,
            a.title,
            a.text,
            a.source,
            a.published,
            a.published_ts,
            a.url,
            a.author,
            a.content_hash,
        )
        chunk_rows = [
            (c.id, c.article_id, c.start, c.end, json.dumps(c.sentences), c.n_tokens, " ".join(t))
            for c, t in zip(chunks, terms, strict=True)
        ]
        with self._lock:
            self._db.execute(
                f"INSERT INTO articles ({_ARTICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", row
            )
            self._db.executemany(
                'INSERT INTO chunks (id, article_id, start, "end", sentences, n_tokens, terms) '
                "VALUES (?,?,?,?,?,?,?)",
                chunk_rows,
            )

    # -- chunks ----------------------------------------------------------------------------
    def count_chunks(self) -> int:
        return int(self._row("SELECT COUNT(*) FROM chunks")[0])

    def count_articles(self) -> int:
        return int(self._row("SELECT COUNT(*) FROM articles")[0])

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk with its text, in a stable order (article locator, then offset)."""
        with self._lock:  # both reads under one hold: the texts match the chunks
            rows = self._db.execute(
                'SELECT c.id, c.article_id, c.start, c."end", c.sentences, c.n_tokens '
                "FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY a.locator, c.start"
            ).fetchall()
            texts = dict(self._db.execute("SELECT id, text FROM articles").fetchall())
        for cid, aid, start, end, sentences, n_tokens in rows:
            yield Chunk(
                id=cid,
                article_id=aid,
                start=start,
                end=end,
                text=texts[aid][start:end],
                sentences=tuple(tuple(s) for s in json.loads(sentences)),
                n_tokens=n_tokens,
            )

    def article_chunks(self, article_id: str) -> list[tuple[Chunk, list[str] | None]]:
        """The chunks of one article, in text order, each with its keyword terms (None: a
        store written before terms were kept)."""
        with self._lock:
            text = self._db.execute("SELECT text FROM articles WHERE id = ?", (article_id,))
            found = text.fetchone()
            rows = self._db.execute(
                'SELECT id, start, "end", sentences, n_tokens, terms FROM chunks '
                "WHERE article_id = ? ORDER BY start",
                (article_id,),
            ).fetchall()
        body = found[0] if found else ""
        return [
            (
                Chunk(
                    id=cid,
                    article_id=article_id,
                    start=start,
                    end=end,
                    text=body[start:end],
                    sentences=tuple(tuple(s) for s in json.loads(sentences)),
                    n_tokens=n_tokens,
                ),
                terms.split() if terms is not None else None,
            )
            for cid, start, end, sentences, n_tokens, terms in rows
        ]

    def chunk_spans(self) -> list[tuple[str, str, int, int, str]]:
        """(chunk id, article id, start, end, sentence spans as JSON) of every chunk, without
        text; the spans are left as stored (parsing 100,000 of them takes seconds)."""
        return self._rows('SELECT id, article_id, start, "end", sentences FROM chunks')

    def article_headers(self) -> Iterator[Article]:
        """Every article's metadata with an empty ``text`` (cheap: no article bodies read)."""
        columns = _ARTICLE_COLUMNS.replace("text", "'' AS text")
        for row in self._rows(f"SELECT {columns} FROM articles"):
            yield Article(*row)

    def chunk_counts(self) -> dict[str, int]:
        """article id -> its number of chunks (articles with none are left out)."""
        rows = self._rows("SELECT article_id, COUNT(*) FROM chunks GROUP BY article_id")
        return {row[0]: int(row[1]) for row in rows}

    def chunk_ids(self, article_ids: Iterable[str]) -> list[str]:
        """The ids of the chunks of ``article_ids``."""
        wanted = sorted(set(article_ids))
        found: list[str] = []
        for begin in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            part = wanted[begin : begin + 500]
            marks = ",".join("?" * len(part))
            rows = self._rows(f"SELECT id FROM chunks WHERE article_id IN ({marks})", part)
            found.extend(row[0] for row in rows)
        return found

    def chunk_terms(self) -> Iterator[tuple[str, list[str] | None]]:
        """(chunk id, keyword terms or None if not stored) of every chunk, in id order."""
        for cid, terms in self._rows("SELECT id, terms FROM chunks ORDER BY id"):
            yield cid, terms.split() if terms is not None else None

    def chunk_text(self, chunk_id: str) -> str:
        # sliced here, not with SQL substr(), which stops at a NUL character
        row = self._row(
            'SELECT a.text, c.start, c."end" FROM chunks c '
            "JOIN articles a ON a.id = c.article_id WHERE c.id = ?",
            (chunk_id,),
        )
        return row[0][row[1] : row[2]] if row else ""

    # -- reported speech (found at index time, see attribution.py) -------------------------
    def unanalysed(self, version: str) -> list[str]:
        """Ids of the articles whose speech was not found by analysis ``version``."""
        rows = self._rows(
            "SELECT a.id FROM articles a LEFT JOIN analysed d ON d.article_id = a.id "
            "WHERE d.version IS NOT ? ORDER BY a.locator",
            (version,),
        )
        return [row[0] for row in rows]

    def put_speech(self, article_id: str, speeches: Sequence[Speech], version: str) -> None:
        """Replace what is stored of ``article_id``'s reported speech."""
        rows = [
            (article_id, s.start, s.end, s.speaker, s.speaker_text, s.role, s.kind)
            for s in speeches
        ]
        with self._lock:
            self._db.execute("DELETE FROM speech WHERE article_id = ?", (article_id,))
            self._db.executemany(
                'INSERT INTO speech (article_id, start, "end", speaker, speaker_text, role, kind) '
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )
            self._db.execute(
                "INSERT OR REPLACE INTO analysed (article_id, version) VALUES (?, ?)",
                (article_id, version),
            )

    def speech(self, article_id: str | None = None) -> list[tuple[str, Speech]]:
        """(article id, span) of the reported speech of one article or of all, in text order.

        Empty for a store written before speech was found (read-only, it cannot be added)."""
        where, params = ("WHERE article_id = ?", (article_id,)) if article_id else ("", ())
        try:
            rows = self._rows(
                'SELECT article_id, start, "end", speaker, speaker_text, role, kind FROM speech '
                f"{where} ORDER BY article_id, start",
                params,
            )
        except sqlite3.OperationalError:  # no such table
            return []
        return [(row[0], Speech(*row[1:])) for row in rows]

    # -- MinHash signatures (syndication.signature), kept so a sync never shingles them again --
    def put_signature(self, article_id: str, signature: np.ndarray | None) -> None:
        with self._lock:
            self._db.execute("DELETE FROM signatures WHERE article_id = ?", (article_id,))
            if signature is not None:
                self._db.execute(
                    "INSERT INTO signatures (article_id, minhash) VALUES (?, ?)",
                    (article_id, signature.astype(np.uint64).tobytes()),
                )

    def signatures(self) -> dict[str, np.ndarray] | None:
        """article id -> signature of the articles that have one; None for a store written
        before signatures were kept."""
        try:
            rows = self._rows("SELECT article_id, minhash FROM signatures")
        except sqlite3.OperationalError:  # no such table
            return None
        return {aid: np.frombuffer(blob, dtype=np.uint64) for aid, blob in rows}
