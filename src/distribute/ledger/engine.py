"""The workspace database: one SQLAlchemy engine per URL, and versioned schema migrations.

SQLite (the default) runs in WAL mode with a busy timeout so that several `send --due`
processes and a worker can share one file; PostgreSQL is used through any SQLAlchemy URL.
sqlalchemy is imported only here and only when a command needs the database.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tables import MIGRATIONS

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _wal(cur: Any) -> None:
    """Switch a SQLite file to WAL (once: the mode is stored in the file).

    The switch needs the file to itself and SQLite answers "database is locked" at once, without
    waiting on busy_timeout, while another connection reads it: two processes (or threads) opening
    a new ledger together would fail. So it is retried for up to the busy timeout.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


_ENGINES = threading.Lock()


def engine(url: str) -> Engine:
    """The engine for a database URL, migrated to the current schema (one per URL, also across threads)."""
    with _ENGINES:
        return _engine(url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers work while one writer commits; busy_timeout waits for the lock
            # instead of failing when another process is writing.
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see begin_immediate)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            _wal(cur)
            # FULL: a delivery marked "sending" must be on disk before the adapter gets it, or a
            # power cut could turn a message already handed over back into a pending one.
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(eng, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN: two processes can then never both read
            # "pending" and both claim the same delivery.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        eng = create_engine(url, pool_pre_ping=True)
    migrate(eng)
    return eng


def migrate(eng: Engine) -> int:
    """Bring the schema up to date; returns the version reached. Safe to run concurrently."""
    from sqlalchemy import text

    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE schema_version IN EXCLUSIVE MODE"))
        current = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
        for version, _description, fn in MIGRATIONS:
            if version > current:
                fn(conn)
                conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
                current = version
    return current
