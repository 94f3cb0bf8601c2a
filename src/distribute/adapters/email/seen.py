"""Sets of addresses that stay small: the full addresses, in a private temporary SQLite file.

A million-address list must not cost memory in proportion (the budget is flat memory), and two
different addresses must never be taken for one (a recipient silently dropped). So the set keeps
every address whole, as the primary key of a table in a private temporary SQLite database with
a bounded page cache: lookups are exact, memory stays at the page cache, and the file is deleted
when the set is closed. (An earlier version kept 64-bit fingerprints in memory: a collision,
rare as it was, dropped a recipient without a word.)

In front of the table, so most rows cost no SQL statement: a Bloom filter (8 KiB, growing with
the set to at most 2 MiB) answers "certainly not in the set" for almost every new address, and
the addresses added since the last write wait in a bounded in-memory set, written to the table in
one statement a batch (a JSON array read by `json_each`). Only a "maybe" from the filter asks the table: a real duplicate, or a
new address about once in 200,000 at 100,000 addresses, once in 200 at a million. The answer is
exact either way; past some millions of addresses the filter says "maybe" more often and the set
slows down, but never grows.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

_CACHE_KIB = 2048  # SQLite page cache: the memory the set costs, however long the list
BITS = 1 << 24  # Bloom filter bits at most (2 MiB): at a million addresses ~0.5% of "maybe"s for new ones
_FIRST = 1 << 16  # bits to begin with (8 KiB): a short list or a suppression list costs next to nothing
_PER_ADDRESS = 16  # the filter grows (8 times, rebuilt from what the set holds) past one address a 16 bits
_BATCH = 2048  # addresses kept in memory before they are written to the table at once
_JSON = True  # a batch goes in as one JSON array (json_each), until an SQLite without JSON says otherwise


class AddressSet:
    """Addresses (compare them lower-cased) seen so far; a context manager that removes its file."""

    def __init__(self, bits: int = BITS) -> None:
        assert bits >= 8 and bits & (bits - 1) == 0, "the filter's size is a power of two"
        self._db: sqlite3.Connection | None = None
        self._count = 0
        self._most = bits
        self._size = min(bits, _FIRST)
        self._mask = self._size - 1
        self._bits: bytearray | None = None
        self._pending: set[str] = set()

    # Three positions from one hash (Kirsch-Mitzenmacher), written out in add and __contains__ (called
    # for every row): str's hash, randomised per process, is good enough for a filter that lives as long
    # as one reading of one list.

    def add(self, key: str) -> bool:
        """Add an address; False when it was already there."""
        bits = self._bits
        if bits is None:
            bits = self._bits = bytearray(self._size >> 3)
        h = hash(key) & 0xFFFFFFFFFFFFFFFF
        a, b, mask = h & 0xFFFFFFFF, (h >> 32) | 1, self._mask
        p, q, r = a & mask, (a + b) & mask, (a + 2 * b) & mask
        if bits[p >> 3] & (1 << (p & 7)) and bits[q >> 3] & (1 << (q & 7)) and bits[r >> 3] & (1 << (r & 7)):
            if key in self._pending or self._stored(key):  # "maybe": the exact answer
                return False
        bits[p >> 3] |= 1 << (p & 7)
        bits[q >> 3] |= 1 << (q & 7)
        bits[r >> 3] |= 1 << (r & 7)
        self._pending.add(key)
        if len(self._pending) >= _BATCH:
            self._flush()
        self._count += 1
        if self._count * _PER_ADDRESS > self._size and self._size < self._most:
            self._grow()
        return True

    def _grow(self) -> None:
        """A filter 8 times larger, holding every address of the set (read back from the table)."""
        self._size = min(self._size * 8, self._most)
        self._mask = self._size - 1
        self._bits = bits = bytearray(self._size >> 3)
        stored = self._db.execute("SELECT address FROM seen") if self._db is not None else ()
        for key in [*self._pending, *(k for (k,) in stored)]:
            h = hash(key) & 0xFFFFFFFFFFFFFFFF
            a, b, mask = h & 0xFFFFFFFF, (h >> 32) | 1, self._mask
            for i in (a & mask, (a + b) & mask, (a + 2 * b) & mask):
                bits[i >> 3] |= 1 << (i & 7)

    def __contains__(self, key: str) -> bool:
        bits = self._bits
        if bits is None:
            return False
        h = hash(key) & 0xFFFFFFFFFFFFFFFF
        a, b, mask = h & 0xFFFFFFFF, (h >> 32) | 1, self._mask
        p, q, r = a & mask, (a + b) & mask, (a + 2 * b) & mask
        if not (bits[p >> 3] & (1 << (p & 7)) and bits[q >> 3] & (1 << (q & 7)) and bits[r >> 3] & (1 << (r & 7))):
            return False
        return key in self._pending or self._stored(key)

    def __len__(self) -> int:
        return self._count

    def _stored(self, key: str) -> bool:
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM seen WHERE address = ?", (key,)).fetchone() is not None

    def _flush(self) -> None:
        global _JSON
        db = self._open()
        with db:
            if _JSON:  # one statement for the batch, no step a row (a tenth of a booking's reading was executemany)
                import json
                import sqlite3

                try:
                    db.execute(
                        "INSERT OR IGNORE INTO seen SELECT value FROM json_each(?)", (json.dumps(list(self._pending)),)
                    )
                except sqlite3.OperationalError as exc:  # an SQLite without JSON: row by row
                    if "json" not in str(exc).lower():
                        raise
                    _JSON = False
            if not _JSON:
                db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", ((k,) for k in self._pending))
        self._pending.clear()

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            # "" opens a private temporary database, deleted when the connection closes; it stays
            # in the page cache until that is full, so a short list never touches the disk.
            import sqlite3  # here: a short list never needs its table (nor the import, ~0.5% of a cold preview)

            db = sqlite3.connect("")
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            db.execute("CREATE TABLE seen (address TEXT PRIMARY KEY) WITHOUT ROWID")
            self._db = db
        return self._db

    def close(self) -> None:
        self._bits = None
        self._pending = set()
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
