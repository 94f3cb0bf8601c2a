"""The text form of `distribute status`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ..send.status import Item, ReleaseStatus

SMALL = 10  # channels up to this many deliveries are listed one by one
FEW = 5  # of a bigger channel, the first this many of each state that needs a look
ATTENTION = ("failed", "in_doubt", "sending", "claimed")
ORDER = ("sent", "pending", "claimed", "sending", "failed", "in_doubt", "cancelled")


def _when(value: str | None, tz: ZoneInfo) -> str:
    from ..clock import parse
    from ..times import show

    at = parse(value)
    return show(at, tz) if at else "-"


def _item(item: Item, tz: ZoneInfo, held: bool = False) -> str:
    label = item.label or item.key
    if item.state == "sent":
        where = item.url or item.remote_id or ""
        return f"      {label}: sent {_when(item.sent_at, tz)}" + (f" — {where}" if where else "")
    if item.state == "failed":
        return f"      {label}: FAILED after {item.attempts} attempt(s): {item.error}"
    if item.state == "in_doubt":
        return (
            f"      {label}: IN DOUBT: {item.error} — check by hand, then `distribute resolve RELEASE --sent` "
            "(or `--failed`) settles it, or `distribute send --due --resend-in-doubt` sends it again"
        )
    if item.state == "pending" and held:
        return f"      {label}: held (the release changed)"
    if item.state == "pending" and item.attempts:
        return f"      {label}: retry at {_when(item.next_attempt, tz)} (attempt {item.attempts + 1}; last error: {item.error})"
    return f"      {label}: {item.state.replace('_', ' ')}"


def _kind(item: Item) -> str:
    """Which group of a big channel's summary a delivery belongs to ("retry": pending after a failed attempt)."""
    if item.state == "pending" and item.attempts:
        return "retry"
    return item.state


def render_text(releases: list[ReleaseStatus], tz: ZoneInfo) -> str:
    """Every release, channel by channel, with the deliveries worth a look."""
    if not releases:
        return "nothing scheduled\n"
    lines = []
    for r in releases:
        lines.append(f"{r.release_id}  ({r.path}, scheduled {_when(r.scheduled_at, tz)})")
        if r.incomplete:
            lines.append("  ! a later `distribute schedule` of this release did not finish; run it again")
        if r.held:
            lines.append(f"  ! HELD, nothing more of it goes out: {r.held}")
        for ch in r.channels:
            counts = ", ".join(
                f"{ch.counts[s]:,} {'held' if s == 'pending' and ch.held else s.replace('_', ' ')}"
                for s in ORDER
                if ch.counts.get(s)
            )
            following = (
                f"; next {_when(ch.next_due, tz)}" if ch.next_due and ch.next_due != ch.due and not ch.held else ""
            )
            lines.append(f"  {ch.channel} ({ch.adapter}), due {_when(ch.due, tz)}: {counts}{following}")
            # A thread or a feed is listed whole; of a newsletter, the first few of what needs a look.
            if sum(ch.counts.values()) <= SMALL:
                lines.extend(_item(item, tz, bool(ch.held)) for item in ch.items if item.state != "cancelled")
                continue
            for state in (*ATTENTION, "retry"):
                of_state = [i for i in ch.items if _kind(i) == state]
                shown = of_state[:FEW]
                if state == "in_doubt":
                    lines.extend(f"      {i.label or i.key}: IN DOUBT: {i.error}" for i in shown)
                else:
                    lines.extend(_item(item, tz, bool(ch.held)) for item in shown)
                left = ch.counts.get(state, 0) - len(shown)  # retries are pending: not counted apart
                if left > 0 and state != "retry":
                    why = ch.reasons.get(state) or []
                    common = "; most common: " + ", ".join(f"{w['error']} ({w['count']:,})" for w in why) if why else ""
                    lines.append(f"      … {left:,} more {state.replace('_', ' ')}{common}")
                if state == "in_doubt" and ch.counts.get(state):
                    lines.append(
                        f"      in doubt: check by hand, then `distribute resolve {r.release_id} --sent` (or `--failed`) "
                        "settles them, or `distribute send --due --resend-in-doubt` sends them again"
                    )
            lines.append(f"      (`distribute status {r.release_id} --json --all` lists every delivery)")
    return "\n".join(lines) + "\n"
