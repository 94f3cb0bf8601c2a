"""A send you can follow: preflight refusals, reasons in the summary, in doubt until resolved, CLI conventions.

Through the real command line, against the loopback SMTP (aiosmtpd) and Mastodon servers, on a
real SQLite ledger; time pinned with time-machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import time_machine

from conftest import ROOT
from email_servers import smtp_server
from social_servers import MastodonServer
from social_support import set_keys, wire

NOW = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.timezone.utc)  # 09:00 KST
RELEASE = "releases/2025-06-30-nato-summit-brief.md"
RID = "2025-06-30-nato-summit-brief"
KEY = "k3y-for-unsubscribe-tokens-0123456789"
SCHEMAS = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def states(ws: Path, channel: str | None = None) -> dict[str, int]:
    db = sqlite3.connect(ws / ".distribute" / "state.db")
    try:
        where, args = (" WHERE channel = ?", (channel,)) if channel else ("", ())
        return dict(db.execute(f"SELECT state, COUNT(*) FROM deliveries{where} GROUP BY state", args).fetchall())
    finally:
        db.close()


def smtp_newsletter(ws: Path, port: int) -> None:
    path = ws / "channels" / "newsletter.toml"
    set_keys(path, transport="smtp")
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = 1\ntimeout = 5\n')


def check(kind: str, document: Any) -> None:
    jsonschema.validate(document, SCHEMAS[kind])


# -- 1. preflight ----------------------------------------------------------------------------


def test_a_channel_without_its_token_is_refused_whole_and_stays_pending(
    workspace: Path, cli, monkeypatch, clock
) -> None:  # type: ignore[no-untyped-def]
    with MastodonServer() as server:
        wire(workspace, monkeypatch, "mastodon", server.url)
        monkeypatch.delenv("MASTODON_TOKEN")
        result = cli("send", RELEASE, "--late", "-c", "mastodon", "-c", "wire-desk")
        assert result.exit_code == 3, result.output
        assert (
            f"error: mastodon: needs the environment variable MASTODON_TOKEN (release {RID}) — nothing of it was "
            "sent; 1 delivery stays pending" in result.stderr
        )
        assert "wire-desk: 3 sent to wire/" in result.output
        assert server.count("POST /api/v1/statuses") == 0 and server.count("GET /api/v2/instance") == 0
        assert states(workspace, "mastodon") == {"pending": 1}  # not a permanent FAILED row
        assert states(workspace, "wire-desk") == {"sent": 3}

        # The first run that has the token sends it.
        monkeypatch.setenv("MASTODON_TOKEN", MastodonServer.token)
        again = cli("send", "--due", "-v")
        assert again.exit_code == 0, again.output
        assert len(server.statuses) == 1 and states(workspace, "mastodon") == {"sent": 1}
        assert f"{RID} mastodon: 1 sent — http" in again.output


def test_smtp_without_the_unsubscribe_key_is_refused_up_front_while_maildir_sends(
    workspace: Path, cli, monkeypatch, clock
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("UNSUBSCRIBE_KEY", raising=False)
    with smtp_server() as sink:
        smtp_newsletter(workspace, sink.port)
        scheduled = cli("schedule", RELEASE, "--late", "-c", "newsletter", "-c", "press-list")
        assert scheduled.exit_code == 0, scheduled.output
        # Said per transport, up front: SMTP will not send without it, maildir sends as it is.
        assert (
            "newsletter: cannot send from here: needs the environment variable UNSUBSCRIBE_KEY (unsubscribe_key: "
            "transport smtp sends no placeholder unsubscribe links)" in scheduled.stderr
        )
        assert "note: press-list sends as it is, without environment variable UNSUBSCRIBE_KEY" in scheduled.stderr
        result = cli("send", "--due")
        assert result.exit_code == 3, result.output
        assert "error: newsletter: needs the environment variable UNSUBSCRIBE_KEY" in result.stderr
        assert "4 deliveries stay pending" in result.stderr
        assert len(sink.messages) == 0 and sink.connections == 0
        assert states(workspace, "newsletter") == {"pending": 4}
        assert states(workspace, "press-list") == {"sent": 3}

        monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
        assert cli("send", "--due").exit_code == 0
        assert len(sink.messages) == 4 and states(workspace, "newsletter") == {"sent": 4}


# -- 2. the run says why ----------------------------------------------------------------------


def test_the_summary_gives_the_reasons_verbatim_and_who_retries_when(workspace: Path, cli, monkeypatch, clock) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    rules = {"jane.smith@example.com": "550", "pat.obrien@example.net": "451"}
    with smtp_server(rules) as sink:
        smtp_newsletter(workspace, sink.port)
        result = cli("send", RELEASE, "--late", "-c", "newsletter")
        assert result.exit_code == 3, result.output
        err = result.stderr
        assert "newsletter: 2 sent to 127.0.0.1:" in err and ", 1 failed, 1 to retry" in err
        assert "  failed: to Jane Smith <jane.smith@example.com>: " in err and "550 5.1.1 no such user here" in err
        assert "  to retry: " in err and "451 4.2.1 mailbox busy, try later" in err
        line = next(ln for ln in err.splitlines() if "retried by" in ln)
        # The first retry after backoff = 30 s, half of it random: 09:00:15 to 09:00:30 KST.
        assert line.startswith(
            "  retried by the worker or the next `distribute send --due` at 2026-12-02 09:00 KST (00:00 UTC)"
        )
        assert 15 <= int(line.split("(in ")[1].split(" s)")[0]) <= 30
        assert f"2 sent, 1 to retry later, 1 failed (details: distribute status {RID})" in err
        assert len(sink.messages) == 2

        as_json = cli("send", "--due", "--json")  # nothing due yet: a valid document all the same
        check("send", json.loads(as_json.stdout))


def test_many_failures_show_the_first_few_and_where_the_rest_are(workspace: Path, cli, monkeypatch, clock) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    lst = workspace / "lists" / "newsletter.csv"
    lst.write_text("email,name\n" + "".join(f"r{i}@example.org,R {i}\n" for i in range(6)), encoding="utf-8")
    with smtp_server({f"r{i}@example.org": "550" for i in range(5)}) as sink:
        smtp_newsletter(workspace, sink.port)
        result = cli("send", RELEASE, "--late", "-c", "newsletter", "--json")
        assert result.exit_code == 3
        failed = [ln for ln in result.stderr.splitlines() if ln.startswith("  failed:")]
        assert [ln.split(": ")[1] for ln in failed] == [f"to R {i} <r{i}@example.org>" for i in range(3)]
        assert all("550 5.1.1 no such user here" in ln for ln in failed)
        assert f"  … 2 more: distribute status {RID}" in result.stderr
        document = json.loads(result.stdout)
        check("send", document)
        (channel,) = document["channels"]
        assert (channel["sent"], channel["failed"], len(channel["problems"])) == (1, 5, 3)
        assert all("550 5.1.1 no such user here" in p["error"] for p in channel["problems"])
        assert document["exit_code"] == 3


# -- 3. in doubt stays visible until resolved -------------------------------------------------


def crash_in_the_servers_hands(ws: Path, channel: str) -> None:
    """As a process on this host that died while handing the channel over leaves it."""
    db = sqlite3.connect(ws / ".distribute" / "state.db")
    with db:
        db.execute(
            "UPDATE deliveries SET state = 'sending', claim_token = 't', claimed_by = ? WHERE channel = ?",
            (f"{os.uname().nodename} 999999999 1", channel),
        )
    db.close()


def test_in_doubt_is_named_by_every_run_until_resolved(workspace: Path, cli, clock) -> None:  # type: ignore[no-untyped-def]
    assert cli("schedule", RELEASE, "--late", "-c", "newsletter", "-c", "press-list").exit_code == 0
    crash_in_the_servers_hands(workspace, "newsletter")
    first = cli("send", RELEASE, "--late", "-c", "newsletter", "-c", "press-list")
    assert first.exit_code == 3, first.output
    assert "4 deliveries interrupted by an earlier crash are IN DOUBT" in first.stderr
    assert f"{RID}: 4 deliveries are IN DOUBT" in first.stderr

    for args in (("send", RELEASE, "--late", "-c", "newsletter", "-c", "press-list"), ("send", "--due")):
        later = cli(*args)
        if args[1] == "--due":  # nothing due: cron stays quiet (the fast path answers the same)
            assert later.exit_code == 4 and later.stderr == ""
            continue
        assert later.exit_code == 3, later.output
        assert "nothing left to send" in later.stderr
        assert (
            f"{RID}: 4 deliveries are IN DOUBT (an earlier run stopped while they were in the server's hands"
            in later.stderr
        )
        assert f"`distribute resolve {RID} --sent` (or `--failed`)" in later.stderr
        assert "--resend-in-doubt" in later.stderr

    status = cli("status", RID, "--json")
    (entry,) = json.loads(status.stdout)["releases"]
    assert entry["in_doubt"] == 4
    check("status", json.loads(status.stdout))

    db = sqlite3.connect(workspace / ".distribute" / "state.db")
    (key,) = db.execute(
        "SELECT key FROM deliveries WHERE target LIKE 'jane.smith%' AND channel = 'newsletter'"
    ).fetchone()
    db.close()
    one = cli("resolve", RID, "--failed", key)
    assert one.exit_code == 0 and one.stdout == f"{RID}: 1 delivery in doubt marked failed\n"
    assert cli("resolve", RID, "--sent", "no/such/key").exit_code == 1
    rest = cli("resolve", RID, "--sent")
    assert rest.exit_code == 0 and rest.stdout == f"{RID}: 3 deliveries in doubt marked sent\n"
    assert states(workspace, "newsletter") == {"sent": 3, "failed": 1}
    assert cli("resolve", RID, "--sent").exit_code == 4
    # Marked failed, it is a failed delivery like any other: sending the release again sends it (only it).
    done = cli("send", RELEASE, "--late", "-c", "newsletter", "-c", "press-list")
    assert done.exit_code == 0 and "IN DOUBT" not in done.stderr, done.output
    assert done.stdout.splitlines()[0] == "newsletter: 1 sent to maildir/newsletter"
    assert len(list((workspace / "maildir" / "newsletter" / "new").iterdir())) == 1
    assert cli("send", RELEASE, "--late", "-c", "newsletter").exit_code == 4


# -- 7. command line conventions --------------------------------------------------------------


def test_global_options_work_after_the_command(workspace: Path, tmp_path: Path, monkeypatch, clock) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from distribute.cli import cli as command
    from distribute.errors import UsageError

    config = str(workspace / "config.toml")
    monkeypatch.chdir(tmp_path)  # not the workspace: only --config can find it
    runner = CliRunner()
    assert runner.invoke(command, ["schedule", str(workspace / RELEASE), "--late", "--config", config]).exit_code == 0
    status = runner.invoke(command, ["status", "--config", config])
    assert status.exit_code == 0 and RID in status.stdout
    shown = runner.invoke(command, ["status", RID, f"--config={config}", "-v", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["releases"][0]["release_id"] == RID
    broken = runner.invoke(command, ["status", "--config", str(tmp_path / "none.toml")])
    assert broken.exit_code == 2 and "none.toml: no such file" in broken.stderr
    traced = runner.invoke(command, ["status", "--config", str(tmp_path / "none.toml"), "--traceback"])
    assert isinstance(traced.exception, UsageError)  # --traceback after the command: the error is raised


def test_cron_takes_global_options_after_send_too(workspace: Path, tmp_path: Path) -> None:
    from distribute.send.cron import nothing_due

    config = str(workspace / "config.toml")
    os.chdir(tmp_path)
    try:
        assert nothing_due(["send", "--due", "--config", config, "-v"])  # no ledger yet: nothing due, quickly
        assert not nothing_due(["send", "--due", "--config", config, "--resend-in-doubt"])
    finally:
        os.chdir(workspace)


def test_status_of_an_unknown_release_says_so(workspace: Path, cli, clock) -> None:  # type: ignore[no-untyped-def]
    assert cli("schedule", RELEASE, "--late").exit_code == 0
    result = cli("status", "nix-da")
    assert result.exit_code == 2
    assert "error: no release 'nix-da' in the ledger" in result.stderr and "nothing scheduled" not in result.output


def test_json_shapes_of_validate_schedule_send_and_status(workspace: Path, cli, monkeypatch, clock) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    validate = cli("validate", RELEASE, "--json")
    assert validate.exit_code == 0, validate.output
    check("validate", json.loads(validate.stdout))
    dry = cli("send", RELEASE, "--dry-run", "--outbox", "outbox", "--json")
    assert dry.exit_code == 0
    document = json.loads(dry.stdout)
    check("dry_run", document)
    assert {c["channel"]: c["deliveries"] for c in document["channels"]}["newsletter"] == 4
    scheduled = cli("schedule", RELEASE, "--late", "--json")
    assert scheduled.exit_code == 0
    check("schedule", json.loads(scheduled.stdout))
    due_dry = cli("send", "--due", "--dry-run", "--json")
    check("due_dry_run", json.loads(due_dry.stdout))
    assert sum(d["deliveries"] for d in json.loads(due_dry.stdout)["due"]) == 14  # with the Korean wire desk
    sent = cli("send", "--due", "--json")
    assert sent.exit_code == 0
    document = json.loads(sent.stdout)
    check("send", document)
    assert document["sent"] == 14 and {c["channel"]: c["where"] for c in document["channels"]}["wire-desk"] == "wire/"
    status = cli("status", "--json")
    check("status", json.loads(status.stdout))


def test_every_help_shows_an_example_and_the_exit_codes_of_the_readme(cli) -> None:  # type: ignore[no-untyped-def]
    from distribute.cli import COMMANDS
    from distribute.cli.common import EXIT_CODES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme, f"README's exit code table lacks {code}: {meaning}"
    for name in COMMANDS:
        text = cli(name, "--help").output
        assert "Examples:" in text and f"distribute {name}" in text, name
        assert "Exit codes:" in text and f"0  {EXIT_CODES[0]}" in text, name


def test_the_worker_does_not_spin_on_a_refused_channel(workspace: Path, cli, monkeypatch, clock) -> None:  # type: ignore[no-untyped-def]
    from distribute.send.worker import REFUSED_RETRY, Worker
    from distribute.workspace.config import Workspace

    with MastodonServer() as server:
        wire(workspace, monkeypatch, "mastodon", server.url)
        monkeypatch.delenv("MASTODON_TOKEN")
        assert cli("schedule", RELEASE, "--at", "now", "-c", "mastodon", "-c", "wire-desk").exit_code == 0
        clock.shift(dt.timedelta(minutes=10))  # both due (mastodon at +5m)
        worker = Worker(Workspace.discover(str(workspace / "config.toml")), "w", poll=1)
        worker.dispatch()  # wire-desk goes, mastodon is refused by the preflight
        report = worker.last_report
        assert report is not None and report.sent == 3 and len(report.refused) == 1
        assert worker.next_wake() <= dt.datetime.now(dt.timezone.utc)  # the refused row is due now ...
        assert worker.wake_at() >= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=REFUSED_RETRY)  # ... later
        assert states(workspace, "mastodon") == {"pending": 1} and server.count("POST /api/v1/statuses") == 0
