"""Cron mode's fast path: with nothing due, `send --due` answers without importing the heavy stack."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from distribute.send.cron import _database_setting
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink
from ledger_support import cli_argv, invoke, ledger_rows, subprocess_env, write_channel, write_release

HEAVY = ("click", "sqlalchemy", "jinja2", "requests", "apscheduler", "rich", "lxml", "markdown_it")


def cron(ws: Path, site: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, set[str], str]:
    """Run `distribute send --due` as cron would; (exit code, top-level modules imported, stderr)."""
    argv = [sys.executable, "-X", "importtime", *cli_argv(ws, *(args or ("send", "--due")))[1:]]
    done = subprocess.run(argv, cwd=ws, env=env or subprocess_env(site), capture_output=True, text=True, timeout=60)
    modules = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    messages = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("import time:"))
    return done.returncode, modules, messages


def heavy(modules: set[str]) -> set[str]:
    return modules & set(HEAVY)


def test_no_ledger_yet_exits_four_without_heavy_imports(lws: Path, plugin_site: Path) -> None:
    code, modules, err = cron(lws, plugin_site)
    assert code == 4 and not heavy(modules) and err == ""
    code, modules, err = cron(lws, plugin_site, "-v", "send", "--due")
    assert code == 4 and err == "nothing due" and not heavy(modules)


def test_scheduled_for_later_exits_four_cheaply_and_due_falls_through_to_delivery(lws: Path, plugin_site: Path) -> None:
    with mail_sink() as sink:
        write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 2\n')
        write_release(lws, "r1", publish_at="2099-01-01T09:00:00+09:00")
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
        code, modules, _ = cron(lws, plugin_site)
        assert code == 4 and not heavy(modules) and len(sink) == 0
        code, modules, _ = cron(lws, plugin_site, "send", "--due", "--dry-run")
        assert code == 4 and not heavy(modules)
        # $DISTRIBUTE_NOW (a test hook) moves the clock of a whole process: now it is due.
        later = subprocess_env(plugin_site, DISTRIBUTE_NOW="2099-01-01T00:00:00+00:00")
        code, modules, err = cron(lws, plugin_site, "send", "--due", "--dry-run", env=later)
        assert code == 0 and {"click", "sqlalchemy"} <= modules and len(sink) == 0, err
        code, modules, err = cron(lws, plugin_site, env=later)
        assert code == 0 and len(sink) == 2, err


def test_a_claim_left_by_a_dead_process_makes_cron_take_the_full_path(lws: Path, plugin_site: Path) -> None:
    with mail_sink() as sink:
        write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 2\n')
        write_release(lws, "r1")
        assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0  # due at once
        db = sqlite3.connect(lws / ".distribute/state.db")
        with db:  # both claimed (never handed) by a process that no longer exists
            db.execute(
                "UPDATE deliveries SET state = 'claimed', claim_token = 't', claimed_by = ?",
                (f"{os.uname().nodename} 999999999 1",),
            )
        code, modules, err = cron(lws, plugin_site)
        assert code == 0 and "sqlalchemy" in modules and len(sink) == 2, err
        assert {r["state"] for r in ledger_rows(lws)} == {"sent"}


def test_a_live_claim_is_not_stale_and_a_blocked_thread_part_is_not_due(lws: Path, plugin_site: Path) -> None:
    write_channel(lws, "social", 'adapter = "looppost"\nurl = "http://127.0.0.1:9"\nparts = 2\n')
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0  # due at once
    db = sqlite3.connect(lws / ".distribute/state.db")
    me = f"{os.uname().nodename} {os.getpid()} {open(f'/proc/{os.getpid()}/stat').read().rsplit(')', 1)[1].split()[19]}"
    with db:  # part 1 in the hands of a live process (this one); part 2 waits for it
        db.execute("UPDATE deliveries SET state = 'sending', claim_token = 't', claimed_by = ? WHERE part = '1'", (me,))
    code, modules, _ = cron(lws, plugin_site)
    assert code == 4 and not heavy(modules)
    with db:
        db.execute("UPDATE deliveries SET state = 'in_doubt', claim_token = NULL WHERE part = '1'")
    code, modules, _ = cron(lws, plugin_site)
    assert code == 4 and not heavy(modules)  # cron does not wake the full stack every minute for it


def test_other_commands_and_databases_take_the_full_path(lws: Path, plugin_site: Path) -> None:
    code, modules, _ = cron(lws, plugin_site, "send", "--due", "--resend-in-doubt")
    assert code == 4 and "click" in modules
    code, modules, _ = cron(lws, plugin_site, "status")
    assert "click" in modules
    config = lws / "config.toml"
    config.write_text(
        config.read_text().replace(
            'database = ".distribute/state.db"', 'database = "postgresql+psycopg://nobody@127.0.0.1:1/none"'
        )
    )
    code, modules, err = cron(lws, plugin_site)
    assert code == 1 and "sqlalchemy" in modules, err


@pytest.mark.parametrize(
    "text",
    [
        'database = "x.db"\n',
        "database = 'x.db' # comment\n",
        'timezone = "UTC"\n\n[organization]\ndatabase = "not-top-level"\n',
        '# database = "commented"\n',
        '"database" = "quoted-key.db"\n',
        'database = "sqlite:////abs/x.db"\n',
        'database = "with\\\\escape.db"\n',
        'notes = """\ndatabase = "inside a string"\n"""\n',
        'list = [\n  ["a"],\n]\ndatabase = "after-array.db"\n',
        "",
    ],
)
def test_the_database_setting_reader_agrees_with_tomllib_or_defers_to_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    quick = _database_setting(str(path))
    if quick is not None:
        assert quick == tomllib.loads(text).get("database", "")


def test_cron_stays_quiet_when_all_went_well_and_a_terminal_gets_a_progress_bar(lws: Path, plugin_site: Path) -> None:
    import pty

    with mail_sink() as sink:
        write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = 30\n')
        write_release(lws, "r1")
        write_release(lws, "r2")
        assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0  # both due at once
        assert invoke(lws, "schedule", "releases/r2.md", "--late").exit_code == 0
        quiet = subprocess.run(
            cli_argv(lws, "send", "--due"),
            cwd=lws,
            env=subprocess_env(plugin_site),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""  # cron mails nothing
        assert len(sink) == 60
        assert invoke(lws, "schedule", "releases/r1.md", "--at", "now").exit_code == 0  # sent rows stay sent
        write_release(lws, "r3")
        assert invoke(lws, "schedule", "releases/r3.md", "--late").exit_code == 0
        main, side = pty.openpty()
        proc = subprocess.Popen(
            cli_argv(lws, "send", "--due"),
            cwd=lws,
            env=subprocess_env(plugin_site),
            stdout=subprocess.PIPE,
            stderr=side,
        )
        os.close(side)
        chunks = []
        while True:  # read the terminal while the process draws on it (until it closes its end)
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        assert proc.stdout is not None
        out = proc.stdout.read()
        assert proc.wait(60) == 0 and len(sink) == 90
        terminal = b"".join(chunks).decode(errors="replace")
        assert "newsletter" in terminal and "30/30" in terminal  # the bar, drawn on the terminal only
        assert out.decode().splitlines()[0].startswith("r3 newsletter: 30 sent")  # per channel, then in all
        assert out.decode().splitlines()[1:] == ["30 sent"]


def test_a_ledger_in_an_allowed_folder_outside_the_workspace_stays_cheap(lws: Path, plugin_site: Path) -> None:
    """A ledger under /var/lib (say), allowed by allow_paths: the every-minute check stays on the fast path."""
    elsewhere = lws.parent / "state"
    config = lws / "config.toml"
    text = config.read_text().replace('database = ".distribute/state.db"', f'database = "{elsewhere}/ledger.db"')
    config.write_text(text)
    assert invoke(lws, "status").exit_code != 0  # not allowed yet: refused at its line
    code, modules, _ = cron(lws, plugin_site)
    assert code != 0 and "click" in modules  # the full program decided, and refused
    config.write_text(f'allow_paths = ["{elsewhere}"]\n' + text)
    write_release(lws, "r1", publish_at="2099-01-01T09:00:00+09:00")
    assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    assert (elsewhere / "ledger.db").is_file()
    code, modules, err = cron(lws, plugin_site)
    assert code == 4 and not heavy(modules) and err == ""
