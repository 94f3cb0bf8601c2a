"""Sign-off with a content lock (`distribute approve`, config `approvals = N`), through the command line.

The example workspace (email to Maildir folders, the feed, the wire drop) is the release under test:
what `--dry-run` would write is what an approval covers, and an edit of the release, a template, a
channel file or a recipient list voids it, naming what changed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import shutil
import sqlite3
from pathlib import Path

import jsonschema
import pytest
import time_machine
from click.testing import CliRunner

from distribute.cli import cli as command
from ledger_fixtures import *  # noqa: F403 (fixtures: plugin_site, postgres_url)
from ledger_postgres import pg_rows
from ledger_servers import wait_for
from ledger_support import WorkerProcess

UTC = dt.timezone.utc
RELEASE = "releases/2025-06-30-nato-summit-brief.md"
RID = "2025-06-30-nato-summit-brief"
ROOT = Path(__file__).resolve().parent.parent
APPROVED_AT = dt.datetime(2025, 6, 28, 5, 2, tzinfo=UTC)  # two days before publish_at (2025-06-30 09:00 KST)
LATER = dt.datetime(2025, 6, 29, 7, 30, tzinfo=UTC)  # scheduling happens on another day
DUE = dt.datetime(2025, 6, 30, 0, 1, tzinfo=UTC)  # a minute after publish_at


@pytest.fixture
def ws(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DISTRIBUTE_USER", "DISTRIBUTE_NOW", "UNSUBSCRIBE_KEY"):
        monkeypatch.delenv(name, raising=False)
    return workspace


def needs(ws: Path, n: int) -> None:
    """config.toml asks for n approvals."""
    config = ws / "config.toml"
    config.write_text(f"approvals = {n}\n" + config.read_text(encoding="utf-8"), encoding="utf-8")


def run(ws: Path, *args: str, at: dt.datetime = LATER, **env: str):  # type: ignore[no-untyped-def]
    """`distribute --config ws/config.toml ARGS` at the instant `at`, with extra environment variables."""
    with time_machine.travel(at, tick=False):
        return CliRunner().invoke(
            command, ["--config", str(ws / "config.toml"), *args], env=env or None, catch_exceptions=False
        )


def approve(ws: Path, name: str, *args: str, at: dt.datetime = APPROVED_AT, **env: str):  # type: ignore[no-untyped-def]
    result = run(ws, "approve", RELEASE, "--by", name, *args, at=at, **env)
    assert result.exit_code == 0, result.output
    return result


def version_of(approved) -> str:  # type: ignore[no-untyped-def]
    """The version an approval was of, as `approve` shows it (its text, or --json)."""
    if approved.stdout.startswith("{"):
        return str(json.loads(approved.stdout)["lock"][:12])
    return str(approved.stdout.splitlines()[1].split()[1].rstrip(":"))


def delivery_rows(ws: Path) -> list[tuple[str, str]]:
    db = ws / ".distribute" / "state.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, state FROM deliveries ORDER BY key").fetchall()


def mailed(ws: Path) -> list[Path]:
    """Messages the Maildir transports wrote (the newsletter and the press list)."""
    return [p for p in (ws / "maildir").rglob("*") if p.is_file() and p.parent.name == "new"]


# --- approve, then schedule ----------------------------------------------------------------------


def test_schedule_is_refused_until_approved_then_goes_through(ws: Path) -> None:
    needs(ws, 1)
    refused = run(ws, "schedule", RELEASE)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {RELEASE}: needs 1 approval of this version, has 0. Nothing was scheduled. "
        f"Run: distribute approve {RELEASE}, then this command again\n"
    )
    assert delivery_rows(ws) == []  # refused before a row was written

    done = approve(ws, "Ana Kim", "--note", "legal ok")
    assert done.stdout.splitlines() == [
        f"{RELEASE}: approved by Ana Kim, 2025-06-28 14:02 KST (05:02 UTC)",
        done.stdout.splitlines()[1],
        "  approvals of this version: 1 of 1 needed (Ana Kim); it may be scheduled and sent",
    ]
    assert "14 deliveries on 5 channels (newsletter 4, press-list 3, rss 1, wire-desk-ko 3, wire-desk 3)" in done.stdout

    scheduled = run(ws, "schedule", RELEASE)
    assert scheduled.exit_code == 0, scheduled.output
    assert len(delivery_rows(ws)) == 14


def test_approve_json_for_scripts(ws: Path) -> None:
    needs(ws, 2)
    schema = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))["approve"]
    document = json.loads(approve(ws, "Ana Kim", "--json", "--note", "ok").stdout)
    jsonschema.validate(document, schema)
    assert document["release"] == RID and document["name"] == "Ana Kim" and document["new"] is True
    assert document["approved_at"] == "2025-06-28T05:02:00.000000Z" and document["note"] == "ok"
    assert document["channels"] == {"newsletter": 4, "press-list": 3, "rss": 1, "wire-desk": 3, "wire-desk-ko": 3}
    assert document["approvals"] == {"required": 2, "approved": 1, "by": ["Ana Kim"]}
    status = json.loads(run(ws, "status", RELEASE, "--json").stdout)
    assert status["releases"][0]["approvals"]["lock"] == document["lock"]
    revoked = json.loads(run(ws, "approve", RELEASE, "--revoke", "--by", "Ana Kim", "--json").stdout)
    jsonschema.validate(revoked, schema)
    assert revoked == {"release": RID, "revoked": "Ana Kim", "approvals": 1}


def test_two_approvals_need_two_people_not_one_person_twice(ws: Path) -> None:
    needs(ws, 2)
    approve(ws, "Ana Kim")
    again = approve(ws, "ana  kim", at=APPROVED_AT + dt.timedelta(hours=1))
    assert "Ana Kim already approved this version, 2025-06-28 14:02 KST (05:02 UTC)" in again.stdout
    refused = run(ws, "schedule", RELEASE)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"error: {RELEASE}: needs 2 approvals of this version, has 1 (Ana Kim, 2025-06-28 14:02 KST / 05:02 UTC). "
        "Nothing was scheduled."
    )
    approve(ws, "Ben Li")
    assert run(ws, "schedule", RELEASE).exit_code == 0


def test_the_name_defaults_to_distribute_user_then_the_login_name_and_an_empty_one_is_refused(ws: Path) -> None:
    needs(ws, 2)
    by_env = run(ws, "approve", RELEASE, DISTRIBUTE_USER="Chris Park")
    assert by_env.exit_code == 0 and f"{RELEASE}: approved by Chris Park," in by_env.stdout
    by_login = run(ws, "approve", RELEASE)
    assert by_login.exit_code == 0 and f"{RELEASE}: approved by {getpass.getuser()}," in by_login.stdout
    empty = run(ws, "approve", RELEASE, "--by", "  ")
    assert empty.exit_code == 2
    assert empty.stderr == "error: who approves? the name is empty: give --by NAME, or set DISTRIBUTE_USER\n"


# --- what the lock covers ----------------------------------------------------------------------


def _body(ws: Path) -> str:
    path = ws / RELEASE
    path.write_text(path.read_text().replace("has published a new", "has just published a new"))
    return "the release's body"


def _title(ws: Path) -> str:
    path = ws / RELEASE
    path.write_text(path.read_text().replace('title = "Managing Decline?', 'title = "Managing a Decline?'))
    return "the release's title"


def _template(ws: Path) -> str:
    path = ws / "templates" / "email" / "press-list.txt.j2"
    path.write_text(path.read_text() + "\nA line the press list now gets.\n")
    return "press-list: template templates/email/press-list.txt.j2"


def _channel(ws: Path) -> str:
    path = ws / "channels" / "newsletter.toml"
    path.write_text(path.read_text().replace('subject = "{{ release.title }}"', 'subject = "New: {{ release.title }}"'))
    return "newsletter: subject in channels/newsletter.toml"


def _destination(ws: Path) -> str:
    # Nothing in the messages changes, but where they go does: that voids an approval too.
    path = ws / "channels" / "newsletter.toml"
    path.write_text(path.read_text().replace('maildir = "maildir/newsletter"', 'maildir = "maildir/other"'))
    return "newsletter: maildir in channels/newsletter.toml"


def _recipients(ws: Path) -> str:
    with open(ws / "lists" / "newsletter.csv", "a", encoding="utf-8") as f:
        f.write("new.reader@example.org,New Reader,\n")
    return "newsletter: recipient list lists/newsletter.csv (5 deliveries, was 4)"


@pytest.mark.parametrize(
    "edit", [_body, _title, _template, _channel, _destination, _recipients], ids=lambda f: f.__name__[1:]
)
def test_an_edit_after_approval_voids_it_and_the_refusal_names_what_changed(ws: Path, edit) -> None:  # type: ignore[no-untyped-def]
    needs(ws, 1)
    (ws / "templates" / "email").mkdir(parents=True)  # the workspace's own copy of a built-in template
    shutil.copy(ROOT / "templates" / "email" / "press-list.txt.j2", ws / "templates" / "email")
    approved = version_of(approve(ws, "Ana Kim"))
    changed = edit(ws)
    refused = run(ws, "schedule", RELEASE)
    assert refused.exit_code == 1
    now = version_of(approve(ws, "Ana Kim", "--json", at=LATER))  # (the new version, approved after the refusal)
    assert now != approved
    assert refused.stderr == (
        f"error: {RELEASE}: needs 1 approval of this version, has 0. Ana Kim (2025-06-28 14:02 KST / 05:02 UTC) "
        f"approved version {approved} (this one is {now}); changed since: {changed}. Nothing was scheduled. "
        f"Run: distribute approve {RELEASE}, then this command again\n"
    )
    assert delivery_rows(ws) == []
    assert run(ws, "schedule", RELEASE).exit_code == 0


def test_the_lock_depends_neither_on_secret_values_nor_on_the_time(ws: Path) -> None:
    needs(ws, 1)
    first = approve(ws, "Ana Kim")  # no UNSUBSCRIBE_KEY: the placeholder token
    # Another day, with the key set (real tokens in every message): the same version.
    again = approve(ws, "Ana Kim", at=LATER, UNSUBSCRIBE_KEY="k" * 32)
    other_key = approve(ws, "Ana Kim", at=DUE, UNSUBSCRIBE_KEY="z" * 32)
    version = first.stdout.splitlines()[1]
    assert again.stdout.splitlines()[1] == version == other_key.stdout.splitlines()[1]
    assert "already approved this version" in again.stdout and "already approved this version" in other_key.stdout
    scheduled = run(ws, "schedule", RELEASE, UNSUBSCRIBE_KEY="k" * 32)
    assert scheduled.exit_code == 0, scheduled.output
    # ... and no secret is kept with the approval.
    with sqlite3.connect(ws / ".distribute" / "state.db") as conn:
        stored = " ".join(str(v) for row in conn.execute("SELECT * FROM approvals") for v in row)
    assert "k" * 32 not in stored and "z" * 32 not in stored


def test_revoke_takes_an_approval_back(ws: Path) -> None:
    needs(ws, 1)
    approve(ws, "Ana Kim")
    revoked = run(ws, "approve", RELEASE, "--revoke", DISTRIBUTE_USER="Ana Kim")
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout == f"{RELEASE}: Ana Kim's approval revoked (1 approval of release {RID})\n"
    refused = run(ws, "schedule", RELEASE)
    assert refused.exit_code == 1
    assert "has 0. Revoked: Ana Kim (2025-06-29 16:30 KST / 07:30 UTC). Nothing was scheduled." in refused.stderr
    twice = run(ws, "approve", RELEASE, "--revoke", "--by", "Ana Kim")
    assert twice.exit_code == 1
    assert f"Ana Kim has no standing approval of release {RID} to revoke" in twice.stderr


def test_send_is_refused_before_anything_is_recorded_but_dry_run_and_preview_never_are(ws: Path) -> None:
    needs(ws, 1)
    sent = run(ws, "send", RELEASE, "--late")
    assert sent.exit_code == 1
    assert sent.stderr.startswith(f"error: {RELEASE}: needs 1 approval of this version, has 0. Nothing was sent.")
    assert delivery_rows(ws) == [] and mailed(ws) == []
    dry = run(ws, "send", RELEASE, "--dry-run", "--outbox", "outbox")
    assert dry.exit_code == 0, dry.output
    assert len(json.loads((ws / "outbox" / "manifest.json").read_text())["deliveries"]) == 14
    assert run(ws, "preview", RELEASE).exit_code == 0
    approve(ws, "Ana Kim")
    sent = run(ws, "send", RELEASE)
    assert sent.exit_code == 0, sent.output
    assert {state for _, state in delivery_rows(ws)} == {"sent"} and len(mailed(ws)) == 7


# --- at sending time ---------------------------------------------------------------------------


def test_send_due_refuses_a_release_whose_approval_was_revoked_after_scheduling_and_sends_nothing(ws: Path) -> None:
    needs(ws, 1)
    approve(ws, "Ana Kim")
    assert run(ws, "schedule", RELEASE).exit_code == 0
    assert run(ws, "approve", RELEASE, "--revoke", "--by", "Ana Kim").exit_code == 0
    due = run(ws, "send", "--due", at=DUE)
    assert due.exit_code == 1
    assert (
        f"error: release {RID} ({RELEASE}): needs 1 approval of this version, has 0. Revoked: Ana Kim "
        f"(2025-06-29 16:30 KST / 07:30 UTC). Nothing of it was sent. Run: distribute approve {RELEASE}; "
        "the next run sends it"
    ) in due.stderr
    assert {state for _, state in delivery_rows(ws)} == {"pending"} and mailed(ws) == []
    # The status says why, before release day.
    status = run(ws, "status", RID, at=DUE)
    assert "  approvals: 0 of 1 needed, of the version scheduled — not enough" in status.stdout
    assert (
        "    Ana Kim, 2025-06-28 14:02 KST (05:02 UTC) — revoked 2025-06-29 16:30 KST (07:30 UTC) by" in status.stdout
    )

    approve(ws, "Ana Kim", at=DUE)  # the same version again: the next run sends it all
    sent = run(ws, "send", "--due", at=DUE + dt.timedelta(minutes=1))
    assert sent.exit_code == 0, sent.output
    assert {state for _, state in delivery_rows(ws)} == {"sent"} and len(mailed(ws)) == 7


@pytest.mark.slow
def test_the_worker_refuses_an_unapproved_release_and_sends_nothing(ws: Path, plugin_site: Path) -> None:
    needs(ws, 1)
    now = dt.datetime.now(UTC)
    approve(ws, "Ana Kim", at=now)
    assert run(ws, "schedule", RELEASE, "--at", "now", at=now).exit_code == 0
    assert run(ws, "approve", RELEASE, "--revoke", "--by", "Ana Kim", at=now).exit_code == 0
    proc = WorkerProcess(ws, plugin_site, "--name", "approvals", "--poll", "0.2")
    try:
        wait_for(lambda: "needs 1 approval of this version, has 0" in proc.log, what="the worker's refusal")
    finally:
        code, log = proc.stop()
    assert code == 0, log
    assert f"release {RID} ({RELEASE}): needs 1 approval of this version, has 0. Revoked: Ana Kim" in log
    assert {state for _, state in delivery_rows(ws)} == {"pending"} and mailed(ws) == []


def test_status_shows_the_approvals_in_text_and_json(ws: Path) -> None:
    needs(ws, 2)
    approve(ws, "Ana Kim", "--note", "legal ok")
    approve(ws, "Ben Li")
    assert run(ws, "schedule", RELEASE).exit_code == 0
    text = run(ws, "status", RELEASE)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[1:4] == [
        "  approvals: 2 of 2 needed, of the version scheduled",
        "    Ana Kim, 2025-06-28 14:02 KST (05:02 UTC): “legal ok”",
        "    Ben Li, 2025-06-28 14:02 KST (05:02 UTC)",
    ]
    document = json.loads(run(ws, "status", RID, "--json").stdout)
    schemas = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schemas["status"])
    approvals = document["releases"][0]["approvals"]
    assert approvals["required"] == 2 and approvals["approved"] == 2 and approvals["by"] == ["Ana Kim", "Ben Li"]
    assert [(e["name"], e["approved_at"], e["note"], e["counts"]) for e in approvals["entries"]] == [
        ("Ana Kim", "2025-06-28T05:02:00.000000Z", "legal ok", True),
        ("Ben Li", "2025-06-28T05:02:00.000000Z", None, True),
    ]


def test_status_of_a_release_approved_but_not_scheduled_yet_shows_its_approvals(ws: Path) -> None:
    needs(ws, 2)
    approve(ws, "Ana Kim")
    text = run(ws, "status", RELEASE)
    assert text.exit_code == 0, text.output
    assert text.stdout == (
        f"{RID}  ({RELEASE}, not scheduled yet)\n"
        "  approvals: 1 of 2 needed, of the version in the file — not enough: schedule, send and the worker refuse it\n"
        "    Ana Kim, 2025-06-28 14:02 KST (05:02 UTC)\n"
    )
    _title(ws)  # an edit: the approval is of an earlier version now
    document = json.loads(run(ws, "status", RELEASE, "--json").stdout)
    schemas = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schemas["status"])
    (release,) = document["releases"]
    assert release["channels"] == [] and release["scheduled_at"] is None
    assert release["approvals"]["of"] == "file" and release["approvals"]["approved"] == 0
    assert [(e["name"], e["version"], e["counts"]) for e in release["approvals"]["entries"]] == [
        ("Ana Kim", "earlier", False)
    ]


# --- the ledger: an existing file, PostgreSQL ----------------------------------------------------


def test_a_ledger_of_schema_3_is_migrated_and_its_scheduled_release_waits_for_approval(ws: Path) -> None:
    # tests/ledgers/schema-v3.db: the example release scheduled (DISTRIBUTE_NOW=2025-06-29T00:00:00+00:00) by
    # the code before approvals (commit b8d3c0f, schema 3) in a copy of the example workspace at /tmp/v3ws.
    (ws / ".distribute").mkdir()
    db = ws / ".distribute" / "state.db"
    shutil.copy(Path(__file__).parent / "ledgers" / "schema-v3.db", db)
    # That example had no Korean translation yet: without it, this copy renders what was scheduled then.
    (ws / RELEASE).with_suffix(".ko.md").unlink()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (3,)
        conn.execute("UPDATE ledger_releases SET path = ?", (str(ws / RELEASE),))  # where this copy lives
    needs(ws, 1)
    due = run(ws, "send", "--due", at=DUE)
    assert due.exit_code == 1
    assert f"release {RID} ({RELEASE}): needs 1 approval of this version, has 0." in due.stderr
    with sqlite3.connect(db) as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [1, 2, 3, 4, 5, 6]
    assert len(delivery_rows(ws)) == 11 and mailed(ws) == []
    approve(ws, "Ana Kim", at=DUE)
    sent = run(ws, "send", "--due", at=DUE + dt.timedelta(minutes=1))
    assert sent.exit_code == 0, sent.output
    assert {state for _, state in delivery_rows(ws)} == {"sent"}


@pytest.mark.slow
def test_approvals_live_in_a_postgresql_ledger_too(ws: Path, postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    from distribute.ledger.tables import MIGRATIONS

    # A PostgreSQL ledger at schema 3, as the code before approvals left it.
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
        for version, _, migration in MIGRATIONS:
            if version <= 3:
                migration(conn)
                conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
    engine.dispose()
    config = ws / "config.toml"
    config.write_text(config.read_text().replace('database = ".distribute/state.db"', f'database = "{postgres_url}"'))
    needs(ws, 1)
    assert run(ws, "schedule", RELEASE).exit_code == 1
    approve(ws, "Ana Kim", "--note", "ok")
    assert run(ws, "schedule", RELEASE).exit_code == 0
    versions = pg_rows(postgres_url, "SELECT version FROM schema_version ORDER BY 1")
    assert [r["version"] for r in versions] == [1, 2, 3, 4, 5, 6]
    rows = pg_rows(postgres_url, "SELECT name, note, revoked_at FROM approvals")
    assert rows == [{"name": "Ana Kim", "note": "ok", "revoked_at": None}]
    assert len(pg_rows(postgres_url, "SELECT lock FROM scheduled_locks")) == 1
    assert run(ws, "approve", RELEASE, "--revoke", "--by", "Ana Kim").exit_code == 0
    due = run(ws, "send", "--due", at=DUE)
    assert due.exit_code == 1 and "Revoked: Ana Kim" in due.stderr
    assert {r["state"] for r in pg_rows(postgres_url)} == {"pending"} and mailed(ws) == []
    status = json.loads(run(ws, "status", RID, "--json", at=DUE).stdout)
    assert status["releases"][0]["approvals"]["approved"] == 0
