"""The ledger: schedule records what will go out and when; rescheduling and unscheduling; status."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from distribute import clock
from distribute.ledger.engine import migrate
from distribute.ledger.store import Ledger
from distribute.workspace.config import Workspace
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink, statuses_server
from ledger_support import (
    invoke,
    ledger_rows,
    outcomes_written,
    schedule_mail_and_thread,
    states,
    write_channel,
    write_release,
)

NOW = "2025-06-29T00:00:00+00:00"  # the day before the example publish time


@contextmanager
def traced() -> Iterator[list[str]]:
    """Every SQL statement the ledger's connections opened meanwhile run, with its values filled in."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    statements: list[str] = []

    def trace(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.set_trace_callback(statements.append)

    event.listen(Pool, "connect", trace)
    try:
        yield statements
    finally:
        event.remove(Pool, "connect", trace)


def mail(ws: Path, name: str = "newsletter", count: int = 3, extra: str = "") -> None:
    write_channel(ws, name, f'adapter = "loopmail"\nport = 9\ncount = {count}\n{extra}')


def post(ws: Path, name: str = "social", extra: str = "") -> None:
    write_channel(ws, name, f'adapter = "looppost"\nurl = "http://127.0.0.1:9"\n{extra}')


@time_machine.travel(NOW, tick=False)
def test_schedule_records_each_delivery_with_its_due_time_hash_and_prints_local_and_utc(lws: Path) -> None:
    mail(lws, extra='at = "+1h"\n')
    post(lws)
    write_release(lws, "r1")
    result = invoke(lws, "schedule", "releases/r1.md")
    assert result.exit_code == 0, result.output
    assert "newsletter (loopmail): 3 deliveries scheduled for 2025-06-30 10:00 KST (01:00 UTC)" in result.stdout
    assert "social (looppost): 3 deliveries scheduled for 2025-06-30 09:00 KST (00:00 UTC)" in result.stdout
    rows = ledger_rows(lws)
    assert [r["key"] for r in rows] == [
        "r1/newsletter/r0@example.org/email",
        "r1/newsletter/r1@example.org/email",
        "r1/newsletter/r2@example.org/email",
        "r1/social/thread/1",
        "r1/social/thread/2",
        "r1/social/thread/3",
    ]
    assert {r["due"] for r in rows if r["channel"] == "newsletter"} == {"2025-06-30T01:00:00.000000Z"}
    assert {r["state"] for r in rows} == {"pending"} and {r["attempts"] for r in rows} == {0}
    assert [r["after_key"] for r in rows if r["channel"] == "social"] == [
        None,
        "r1/social/thread/1",
        "r1/social/thread/2",
    ]
    ws = Workspace(lws / "config.toml")
    from distribute.plan import plan
    from distribute.release import load_release

    rendered = {d.key: d.sha256 for p in plan(ws, load_release(lws / "releases/r1.md", ws)) for d in p.deliveries()}
    assert {r["key"]: r["sha256"] for r in rows} == rendered
    release_row = (
        sqlite3.connect(lws / ".distribute/state.db")
        .execute("SELECT release_id, path, sha256, scheduled_at FROM ledger_releases")
        .fetchone()
    )
    assert release_row[0] == "r1" and release_row[1] == str(lws / "releases/r1.md")
    assert release_row[2] == load_release(lws / "releases/r1.md", ws).sha256
    assert release_row[3] == "2025-06-29T00:00:00.000000Z"


@time_machine.travel(NOW, tick=False)
def test_public_channels_wait_for_the_embargo_and_embargoed_copies_do_not(lws: Path) -> None:
    mail(lws, "press", extra='embargoed_copy = true\nat = "-2h"\n')
    mail(lws, "newsletter", extra='at = "-2h"\n')
    write_release(lws, "r1", extra="embargo = 2025-06-30T10:00:00+09:00")
    result = invoke(lws, "schedule", "releases/r1.md")
    assert result.exit_code == 0, result.output
    due = {r["channel"]: (r["due"], r["not_before"]) for r in ledger_rows(lws)}
    assert due["press"] == ("2025-06-29T22:00:00.000000Z", None)
    assert due["newsletter"] == ("2025-06-30T01:00:00.000000Z", "2025-06-30T01:00:00.000000Z")
    assert (
        "newsletter (loopmail): 3 deliveries scheduled for 2025-06-30 10:00 KST (01:00 UTC) (held by the embargo)"
        in result.stdout
    )


@time_machine.travel(NOW, tick=False)
def test_at_moves_the_publish_time_and_channel_offsets_follow(lws: Path) -> None:
    mail(lws, extra='at = "+30m"\n')
    write_release(lws, "r1")
    result = invoke(lws, "schedule", "releases/r1.md", "--at", "2025-07-01 08:00")
    assert result.exit_code == 0, result.output
    assert {r["due"] for r in ledger_rows(lws)} == {"2025-06-30T23:30:00.000000Z"}  # 08:30 KST
    assert invoke(lws, "schedule", "releases/r1.md", "--at", "+2h").exit_code == 0
    assert {r["due"] for r in ledger_rows(lws)} == {"2025-06-29T02:30:00.000000Z"}
    bad = invoke(lws, "schedule", "releases/r1.md", "--at", "tomorrowish")
    assert bad.exit_code == 2 and "neither an offset" in bad.stderr


@time_machine.travel("2025-03-01T00:00:00+00:00", tick=False)  # before the first of these publish times
def test_a_dst_day_in_the_config_timezone_gives_the_right_instants(lws: Path) -> None:
    config = lws / "config.toml"
    config.write_text(config.read_text().replace('timezone = "Asia/Seoul"', 'timezone = "America/New_York"'))
    mail(lws, "spring")
    # Local EST; "+1d" lands on the day clocks spring forward.
    write_release(lws, "spring", publish_at="2025-03-08T09:00:00", extra='[channel.spring]\nat = "+1d"')
    write_release(lws, "gap", publish_at="2025-03-09T02:30:00")  # does not exist locally: clocks jump 2:00 -> 3:00
    write_release(lws, "fold", publish_at="2025-11-02T01:30:00")  # happens twice locally: the first (EDT) is meant
    for rid in ("spring", "gap", "fold"):
        assert invoke(lws, "schedule", f"releases/{rid}.md").exit_code == 0
    due = {r["release_id"]: r["due"] for r in ledger_rows(lws)}
    assert due["spring"] == "2025-03-09T13:00:00.000000Z"  # 09:00 EDT on the next day, 23 hours later
    assert due["gap"] == "2025-03-09T07:30:00.000000Z"  # read with the offset before the jump (03:30 EDT)
    assert due["fold"] == "2025-11-02T05:30:00.000000Z"  # 01:30 EDT, the first of the two
    shown = invoke(lws, "status", "spring").stdout
    assert "2025-03-09 09:00 EDT (13:00 UTC)" in shown


@time_machine.travel(NOW, tick=False)
def test_scheduling_again_replaces_what_is_pending_and_keeps_what_went_out(lws: Path, tmp_path: Path) -> None:
    recipients = lws / "list.txt"
    recipients.write_text("a@example.org\nb@example.org\nc@example.org\n")
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = 9\nlist = "{recipients}"\n')
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    db = sqlite3.connect(lws / ".distribute/state.db")
    with db:  # a went out, b failed for good before the list changed
        db.execute("UPDATE deliveries SET state = 'sent', remote_id = 'm1' WHERE target = 'a@example.org'")
        db.execute("UPDATE deliveries SET state = 'failed', last_error = 'x' WHERE target = 'b@example.org'")
    recipients.write_text("a@example.org\nb@example.org\nd@example.org\n")
    write_release(lws, "r1", title="Corrected title")
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    rows = {r["target"]: r for r in ledger_rows(lws)}
    assert rows["a@example.org"]["state"] == "sent" and rows["a@example.org"]["remote_id"] == "m1"
    assert rows["b@example.org"]["state"] == "pending" and rows["b@example.org"]["last_error"] is None
    assert rows["c@example.org"]["state"] == "cancelled"  # no longer on the list
    assert rows["d@example.org"]["state"] == "pending"
    assert rows["a@example.org"]["sha256"] != rows["b@example.org"]["sha256"]
    assert invoke(lws, "status").stdout.count("Corrected") == 0  # status shows ids, not payloads


@time_machine.travel(NOW, tick=False)
def test_a_refused_schedule_leaves_the_earlier_one_in_force(lws: Path) -> None:
    mail(lws)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    before = ledger_rows(lws)
    (lws / "releases/r1.md").write_text("+++\ntitle = 'broken\n+++\n")
    result = invoke(lws, "schedule", "releases/r1.md")
    assert result.exit_code == 1
    assert ledger_rows(lws) == before


@time_machine.travel(NOW, tick=False)
def test_unschedule_cancels_what_is_pending_only(lws: Path) -> None:
    mail(lws)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    db = sqlite3.connect(lws / ".distribute/state.db")
    with db:
        db.execute("UPDATE deliveries SET state = 'sent' WHERE target = 'r0@example.org'")
    result = invoke(lws, "unschedule", "r1")
    assert result.exit_code == 0 and "r1: 2 pending deliveries cancelled" in result.stdout
    assert states(ledger_rows(lws)) == {"sent": 1, "cancelled": 2}
    assert invoke(lws, "unschedule", "releases/r1.md").stdout.startswith("r1: 0 pending")
    assert invoke(lws, "unschedule", "nope").exit_code == 2


@time_machine.travel(NOW, tick=False)
def test_status_json_lists_releases_channels_counts_and_deliveries(lws: Path) -> None:
    mail(lws)
    post(lws)
    write_release(lws, "r1")
    assert invoke(lws, "status").stdout == "nothing scheduled\n"
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    data = json.loads(invoke(lws, "status", "--json").stdout)
    (release,) = data["releases"]
    assert release["release_id"] == "r1" and release["incomplete"] is False
    channels = {c["channel"]: c for c in release["channels"]}
    assert channels["social"]["counts"] == {"pending": 3} and channels["social"]["adapter"] == "looppost"
    assert [i["label"] for i in channels["social"]["items"]] == ["post 1/3", "post 2/3", "post 3/3"]
    assert invoke(lws, "status", "releases/r1.md", "--json").stdout == invoke(lws, "status", "--json").stdout


def test_schema_is_versioned_and_migrating_again_changes_nothing(lws: Path) -> None:
    url = Workspace(lws / "config.toml").database_url
    ledger = Ledger(url)
    assert migrate(ledger.engine) == 6
    assert migrate(ledger.engine) == 6
    db = sqlite3.connect(lws / ".distribute/state.db")
    assert [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")] == [1, 2, 3, 4, 5, 6]
    tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"feed_items", "ledger_releases", "deliveries", "delivery_attempts", "scheduled_secrets"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@time_machine.travel(NOW, tick=False)
def test_schedule_refuses_a_release_a_channel_cannot_carry(lws: Path) -> None:
    write_channel(
        lws,
        "mastodon",
        'adapter = "mastodon"\ninstance = "http://127.0.0.1:9"\ntoken = { env = "MASTODON_TOKEN" }\nlimit = 100\n',
    )
    write_release(lws, "r1", extra='[channel.mastodon]\ntext = "' + "A sentence that goes on. " * 12 + '"')
    result = invoke(lws, "schedule", "releases/r1.md")
    assert result.exit_code == 1 and "releases/r1.md:7: [channel.mastodon] text is" in result.stderr
    assert not (lws / ".distribute/state.db").exists() or ledger_rows(lws) == []


def test_one_clock_writes_and_reads_the_ledger_and_the_archive_stamps() -> None:
    # clock.py is the one place instants become text and back: the ledger keeps microseconds,
    # the feed archive whole seconds; both are fixed-width UTC, so they order as text.
    from zoneinfo import ZoneInfo

    when = dt.datetime(2025, 6, 30, 9, 0, 1, 500, tzinfo=ZoneInfo("Asia/Seoul"))
    assert clock.stamp(when) == "2025-06-30T00:00:01.000500Z"
    assert clock.stamp_seconds(when) == "2025-06-30T00:00:01Z"
    assert clock.parse(clock.stamp(when)) == when
    assert clock.instant(clock.stamp_seconds(when)) == when.replace(microsecond=0)
    assert clock.parse("") is None
    with pytest.raises(ValueError, match="naive"):
        clock.stamp_seconds(dt.datetime(2025, 6, 30))
    with time_machine.travel(when, tick=False):
        assert clock.now() == when


@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_a_ledger_stamp_is_the_fixed_width_text_it_always_was(naive: dt.datetime, offset: int) -> None:
    # stamp() is made by isoformat for speed; rows written before must still compare with new ones as text.
    when = naive.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
    assert clock.stamp(when) == when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_claim_looks_its_rows_up_by_key_however_many_are_pending(lws: Path) -> None:
    # The claim UPDATE once walked every pending row to match its few ids (18 ms a claim with
    # 100,000 pending): its plan must find them by primary key, whatever the list's length.
    mail(lws, count=60)
    write_release(lws, "r1")
    with traced() as statements:  # from before the first command opens the ledger
        assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
        invoke(lws, "send", "--due")  # nothing listens on port 9: every message ends in doubt, claimed all the same
    claims = [s for s in statements if " ".join(s.split()).startswith("UPDATE deliveries SET state = 'claimed'")]
    assert claims, "the send claimed nothing?"
    with sqlite3.connect(lws / ".distribute" / "state.db") as db:
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + claims[0])]
    outer = [step for step in plan if step.startswith(("SCAN deliveries", "SEARCH deliveries"))]
    assert outer == ["SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"], plan


