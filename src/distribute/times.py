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
# What people write for a date-time that TOML 1.0 does not read: "2026-12-02 10:00", "2026-12-2T9:00"
_LOOSE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*(?:#.*)?$"
)
_EXAMPLE = dt.datetime(2025, 6, 30, 9, 0)


def offset_text(when: dt.datetime, tz: ZoneInfo) -> str:
    """The UTC offset `tz` has at the local time `when`, as TOML writes it: "+01:00"."""
    offset = when.replace(tzinfo=tz).utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def example(when: dt.datetime | None, tz: ZoneInfo | None) -> str:
    """How to write a date-time, in this workspace's zone: "2026-12-02T10:00:00 (Europe/Berlin time) or ...+01:00"."""
    when = (when or _EXAMPLE).replace(tzinfo=None)
    local = when.strftime("%Y-%m-%dT%H:%M:%S")
    if tz is None:
        return f"{local} or with the UTC offset of your zone, e.g. {local}+00:00 for UTC"
    return f"{local} ({tz.key} time) or with its offset, {local}{offset_text(when, tz)}"


def loose_datetime(value: str) -> dt.datetime | None:
    """The local date-time meant by a loosely written one ("2026-12-02 10:00"), if it is one."""
    match = _LOOSE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def datetime_hint(key: str, value: str, tz: ZoneInfo | None) -> str:
    """The message for a date-time TOML cannot read, with the form it expects and this zone's offset."""
    match = _LOOSE.match(value.strip())
    when = loose_datetime(value)
    shown = value.split("#", 1)[0].strip()
    if when is not None and match and match.group(7):
        written = when.strftime("%Y-%m-%dT%H:%M:%S") + match.group(7).replace("Z", "+00:00")
        if ":" not in written[-6:]:
            written = written[:-2] + ":" + written[-2:]
        return f"{key} = {shown} is not a date-time TOML can read; write {key} = {written}"
    return f"{key} = {shown} is not a date-time TOML can read; write {key} = {example(when, tz)}"


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
        f'at = {value!r} is neither an offset like "+15m", "-1h", "+1d2h" nor a date-time like {example(None, tz)}',
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
