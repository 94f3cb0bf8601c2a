"""Sets of addresses that stay small: the full addresses, in a private temporary SQLite file.

A million-address list must not cost memory in proportion (the budget is flat memory), and two
different addresses must never be taken for one (a recipient silently dropped). So the set keeps
every address whole, as the primary key of a table in a private temporary SQLite database with
a bounded page cache: lookups are exact, memory stays at the page cache, and the file is deleted
when the set is closed. (An earlier version kept 64-bit fingerprints in memory: a collision,
rare as it was, dropped a recipient without a word.)
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

_CACHE_KIB = 2048  # SQLite page cache: the memory the set costs, however long the list


class AddressSet:
    """Addresses (compare them lower-cased) seen so far; a context manager that removes its file."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._count = 0

    def add(self, key: str) -> bool:
        """Add an address; False when it was already there."""
        added = self._open().execute("INSERT OR IGNORE INTO seen VALUES (?)", (key,)).rowcount == 1
        self._count += added
        return added

    def __contains__(self, key: str) -> bool:
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM seen WHERE address = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return self._count

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            # "" opens a private temporary database, deleted when the connection closes; it stays
            # in the page cache until that is full, so a short list never touches the disk.
            db = sqlite3.connect("")
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            db.execute("CREATE TABLE seen (address TEXT PRIMARY KEY) WITHOUT ROWID")
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> AddressSet:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
