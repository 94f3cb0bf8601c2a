"""The long-running worker: APScheduler 3.x wakes it at each due time (the only module importing it).

The ledger is the source of truth. The job store (SQLAlchemyJobStore, same database) holds
one date job per worker, "<name>:dispatch", always set to the ledger's next due time and
referring to `run_due_job` by text. After every dispatch run, and every `poll` seconds (to
see releases scheduled meanwhile), the worker derives that time from the ledger again. The
job calls the same dispatch routine as `send --due`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from .. import clock

if TYPE_CHECKING:
    from ..workspace.config import Workspace
    from .dispatch import Report

log = logging.getLogger("distribute.worker")

JOB_FUNC = "distribute.send.worker:run_due_job"
REFUSED_RETRY = 60.0  # seconds between two runs that can only repeat a refusal
TABLE = "apscheduler_jobs"
_WORKERS: dict[str, Worker] = {}


class WorkerJobStore(SQLAlchemyJobStore):
    """A SQLAlchemyJobStore that sees only this worker's jobs, so several workers share one table."""

    def __init__(self, prefix: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.prefix = prefix

    def start(self, scheduler: Any, alias: str) -> None:
        from sqlalchemy.exc import DBAPIError

        try:
            super().start(scheduler, alias)
        except DBAPIError:
            # Two workers starting together on PostgreSQL both see no table and both create it;
            # the loser's CREATE fails on the catalog's unique index. The table now exists.
            super().start(scheduler, alias)

    def _mine(self) -> Any:
        return self.jobs_t.c.id.like(self.prefix.replace("%", r"\%").replace("_", r"\_") + "%", escape="\\")

    def get_due_jobs(self, now: Any) -> list[Any]:
        from apscheduler.util import datetime_to_utc_timestamp

        return list(self._get_jobs(self.jobs_t.c.next_run_time <= datetime_to_utc_timestamp(now), self._mine()))

    def get_next_run_time(self) -> Any:
        from apscheduler.util import utc_timestamp_to_datetime
        from sqlalchemy import select

        query = (
            select(self.jobs_t.c.next_run_time)
            .where(self.jobs_t.c.next_run_time.isnot(None), self._mine())
            .order_by(self.jobs_t.c.next_run_time)
            .limit(1)
        )
        with self.engine.begin() as connection:
            return utc_timestamp_to_datetime(connection.execute(query).scalar())

    def get_all_jobs(self) -> list[Any]:
        jobs = list(self._get_jobs(self._mine()))
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def remove_all_jobs(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.jobs_t.delete().where(self._mine()))

    def shutdown(self) -> None:
        pass  # the engine is shared with the ledger; it is not ours to dispose


def run_due_job(name: str) -> None:
    """The job the scheduler runs (referenced by text, so the job store holds no code)."""
    worker = _WORKERS.get(name)
    if worker is None:
        log.warning("job for worker %r found, but that worker is not running in this process", name)
        return
    worker.dispatch()


class Worker:
    """One worker process: a background scheduler plus a main loop that re-derives its job."""

    def __init__(self, workspace: Workspace, name: str, poll: float | None = None):
        from ..ledger.store import Ledger

        self.ws = workspace
        self.name = name
        self.poll = poll if poll is not None else workspace.config.delivery.poll
        self.ledger = Ledger(workspace.database_url)
        self.stop_event = threading.Event()  # dispatch stops handing over new deliveries
        # Signals reach the main loop through a pipe: a handler must not take a lock (an Event's
        # set() does) that the interrupted main thread may be holding.
        self._signalled = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.job_id = f"{name}:dispatch"
        self.runs = 0
        self.last_report: Report | None = None
        self._sched: Any = None
        self._hold_until: dt.datetime | None = None
        self._hold_mark: int | None = None
        self._sync_lock = threading.Lock()  # main loop and job thread both sync; last writer must be right

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
            return
        if job is not None and job.next_run_time == when:
            return
        sched.add_job(
            JOB_FUNC,
            "date",
            run_date=when,
            id=self.job_id,
            args=[self.name],
            replace_existing=True,
            name=f"deliver what is due ({self.name})",
        )
        log.debug("next wake-up %s", when.isoformat())

    def start(self) -> None:
        """Start the scheduler (its jobs run in one background thread)."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        store = WorkerJobStore(f"{self.name}:", engine=self.ledger.engine, tablename=TABLE)
        self._sched = BackgroundScheduler(
            jobstores={"default": store},
            # One thread: dispatch runs never overlap inside a worker; across processes the ledger's
            # claims keep them apart.
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        _WORKERS[self.name] = self
        self._sched.start()
        self.sync()

    def request_stop(self, *_: Any) -> None:
        """SIGTERM/SIGINT (or any thread): finish the delivery in hand, give back the rest, exit."""
        self._signalled = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass  # the pipe is full (the main loop is due to wake anyway) or already closed

    def run_forever(self, install_signals: bool = True) -> None:
        """Start, then re-derive the job every `poll` seconds until asked to stop; stop cleanly."""
        import select

        if install_signals:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        try:
            while not self._signalled:
                ready, _, _ = select.select([self._wake_r], [], [], self.poll)
                if ready:
                    os.read(self._wake_r, 512)
                if not self._signalled:
                    try:
                        self.sync()
                    except Exception:  # the database may be away for a moment; the next poll tries again
                        log.exception("could not read the ledger's next due time")
        finally:
            self.shutdown()
            if install_signals:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def shutdown(self) -> None:
        """Wait for a running dispatch to hand back its claims, then stop the scheduler."""
        with self._sync_lock:
            self.stop_event.set()
        if self._sched is not None and self._sched.running:
            self._sched.shutdown(wait=True)
        _WORKERS.pop(self.name, None)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
