"""Published feed items, kept in the workspace database so feeds keep their archive.

One row per (channel, release) of table feed_items (created in tables.py): the item as it was
last published, with the guid and the publication time it got the first time (they never
change afterwards, so feed readers never see a re-published release as a new item). `items` and `find` only read; `record` is called
by the rss adapter's deliver() inside `locked`, which serialises every writer of a feed.
`FeedArchive` offers these to adapters as `workspace.archive` (the `Archive` interface of
adapters/base.py), so no adapter imports the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import clock
from ..adapters.base import ArchivedItem
from .engine import engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _exists(url: str) -> bool:
    # Reading must not create a database: a dry-run of a fresh workspace leaves no state behind.
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


def _row(row: Any) -> ArchivedItem:
    return ArchivedItem(row.release_id, row.guid, clock.instant(row.published), json.loads(row.item_json))


def items(url: str, channel: str, conn: Connection | None = None, limit: int | None = None) -> list[ArchivedItem]:
    """The archived items of a channel, newest publication first (ties by release id), at most `limit`."""
    if conn is None and not _exists(url):
        return []  # before importing sqlalchemy: a third of a cold validate or preview (tests/test_startup.py)
    from sqlalchemy import text

    sql = (
        "SELECT release_id, guid, published, item_json FROM feed_items WHERE channel = :channel "
        "ORDER BY published DESC, release_id DESC"
    )
    params: dict[str, Any] = {"channel": channel}
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    if conn is not None:
        return [_row(r) for r in conn.execute(text(sql), params)]
    with engine(url).connect() as c:
        return [_row(r) for r in c.execute(text(sql), params)]


def find(url: str, channel: str, release_id: str) -> ArchivedItem | None:
    """The archived item of one release in a channel, if it was published there."""
    if not _exists(url):
        return None
    from sqlalchemy import text

    with engine(url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT release_id, guid, published, item_json FROM feed_items "
                "WHERE channel = :channel AND release_id = :release_id"
            ),
            {"channel": channel, "release_id": release_id},
        ).first()
    return _row(row) if row is not None else None


@contextmanager
def locked(url: str) -> Iterator[Connection]:
    """A transaction holding the archive's write lock: one feed writer at a time, across processes."""
    from sqlalchemy import text

    eng = engine(url)
    with eng.begin() as conn:  # SQLite: BEGIN IMMEDIATE takes the write lock now
        if eng.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE feed_items IN EXCLUSIVE MODE"))
        yield conn


def record(
    conn: Connection, channel: str, release_id: str, guid: str, published: dt.datetime, item: dict[str, Any]
) -> ArchivedItem:
    """Store a published item; an item already there keeps its guid and date, its fields are updated."""
    from sqlalchemy import text

    existing = conn.execute(
        text("SELECT guid, published FROM feed_items WHERE channel = :channel AND release_id = :release_id"),
        {"channel": channel, "release_id": release_id},
    ).first()
    if existing is not None:
        guid, published = existing.guid, clock.instant(existing.published)
        item = {**item, "guid": guid, "published": clock.stamp_seconds(published)}
        conn.execute(
            text("UPDATE feed_items SET item_json = :item WHERE channel = :channel AND release_id = :release_id"),
            {"item": json.dumps(item, sort_keys=True), "channel": channel, "release_id": release_id},
        )
    else:
        conn.execute(
            text(
                "INSERT INTO feed_items (channel, release_id, guid, published, item_json) "
                "VALUES (:channel, :release_id, :guid, :published, :item)"
            ),
            {
                "channel": channel,
                "release_id": release_id,
                "guid": guid,
                "published": clock.stamp_seconds(published),
                "item": json.dumps(item, sort_keys=True),
            },
        )
    return ArchivedItem(release_id, guid, published, item)


class FeedArchive:
    """The feed archive of one workspace database, as adapters see it (adapters.base.Archive)."""

    def __init__(self, url: str):
        self.url = url

    def items(self, channel: str, limit: int | None = None) -> list[ArchivedItem]:
        return items(self.url, channel, limit=limit)

    def find(self, channel: str, release_id: str) -> ArchivedItem | None:
        return find(self.url, channel, release_id)

    @contextmanager
    def writing(self) -> Iterator[_Writer]:
        with locked(self.url) as conn:
            yield _Writer(conn)


class _Writer:
    def __init__(self, conn: Connection):
        self.conn = conn

    def record(
        self, channel: str, release_id: str, guid: str, published: dt.datetime, item: dict[str, Any]
    ) -> ArchivedItem:
        return record(self.conn, channel, release_id, guid, published, item)

    def items(self, channel: str, limit: int | None = None) -> list[ArchivedItem]:
        return items("", channel, self.conn, limit)
