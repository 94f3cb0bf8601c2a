"""The long-running worker: APScheduler 3.x wakes it at each due time (the only module importing it).

The ledger is the source of truth. The scheduler keeps one date job in memory, "<name>:dispatch",
always set to the ledger's next due time: derived at start, after every dispatch run, and every
`poll` seconds (to see releases scheduled meanwhile, by any process). Nothing of it needs to
survive the process, so it is not stored: a persistent job store would have to name the job's
function by text and find the live worker through a process-wide registry, and APScheduler 3
does not support several schedulers sharing one job table. Only public APScheduler API is used
(BackgroundScheduler.add_job / get_job / remove_job / shutdown). The job calls the same dispatch
routine as `send --due`.

Stopping: SIGTERM and SIGINT are blocked in every thread of the worker and so stay pending in the
kernel; the stop flag reads them with sigpending() at each check, so a signal sent before the
dispatch thread's next check stops it there (no Python signal handler, whose run can lag behind
the delivery thread, and no lock taken in a handler).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]  # APScheduler 3 ships no types

from .. import clock

if TYPE_CHECKING:
    from ..workspace.config import Workspace
    from .dispatch import Report

log = logging.getLogger("distribute.worker")

REFUSED_RETRY = 60.0  # seconds between two runs that can only repeat a refusal
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_TICK = 0.05  # how often the main loop looks at the stop flag (the dispatch thread looks at every delivery)


class StopFlag(threading.Event):
    """Set by request_stop(), or by a SIGTERM/SIGINT pending (blocked) in this process."""

    def __init__(self) -> None:
        super().__init__()
        self.watch_signals = False

    def is_set(self) -> bool:
        return super().is_set() or (self.watch_signals and not STOP_SIGNALS.isdisjoint(signal.sigpending()))


class Worker:
    """One worker process: a background scheduler plus a main loop that re-derives its job."""

    def __init__(self, workspace: Workspace, name: str, poll: float | None = None):
        from ..ledger.store import Ledger

        self.ws = workspace
        self.name = name
        self.poll = poll if poll is not None else workspace.config.delivery.poll
        self.ledger = Ledger(workspace.database_url)
        self.stop_event = StopFlag()  # dispatch stops handing over new deliveries
        self.job_id = f"{name}:dispatch"
        self.runs = 0
        self.last_report: Report | None = None
        self._sched: Any = None
        self._hold_until: dt.datetime | None = None
        self._hold_mark: int | None = None
        self._sync_lock = threading.Lock()  # main loop and job thread both sync; last writer must be right
        self._told: object = self  # the wake-up last logged (self: none yet)

    def dispatch(self) -> None:
        """Deliver what is due, then set the job to the next due time."""
        from .dispatch import run

        try:
            report = run(self.ws, stop=self.stop_event)
            self.last_report = report
            # Something due that could not go (a release changed since it was scheduled): try again
            # in a minute, like cron would, instead of waking at once for the same refusal.
            # A new schedule (the usual fix) lifts the hold at the next poll.
            # Also after a run that sent other channels: what is left due now is the refused channel
            # (dispatch runs until nothing more is handed over), and waking at once would only repeat it.
            held = bool(report.refused)
            self._hold_until = clock.now() + dt.timedelta(seconds=max(self.poll, REFUSED_RETRY)) if held else None
            self._hold_mark = self.ledger.schedule_mark() if held else None
            if report.attempted or report.refused or report.doubted_after_crash:
                log.info(
                    "sent %d, retry %d, failed %d, in doubt %d%s",
                    report.sent,
                    report.retrying,
                    report.failed,
                    report.in_doubt + report.doubted_after_crash,
                    "".join(f"; {m}" for m in report.refused),
                )
        except Exception:  # one bad run must not end the worker; the ledger keeps what is left
            log.exception("dispatch run failed; retrying at the next poll")
        finally:
            self.runs += 1
            # Checked under the sync lock: shutdown() sets stop_event under it too, so this thread
            # never asks the scheduler for its job while shutdown() holds the scheduler's locks
            # waiting for this very thread (APScheduler 3 shuts executors down under
            # _jobstores_lock, which get_job needs: a deadlock otherwise).
            with self._sync_lock:
                if not self.stop_event.is_set():
                    self._sync()

    def next_wake(self) -> Any:
        """When the job should fire: the ledger's next due time, or now if a crashed claim awaits."""
        if self.ledger.stale_holders(clock.now()):
            return clock.now()
        return clock.parse(self.ledger.next_due())

    def wake_at(self) -> Any:
        """The next wake-up: the ledger's next due time, held back a minute after a refusal (a new schedule lifts it)."""
        when = self.next_wake()
        if self._hold_until is not None and self.ledger.schedule_mark() != self._hold_mark:
            self._hold_until = None
        if when is not None and self._hold_until is not None and when < self._hold_until:
            when = self._hold_until
        return when

    def sync(self) -> None:
        """Make the job store agree with the ledger."""
        with self._sync_lock:
            self._sync()

    def _sync(self) -> None:
        sched = self._sched
        if sched is None:
            return
        when = self.wake_at()
        job = sched.get_job(self.job_id)
        if when is None:
            if job is not None:
                try:
                    sched.remove_job(self.job_id)
                except JobLookupError:
                    pass  # fired and removed meanwhile
            self._tell(None)
            return
        if job is None or job.next_run_time != when:
            sched.add_job(
                self.dispatch,
                "date",
                run_date=when,
                id=self.job_id,
                replace_existing=True,
                name=f"deliver what is due ({self.name})",
            )
        self._tell(when)

    def _tell(self, when: dt.datetime | None) -> None:
        if when == self._told:
            return
        self._told = when
        if when is None:
            log.info("nothing is due; looking for new schedules every %gs", self.poll)
        else:
            log.info("next wake-up at %s", clock.stamp(when))

    def start(self) -> None:
        """Start the scheduler (its jobs run in one background thread)."""
        from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
        from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

        self._sched = BackgroundScheduler(
            # One thread: dispatch runs never overlap inside a worker; across processes the ledger's
            # claims keep them apart.
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._sched.start()
        self.sync()

    def request_stop(self) -> None:
        """From any thread: finish the delivery in hand, give back the rest, exit."""
        self.stop_event.set()

    def run_forever(self, install_signals: bool = True) -> None:
        """Start, then re-derive the job every `poll` seconds until asked to stop; stop cleanly.

        With install_signals, SIGTERM and SIGINT are blocked (every thread started here inherits
        that) and ask for the stop while pending; they are consumed only once the worker stopped.
        """
        if install_signals:
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            self.stop_event.watch_signals = True
        try:
            self.start()
            next_sync = time.monotonic() + self.poll
            while not self.stop_event.is_set():
                time.sleep(_TICK)
                if time.monotonic() >= next_sync and not self.stop_event.is_set():
                    next_sync = time.monotonic() + self.poll
                    try:
                        self.sync()
                    except Exception:  # the database may be away for a moment; the next poll tries again
                        log.exception("could not read the ledger's next due time")
            log.info("stopping: finishing the delivery in hand, giving back the rest")
        finally:
            self.shutdown()
            if install_signals:
                while signal.sigtimedwait(STOP_SIGNALS, 0) is not None:
                    pass  # the stop signal(s) did their work: consumed, not re-delivered on unblocking
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def shutdown(self) -> None:
        """Wait for a running dispatch to hand back its claims, then stop the scheduler."""
        with self._sync_lock:
            self.stop_event.set()
        if self._sched is not None and self._sched.running:
            self._sched.shutdown(wait=True)
