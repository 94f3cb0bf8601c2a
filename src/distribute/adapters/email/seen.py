"""Sets of addresses that stay small: 64-bit fingerprints in memory, then in a temporary SQLite file.

A million-address list must not cost memory in proportion (the budget is flat memory): the
first IN_MEMORY fingerprints live in a flat array (16 bytes each at most, 2 MB in all), the
rest in a private temporary SQLite database with a bounded page cache, deleted when closed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from array import array
from types import TracebackType

IN_MEMORY = 1 << 17  # addresses held in memory before the rest go to disk
_CACHE_KIB = 2048  # SQLite page cache of the spill file


def fingerprint(key: str) -> int:
    # blake2b, not hash(): the same on every run, so which of two colliding addresses is dropped
    # (about one chance in 10^7 for a million addresses) never changes between runs.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


class Fingerprints:
    """A set of non-zero 64-bit integers in a flat open-addressing table (load at most 1/2)."""

    def __init__(self, capacity: int = 1024):
        size = 1 << max(10, (capacity * 2 - 1).bit_length())
        self._table = array("Q", [0]) * size  # no temporary bytes object of the same size
        self._mask = size - 1
        self._count = 0

    def add(self, value: int) -> bool:
        """Add a fingerprint; False when it was already there."""
        table, mask = self._table, self._mask
        i = value & mask
        while True:
            slot = table[i]
            if slot == 0:
                table[i] = value
                self._count += 1
                if self._count * 2 > len(table):
                    self._grow()
                return True
            if slot == value:
                return False
            i = (i + 1) & mask

    def has(self, value: int) -> bool:
        table, mask = self._table, self._mask
        i = value & mask
        while True:
            slot = table[i]
            if slot == 0:
                return False
            if slot == value:
                return True
            i = (i + 1) & mask

    def __len__(self) -> int:
        return self._count

    def _grow(self) -> None:
        old = self._table
        self._table = array("Q", [0]) * (2 * len(old))
        self._mask = len(self._table) - 1
        table, mask = self._table, self._mask
        for value in old:
            if value:
                i = value & mask
                while table[i]:
                    i = (i + 1) & mask
                table[i] = value


class AddressSet:
    """Addresses (compare them lower-cased) seen so far; a context manager that removes its spill file."""

    def __init__(self, in_memory: int = IN_MEMORY):
        self.memory = Fingerprints()
        self.in_memory = in_memory
        self._db: sqlite3.Connection | None = None
        self._count = 0

    def add(self, key: str) -> bool:
        """Add an address; False when it was already there."""
        value = fingerprint(key)
        if self.memory.has(value):
            return False
        if len(self.memory) < self.in_memory:
            self.memory.add(value)
            self._count += 1
            return True
        added = self._spill().execute("INSERT OR IGNORE INTO seen VALUES (?)", (_signed(value),)).rowcount == 1
        self._count += added
        return added

    def __contains__(self, key: str) -> bool:
        value = fingerprint(key)
        if self.memory.has(value):
            return True
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM seen WHERE fp = ?", (_signed(value),)).fetchone() is not None

    def __len__(self) -> int:
        return self._count

    def _spill(self) -> sqlite3.Connection:
        if self._db is None:
            # "" opens a private temporary database on disk, deleted when the connection closes.
            db = sqlite3.connect("")
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            db.execute("CREATE TABLE seen (fp INTEGER PRIMARY KEY)")
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


def _signed(value: int) -> int:
    # SQLite integers are signed 64-bit.
    return value - (1 << 64) if value >= 1 << 63 else value
