"""Helpers for the ledger, dispatch, schedule and crash tests: workspaces, the test plugin, runners."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

RELEASE = """\
+++
id = "{id}"
title = "{title}"
summary = "A summary."
publish_at = {publish_at}
{extra}
+++
Body of {id}.
"""


def install_plugin(site: Path) -> Path:
    """The ledger test adapters as an installed third-party plugin (a dist-info with entry points)."""
    info = site / "distribute_ledger_tests-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: distribute-ledger-tests\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[distribute.adapters]\nloopmail = ledger_adapters:LoopMailAdapter\nlooppost = ledger_adapters:LoopPostAdapter\n"
    )
    return site


def write_config(
    ws: Path, *, timezone: str = "Asia/Seoul", database: str = ".distribute/state.db", delivery: str = ""
) -> Path:
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "config.toml").write_text(
        textwrap.dedent(f"""\
        timezone = "{timezone}"
        database = "{database}"

        [organization]
        name = "Ledger Test Institute"
        website = "https://example.org/"
        sender = "Press <press@example.org>"

        [delivery]
        {delivery}
        """)
    )
    (ws / "channels").mkdir(exist_ok=True)
    (ws / "releases").mkdir(exist_ok=True)
    return ws / "config.toml"


def write_channel(ws: Path, name: str, body: str) -> Path:
    path = ws / "channels" / f"{name}.toml"
    path.write_text(textwrap.dedent(body))
    return path


def write_release(
    ws: Path, rid: str, publish_at: str = "2025-06-30T09:00:00+09:00", extra: str = "", title: str | None = None
) -> Path:
    path = ws / "releases" / f"{rid}.md"
    path.write_text(RELEASE.format(id=rid, title=title or f"Release {rid}", publish_at=publish_at, extra=extra))
    return path


def subprocess_env(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(TESTS), str(ROOT / "src")])
    env.update(extra)
    return env


def cli_argv(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args]


def start(ws: Path, site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A `distribute` process (not waited for)."""
    return subprocess.Popen(
        cli_argv(ws, *args),
        cwd=ws,
        env=env or subprocess_env(site),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run(
    ws: Path, site: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A `distribute` process, waited for."""
    return subprocess.run(
        cli_argv(ws, *args), cwd=ws, env=env or subprocess_env(site), text=True, capture_output=True, timeout=timeout
    )


def ledger_rows(ws: Path, release_id: str | None = None) -> list[dict[str, object]]:
    """Every delivery row, read with the standard library (an outside view of the ledger)."""
    conn = sqlite3.connect(ws / ".distribute" / "state.db")
    conn.row_factory = sqlite3.Row
    try:
        where = " WHERE release_id = ?" if release_id else ""
        return [
            dict(r)
            for r in conn.execute(
                f"SELECT * FROM deliveries{where} ORDER BY release_id, channel, seq",
                (release_id,) if release_id else (),
            )
        ]
    finally:
        conn.close()


def attempts(ws: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(ws / ".distribute" / "state.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM delivery_attempts ORDER BY id")]
    finally:
        conn.close()


def states(rows: list[dict[str, object]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[str(r["state"])] = out.get(str(r["state"]), 0) + 1
    return out


def invoke(ws: Path, *args: str):
    """`distribute --config ws/config.toml ARGS` in this process (click's runner), as a user types it."""
    from click.testing import CliRunner

    from distribute.cli import cli

    return CliRunner().invoke(cli, ["--config", str(ws / "config.toml"), *args], catch_exceptions=False)


WAKE_UP = "next wake-up at "
NOTHING_DUE = "nothing is due"


class WorkerProcess:
    """A `distribute worker` process whose log (stderr) is read as it comes, line by line."""

    def __init__(self, ws: Path, site: Path, *args: str):
        import threading

        self.proc = start(ws, site, "worker", *args)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wake_ups(self) -> list[str | None]:
        """Each wake-up the worker announced, in order: a ledger time stamp, or None for "nothing is due"."""
        found: list[str | None] = []
        for line in list(self.lines):
            if WAKE_UP in line:
                found.append(line.split(WAKE_UP, 1)[1].strip())
            elif NOTHING_DUE in line:
                found.append(None)
        return found

    def waking_at(self, stamp: str | None) -> bool:
        """Whether the worker's latest announced wake-up is `stamp` (None: nothing due)."""
        if self.proc.poll() is not None and not self._reader.is_alive():
            raise AssertionError(f"the worker exited {self.proc.returncode}: {self.log}")
        found = self.wake_ups()
        return bool(found) and found[-1] == stamp

    def ready(self) -> bool:
        if self.proc.poll() is not None and not self._reader.is_alive():
            raise AssertionError(f"the worker exited {self.proc.returncode}: {self.log}")
        return bool(self.wake_ups())

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        self.proc.kill()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the process to end; its exit code and whole log."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code, self.log

    def stop(self, sig: int = 15) -> tuple[int, str]:
        self.proc.send_signal(sig)
        return self.finish()


def schedule_mail_and_thread(ws: Path, sink, api, count: int, publish_at: str | None = None) -> None:
    """Schedule release r1: `count` mails to the sink (loopmail) and a 3-part thread to the API (looppost)."""
    write_channel(ws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = {count}\n')
    write_channel(ws, "social", f'adapter = "looppost"\nurl = "{api.url}"\nparts = 3\n')
    write_release(ws, "r1")
    args = ["schedule", "releases/r1.md"] + (["--at", publish_at] if publish_at else ["--late"])
    result = invoke(ws, *args)
    assert result.exit_code == 0, result.output


def outcomes_written(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Claim, hand over and record one of each outcome through the Ledger; the rows and attempts it leaves."""
    import datetime as dt

    from sqlalchemy import text

    from distribute.adapters.base import Receipt
    from distribute.clock import stamp
    from distribute.ledger.store import Ledger, Result, new_token

    ledger, now, token = Ledger(url), dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), new_token()
    at = stamp(now)
    mail = ledger.claim("r1", "newsletter", 4, now, token, 300)
    posts = ledger.claim("r1", "social", 3, now, token, 300)
    assert [len(mail), len(posts)] == [4, 1]  # a thread's next part waits for the one before it
    assert ledger.hand_over(mail[:3], token, [], now) == {r.id for r in mail[:3]}
    sent = Result(mail[0], "sent", at, receipt=Receipt(remote_id="<m1@x>", url="https://x/1", detail="250 ok"))
    retry = Result(mail[1], "pending", at, error="451 try later", next_attempt=stamp(now + dt.timedelta(minutes=5)))
    doubt = Result(mail[2], "in_doubt", at, error="outcome unknown: no answer")
    # Outcomes and the next marks in one go, then a failed thread part (its later parts fail with it).
    assert ledger.hand_over([mail[3], posts[0]], token, [sent, retry, doubt], now) == {mail[3].id, posts[0].id}
    ledger.hand_over([], token, [Result(posts[0], "failed", at, error="422 refused")], now)
    ledger.unclaim(token, unhanded=[mail[3].id])
    # Two rows to mark, one of them taken over by another sender meanwhile: only the other is marked.
    mine, theirs = ledger.claim("r1", "newsletter", 2, now, token, 300)
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE deliveries SET claim_token = 'another-sender' WHERE id = :id"), {"id": theirs.id})
    assert ledger.hand_over([mine, theirs], token, [], now) == {mine.id}
    with ledger.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT key, state, attempts, last_error, next_attempt, remote_id, url, detail, sent_at, "
                "claim_token IS NULL, lease_until FROM deliveries ORDER BY key"
            )
        )
        attempts = c.execute(
            text(
                "SELECT d.key, a.attempt, a.started_at, a.finished_at, a.outcome, a.error, a.owner IS NOT NULL "
                "FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id ORDER BY d.key, a.attempt"
            )
        )
        return [tuple(r) for r in rows], [tuple(r) for r in attempts]
