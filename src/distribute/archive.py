"""Published feed items, kept in the workspace database so feeds keep their archive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .db import migration

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


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