def test_a_hand_over_rewrites_few_pages_and_no_statement_walks_the_ledger(lws: Path) -> None:
    # At 4 connections a send is paced by its hand-over commits: each is flushed to disk with every
    # page it changed. Indexes that the claimed -> sending -> sent steps rewrite made that 12 pages;
    # the partial indexes of migration 6 leave 6-8. And no statement of schedule, send, status or
    # the cron check may scan the whole deliveries table.
    from distribute.adapters.base import Receipt
    from distribute.ledger.sql import ANY_READY, HOLDERS
    from distribute.ledger.store import Result, new_token

    mail(lws, count=200)
    write_release(lws, "r1")
    write_release(lws, "r2")
    db = lws / ".distribute" / "state.db"
    with traced() as statements:  # from before the first command opens the ledger
        assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
        ledger, now, token = Ledger(f"sqlite:///{db}"), dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), new_token()
        rows = ledger.claim("r1", "newsletter", 40, now, token, 300)
        wal = Path(f"{db}-wal")

        def frames() -> int:
            return (wal.stat().st_size - 32) // (4096 + 24) if wal.exists() else 0

        written: list[int] = []
        done: list[Result] = []
        for i in range(0, 40, 4):
            before = frames()
            ledger.hand_over(rows[i : i + 4], token, done, now)
            written.append(frames() - before)
            stamp = clock.stamp(now)
            done = [Result(r, "sent", stamp, receipt=Receipt(remote_id=f"<{r.id}@x>")) for r in rows[i : i + 4]]
        assert max(written[1:]) <= 8, written  # the first has no outcomes to write
        for args in (("schedule", "releases/r2.md", "--late"), ("status",), ("status", "releases/r2.md")):
            assert invoke(lws, *args).exit_code == 0
        invoke(lws, "send", "--due")  # nothing listens on port 9: the messages end in doubt, after every statement ran
    kinds = ("SELECT", "UPDATE", "WITH", "INSERT")
    checked = [s for s in statements if "deliveries" in s and s.lstrip().upper().startswith(kinds)]
    checked += [ANY_READY.replace(":now", "'2030-01-01'"), HOLDERS]
    assert len(checked) > 10
    with sqlite3.connect(db) as conn:
        for sql in dict.fromkeys(checked):
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            assert not [p for p in plan if p.startswith("SCAN d") and "INDEX" not in p], (sql, plan)


