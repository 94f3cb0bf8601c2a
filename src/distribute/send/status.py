"""What the ledger says, per release and channel: scheduled, sent (with links), failed, in doubt."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import stamp
from ..ledger.store import READY

if TYPE_CHECKING:
    import datetime as dt

    from ..ledger.store import Ledger
    from ..workspace.config import Workspace

# Deliveries listed one by one per channel; the rest are counted (a newsletter has thousands).
LIST_LIMIT = 50


@dataclass
class Item:
    """One delivery as status shows it."""

    key: str
    label: str
    state: str
    attempts: int
    due: str
    next_attempt: str | None = None
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None
    sent_at: str | None = None


@dataclass
class ChannelStatus:
    """One channel of a release."""

    channel: str
    adapter: str
    due: str
    counts: dict[str, int]
    items: list[Item] = field(default_factory=list)
    more: int = 0  # deliveries not listed in items
    held: int = 0  # pending deliveries that will not go: the release changed since it was scheduled


@dataclass
class ReleaseStatus:
    """One release: where it was scheduled from and each channel's state."""

    release_id: str
    path: str
    scheduled_at: str | None
    incomplete: bool  # a schedule was started and never finished
    channels: list[ChannelStatus]
    held: str | None = None  # why nothing more of it goes out (the refusal dispatch gives), else None
    reschedule: str | None = None  # the command that lifts that
    # Why part of it is held: a translation changed since it was scheduled (its deliveries wait, the rest go).
    held_parts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing: a translation added after scheduling

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def channel_states(ledger: Ledger, release_id: str) -> dict[str, dict[str, int]]:
    """{channel: {state: count}} for one release."""
    out: dict[str, dict[str, int]] = {}
    with ledger.engine.begin() as c:
        for channel, state, n in c.execute(
            ledger.sql("SELECT channel, state, COUNT(*) FROM deliveries WHERE release_id = :r GROUP BY channel, state"),
            {"r": release_id},
        ):
            out.setdefault(channel, {})[state] = int(n)
    return out


def _items(ledger: Ledger, release_id: str, channel: str, total: int) -> tuple[list[Item], int]:
    # Small channels (a thread, a feed) are listed whole; big ones show what needs attention first.
    cols = "key, label, state, attempts, due, next_attempt, remote_id, url, last_error, sent_at"
    base = f"SELECT {cols} FROM deliveries WHERE release_id = :r AND channel = :c"
    order = (
        " ORDER BY CASE state WHEN 'in_doubt' THEN 0 WHEN 'failed' THEN 1 WHEN 'sending' THEN 2 "
        "WHEN 'claimed' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END, seq LIMIT :n"
    )
    with ledger.engine.begin() as c:
        rows = c.execute(ledger.sql(base + order), {"r": release_id, "c": channel, "n": LIST_LIMIT}).all()
    items = [Item(*r) for r in rows]
    return items, max(0, total - len(items))


def held_because(workspace: Workspace, ledger: Ledger, release_id: str) -> str | None:
    """Why dispatch would refuse this release now (its file changed, is gone or no longer loads), else None."""
    from ..errors import DistributeError
    from .scheduled import load_scheduled

    try:
        load_scheduled(workspace, ledger, release_id)
    except DistributeError as exc:
        return str(exc)
    return None


def held_translations(workspace: Workspace, ledger: Ledger, release_id: str) -> dict[int, str]:
    """{ledger seq block: why} of each translation of the release that changed since it was scheduled."""
    import json

    from ..errors import DistributeError
    from .scheduled import load_scheduled_parts

    try:
        _, held = load_scheduled_parts(workspace, ledger, release_id)
    except DistributeError:
        return {}
    row = ledger.release(release_id)
    order = [e["language"] for e in json.loads(row.translations)] if row is not None and row.translations else []
    return {order.index(lang) + 1: why for lang, why in held.items() if lang in order}


