"""A send you can follow: Ctrl-C stops cleanly, journalists go first, progress only on a terminal.

Everything runs through the real command line against a loopback SMTP server (aiosmtpd) that
records the order in which messages arrive.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, ROOT, copy_example_workspace
from email_servers import smtp_server
from email_support import KEY, parse, set_keys, smtp_channel
from ledger_servers import wait_for
from ledger_support import ledger_rows, states


def newsletter_list(ws: Path, count: int) -> list[str]:
    addresses = [f"reader{i}@example.org" for i in range(count)]
    (ws / "lists" / "newsletter.csv").write_text("email,name\n" + "".join(f"{a},Reader\n" for a in addresses))
    return addresses


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")}
    out.update(PYTHONPATH=str(ROOT / "src"), UNSUBSCRIBE_KEY=KEY)
    return out


def argv(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args]


SEND = ("send", EXAMPLE_RELEASE, "--late", "-c", "newsletter")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return copy_example_workspace(tmp_path / "ws")


@pytest.mark.slow  # seconds of real sending; CI runs it, the fast lane leaves it out
def test_ctrl_c_stops_cleanly_counts_exactly_and_the_same_command_sends_the_rest_once(ws: Path) -> None:
    recipients = newsletter_list(ws, 2000)
    with smtp_server(pipelining=True) as sink:
        smtp_channel(ws, "newsletter", sink.port, "rate = 400")  # a few seconds: the signal lands mid-send
        proc = subprocess.Popen(
            argv(ws, *SEND), cwd=ws, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            wait_for(lambda: len(sink.messages) >= 150 or proc.poll() is not None, what="150 messages at the server")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert proc.returncode == 130, out + err
        found = re.search(r"^([\d,]+) sent, ([\d,]+) left: run the same command to continue$", err, re.M)
        assert found, err
        sent, left = (int(g.replace(",", "")) for g in found.groups())
        counted = states(ledger_rows(ws))
        assert "interrupted" not in err and "in doubt" not in err
        assert sent == len(sink.messages) == counted["sent"], (sent, len(sink.messages), counted)
        assert counted == {"sent": sent, "pending": left} and sent + left == len(recipients), counted
        assert 150 <= sent < len(recipients)

        again = subprocess.run(argv(ws, *SEND), cwd=ws, env=env(), text=True, capture_output=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert states(ledger_rows(ws)) == {"sent": len(recipients)}
        ids = [parse(data)["Message-ID"] for _, _, data in sink.messages]
        assert len(ids) == len(recipients) == len(set(ids)), "every recipient exactly once"
        assert sorted(r[0] for _, r, _ in sink.messages) == sorted(recipients)


def arrivals(sink) -> list[str]:
    return [rcpts[0] for _, rcpts, _ in sink.messages]


PRESS = {"desk@herald.example.com", "park.jiwoo@example.org", "a.martin@example.net"}


@pytest.mark.parametrize(
    ("readers", "newsletter_keys", "press_at"),
    [
        # Journalists first: the embargoed press copy goes before even the newsletter's 100th message.
        pytest.param(400, "", slice(0, 3), id="the-press-list-goes-out-before-the-newsletters-100th-message"),
        pytest.param(50, "priority = 10", slice(-3, None), id="priority-puts-a-channel-first-when-the-user-says-so"),
    ],
)
def test_the_order_of_channels_in_one_send(ws: Path, readers: int, newsletter_keys: str, press_at: slice) -> None:
    newsletter_list(ws, readers)
    if newsletter_keys:
        set_keys(ws, "newsletter", newsletter_keys)
    with smtp_server(pipelining=True) as sink:
        smtp_channel(ws, "newsletter", sink.port)
        smtp_channel(ws, "press-list", sink.port)
        done = subprocess.run(
            argv(ws, "send", EXAMPLE_RELEASE, "--late", "-c", "newsletter", "-c", "press-list"),
            cwd=ws,
            env=env(),
            text=True,
            capture_output=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    order = arrivals(sink)
    assert len(order) == readers + len(PRESS) and set(order[press_at]) == PRESS, (order[:5], order[-5:])


def under_a_terminal(ws: Path, *args: str) -> tuple[int, str]:
    """Run `distribute ARGS` with a pseudo-terminal as stdin, stdout and stderr; everything it drew."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv(ws, *args),
        cwd=ws,
        env={**env(), "TERM": "xterm-256color", "COLUMNS": "150"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the process is gone and the terminal closed
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    return proc.wait(60), drawn.decode("utf-8", "replace")


def test_on_a_terminal_send_shows_per_channel_progress_with_rate_and_times(ws: Path) -> None:
    newsletter_list(ws, 300)
    code, drawn = under_a_terminal(ws, "send", EXAMPLE_RELEASE, "--late", "-c", "newsletter", "-c", "press-list")
    assert code == 0, drawn
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert re.search(r"newsletter\s.*\d+/300\s+[\d,–]+/s\s+elapsed\s+\d+:\d\d:\d\d\s+left\s+", screen), screen
    assert re.search(r"press-list\s.*\d/3\b", screen), screen
    assert "303 sent" in screen


def test_without_a_terminal_send_prints_only_its_summary_and_never_loads_rich(ws: Path) -> None:
    newsletter_list(ws, 300)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv(ws, "send", EXAMPLE_RELEASE, "--late", "-c", "newsletter")[1:]],
        cwd=ws,
        env=env(),
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "newsletter: 300 sent to maildir/newsletter\n300 sent\n"  # the summary: where it went
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "distribute.cli.sending" in imported and not any(m.split(".")[0] == "rich" for m in imported)
    rest = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert rest == [], rest  # no bar, no escape codes, nothing for cron to mail


