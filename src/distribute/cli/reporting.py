"""Output shared by send, schedule and the worker: the plan and the run's summary (the progress bar: progress.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import note

if TYPE_CHECKING:
    from ..send.dispatch import Report
    from ..send.schedule import Booking
    from ..workspace.config import Workspace


def print_booking(ws: Workspace, booking: Booking, verb: str = "scheduled") -> None:
    """The plan in local time and UTC, channel by channel."""
    from ..times import show

    click.echo(f"{booking.release_id} — {booking.title}")
    if verb == "scheduled":  # send prints them itself, with or without -v
        for line in booking.notes:
            note(line)
    for b in booking.channels:
        held = " (held by the embargo)" if b.held_by_embargo else ""
        n = f"{b.count} deliver{'y' if b.count == 1 else 'ies'}"
        kept = {s: c for s, c in b.states.items() if s not in ("pending", "cancelled")}
        extra = ("; kept: " + ", ".join(f"{c} {s.replace('_', ' ')}" for s, c in sorted(kept.items()))) if kept else ""
        click.echo(f"  {b.channel} ({b.adapter}): {n} {verb} for {show(b.due, ws.tz)}{held}{extra}")
        if b.was is not None:
            click.echo(f"    due time moved: was {show(b.was, ws.tz)}, now {show(b.due, ws.tz)}")
        if b.missing:
            note(f"  note: channel {b.channel} needs {', '.join(b.missing)} before it can deliver")
    for name in booking.held:
        note(f"  {name}: held by the embargo, not sent now; `distribute schedule` delivers it at the embargo")


def print_report(report: Report, loud: bool, nothing: str = "nothing due") -> None:
    """Problems always (stderr); the summary only on a terminal or with -v, so cron stays quiet."""
    for line in report.lines:
        note(line)
    if report.requeued_after_crash:
        note(f"{report.requeued_after_crash} deliveries interrupted by an earlier crash were put back in line")
    if report.doubted_after_crash:
        note(
            f"{report.doubted_after_crash} deliveries interrupted by an earlier crash are IN DOUBT "
            "(see `distribute status`; `distribute send --due --resend-in-doubt` sends them again)"
        )
    for message in report.refused:
        note(f"error: {message}")
    parts = [f"{report.sent} sent"]
    if report.retrying:
        parts.append(f"{report.retrying} to retry later")
    if report.failed:
        parts.append(f"{report.failed} failed")
    if report.in_doubt:
        parts.append(f"{report.in_doubt} in doubt")
    summary = ", ".join(parts)
    if report.failed or report.in_doubt or report.retrying:
        note(f"{summary} (details: distribute status)")
    elif loud and (report.attempted or not report.refused):
        click.echo(summary if report.attempted else nothing)
