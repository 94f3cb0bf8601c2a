"""Output shared by send, schedule and the worker: the plan and the run's summary (the progress bar: progress.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..errors import ExitCode
from . import note

if TYPE_CHECKING:
    from ..send.dispatch import Report
    from ..send.schedule import Booking
    from ..workspace.config import Workspace


def print_booking(ws: Workspace, booking: Booking, verb: str = "scheduled") -> None:
    """The plan in local time and UTC, channel by channel (counts as the release's language writes them)."""
    from ..text.i18n import format_count
    from ..times import show

    click.echo(f"{booking.release_id} — {booking.title}")
    if verb == "scheduled":  # send prints them itself, with or without -v
        for line in booking.notes:
            note(line)
    for b in booking.channels:
        held = " (held by the embargo)" if b.held_by_embargo else ""
        n = f"{format_count(b.count, booking.language)} deliver{'y' if b.count == 1 else 'ies'}"
        kept = {s: c for s, c in b.states.items() if s not in ("pending", "cancelled")}
        extra = (
            "; kept: "
            + ", ".join(f"{format_count(c, booking.language)} {s.replace('_', ' ')}" for s, c in sorted(kept.items()))
            if kept
            else ""
        )
        click.echo(f"  {b.channel} ({b.adapter}): {n} {verb} for {show(b.due, ws.tz)}{held}{extra}")
        if b.was is not None:
            click.echo(f"    due time moved: was {show(b.was, ws.tz)}, now {show(b.due, ws.tz)}")
        if b.blocking:
            note(
                f"  {b.channel}: cannot send from here: needs {', '.join(b.blocking)} — set it where the "
                "worker or cron job runs, or it is refused there and waits"
            )
        elif b.missing:
            note(f"  note: {b.channel} sends as it is, without {', '.join(b.missing)}")
    for name in booking.held:
        note(f"  {name}: held by the embargo, not sent now; `distribute schedule` delivers it at the embargo")


STATES = (("failed", "failed"), ("retrying", "to retry"), ("in_doubt", "in doubt"))


def channel_lines(report: Report, tz: Any, release_id: str | None, language: str = "") -> list[str]:
    """Per channel: what went where; what failed, waits for a retry or is in doubt, with the first reasons.

    Counts as `language` (the release's, for a run of one release) writes numbers; English grouping else."""
    from .. import clock
    from ..text.i18n import format_count
    from ..times import show

    lines = []
    for t in report.channels:
        name = t.channel if release_id else f"{t.release_id} {t.channel}"
        parts = []
        if t.sent:
            where = ""
            if t.where:
                where = f" — {t.where}" if "://" in t.where else f" to {t.where}"
            parts.append(f"{format_count(t.sent, language)} sent{where}")
        parts += [f"{format_count(t.count(state), language)} {label}" for state, label in STATES if t.count(state)]
        lines.append(f"{name}: {', '.join(parts)}")
        shown = 0
        for state, label in STATES:
            for p in (p for p in t.problems if p.state == state):
                who = f"{p.label}: " if p.label else ""
                lines.append(f"  {label}: {who}{p.error}")
                shown += 1
            if state == "retrying" and t.retrying:
                at = clock.parse(t.next_retry)
                when = f" at {show(at, tz)} ({_in(at - clock.now())})" if at is not None else ""
                lines.append(f"  retried by the worker or the next `distribute send --due`{when}")
        rest = t.failed + t.retrying + t.in_doubt - shown
        if rest > 0:
            lines.append(f"  … {format_count(rest, language)} more: distribute status {t.release_id}")
    return lines


def _in(delta: Any) -> str:
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 120:
        return f"in {seconds} s"
    return f"in {round(seconds / 60)} min" if seconds < 7200 else f"in {round(seconds / 3600)} h"


def unresolved_lines(unresolved: dict[str, int]) -> list[str]:
    """Deliveries in doubt that nobody resolved yet, per release, with the ways out."""
    return [
        f"{rid}: {n} deliver{'y is' if n == 1 else 'ies are'} IN DOUBT (an earlier run stopped while "
        f"{'it was' if n == 1 else 'they were'} in the server's hands: {'it' if n == 1 else 'they'} may or may not "
        f"have arrived; `distribute status {rid}` lists them). Check, then mark them: `distribute resolve {rid} "
        "--sent` (or `--failed`), or send them again: `distribute send --due --resend-in-doubt`"
        for rid, n in unresolved.items()
    ]


def print_report(
    report: Report,
    loud: bool,
    nothing: str = "nothing due",
    *,
    tz: Any = None,
    release_id: str | None = None,
    unresolved: dict[str, int] | None = None,
    language: str = "",
) -> None:
    """Problems always (stderr); the summary only on a terminal or with -v, so cron stays quiet.

    When anything failed, waits for a retry, is in doubt or was refused, the whole summary (per
    channel, with the first reasons) goes to stderr, so cron mails it.
    """
    import datetime as dt

    unresolved = unresolved or {}
    for line in _problem_lines(report):
        note(line)
    trouble = bool(report.failed or report.in_doubt or report.retrying)
    say = note if trouble or report.refused or unresolved else (click.echo if loud else None)
    if say is not None:
        for line in channel_lines(report, tz or dt.timezone.utc, release_id, language):
            say(line)
    for line in unresolved_lines(unresolved):
        note(line)
    summary = _counts(report, language)
    if trouble:
        note(f"{summary} (details: distribute status{' ' + release_id if release_id else ''})")
    elif loud and (report.attempted or not report.refused):
        if report.attempted:
            click.echo(summary)
        elif unresolved:
            note(nothing.split(":")[0])
        else:
            click.echo(nothing)


def _problem_lines(report: Report) -> list[str]:
    """What print_report always says: the run's notes, what an earlier crash left, every refusal."""
    lines = list(report.lines)
    if report.requeued_after_crash:
        lines.append(f"{report.requeued_after_crash} deliveries interrupted by an earlier crash were put back in line")
    if report.doubted_after_crash:
        lines.append(f"{report.doubted_after_crash} deliveries interrupted by an earlier crash are IN DOUBT")
    return lines + [f"error: {message}" for message in report.refused]


def _counts(report: Report, language: str = "") -> str:
    """The sent count and those of the rest that are not 0: "3 sent, 1 to retry later, 1 failed, 1 in doubt"."""
    from ..text.i18n import format_count

    parts = [f"{format_count(report.sent, language)} sent"]
    for count, what in ((report.retrying, "to retry later"), (report.failed, "failed"), (report.in_doubt, "in doubt")):
        if count:
            parts.append(f"{format_count(count, language)} {what}")
    return ", ".join(parts)


def exit_code(report: Report, unresolved: dict[str, int]) -> ExitCode:
    """The run's exit code; deliveries of the release still in doubt make it 3 until they are resolved.

    Also over 1 (a refusal with nothing sent): the release is partly delivered, and the lines printed
    name both the refusal and the deliveries in doubt.
    """
    code = report.exit_code()
    return ExitCode.PARTIAL if unresolved else code


def report_document(
    report: Report, release_id: str | None, unresolved: dict[str, int], code: ExitCode
) -> dict[str, Any]:
    """`send --json` (docs/json.md): this run's counts, per channel with the first reasons, and what waits."""
    return {
        "release": release_id,
        "sent": report.sent,
        "failed": report.failed,
        "retrying": report.retrying,
        "in_doubt": report.in_doubt,
        "channels": [t.as_dict() for t in report.channels],
        "refused": list(report.refused),
        "notes": list(report.lines),
        "requeued_after_crash": report.requeued_after_crash,
        "doubted_after_crash": report.doubted_after_crash,
        "in_doubt_unresolved": dict(unresolved),
        "exit_code": int(code),
    }


def booking_document(booking: Booking) -> dict[str, Any]:
    """`schedule --json` (docs/json.md): what was recorded, channel by channel."""
    from .. import clock

    return {
        "release": booking.release_id,
        "title": booking.title,
        "channels": [
            {
                "channel": b.channel,
                "adapter": b.adapter,
                "due": clock.stamp(b.due),
                "deliveries": b.count,
                "held_by_embargo": b.held_by_embargo,
                "blocking": b.blocking,
                "missing": b.missing,
                "kept": {s: c for s, c in b.states.items() if s not in ("pending", "cancelled")},
                "was": clock.stamp(b.was) if b.was is not None else None,
            }
            for b in booking.channels
        ],
        "held_by_embargo": booking.held,
        "notes": booking.notes,
    }
