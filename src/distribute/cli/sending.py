"""The real (not dry-run) parts of `distribute send`: RELEASE now, and --due (cron mode)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from . import State, note
from .common import print_json
from .reporting import exit_code, print_booking, print_report, progress, report_document


def _ready_count(state: State) -> int:
    from .. import clock
    from ..ledger.store import Ledger
    from ..send.status import due_now

    return sum(n for _, _, n in due_now(Ledger(state.workspace.database_url), clock.now()))


def send_due(state: State, resend_in_doubt: bool, as_json: bool = False) -> ExitCode:
    """Deliver everything due in the ledger, then exit (cron mode)."""
    from ..send.dispatch import run

    with progress(_ready_count(state)) as advance:
        report = run(state.workspace, on_result=advance, resend_in_doubt=resend_in_doubt)
    # In doubt stays visible: every run that did something names what nobody resolved yet (a run
    # that found nothing due stays quiet, like the cron fast path, so cron does not mail every minute).
    unresolved = _unresolved(state, None) if report.attempted or report.refused or report.lines else {}
    loud = (bool(state.verbose) or _tty()) and not as_json
    print_report(report, loud=loud, tz=state.workspace.tz, unresolved=unresolved)
    code = exit_code(report, unresolved)
    if as_json:
        print_json(report_document(report, None, unresolved, code))
    return code


def send_due_dry_run(state: State, as_json: bool = False) -> ExitCode:
    """List what `send --due` would deliver now; change nothing."""
    from .. import clock
    from ..ledger.store import Ledger
    from ..send.status import due_now

    ready = due_now(Ledger(state.workspace.database_url), clock.now())
    if as_json:
        print_json({"dry_run": True, "due": [{"release": r, "channel": c, "deliveries": n} for r, c, n in ready]})
        return ExitCode.OK if ready else ExitCode.NOTHING
    for release_id, channel, n in ready:
        click.echo(f"{release_id} {channel}: {n} deliver{'y' if n == 1 else 'ies'} due (dry run: nothing sent)")
    if not ready:
        if state.verbose:
            note("nothing due")
        return ExitCode.NOTHING
    return ExitCode.OK


def send_release(
    state: State,
    path: str,
    channels: tuple[str, ...],
    resend_in_doubt: bool,
    at_now: bool = False,
    late: bool = False,
    as_json: bool = False,
) -> ExitCode:
    """Record the release as due now (never before its embargo), then deliver what of it is ready."""
    from .. import clock
    from ..send.dispatch import run
    from ..send.schedule import book

    ws = state.workspace
    booking = book(ws, Path(path), channels=channels, send_now=True, at=clock.now() if at_now else None, late=late)
    for line in booking.notes:
        note(line)
    if state.verbose and not as_json:
        print_booking(ws, booking, verb="due")
    else:
        for name in booking.held:
            note(f"{name}: held by the embargo, not sent now; `distribute schedule` delivers it at the embargo")
    with progress(_ready_count(state)) as advance:
        report = run(ws, release_id=booking.release_id, on_result=advance, resend_in_doubt=resend_in_doubt)
    unresolved = _unresolved(state, booking.release_id)
    print_report(
        report,
        loud=not as_json,
        nothing="nothing left to send: this release has gone out already or is still held (see `distribute status`)",
        tz=ws.tz,
        release_id=booking.release_id,
        unresolved=unresolved,
    )
    code = exit_code(report, unresolved)
    if as_json:
        print_json(dict(report_document(report, booking.release_id, unresolved, code), held_by_embargo=booking.held))
    return code


def _unresolved(state: State, release_id: str | None) -> dict[str, int]:
    from ..ledger.store import Ledger
    from ..send.status import in_doubt_counts

    return in_doubt_counts(Ledger(state.workspace.database_url), release_id)


def _tty() -> bool:
    from .common import is_terminal

    return is_terminal()
