"""Release-day safety through the command line: a publish time in the past, an edited release, a kept --at."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import time_machine

from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink
from ledger_support import invoke, ledger_rows, states, write_channel, write_release

UTC = dt.timezone.utc
# "Today" in these tests: 2026-12-02 09:00 KST. A release dated 2025-11-01 is a year typo.
TODAY = dt.datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
TYPO = "2025-11-01T09:00:00"  # local: the config timezone is Asia/Seoul


@pytest.fixture
def sink():
    with mail_sink() as s:
        yield s


def newsletter(ws: Path, sink, count: int = 3) -> None:  # type: ignore[no-untyped-def]
    write_channel(ws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = {count}\n')


def scheduled_publish_at(ws: Path, release_id: str) -> str | None:
    with sqlite3.connect(ws / ".distribute/state.db") as conn:
        (value,) = conn.execute("SELECT publish_at FROM ledger_releases WHERE release_id = ?", (release_id,)).fetchone()
    return value


# --- 2. a publish time in the past -------------------------------------------------------------


def test_validate_warns_of_a_publish_time_in_the_past_saying_how_long_ago(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    write_release(lws, "typo", publish_at=TYPO)
    write_release(lws, "morning", publish_at="2026-12-02T04:00:00")  # 5 hours before "now"
    write_release(lws, "recent", publish_at="2026-12-02T08:00:00")  # an hour ago: no fuss
    with time_machine.travel(TODAY, tick=False):
        result = invoke(lws, "validate", "releases/typo.md", "releases/morning.md", "releases/recent.md")
    assert result.exit_code == 0, result.output  # a warning, not an error
    assert (
        "releases/typo.md:5: warning: publish_at 2025-11-01 09:00 KST (00:00 UTC) is 13 months in the past; "
        "a typo for 2026?"
    ) in result.stderr
    assert "--at now" in result.stderr and "--late" in result.stderr
    assert (
        "releases/morning.md:5: warning: publish_at 2026-12-02 04:00 KST (2026-12-01 19:00 UTC) is 5 hours in "
        "the past." in result.stderr
    )
    assert "recent.md" not in result.stderr
    assert sink.messages == []


def test_schedule_and_send_refuse_a_publish_time_over_a_day_past_and_write_nothing(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    write_release(lws, "typo", publish_at=TYPO)
    with time_machine.travel(TODAY, tick=False):
        scheduled = invoke(lws, "schedule", "releases/typo.md")
        sent = invoke(lws, "send", "releases/typo.md")
    assert scheduled.exit_code == 1 and sent.exit_code == 1
    assert scheduled.stderr.startswith(
        "error: releases/typo.md:5: publish_at 2025-11-01 09:00 KST (00:00 UTC) is 13 months in the past; "
        "a typo for 2026? Nothing was scheduled: correct publish_at, or add --at now to date it now, "
        "or --late to schedule it dated as written"
    )
    assert '[delivery] past_limit = "1d"' in scheduled.stderr
    assert "13 months in the past" in sent.stderr and "Nothing was sent" in sent.stderr and "--late" in sent.stderr
    assert not (lws / ".distribute/state.db").exists()  # nothing recorded, not even an empty ledger
    assert len(sink) == 0


def test_a_day_is_the_default_limit_and_past_limit_changes_it(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    write_release(lws, "yesterday", publish_at="2026-12-01T10:00:00")  # 23 hours before "now"
    write_release(lws, "lastweek", publish_at="2026-11-25T09:00:00")
    with time_machine.travel(TODAY, tick=False):
        assert invoke(lws, "schedule", "releases/yesterday.md").exit_code == 0
        refused = invoke(lws, "schedule", "releases/lastweek.md")
        assert refused.exit_code == 1 and "is 7 days in the past." in refused.stderr
        config = lws / "config.toml"
        config.write_text(config.read_text().replace("[delivery]\n", '[delivery]\npast_limit = "8d"\n'))
        assert invoke(lws, "schedule", "releases/lastweek.md").exit_code == 0
        config.write_text(config.read_text().replace('past_limit = "8d"', 'past_limit = "a week"'))
        bad = invoke(lws, "schedule", "releases/lastweek.md")
    assert bad.exit_code == 1 and "config.toml:" in bad.stderr and 'not a duration like "1d"' in bad.stderr


def test_late_and_at_now_confirm_a_past_release_and_send_due_keeps_what_was_scheduled(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    write_release(lws, "typo", publish_at=TYPO)
    write_release(lws, "old", publish_at=TYPO)
    write_release(lws, "ontime", publish_at="2025-11-01T09:00:00")
    with time_machine.travel(dt.datetime(2025, 10, 31, tzinfo=UTC), tick=False):
        assert invoke(lws, "schedule", "releases/ontime.md").exit_code == 0  # scheduled in time
    with time_machine.travel(TODAY, tick=False):
        # --late: as written (dated 2025-11-01), so due at once.
        late = invoke(lws, "schedule", "releases/typo.md", "--late")
        assert late.exit_code == 0, late.output
        assert {r["due"] for r in ledger_rows(lws, "typo")} == {"2025-11-01T00:00:00.000000Z"}
        # send --at now: dated now.
        now = invoke(lws, "send", "releases/old.md", "--at", "now")
        assert now.exit_code == 0, now.output
        assert scheduled_publish_at(lws, "old") == "2026-12-02T00:00:00.000000Z"
        # Rows scheduled in time still go when cron comes round late, as before.
        due = invoke(lws, "send", "--due")
    assert due.exit_code == 0, due.output
    assert "past" not in due.output + due.stderr
    assert states(ledger_rows(lws)) == {"sent": 9} and len(sink) == 9
    assert invoke(lws, "send", "releases/old.md", "--at", "tomorrow").exit_code == 2


def test_the_readme_command_confirms_the_dated_example(workspace: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (line,) = [ln for ln in readme.splitlines() if "distribute --config config.example.toml send " in ln]
    args = line.split(".venv/bin/distribute ", 1)[1].split()
    from click.testing import CliRunner

    from distribute.cli import cli

    (workspace / "config.example.toml").write_bytes((workspace / "config.toml").read_bytes())
    with time_machine.travel(TODAY, tick=False):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # It says where everything went, channel by channel (README: "says where everything went").
    assert result.stdout.splitlines() == [
        # the press list and the small channels first: journalists do not wait behind the newsletter
        "press-list: 3 sent to maildir/press-list",
        "rss: 1 sent to public/feed.xml, public/atom.xml",
        "wire-desk: 3 sent to wire/",
        "wire-desk-ko: 3 sent to wire-ko/",  # the Korean translation, for the Korean desks
        "newsletter: 4 sent to maildir/newsletter",  # each reader in their language (김민지: Korean)
        "14 sent",
    ]


# --- 7. an edited release is held; rescheduling keeps the user's --at ---------------------------


def test_status_shows_an_edited_release_as_held_and_how_to_reschedule(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    path = write_release(lws, "r1")
    with time_machine.travel(dt.datetime(2025, 6, 29, tzinfo=UTC), tick=False):
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
        write_release(lws, "r1", title="Edited after scheduling")
        text = invoke(lws, "status").stdout
        data = json.loads(invoke(lws, "status", "--json").stdout)
        command = f"distribute schedule {path.resolve()}"
        assert (
            "  ! HELD, nothing more of it goes out: release r1 changed since it was scheduled; "
            f"run `{command}` again" in text
        )
        assert "newsletter (loopmail), due 2025-06-30 09:00 KST (00:00 UTC): 3 held" in text
        assert "pending" not in text and text.count(": held (the release changed)") == 3
        (release,) = data["releases"]
        assert "changed since it was scheduled" in release["held"] and release["reschedule"] == command
        assert release["channels"][0]["held"] == 3
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
        again = json.loads(invoke(lws, "status", "--json").stdout)
        assert "HELD" not in invoke(lws, "status").stdout
    assert again["releases"][0]["held"] is None and again["releases"][0]["channels"][0]["held"] == 0


def test_scheduling_again_keeps_an_earlier_at_and_says_when_a_due_time_moves(lws: Path, sink) -> None:  # type: ignore[no-untyped-def]
    newsletter(lws, sink)
    write_release(lws, "r1")  # publish_at 2025-06-30 09:00 KST

    def dues() -> set[object]:
        return {r["due"] for r in ledger_rows(lws) if r["state"] == "pending"}

    with time_machine.travel(dt.datetime(2025, 6, 29, tzinfo=UTC), tick=False):
        assert invoke(lws, "schedule", "releases/r1.md", "--at", "2025-07-01 08:00").exit_code == 0
        assert dues() == {"2025-06-30T23:00:00.000000Z"}
        kept = invoke(lws, "schedule", "releases/r1.md")  # say, after fixing a typo in the body
        assert kept.exit_code == 0 and dues() == {"2025-06-30T23:00:00.000000Z"}
        assert "publish time 2025-07-01 08:00 KST (2025-06-30 23:00 UTC) kept from the earlier --at" in kept.stderr
        assert "was " not in kept.stdout
        moved = invoke(lws, "schedule", "releases/r1.md", "--at", "2025-07-02 08:00")
        assert moved.exit_code == 0 and dues() == {"2025-07-01T23:00:00.000000Z"}
        assert (
            "    due time moved: was 2025-07-01 08:00 KST (2025-06-30 23:00 UTC), "
            "now 2025-07-02 08:00 KST (2025-07-01 23:00 UTC)"
        ) in moved.stdout
        back = invoke(lws, "schedule", "releases/r1.md", "--at", "publish_at")
        assert back.exit_code == 0 and dues() == {"2025-06-30T00:00:00.000000Z"}
        assert "was 2025-07-02 08:00 KST (2025-07-01 23:00 UTC), now 2025-06-30 09:00 KST (00:00 UTC)" in back.stdout
        assert scheduled_publish_at(lws, "r1") is None