def test_a_hand_over_in_one_statement_leaves_the_same_rows_as_row_by_row(
    lws: Path, plugin_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the send loop writes a hand-over (outcomes, attempts, marks) as one INSERT of a JSON
    # document into a TEMP view whose triggers write it (one step: fewer GIL hand-backs for the ledger
    # thread); an SQLite without JSON takes the statements row by row. A refused mark (the row taken
    # over) undoes the one step whole and takes the row-by-row way. Every column must come out the same.
    from distribute.ledger import store

    config = lws / "config.toml"
    written = {}
    with traced() as statements:
        with mail_sink() as sink, statuses_server() as api:
            for one_step, db in ((True, "state.db"), (False, "rowwise.db")):
                monkeypatch.setattr(store, "_ONE_STEP", one_step)
                text = config.read_text().replace('".distribute/state.db"', f'".distribute/{db}"')
                config.write_text(text)
                schedule_mail_and_thread(lws, sink, api, 6)
                statements.clear()
                written[one_step] = outcomes_written(f"sqlite:///{lws / '.distribute' / db}")
                used = [s for s in statements if "json_each" in s]
                assert bool(used) == one_step, used  # each run took the path it was meant to
    assert written[True] == written[False]
    rows, attempts = written[True]
    assert {r[1] for r in rows} >= {"sent", "pending", "in_doubt", "failed", "sending"} and len(attempts) == 4


def test_a_gated_run_commits_the_marks_of_every_connection_back_in_one_transaction(lws: Path) -> None:
    # A gated send (SMTP) commits each connection's next mark with the outcome before it, on the
    # transport's own thread: nothing is written until the run says so (every connection it marked is
    # back, or nothing is left to do), then all that waits goes in one transaction (one Future).
    from distribute.adapters.base import Receipt
    from distribute.ledger.store import Result, new_token
    from distribute.send.channel_run import InlineMarker, MarkGate

    mail(lws, count=8)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    ledger, now, token = Ledger(f"sqlite:///{lws / '.distribute' / 'state.db'}"), clock.now(), new_token()
    rows = ledger.claim("r1", "newsletter", 8, now, token, 300)

    def on_disk() -> dict[int, str]:  # read by another connection: what a crash would leave
        return {r["id"]: r["state"] for r in ledger_rows(lws, "r1")}

    def sent(row):  # type: ignore[no-untyped-def]
        return Result(row, "sent", clock.stamp(now), receipt=Receipt(remote_id=f"<{row.id}@x>"))

    marker = InlineMarker(ledger, token)
    first = marker.add(rows[:2], [], now)
    assert marker.ready() and not first.done() and on_disk()[rows[0].id] == "claimed"  # nothing owed, not yet written
    marker.flush()
    assert first.result(timeout=0) == {rows[0].id, rows[1].id} and on_disk()[rows[0].id] == "sending"
    # Connection 1 comes back (its outcome, its next mark); connection 2 is still owed: not ready.
    early = marker.add([rows[2]], [sent(rows[0])], now)
    assert not marker.ready()
    late = marker.add([rows[3]], [sent(rows[1])], now)
    assert early is late and marker.ready()  # one transaction for both, due now
    marker.flush()
    assert late.result(timeout=0) == {rows[2].id, rows[3].id}
    assert [on_disk()[r.id] for r in rows[:4]] == ["sent", "sent", "sending", "sending"]
    # An outcome that comes before its gate is decided (a refusal at RCPT) asks the gate: it commits first.
    alone = marker.add([rows[4]], [sent(rows[2])], now)
    assert not marker.ready()  # rows[3] is still owed
    verdict: list[bool] = []
    asking = threading.Thread(target=lambda: verdict.append(MarkGate(alone, rows[4].id, marker, bool).passed()))
    asking.start()
    asking.join(timeout=10)  # a gate that only waited would wait for ever: nobody else writes the marks
    assert verdict == [True] and alone.done()
    assert on_disk()[rows[4].id] == "sending"
    # An outcome written elsewhere (in a claim's transaction) is owed no more.
    marker.settled(1)  # rows[3]'s
    marker.add([], [sent(rows[4])], now)
    assert marker.ready()
    marker.close()  # the end of the run writes what waits
    assert [on_disk()[r.id] for r in rows[:6]] == ["sent", "sent", "sent", "sending", "sent", "claimed"]
