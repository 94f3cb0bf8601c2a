"""`schedule` books entries (`Adapter.entries`: key, lock, label; no payload) through `Ledger.stage(rows, shared)`.

The fast path must book exactly what the careful one would: the rows of each delivery `render` gives,
numbered per language, with its channel's due time, as a row-by-row booking records them. Checked on a
release with a translation, a channel asking for a language the release lacks, two lists sharing a
recipient, per-reader languages, duplicates, a suppressed address and a bad address line; then sent, so
dispatch's hash check accepts every row booked the fast way.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, copy_example_workspace
from email_support import set_keys, write_list
from ledger_support import invoke

KEY = "k3y-for-the-entries-tests-0123456789"
PUBLISH = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
BEFORE, AFTER = PUBLISH - dt.timedelta(days=1), PUBLISH + dt.timedelta(hours=2)

NEWSLETTER = """\
email,name,organization,language
kim.minji@example.org,김민지,Korea Defense Daily,ko
jane.smith@example.com,Jane Smith,Institute for Alliance Studies,en
both@example.org,"O'Brien, Pat",A & B <Co>,
not an address,Nobody,,
park@example.org,박지우,,ko-KR
JANE.SMITH@example.com,Jane Again,,
fr@example.org,Fr Reader,,fr
unsubscribed@example.org,Gone,,
"""
PRESS = """\
email,name,outlet
desk@herald.example.com,News Desk,The Herald
both@example.org,Pat O'Brien,Brussels Wire
bad@@example.org,Bad,
"""
COLUMNS = "key, release_id, channel, adapter, target, part, label, after_key, seq, generation, state, due, "
COLUMNS += "not_before, next_attempt, attempts, sha256, created_at, updated_at"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example workspace with the lists of this file, the unsubscribe key set."""
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    ws = copy_example_workspace(tmp_path / "ws")
    set_keys(
        ws, "newsletter", f'recipients = "{write_list(ws, "news.csv", NEWSLETTER)}"\nlanguages = ["en", "ko", "fr"]'
    )
    set_keys(ws, "press-list", f'recipients = "{write_list(ws, "press-entries.csv", PRESS)}"')
    (ws / "lists" / "suppressed.csv").write_text("unsubscribed@example.org\n", encoding="utf-8")
    return ws


def booked(ws: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        return db.execute(f"SELECT {COLUMNS} FROM deliveries ORDER BY channel, seq").fetchall()


def careful(ws: Path, now: dt.datetime) -> list[tuple[object, ...]]:
    """The rows a row-by-row booking records: each rendered delivery, as the ledger keeps it."""
    from distribute import clock
    from distribute.plan import plan
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    workspace = Workspace(ws / "config.toml")
    release = load_release(ws / EXAMPLE_RELEASE, workspace)
    rows = []
    for p in plan(workspace, release):
        due = clock.stamp(p.due)
        not_before = clock.stamp(release.embargo) if p.public and release.embargo else None
        for seq, d in p.numbered(clock.parse(due)):
            assert (d.release_id, d.channel, d.adapter) == (release.id, p.channel.name, p.adapter.name)
            rows.append(
                (d.key, d.release_id, d.channel, d.adapter, d.target, d.part, d.label, d.after, seq, 1, "pending")
                + (due, not_before, due, 0, d.sha256, clock.stamp(now), clock.stamp(now))
            )
    return sorted(rows, key=lambda r: (str(r[2]), int(str(r[8]))))


def test_schedule_books_exactly_the_rows_of_the_rendered_deliveries(ws: Path) -> None:
    with time_machine.travel(BEFORE, tick=False):
        done = invoke(ws, "schedule", EXAMPLE_RELEASE)
        assert done.exit_code == 0, done.output
        expected = careful(ws, BEFORE)
    got = booked(ws)
    assert got == expected
    newsletter = [r for r in got if r[2] == "newsletter"]
    targets = sorted(str(r[4]) for r in newsletter)
    # Each reader once, in one language (the Korean readers in the ko block of seqs), the bad line, the
    # duplicate and the suppressed address left out; the recipient of both lists is booked on each.
    assert targets == sorted(
        ["kim.minji@example.org", "jane.smith@example.com", "both@example.org", "park@example.org", "fr@example.org"]
    )
    assert sorted(int(str(r[8])) // 100_000_000 for r in newsletter) == [0, 0, 0, 1, 1]
    assert {str(r[4]) for r in got if r[2] == "press-list"} == {"desk@herald.example.com", "both@example.org"}
    assert {r[2] for r in got} >= {"newsletter", "press-list", "rss", "wire-desk", "wire-desk-ko"}


def test_rows_booked_the_fast_way_are_sent_and_a_second_schedule_books_them_again_unchanged(ws: Path) -> None:
    # Dispatch re-renders and checks each row's hash: rows booked from entries must all pass it.
    with time_machine.travel(BEFORE, tick=False):
        assert invoke(ws, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").exit_code == 0
        first = booked(ws)
        assert invoke(ws, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").exit_code == 0
    again = booked(ws)
    assert [r[:10] + r[11:16] for r in again] == [r[:9] + (2,) + r[11:16] for r in first]
    with time_machine.travel(AFTER, tick=False):
        assert invoke(ws, "send", "--due").exit_code == 0
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        states = db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
    assert states == [("sent", len(first))]
