"""Times: offsets like "+1h30m", local date-times in the workspace zone, and how times are shown."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import ConfigError, DistributeError

_OFFSET = re.compile(r"^\s*([+-])\s*((?:\d+\s*[dhms]\s*)+)$")
_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def localize(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """An aware datetime: a naive (local) one takes the workspace zone (fold=0 at DST overlaps)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def parse_at(
    value: object,
    tz: ZoneInfo,
    *,
    path: Path | str | None = None,
    line: int | None = None,
    error: type[DistributeError] = ConfigError,
) -> dt.timedelta | dt.datetime:
    """`at`: an offset from publish_at ("+15m", "-1d", "+1h30m") or an absolute date-time."""
    if isinstance(value, dt.datetime):
        return localize(value, tz)
    if isinstance(value, str):
        match = _OFFSET.match(value)
        if match:
            sign = -1 if match.group(1) == "-" else 1
            delta = dt.timedelta(**{_UNITS[u]: int(n) for n, u in _PART.findall(match.group(2))})
            return sign * delta
        try:
            return localize(dt.datetime.fromisoformat(value.strip()), tz)
        except ValueError:
            pass
    raise error(
        f'at = {value!r} is neither an offset like "+15m", "-1h", "+1d2h" nor a date-time like 2025-06-30T09:00:00+09:00',
        path=path,
        line=line,
    )


def parse_duration(value: str) -> dt.timedelta | None:
    """A duration without sign, like "1d", "12h", "1h30m"; None when it is not one."""
    match = _OFFSET.match(value if value.lstrip().startswith(("+", "-")) else "+" + value.strip())
    if not match or match.group(1) == "-":
        return None
    return dt.timedelta(**{_UNITS[u]: int(n) for n, u in _PART.findall(match.group(2))})


def show(value: dt.datetime, tz: ZoneInfo) -> str:
    """Local time with zone, and UTC: "2025-06-30 09:00 KST (00:00 UTC)"."""
    local = value.astimezone(tz)
    utc = value.astimezone(dt.timezone.utc)
    if local.utcoffset() == dt.timedelta(0) and local.tzname() in ("UTC", "GMT", "Z"):
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    same_day = local.date() == utc.date()
    utc_text = utc.strftime("%H:%M UTC") if same_day else utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"{local.strftime('%Y-%m-%d %H:%M')} {local.tzname()} ({utc_text})"


def utcnow() -> dt.datetime:
    """Now, aware, in UTC (the one place the wall clock is read; tests move it with time-machine)."""
    return dt.datetime.now(dt.timezone.utc)
