"""Dispatch in one process against loopback servers, the clock moved by time-machine."""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
from pathlib import Path

import pytest
import time_machine

from distribute.send.retry import DeliverySettings, backoff_delay
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink, statuses_server
from ledger_support import attempts, invoke, ledger_rows, states, write_channel, write_release

UTC = dt.timezone.utc
DUE = dt.datetime(2025, 6, 30, 0, 0, tzinfo=UTC)  # the test releases' publish time (09:00 KST)


@pytest.fixture
def sink():
    with mail_sink() as s:
        yield s


@pytest.fixture
def api():
    with statuses_server(token="tok-3141592653") as a:
        yield a


def newsletter(ws: Path, sink, count: int = 3, extra: str = "") -> None:
    write_channel(ws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = {count}\n{extra}')


def social(ws: Path, api, parts: int = 3) -> None:
    write_channel(
        ws, "social", f'adapter = "looppost"\nurl = "{api.url}"\nparts = {parts}\ntoken = {{ env = "LOOP_TOKEN" }}\n'
    )


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOP_TOKEN", "tok-3141592653")


def schedule(ws: Path, rid: str = "r1", **kw: str) -> None:
    write_release(ws, rid, **kw)
    with time_machine.travel(DUE - dt.timedelta(days=1), tick=False):
        result = invoke(ws, "schedule", f"releases/{rid}.md")
    assert result.exit_code == 0, result.output


def send_due(ws: Path, at: dt.datetime, *extra: str):
    with time_machine.travel(at, tick=False):
        return invoke(ws, "send", "--due", *extra)


def test_nothing_is_sent_before_its_due_time_and_everything_once_after(lws: Path, sink, api) -> None:
    newsletter(lws, sink)
    social(lws, api)
    schedule(lws)
    early = send_due(lws, DUE - dt.timedelta(seconds=1))
    assert early.exit_code == 4 and len(sink) == 0 and api.requests == 0
    result = send_due(lws, DUE)
    assert result.exit_code == 0, result.output
    assert sorted(sink.per_recipient().items()) == [(f"r{i}@example.org", 1) for i in range(3)]
    assert [s["in_reply_to_id"] for s in api.created] == [None, "100001", "100002"] and not api.problems
    rows = {r["key"]: r for r in ledger_rows(lws)}
    assert rows["r1/social/thread/2"]["url"] == "https://social.example/@press/100002"
    assert rows["r1/newsletter/r0@example.org/email"]["remote_id"].endswith("@example.org>")
    again = send_due(lws, DUE + dt.timedelta(hours=1))
    assert again.exit_code == 4 and len(sink) == 3 and len(api.created) == 3


def test_a_public_channel_never_goes_before_the_embargo_even_with_send_now(lws: Path, sink) -> None:
    newsletter(lws, sink)
    write_channel(lws, "press", f'adapter = "loopmail"\nport = {sink.port}\ncount = 1\nembargoed_copy = true\n')
    write_release(lws, "r1", extra="embargo = 2025-06-30T12:00:00+09:00")
    with time_machine.travel(DUE, tick=False):
        result = invoke(lws, "send", "releases/r1.md")
    assert result.exit_code == 0, result.output
    assert "newsletter: held by the embargo" in result.stderr
    assert list(sink.per_recipient()) == ["r0@example.org"] and len(sink) == 1  # the press copy only
    assert {r["channel"] for r in ledger_rows(lws)} == {"press"}
    # Scheduled, the newsletter waits for the embargo even though its publish time has passed.
    with time_machine.travel(DUE, tick=False):
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    assert send_due(lws, dt.datetime(2025, 6, 30, 2, 59, 59, tzinfo=UTC)).exit_code == 4
    assert send_due(lws, dt.datetime(2025, 6, 30, 3, 0, tzinfo=UTC)).exit_code == 0
    assert len(sink) == 4 and len({msg_id for _, msg_id in sink.messages}) == 4
    assert states(ledger_rows(lws)) == {"sent": 4}


def test_transient_failures_back_off_honour_retry_after_and_give_up_after_max_attempts(lws: Path, api) -> None:
    social(lws, api, parts=1)
    schedule(lws)
    api.fail = [(503, "120"), (429, None), (503, None)]
    first = send_due(lws, DUE)
    assert first.exit_code == 3 and "1 to retry later" in first.stderr
    (row,) = ledger_rows(lws)
    assert row["state"] == "pending" and row["attempts"] == 1
    assert row["next_attempt"] == "2025-06-30T00:02:00.000000Z"  # Retry-After: 120, to the second
    assert send_due(lws, DUE + dt.timedelta(seconds=119)).exit_code == 4
    assert send_due(lws, DUE + dt.timedelta(seconds=120)).exit_code == 3
    (row,) = ledger_rows(lws)
    wait = dt.datetime.fromisoformat(row["next_attempt"].replace("Z", "+00:00")) - (DUE + dt.timedelta(seconds=120))
    assert dt.timedelta(seconds=10) <= wait <= dt.timedelta(seconds=20)  # 2nd retry: 10 s doubled, half jittered
    last = send_due(lws, DUE + dt.timedelta(seconds=141))
    assert last.exit_code == 3 and "1 failed" in last.stderr
    (row,) = ledger_rows(lws)
    assert row["state"] == "failed" and row["attempts"] == 3
    assert row["last_error"].startswith("gave up after 3 attempts: HTTP 503")
    assert "tok-3141592653" not in row["last_error"] and "***" in row["last_error"]  # the server echoed it
    assert [(a["attempt"], a["outcome"]) for a in attempts(lws)] == [(1, "retry"), (2, "retry"), (3, "failed")]
    assert [a["error"][:8] for a in attempts(lws)] == ["HTTP 503", "HTTP 429", "gave up "]
    assert api.created == []
    status = invoke(lws, "status").stdout
    assert "post 1/1: FAILED after 3 attempt(s): gave up after 3 attempts: HTTP 503" in status
    assert "tok-3141592653" not in status


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    settings = DeliverySettings(backoff=10, backoff_max=60)
    rng = random.Random(7)
    for attempt, ceiling in ((1, 10), (2, 20), (3, 40), (4, 60), (9, 60)):
        delays = [backoff_delay(settings, attempt, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) == 200  # jittered: no two clients come back together
    assert backoff_delay(settings, 1, retry_after=3600) == 3600  # the server's word beats the cap


def test_a_permanent_failure_stops_at_once_and_the_rest_of_the_thread_with_it(lws: Path, api, sink) -> None:
    social(lws, api)
    newsletter(lws, sink)
    sink.refuse["r1@example.org"] = 550
    schedule(lws)
    api.fail = [(422, None)]
    result = send_due(lws, DUE)
    assert result.exit_code == 3
    rows = {r["key"]: r for r in ledger_rows(lws)}
    assert rows["r1/social/thread/1"]["state"] == "failed" and rows["r1/social/thread/1"]["attempts"] == 1
    assert (
        rows["r1/social/thread/2"]["state"] == "failed"
        and "r1/social/thread/1" in rows["r1/social/thread/2"]["last_error"]
    )
    assert rows["r1/social/thread/3"]["state"] == "failed"
    assert rows["r1/newsletter/r1@example.org/email"]["state"] == "failed"
    assert rows["r1/newsletter/r1@example.org/email"]["last_error"] == "refused: 550"
    assert sorted(sink.per_recipient()) == ["r0@example.org", "r2@example.org"]  # the others still went
    assert api.requests == 1
    assert send_due(lws, DUE + dt.timedelta(days=1)).exit_code == 4


def test_a_release_edited_after_scheduling_is_refused(lws: Path, sink) -> None:
    newsletter(lws, sink)
    schedule(lws)
    write_release(lws, "r1", title="Edited after scheduling")
    result = send_due(lws, DUE)
    assert result.exit_code == 1
    assert "release r1 changed since it was scheduled; run `distribute schedule" in result.stderr
    assert len(sink) == 0 and states(ledger_rows(lws)) == {"pending": 3}
    with time_machine.travel(DUE, tick=False):
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    assert send_due(lws, DUE).exit_code == 0 and len(sink) == 3


def test_a_changed_rendering_is_refused_delivery_by_delivery(lws: Path, sink, tmp_path: Path) -> None:
    recipients = lws / "list.txt"
    recipients.write_text("a@example.org\nb@example.org\n")
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\nlist = "{recipients}"\n')
    schedule(lws)
    recipients.write_text("x@example.org\nb@example.org\n")  # the release file is unchanged; its render is not
    result = send_due(lws, DUE)
    assert result.exit_code == 1 and "release r1 changed since it was scheduled (channel newsletter" in result.stderr
    assert len(sink) == 0 and states(ledger_rows(lws)) == {"pending": 2}


def test_in_doubt_is_reported_and_resent_only_when_asked(lws: Path, sink) -> None:
    newsletter(lws, sink, count=2)
    schedule(lws)
    db = sqlite3.connect(lws / ".distribute/state.db")
    with db:  # as a crashed process on this host leaves it: handed over, holder gone
        db.execute(
            "UPDATE deliveries SET state = 'sending', claim_token = 't', claimed_by = ? "
            "WHERE target = 'r0@example.org'",
            (f"{os.uname().nodename} 999999999 1",),
        )
    result = send_due(lws, DUE)
    assert result.exit_code == 3 and "1 deliveries interrupted by an earlier crash are IN DOUBT" in result.stderr
    assert list(sink.per_recipient()) == ["r1@example.org"]
    status = invoke(lws, "status").stdout
    assert "to r0@example.org: IN DOUBT" in status and "--resend-in-doubt" in status
    assert send_due(lws, DUE + dt.timedelta(hours=1)).exit_code == 4  # never resent silently
    resent = send_due(lws, DUE + dt.timedelta(hours=1), "--resend-in-doubt")
    assert resent.exit_code == 0 and sorted(sink.per_recipient()) == ["r0@example.org", "r1@example.org"]


def test_send_due_dry_run_lists_and_changes_nothing(lws: Path, sink) -> None:
    newsletter(lws, sink)
    schedule(lws)
    before = ledger_rows(lws)
    result = send_due(lws, DUE, "--dry-run")
    assert result.exit_code == 0 and "r1 newsletter: 3 deliveries due (dry run: nothing sent)" in result.stdout
    assert ledger_rows(lws) == before and len(sink) == 0
    assert send_due(lws, DUE - dt.timedelta(hours=1), "--dry-run").exit_code == 4


def test_send_release_sends_now_what_is_not_yet_sent(lws: Path, sink) -> None:
    newsletter(lws, sink)
    write_release(lws, "r1", publish_at="2030-01-01T09:00:00+09:00")  # far ahead: send means now
    with time_machine.travel(DUE, tick=False):
        first = invoke(lws, "send", "releases/r1.md")
        assert first.exit_code == 0 and "3 sent" in first.stdout
        assert invoke(lws, "send", "releases/r1.md").exit_code == 4
    assert len(sink) == 3 and states(ledger_rows(lws)) == {"sent": 3}


def test_exit_code_four_when_nothing_was_ever_scheduled(lws: Path) -> None:
    assert invoke(lws, "send", "--due").exit_code == 4


def test_an_adapter_that_breaks_stops_its_channel_only_and_is_treated_like_a_crash(lws: Path, api, sink) -> None:
    write_channel(
        lws,
        "social",
        f'adapter = "looppost"\nurl = "{api.url}"\nparts = 3\nexplode = 2\ntoken = {{ env = "LOOP_TOKEN" }}\n',
    )
    newsletter(lws, sink)
    schedule(lws)
    result = send_due(lws, DUE)
    assert result.exit_code == 3
    assert "release r1, channel social: RuntimeError: adapter bug on part 2" in result.stderr
    assert len(sink) == 3 and len(api.created) == 1
    rows = {r["key"]: r for r in ledger_rows(lws)}
    # The part in the adapter's hands when it broke: retried, since this adapter is idempotent.
    assert rows["r1/social/thread/2"]["state"] == "pending" and rows["r1/social/thread/2"]["attempts"] == 1
    assert rows["r1/social/thread/3"]["state"] == "pending" and rows["r1/social/thread/3"]["attempts"] == 0


def test_an_idempotent_delivery_that_keeps_killing_its_sender_is_given_up_after_max_attempts(lws: Path, api) -> None:
    social(lws, api, parts=1)
    schedule(lws)
    dead = f"{os.uname().nodename} 999999999 1"
    db = sqlite3.connect(lws / ".distribute/state.db")
    for attempt in (1, 2, 3):
        with db:  # as if each run died with the post in hand
            db.execute("UPDATE deliveries SET state = 'sending', claim_token = 't', claimed_by = ?", (dead,))
        result = send_due(lws, DUE + dt.timedelta(minutes=attempt))
        (row,) = ledger_rows(lws)
        if attempt < 3:
            assert row["state"] == "sent" and "put back in line" in result.stderr
            with db:
                db.execute("UPDATE deliveries SET state = 'pending', attempts = ?", (attempt,))
    assert row["state"] == "failed" and row["last_error"].startswith("interrupted 3 times")
    assert result.exit_code == 3 and "1 failed" in result.stderr
    assert len(api.created) == 1  # the idempotency key kept the retries to one post