@pytest.mark.slow  # seconds of real sending; CI runs it, the fast lane leaves it out
def test_a_press_list_that_falls_due_while_a_newsletter_is_going_out_overtakes_it(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger_support import invoke, write_release

    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)  # scheduled here, sent by the subprocess: both have it

    newsletter_list(ws, 4000)
    write_release(ws, "big-news", extra='channels = ["newsletter"]\nurl = "https://example.org/a"')
    write_release(ws, "press-note", extra='channels = ["press-list"]\nurl = "https://example.org/b"')
    with smtp_server(pipelining=True) as sink:
        smtp_channel(ws, "newsletter", sink.port, "rate = 300")
        smtp_channel(ws, "press-list", sink.port)
        assert invoke(ws, "schedule", str(ws / "releases/big-news.md"), "--late").exit_code == 0
        proc = subprocess.Popen(
            argv(ws, "send", "--due"), cwd=ws, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            wait_for(lambda: len(sink.messages) >= 100 or proc.poll() is not None, what="the newsletter under way")
            scheduled = invoke(ws, "schedule", str(ws / "releases/press-note.md"), "--at", "now")
            assert scheduled.exit_code == 0, scheduled.output
            at = len(sink.messages)
            out, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
    assert proc.returncode == 0, out + err
    order = arrivals(sink)
    assert len(order) == 4003
    last_press = max(order.index(a) for a in PRESS)
    assert last_press < at + 1500 < len(order), (at, last_press)  # within a few seconds, not after all 4,000


def test_a_second_ctrl_c_stops_at_once_and_only_then_is_a_message_in_doubt(ws: Path) -> None:
    import threading

    newsletter_list(ws, 2000)
    with smtp_server({"reader5@example.org": "stall"}, pipelining=True) as sink:
        smtp_channel(ws, "newsletter", sink.port, "connections = 1\ntimeout = 60")  # one message in hand
        proc = subprocess.Popen(
            argv(ws, *SEND), cwd=ws, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            wait_for(lambda: "reader5@example.org" in sink.swallowed, what="the stall")
            proc.send_signal(signal.SIGINT)
            wait_for(lambda: any("stopping:" in line for line in said), what="the first Ctrl-C acknowledged")
            # The message the server holds is in flight: the first Ctrl-C waits for it, the process lives on.
            assert proc.poll() is None
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)  # at once: not after the 60 s SMTP timeout
            reader.join(10)
        finally:
            proc.kill()
    err = "".join(said)
    assert proc.returncode == 130, err
    assert "stopped at once" in err and "distribute status" in err
    rows = ledger_rows(ws)
    assert [r["target"] for r in rows if r["state"] == "in_doubt"] == ["reader5@example.org"]
    assert states(rows) == {"sent": 5, "in_doubt": 1, "pending": 2000 - 6}, states(rows)
