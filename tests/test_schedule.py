"""The worker: wakes at due times, picks up new schedules, stops cleanly, survives restarts and kills."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest

from distribute.clock import parse, stamp
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink, wait_for
from ledger_support import WorkerProcess, invoke, ledger_rows, states, write_channel, write_release

NAME = "testworker"


@pytest.fixture
def sink():
    with mail_sink() as s:
        yield s


def worker(ws: Path, site: Path) -> WorkerProcess:
    proc = WorkerProcess(ws, site, "--name", NAME, "--poll", "0.2")
    wait_for(proc.ready, what="the worker's first look at the ledger")
    return proc


def stop(proc: WorkerProcess, sig: int = signal.SIGTERM) -> tuple[int, str]:
    return proc.stop(sig)


def test_worker_picks_up_a_new_schedule_and_wakes_at_its_due_time(lws: Path, plugin_site: Path, sink) -> None:
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 3\n')
    write_release(lws, "r1")
    proc = worker(lws, plugin_site)
    try:
        assert proc.wake_ups() == [None]  # nothing scheduled: nothing to wake for
        due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=3)
        assert invoke(lws, "schedule", "releases/r1.md", "--at", due.isoformat()).exit_code == 0
        # Derived from the ledger within a poll: one date job at exactly the due time.
        wait_for(lambda: proc.waking_at(stamp(due)), what="the job at the due time")
        assert len(sink) == 0
        wait_for(lambda: len(sink) == 3, what="delivery at the due time")
        assert min(sink.times) >= due.timestamp()
        wait_for(lambda: proc.waking_at(None), what="the job to go once nothing is left")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert states(ledger_rows(lws)) == {"sent": 3} and max(sink.per_recipient().values()) == 1


@pytest.mark.slow
def test_sigterm_finishes_the_delivery_in_hand_and_a_restart_sends_the_rest_once(
    lws: Path, plugin_site: Path, sink
) -> None:
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 60\n')
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    sink.gate.at = 5
    proc = worker(lws, plugin_site)
    assert sink.gate.held.wait(60)
    # The worst case for "the delivery in hand": the worker is frozen while the signal arrives and
    # the 5th message is answered, so on waking its delivery thread could race ahead of any signal
    # handler. The signal was sent first, so nothing after the 5th may be handed over.
    proc.send_signal(signal.SIGSTOP)
    proc.send_signal(signal.SIGTERM)
    sink.gate.release.set()  # the 5th message is answered only now, after the signal
    wait_for(lambda: sink.gate.passed, what="the answer to the 5th message")
    proc.send_signal(signal.SIGCONT)
    code, err = proc.finish()
    assert code == 0, err
    counted = states(ledger_rows(lws))
    assert counted == {"sent": 5, "pending": 55}, counted  # nothing in hand, nothing in doubt
    assert len(sink) == 5
    proc = worker(lws, plugin_site)
    try:
        wait_for(lambda: states(ledger_rows(lws)) == {"sent": 60}, what="the rest after the restart")
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert len(sink) == 60 and max(sink.per_recipient().values()) == 1


@pytest.mark.slow
def test_a_killed_worker_restarts_with_nothing_lost_or_repeated(lws: Path, plugin_site: Path, sink) -> None:
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 200\n')
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    sink.gate.at = 50
    proc = worker(lws, plugin_site)
    assert sink.gate.held.wait(60)
    proc.send_signal(signal.SIGKILL)
    proc.finish(30)
    sink.gate.release.set()
    proc = worker(lws, plugin_site)
    try:
        wait_for(lambda: states(ledger_rows(lws)) == {"sent": 199, "in_doubt": 1}, what="recovery after the kill")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert len(sink) == 200 and max(sink.per_recipient().values()) == 1
    (doubt,) = [r for r in ledger_rows(lws) if r["state"] == "in_doubt"]
    assert doubt["target"] == "r49@example.org"


@pytest.mark.slow
def test_a_due_time_passed_while_no_worker_ran_is_delivered_on_start(lws: Path, plugin_site: Path, sink) -> None:
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 2\n')
    write_release(lws, "r1")
    proc = worker(lws, plugin_site)
    due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=2)
    assert invoke(lws, "schedule", "releases/r1.md", "--at", due.isoformat()).exit_code == 0
    wait_for(lambda: proc.waking_at(stamp(due)), what="the job at the due time")
    code, err = stop(proc)
    assert code == 0, err
    wait_for(lambda: dt.datetime.now(dt.timezone.utc) > due, what="the due time to pass")
    assert len(sink) == 0
    proc = worker(lws, plugin_site)
    try:
        wait_for(lambda: len(sink) == 2, what="the late delivery")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert states(ledger_rows(lws)) == {"sent": 2}


@pytest.mark.slow
def test_a_refused_release_is_retried_a_minute_later_not_at_once_and_a_new_schedule_lifts_that(
    lws: Path, plugin_site: Path, sink
) -> None:
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 2\n')
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    write_release(lws, "r1", title="Edited after scheduling")
    proc = worker(lws, plugin_site)
    try:
        now = dt.datetime.now(dt.timezone.utc).timestamp()

        # Refused once, then the job waits about a minute instead of firing again and again.
        def held_off() -> bool:
            found = proc.wake_ups()
            return bool(found) and found[-1] is not None and parse(found[-1]).timestamp() > now + 50  # type: ignore[union-attr]

        wait_for(held_off, what="the job held off after the refusal")
        assert len(sink) == 0
        assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
        wait_for(lambda: len(sink) == 2, what="delivery after the new schedule")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "changed since it was scheduled" in err
