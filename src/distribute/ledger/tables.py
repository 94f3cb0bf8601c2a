"""The tables of the workspace database, as the list of migrations that creates them.

Version 1 is the feed archive (archive.py), 2 the delivery ledger, 3 the secrets of each schedule,
4 the approvals (approvals.py), 5 the translations each release was scheduled with, 6 partial
indexes (what the send loop writes no longer rewrites them).

Times are fixed-width UTC text (see clock.py), so they compare the same in SQLite and
PostgreSQL and in the cron check that reads the file with the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# Each migration takes a connection inside a transaction; append, never edit a released one.
Migration = Callable[["Connection"], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(version: int, description: str) -> Callable[[Migration], Migration]:
    """Register a schema migration (versions strictly increasing)."""

    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((version, description, fn))
        MIGRATIONS.sort(key=lambda m: m[0])
        return fn

    return register


@migration(1, "feed archive")
def _create_feed_items(conn: Connection) -> None:
    from sqlalchemy import text

    conn.execute(
        text(
            """
            CREATE TABLE IF NOT EXISTS feed_items (
                channel      VARCHAR(100) NOT NULL,
                release_id   VARCHAR(200) NOT NULL,
                guid         VARCHAR(500) NOT NULL,
                published    VARCHAR(40)  NOT NULL,
                item_json    TEXT         NOT NULL,
                PRIMARY KEY (channel, release_id)
            )
            """
        )
    )


@migration(2, "delivery ledger")
def _create_ledger(conn: Connection) -> None:
    from sqlalchemy import text

    serial = "BIGSERIAL PRIMARY KEY" if conn.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    for ddl in (
        """CREATE TABLE ledger_releases (
            release_id VARCHAR(200) PRIMARY KEY, path TEXT NOT NULL, sha256 VARCHAR(64) NOT NULL,
            publish_at VARCHAR(40), generation INTEGER NOT NULL, staging INTEGER NOT NULL,
            scheduled_at VARCHAR(40))""",
        f"""CREATE TABLE deliveries (
            id {serial}, key VARCHAR(1000) NOT NULL UNIQUE,
            release_id VARCHAR(200) NOT NULL, channel VARCHAR(100) NOT NULL, adapter VARCHAR(100) NOT NULL,
            target VARCHAR(500) NOT NULL, part VARCHAR(100) NOT NULL, label TEXT NOT NULL,
            after_key VARCHAR(1000), seq INTEGER NOT NULL, generation INTEGER NOT NULL,
            state VARCHAR(12) NOT NULL, due VARCHAR(40) NOT NULL, not_before VARCHAR(40),
            next_attempt VARCHAR(40) NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, sha256 VARCHAR(64) NOT NULL,
            remote_id TEXT, url TEXT, detail TEXT, last_error TEXT,
            claim_token VARCHAR(40), claimed_by VARCHAR(300), lease_until VARCHAR(40),
            created_at VARCHAR(40) NOT NULL, updated_at VARCHAR(40) NOT NULL, sent_at VARCHAR(40))""",
        "CREATE INDEX deliveries_ready ON deliveries (state, next_attempt)",
        # A channel's queue in order: claims walk it without stepping over what was already sent.
        "CREATE INDEX deliveries_queue ON deliveries (release_id, channel, state, seq)",
        "CREATE INDEX deliveries_claim ON deliveries (claim_token)",
        f"""CREATE TABLE delivery_attempts (
            id {serial}, delivery_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
            started_at VARCHAR(40) NOT NULL, finished_at VARCHAR(40) NOT NULL,
            outcome VARCHAR(12) NOT NULL, error TEXT, owner VARCHAR(300))""",
        "CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id)",
    ):
        conn.execute(text(ddl))


@migration(3, "secrets each scheduled channel was rendered with")
def _create_scheduled_secrets(conn: Connection) -> None:
    from sqlalchemy import text

    # Names of environment variables only, never a value: so a send where one is missing can
    # say so, instead of calling the release changed (the content lock does not cover secrets).
    conn.execute(
        text("""CREATE TABLE scheduled_secrets (
        release_id VARCHAR(200) NOT NULL, channel VARCHAR(100) NOT NULL, names TEXT NOT NULL,
        PRIMARY KEY (release_id, channel))""")
    )


@migration(4, "approvals: who signed off which version of a release")
def _create_approvals(conn: Connection) -> None:
    from sqlalchemy import text

    serial = "BIGSERIAL PRIMARY KEY" if conn.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    for ddl in (
        # One row per sign-off; a revoked one is kept (revoked_at/by) so status can show who took it back.
        # `lock` is the hash of everything the release would send; `parts` (JSON) its pieces, so a
        # voided approval can say what changed. Neither holds a secret's value.
        f"""CREATE TABLE approvals (
            id {serial}, release_id VARCHAR(200) NOT NULL, name VARCHAR(200) NOT NULL,
            lock VARCHAR(64) NOT NULL, approved_at VARCHAR(40) NOT NULL, note TEXT,
            parts TEXT NOT NULL, revoked_at VARCHAR(40), revoked_by VARCHAR(200))""",
        "CREATE INDEX approvals_release ON approvals (release_id)",
        # The lock of the release as last scheduled: what send --due and the worker check approvals
        # against, without rendering it all again every run.
        """CREATE TABLE scheduled_locks (
            release_id VARCHAR(200) PRIMARY KEY, lock VARCHAR(64) NOT NULL, parts TEXT NOT NULL)""",
    ):
        conn.execute(text(ddl))


@migration(5, "translations each release was scheduled with")
def _add_scheduled_translations(conn: Connection) -> None:
    from sqlalchemy import text

    # JSON: [{"language", "path", "sha256"}] of each translation, in file-name order (NULL: none), so a
    # changed translation holds only its own deliveries (their seqs are its block, see plan.SEQ_BLOCK).
    conn.execute(text("ALTER TABLE ledger_releases ADD COLUMN translations TEXT"))


@migration(6, "indexes the send loop's writes leave alone")
def _partial_indexes(conn: Connection) -> None:
    from sqlalchemy import text

    # A hand-over moves rows claimed -> sending -> sent. With `state` in the ready index and every
    # NULL token in the claim index, each of those steps rewrote leaf pages of both: 12 pages a
    # commit (SQLite writes each to its WAL before the disk flush), 6 now. The ready index only ever
    # served pending rows (sql.READY), the claim index only rows that hold a claim.
    for ddl in (
        "DROP INDEX IF EXISTS deliveries_ready",
        "CREATE INDEX deliveries_ready ON deliveries (next_attempt) WHERE state = 'pending'",
        "DROP INDEX IF EXISTS deliveries_claim",
        "CREATE INDEX deliveries_claim ON deliveries (claim_token) WHERE claim_token IS NOT NULL",
    ):
        conn.execute(text(ddl))
