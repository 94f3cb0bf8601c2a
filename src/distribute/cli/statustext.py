"""The text form of `distribute status`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
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


def _approvals(summary: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """The sign-off of a release: how many of how many, then each approval and what became of it."""
    needed, count = summary["required"], summary["approved"]
    of = "the version scheduled" if summary["of"] == "scheduled" else "the version in the file"
    if needed:
        short = "" if count >= needed else " — not enough: schedule, send and the worker refuse it"
        lines = [f"  approvals: {count} of {needed} needed, of {of}{short}"]
    else:
        lines = [f"  approvals: {count} of {of} (none needed: config.toml approvals = 0)"]
    for e in summary["entries"]:
        line = f"    {e['name']}, {_when(e['approved_at'], tz)}"
        if e["note"]:
            line += f": “{e['note']}”"
        if e["revoked_at"]:
            line += f" — revoked {_when(e['revoked_at'], tz)} by {e['revoked_by']}"
        elif e["version"] != "this":
            line += " — of an earlier version (voided by an edit)"
        lines.append(line)
    return lines


def _count(n: int, state: str, held: int, language: str = "") -> str:
    """ "3 sent", "2 held" (every pending one is held), "4 pending (1 held)" (a translation's part of them);
    the numbers as the release's language writes them ("20,000 sent", "20.000 sent")."""
    from ..text.i18n import format_count

    def num(value: int) -> str:
        return format_count(value, language)

    if state != "pending" or not held:
        return f"{num(n)} {state.replace('_', ' ')}"
    return f"{num(n)} held" if held >= n else f"{num(n)} pending ({num(held)} held)"


def _kind(item: Item) -> str:
    """Which group of a big channel's summary a delivery belongs to ("retry": pending after a failed attempt)."""
    if item.state == "pending" and item.attempts:
        return "retry"
    return item.state


def _channel_lines(r: ReleaseStatus, ch: Any, tz: ZoneInfo) -> list[str]:
    """One channel: its counts, then every delivery of a small one, or the first few that need a look."""
    from ..text.i18n import format_count

    counts = ", ".join(_count(ch.counts[s], s, ch.held, r.language) for s in ORDER if ch.counts.get(s))
    following = f"; next {_when(ch.next_due, tz)}" if ch.next_due and ch.next_due != ch.due and not ch.held else ""
    lines = [f"  {ch.channel} ({ch.adapter}), due {_when(ch.due, tz)}: {counts}{following}"]
    why = "a translation changed" if r.held_parts and not r.held else "the release changed"
    # A thread or a feed is listed whole; of a newsletter, the first few of what needs a look.
    if sum(ch.counts.values()) <= SMALL:
        return lines + [_item(item, tz, bool(ch.held), why) for item in ch.items if item.state != "cancelled"]
    for state in (*ATTENTION, "retry"):
        shown = [i for i in ch.items if _kind(i) == state][:FEW]
        if state == "in_doubt":
            lines.extend(f"      {i.label or i.key}: IN DOUBT: {i.error}" for i in shown)
        else:
            lines.extend(_item(item, tz, bool(ch.held), why) for item in shown)
        left = ch.counts.get(state, 0) - len(shown)  # retries are pending: not counted apart
        if left > 0 and state != "retry":
            common = ch.reasons.get(state) or []
            most = ", ".join(f"{w['error']} ({format_count(w['count'], r.language)})" for w in common)
            most = f"; most common: {most}" if common else ""
            lines.append(f"      … {format_count(left, r.language)} more {state.replace('_', ' ')}{most}")
        if state == "in_doubt" and ch.counts.get(state):
            lines.append(
                f"      in doubt: check by hand, then `distribute resolve {r.release_id} --sent` (or `--failed`) "
                "settles them, or `distribute send --due --resend-in-doubt` sends them again"
            )
    lines.append(f"      (`distribute status {r.release_id} --json --all` lists every delivery)")
    return lines


def render_text(releases: list[ReleaseStatus], tz: ZoneInfo) -> str:
    """Every release, channel by channel, with the deliveries worth a look."""
    if not releases:
        return "nothing scheduled\n"
    lines = []
    for r in releases:
        scheduled = f"scheduled {_when(r.scheduled_at, tz)}" if r.scheduled_at or r.channels else "not scheduled yet"
        lines.append(f"{r.release_id}  ({r.path}, {scheduled})")
        if r.incomplete:
            lines.append("  ! a later `distribute schedule` of this release did not finish; run it again")
        if r.held:
            lines.append(f"  ! HELD, nothing more of it goes out: {r.held}")
        if r.approvals is not None:
            lines.extend(_approvals(r.approvals, tz))
        lines.extend(f"  ! HELD in part: {why}" for why in r.held_parts)
        lines.extend(f"  note: {line}" for line in r.notes)
        for ch in r.channels:
            lines.extend(_channel_lines(r, ch, tz))
    return "\n".join(lines) + "\n"
