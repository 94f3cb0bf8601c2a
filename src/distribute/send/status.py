"""What the ledger says, per release and channel: scheduled, sent (with links), failed, in doubt."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import stamp
from ..ledger.sql import READY

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from ..ledger.store import Ledger
    from ..workspace.config import Workspace

# Deliveries listed one by one per channel; the rest are counted (a newsletter has thousands).
LIST_LIMIT = 50
REASONS = 3  # the most common errors given per state (failed, in doubt) of a channel
# The order status lists a channel's deliveries in: what needs a look first, then by seq.
RANK = {"in_doubt": 0, "failed": 1, "sending": 2, "claimed": 2, "pending": 3}


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
    next_due: str | None = None  # when its next pending delivery may go (retries included), None when none is
    # The most common errors of its failed and in-doubt deliveries: {state: [{"error", "count"}]}.
    reasons: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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
    approvals: dict[str, Any] | None = None  # sign-off (send/approval.summary), when asked for or given
    # Why part of it is held: a translation changed since it was scheduled (its deliveries wait, the rest go).
    held_parts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing: a translation added after scheduling
    language: str = ""  # the release's: the text form writes its counts as that language writes numbers

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        del document["language"]  # not part of `status --json` (docs/json.md)
        return document


def release_language(workspace: Workspace, path: str) -> str:
    """The language a release file's front matter names, else config.toml's (only its front matter is read)."""
    import tomllib
    from pathlib import Path

    from ..errors import DistributeError
    from ..release import split_front_matter

    file = Path(path)
    file = file if file.is_absolute() else workspace.root / file
    try:
        front, _, _ = split_front_matter(file.read_text(encoding="utf-8-sig"), file)
        value = tomllib.loads(front).get("language")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, DistributeError):
        value = None
    return value if isinstance(value, str) and value else workspace.config.language


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


def _items(
    ledger: Ledger, release_id: str, channel: str, counts: dict[str, int], limit: int | None = LIST_LIMIT
) -> tuple[list[Item], int]:
    """The first `limit` deliveries in RANK order (every one with None), and how many are left out.

    One query per state, each walking the (release_id, channel, state, seq) index for its first
    rows: a newsletter of 100,000 is never read whole, nor sorted, to list fifty.
    """
    cols = "seq, key, label, state, attempts, due, next_attempt, remote_id, url, last_error, sent_at"
    sql = f"SELECT {cols} FROM deliveries WHERE release_id = :r AND channel = :c AND state = :s ORDER BY seq"
    if limit is not None:
        sql += " LIMIT :n"
    rows: list[Any] = []
    with ledger.engine.begin() as c:
        for state in sorted(counts, key=lambda st: (RANK.get(st, 4), st)):
            rows += c.execute(ledger.sql(sql), {"r": release_id, "c": channel, "s": state, "n": limit}).all()
    rows.sort(key=lambda r: (RANK.get(r[3], 4), r[0]))
    items = [Item(*r[1:]) for r in rows[:limit]]
    return items, max(0, sum(counts.values()) - len(items))


def _channels(ledger: Ledger, release_id: str) -> dict[str, tuple[str, str, dict[str, int], str | None]]:
    """{channel: (adapter, due, {state: count}, next due)} of one release, in one pass over its rows.

    The next due is when the earliest pending delivery may go: its next attempt (a retry's time),
    or the hold till the embargo where that is later.
    """
    sql = (
        "SELECT channel, state, COUNT(*), MIN(adapter), MIN(due), MIN(next_attempt), MAX(not_before) "
        "FROM deliveries WHERE release_id = :r GROUP BY channel, state ORDER BY channel, state"
    )
    out: dict[str, tuple[str, str, dict[str, int], str | None]] = {}
    with ledger.engine.begin() as c:
        for channel, state, n, adapter, due, first, hold in c.execute(ledger.sql(sql), {"r": release_id}):
            was_adapter, was_due, counts, following = out.get(channel, (adapter, due, {}, None))
            counts[state] = int(n)
            if state == "pending":
                following = str(max(first, hold or ""))
            out[channel] = (min(was_adapter, adapter), min(was_due, due), counts, following)
    return out


def _reasons(ledger: Ledger, release_id: str, channel: str, counts: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The most common errors of the channel's failed and in-doubt deliveries, commonest first."""
    sql = (
        "SELECT last_error, COUNT(*) AS n FROM deliveries WHERE release_id = :r AND channel = :c AND state = :s "
        "GROUP BY last_error ORDER BY n DESC, last_error LIMIT :k"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    with ledger.engine.begin() as c:
        for state in ("failed", "in_doubt"):
            if counts.get(state):
                found = c.execute(ledger.sql(sql), {"r": release_id, "c": channel, "s": state, "k": REASONS}).all()
                out[state] = [{"error": e, "count": int(n)} for e, n in found]
    return out


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


def overview(
    ledger: Ledger, release_id: str | None = None, workspace: Workspace | None = None, limit: int | None = LIST_LIMIT
) -> list[ReleaseStatus]:
    """Every scheduled release (or one), newest schedule first; with `workspace`, releases held by a change.

    Each channel lists its first `limit` deliveries (None: all of them), what needs a look first.
    """
    from .approval import summary as approval_summary

    where = " WHERE release_id = :r" if release_id else ""
    with ledger.engine.begin() as c:
        releases = c.execute(
            ledger.sql(
                f"SELECT release_id, path, scheduled_at, generation, staging FROM ledger_releases{where} "
                "ORDER BY scheduled_at DESC"
            ),
            {"r": release_id},
        ).all()
    out = []
    for rid, path, scheduled_at, generation, staging in releases:
        channels = []
        for channel, (adapter, due, counts, following) in _channels(ledger, rid).items():
            items, more = _items(ledger, rid, channel, counts, limit)
            reasons = _reasons(ledger, rid, channel, counts)
            channels.append(ChannelStatus(channel, adapter, due, counts, items, more, 0, following, reasons))
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
                approvals=approval_summary(workspace, ledger, rid) if workspace is not None else None,
                held_parts=list(parts.values()),
                notes=notes,
                language=release_language(workspace, path) if workspace is not None else "",
            )
        )
    return out


def unscheduled(workspace: Workspace, ledger: Ledger, path: Path) -> ReleaseStatus | None:
    """A release approved (or waiting for approvals) but not scheduled yet: its approvals only, else None."""
    from ..release import load_release
    from .approval import summary

    release = load_release(path, workspace)
    approvals = summary(workspace, ledger, release.id, file=path)
    if approvals is None:
        return None
    return ReleaseStatus(release.id, str(path), None, False, [], approvals=approvals)


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
