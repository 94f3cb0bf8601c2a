"""The one clock, and the one way instants are written as text.

now() is the only place the wall clock is read (or `$DISTRIBUTE_NOW`, a test hook for
subprocesses; time-machine moves it in-process).

Times in the ledger are fixed-width UTC text ("2025-06-30T00:00:00.000000Z"), so they order
the same as strings and as instants, in SQLite and PostgreSQL alike, and a cron check with the
standard library's sqlite3 can compare them without parsing. The feed archive keeps whole
seconds ("2025-06-30T00:00:00Z", stamp_seconds), as feeds show them. parse() reads both. This
module is stdlib-only: the cron fast path imports it.
"""

from __future__ import annotations

import datetime as dt
import os

NOW_ENV = "DISTRIBUTE_NOW"
_UTC = dt.timezone.utc


def now() -> dt.datetime:
    """Now, aware UTC; `$DISTRIBUTE_NOW` (ISO 8601 with offset) pins it for tests of whole processes."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        value = dt.datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError(f"${NOW_ENV}={pinned!r} needs a UTC offset, e.g. 2025-06-30T00:00:00+00:00")
        return value.astimezone(_UTC)
    return dt.datetime.now(_UTC)


def stamp(value: dt.datetime) -> str:
    """An instant as the ledger stores it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the ledger")
    # The text of strftime("%Y-%m-%dT%H:%M:%S.%fZ"), made by isoformat in half the time (a send stamps
    # each mark, outcome and attempt): "2025-06-30T00:00:00.000000+00:00" less its offset, plus "Z".
    return value.astimezone(_UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def stamp_seconds(value: dt.datetime) -> str:
    """An instant as the feed archive stores it: whole seconds (the fraction is dropped)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the archive")
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str | None) -> dt.datetime | None:
    """The instant of a time stamp written by stamp() or stamp_seconds(); None for none."""
    if not text:
        return None
    return instant(text)


def instant(text: str) -> dt.datetime:
    """The instant of a time stamp written by stamp() or stamp_seconds()."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=_UTC
    )


def parse_seconds(text: str) -> dt.datetime:
    """The instant of a `stamp_seconds` text, aware UTC (the same as `instant`)."""
    return instant(text)