def _pending_in(ledger: Ledger, release_id: str, blocks: list[int]) -> dict[str, int]:
    """{channel: pending deliveries} whose seq is in one of `blocks` (a held translation's)."""
    from ..plan import SEQ_BLOCK

    out: dict[str, int] = {}
    sql = (
        "SELECT channel, COUNT(*) FROM deliveries WHERE release_id = :r AND state = 'pending' "
        "AND seq >= :lo AND seq < :hi GROUP BY channel"
    )
    with ledger.engine.begin() as c:
        for block in blocks:
            params = {"r": release_id, "lo": block * SEQ_BLOCK, "hi": (block + 1) * SEQ_BLOCK}
            for channel, n in c.execute(ledger.sql(sql), params):
                out[channel] = out.get(channel, 0) + int(n)
    return out


def overview(ledger: Ledger, release_id: str | None = None, workspace: Workspace | None = None) -> list[ReleaseStatus]:
    """Every scheduled release (or one), newest schedule first; with `workspace`, releases held by a change."""
    where = " WHERE release_id = :r" if release_id else ""
    with ledger.engine.begin() as c:
        releases = c.execute(
            ledger.sql(
                f"SELECT release_id, path, scheduled_at, generation, staging FROM ledger_releases{where} "
                "ORDER BY scheduled_at DESC"
            ),
            {"r": release_id},
        ).all()
        chans = c.execute(
            ledger.sql(
                f"SELECT release_id, channel, MIN(adapter), MIN(due) FROM deliveries{where} GROUP BY release_id, channel "
                "ORDER BY release_id, channel"
            ),
            {"r": release_id},
        ).all()
    out = []
    for rid, path, scheduled_at, generation, staging in releases:
        states = channel_states(ledger, rid)
        channels = []
        for crid, channel, adapter, due in chans:
            if crid != rid:
                continue
            counts = states.get(channel, {})
            items, more = _items(ledger, rid, channel, sum(counts.values()))
            channels.append(ChannelStatus(channel, adapter, due, counts, items, more))
        held = None
        if workspace is not None and any(c.counts.get("pending") for c in channels):
            held = held_because(workspace, ledger, rid)
        for ch in channels if held else ():
            ch.held = ch.counts.get("pending", 0)
        parts: dict[int, str] = {}
        if workspace is not None and not held and any(c.counts.get("pending") for c in channels):
            parts = held_translations(workspace, ledger, rid)
            waiting = _pending_in(ledger, rid, list(parts)) if parts else {}
            for ch in channels:
                ch.held = waiting.get(ch.channel, 0)
        notes: list[str] = []
        if workspace is not None and any(c.counts.get("pending") for c in channels):
            from .scheduled import added_translations

            notes = added_translations(workspace, ledger, rid)
        out.append(
            ReleaseStatus(
                rid,
                path,
                scheduled_at,
                staging > generation,
                channels,
                held,
                f"distribute schedule {path}" if held or parts else None,
                list(parts.values()),
                notes,
            )
        )
    return out


def due_now(ledger: Ledger, now: dt.datetime) -> list[tuple[str, str, int]]:
    """(release, channel, how many) ready to go now: what `send --due --dry-run` lists."""
    sql = (
        "SELECT d.release_id, d.channel, COUNT(*) FROM deliveries d JOIN ledger_releases r "
        f"ON r.release_id = d.release_id WHERE {READY} GROUP BY d.release_id, d.channel "
        "ORDER BY d.release_id, d.channel"
    )
    with ledger.engine.begin() as c:
        return [(r[0], r[1], int(r[2])) for r in c.execute(ledger.sql(sql), {"now": stamp(now)})]


def in_doubt_counts(ledger: Ledger, release_id: str | None = None) -> dict[str, int]:
    """{release: deliveries in doubt} (of one release, or every one): what nobody has resolved yet."""
    where = " AND release_id = :r" if release_id else ""
    sql = f"SELECT release_id, COUNT(*) FROM deliveries WHERE state = 'in_doubt'{where} GROUP BY release_id ORDER BY release_id"
    with ledger.engine.begin() as c:
        return {r[0]: int(r[1]) for r in c.execute(ledger.sql(sql), {"r": release_id})}
