"""What the last sync read from each corpus file, so that the next one reads only the files
that changed.

A sync of an archive of thousands of articles would otherwise spend most of its time reading
and hashing files that are as they were. ``files.sqlite`` in the index folder remembers, per
file, its stamp (size, modification and change times, inode) and the articles it gave
(``FileRecord``); a file with the same stamp is not read again.

It is a hint, never the truth: no generation lists it, and the writer trusts a record only
when every article it names is live in the index in use with the same content hash and
locator. A record that a crash, a rebuild or a hand-edited index left behind is therefore
read past, never believed. Records are made under a key (``corpus.read_key``: the code that
reads files, the size limit, the corpus folder); under another key they are all dropped.
A file is remembered only once it is a few seconds old (``corpus.RACY_SECONDS``), so
a second edit within one timestamp tick cannot hide. Editing a file while keeping its size
and both its times (possible only by setting them back on purpose) would hide the edit:
``briefing index --reread`` reads every file again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from .types import FileRecord

logger = logging.getLogger(__name__)

FILE_NAME = "files.sqlite"


class FileMemory:
    """The records of one index folder, made under ``key``. Failing to read or write them
    is logged and costs only time: the files are then read."""

    def __init__(self, index_dir: Path, key: str) -> None:
        self.path = Path(index_dir) / FILE_NAME
        self.key = key
        self._recalled: dict[str, FileRecord] = {}

    def recall(self) -> dict[str, FileRecord]:
        """locator -> record, of the files remembered under this key."""
        if not self.path.exists():
            return {}
        try:
            with _connect(self.path) as db:
                row = db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
                if row is None or row[0] != self.key:
                    return {}
                rows = db.execute("SELECT locator, stamp, articles FROM files").fetchall()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("cannot read %s (%s); every corpus file is read", self.path, exc)
            return {}
        self._recalled = {
            locator: FileRecord(
                locator, tuple(json.loads(stamp)), tuple(map(tuple, json.loads(articles)))
            )
            for locator, stamp, articles in rows
        }
        return dict(self._recalled)

    def keep(self, files: Sequence[FileRecord]) -> None:
        """Remember exactly ``files``: write what differs from what ``recall`` gave, forget
        the rest."""
        wanted = {f.locator: f for f in files}
        changed = [f for f in files if self._recalled.get(f.locator) != f]
        gone = [locator for locator in self._recalled if locator not in wanted]
        if not changed and not gone and self.path.exists():
            return
        try:
            try:
                self._write(files, changed, gone)
            except sqlite3.DatabaseError:  # not a database (any more): start a new one
                for path in (self.path, self.path.with_name(FILE_NAME + "-journal")):
                    path.unlink(missing_ok=True)
                self._write(files, files, [])
        except (sqlite3.Error, OSError) as exc:
            logger.warning("cannot write %s (%s); the next sync reads every file", self.path, exc)
            return
        self._recalled = dict(wanted)

    def _write(
        self, files: Sequence[FileRecord], changed: Sequence[FileRecord], gone: Sequence[str]
    ) -> None:
        with _connect(self.path) as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
            if row is None or row[0] != self.key:  # another key's records: start over
                db.execute("DELETE FROM files")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('key', ?)", (self.key,))
                changed = files
            db.executemany("DELETE FROM files WHERE locator = ?", [(g,) for g in gone])
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                [(f.locator, json.dumps(f.stamp), json.dumps(f.articles)) for f in changed],
            )


def trusted(
    records: Mapping[str, FileRecord], live: Mapping[str, tuple[str, str]]
) -> dict[str, FileRecord]:
    """The records whose every article is in ``live`` (article id -> (content hash, locator))
    as the record says."""
    return {
        locator: record
        for locator, record in records.items()
        if all(live.get(aid) == (chash, where) for aid, where, chash, _text in record.articles)
    }


class _connect:
    """A connection that commits (or rolls back) and closes on leaving ``with``."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30)

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS files "
            "(locator TEXT PRIMARY KEY, stamp TEXT NOT NULL, articles TEXT NOT NULL)"
        )
        return self.db

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            if kind is None:
                self.db.commit()
            else:
                self.db.rollback()
        finally:
            self.db.close()
