"""The real (not dry-run) parts of `distribute send`: RELEASE now, and --due (cron mode)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ExitCode
from . import State, note
from .common import print_json
from .progress import progress
from .reporting import exit_code, print_booking, print_report, report_document

if TYPE_CHECKING:
    from ..send.dispatch import Report


def _ready(state: State, release_id: str | None = None) -> dict[str, int]:
    """Deliveries ready now, per channel (of one release, or all)."""
    from .. import clock
    from ..ledger.store import Ledger
    from ..send.status import due_now

    out: dict[str, int] = {}
    for rid, channel, n in due_now(Ledger(state.workspace.database_url), clock.now()):
        if release_id is None or rid == release_id:
            out[channel] = out.get(channel, 0) + n
    return out


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM sets the Event dispatch.run watches (the worker's stop); a second one aborts at once.

    On the first signal no new delivery is handed to an adapter; the ones in its hands finish and
    are recorded, the claimed rest goes back to pending. Only the second can leave one in doubt.
    """
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()  # safe here: only this handler ever takes the Event's lock in the main thread
        # os.write, not click.echo: the main thread may be in the middle of a write to stderr.
        os.write(2, b"\nstopping: finishing the deliveries in hand (press Ctrl-C again to stop at once)\n")

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _deliver(state: State, release_id: str | None, resend_in_doubt: bool) -> tuple[Report, int | None]:
    """Run the dispatch under the signal handlers: (report, how many are left if it was stopped)."""
    from ..send.dispatch import run

    with stop_on_signals() as stop:
        try:
            with progress(_ready(state, release_id)) as advance:
                report = run(
                    state.workspace,
                    release_id=release_id,
                    stop=stop,
                    on_result=advance,
                    resend_in_doubt=resend_in_doubt,
                )
        except KeyboardInterrupt:
            note(
                "stopped at once (a second interrupt): a message that was in the middle of being handed over "
                "may be in doubt; `distribute status` shows it, and the same command sends the rest"
            )
            raise click.exceptions.Exit(int(ExitCode.INTERRUPTED)) from None
    return report, (sum(_ready(state, release_id).values()) if stop.is_set() else None)


def _print_stopped(state: State, report: Report, left: int, language: str = "") -> None:
    """`7,613 sent, 12,387 left: run the same command to continue` (problems above it, as always); the
    counts as the release's language writes numbers (`send RELEASE`), else the English way."""
    from ..text.i18n import format_count

    print_report(report, loud=False, tz=state.workspace.tz, language=language)
    counts = ((report.retrying, "to retry later"), (report.failed, "failed"), (report.in_doubt, "in doubt"))
    shown = [f"{format_count(report.sent, language)} sent"]
    shown += [f"{format_count(n, language)} {what}" for n, what in counts if n]
    note(f"{', '.join(shown)}, {format_count(left, language)} left: run the same command to continue")


def send_due(state: State, resend_in_doubt: bool, as_json: bool = False) -> ExitCode:
    """Deliver everything due in the ledger, then exit (cron mode)."""
    report, left = _deliver(state, None, resend_in_doubt)
    if left:
        _print_stopped(state, report, left)
        return ExitCode.INTERRUPTED
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
        click.echo(f"{release_id} {channel}: {n:,} deliver{'y' if n == 1 else 'ies'} due (dry run: nothing sent)")
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
    report, left = _deliver(state, booking.release_id, resend_in_doubt)
    if left:
        _print_stopped(state, report, left, booking.language)
        return ExitCode.INTERRUPTED
    unresolved = _unresolved(state, booking.release_id)
    print_report(
        report,
        loud=not as_json,
        nothing="nothing left to send: this release has gone out already or is still held (see `distribute status`)",
        tz=ws.tz,
        release_id=booking.release_id,
        unresolved=unresolved,
        language=booking.language,
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
