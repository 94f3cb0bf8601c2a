"""The text form of `distribute status`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ..send.status import Item, ReleaseStatus

SMALL = 10  # channels up to this many deliveries are listed one by one
ATTENTION = ("failed", "in_doubt", "sending", "claimed")
ORDER = ("sent", "pending", "claimed", "sending", "failed", "in_doubt", "cancelled")


def _when(value: str | None, tz: ZoneInfo) -> str:
    from ..clock import parse
    from ..times import show

    at = parse(value)
    return show(at, tz) if at else "-"


def _item(item: Item, tz: ZoneInfo, held: bool = False, why: str = "the release changed") -> str:
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
        return f"      {label}: held ({why})"
    if item.state == "pending" and item.attempts:
        return f"      {label}: retry at {_when(item.next_attempt, tz)} (attempt {item.attempts + 1}; last error: {item.error})"
    return f"      {label}: {item.state.replace('_', ' ')}"


def _count(n: int, state: str, held: int) -> str:
    """ "3 sent", "2 held" (every pending one is held), "4 pending (1 held)" (a translation's part of them)."""
    if state != "pending" or not held:
        return f"{n} {state.replace('_', ' ')}"
    return f"{n} held" if held >= n else f"{n} pending ({held} held)"


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
        lines.extend(f"  ! HELD in part: {why}" for why in r.held_parts)
        lines.extend(f"  note: {line}" for line in r.notes)
        for ch in r.channels:
            counts = ", ".join(_count(ch.counts[s], s, ch.held) for s in ORDER if ch.counts.get(s))
            lines.append(f"  {ch.channel} ({ch.adapter}), due {_when(ch.due, tz)}: {counts}")
            # A thread or a feed is listed whole; of a newsletter, only what needs a look.
            small = sum(ch.counts.values()) <= SMALL
            shown = [
                i
                for i in ch.items
                if i.state != "cancelled" and (small or i.state in ATTENTION or (i.state == "pending" and i.attempts))
            ]
            why = "a translation changed" if r.held_parts and not r.held else "the release changed"
            lines.extend(_item(item, tz, bool(ch.held), why) for item in shown)
            hidden = sum(n for state, n in ch.counts.items() if state != "cancelled") - len(shown)
            if hidden > 0 and not small:
                lines.append(f"      … {hidden} not listed one by one (`distribute status --json` lists some)")
    return "\n".join(lines) + "\n"
