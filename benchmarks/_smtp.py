"""Shared by the SMTP benchmarks: a local sink, the example workspace wired to it, and the baselines.

Install postfix for `smtp-sink`/`smtp-source` (the fast C sink and the machine's limit):

    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix

Without it the sink is aiosmtpd in its own process and the smtp-source baseline is skipped.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RELEASE = "releases/2025-06-30-nato-summit-brief.md"

SINK_SCRIPT = """
import sys, time
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink(port: int) -> tuple[subprocess.Popen[bytes], str]:
    """postfix smtp-sink when installed (C, the fast one), else aiosmtpd in a separate process."""
    if shutil.which("smtp-sink"):
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        argv, name = ["smtp-sink", *user, f"127.0.0.1:{port}", "256"], "postfix smtp-sink"
    else:
        argv, name = [sys.executable, "-c", SINK_SCRIPT, str(port)], "aiosmtpd sink (install postfix for smtp-sink)"
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):  # wait until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, name
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the sink ({name}) did not start")


def workspace(
    tmp: Path, recipients: Path, port: int, connections: int, database: str | None = None, tree: Path = ROOT
) -> Path:
    """The example workspace with the newsletter sending over SMTP to the sink (ledger: `database`).

    `tree`: the checkout whose example it is (an older revision's, for the code of that revision).
    """
    for folder in ("channels", "releases", "lists"):
        shutil.copytree(tree / folder, tmp / folder, dirs_exist_ok=True)
    config = (tree / "config.example.toml").read_text(encoding="utf-8")
    if database is not None:
        config = re.sub(r"^database = .*$", f'database = "{database}"', config, count=1, flags=re.M)
    (tmp / "config.toml").write_text(config, encoding="utf-8")
    text = (tree / "channels" / "newsletter.toml").read_text(encoding="utf-8")
    text = re.sub(r"^recipients = .*$", f'recipients = "{recipients}"', text, flags=re.M)
    text = re.sub(r"^transport = .*$", 'transport = "smtp"', text, flags=re.M)
    text += (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = {connections}\ntimeout = 30\n'
    )
    (tmp / "channels" / "newsletter.toml").write_text(text, encoding="utf-8")
    return tmp


def set_connections(ws_root: Path, connections: int) -> None:
    path = ws_root / "channels" / "newsletter.toml"
    text = re.sub(r"^connections = \d+$", f"connections = {connections}", path.read_text(encoding="utf-8"), flags=re.M)
    path.write_text(text, encoding="utf-8")


def run_adapter(ws_root: Path, connections: int) -> tuple[int, int, float, int]:
    """The email adapter alone (render + deliver_many, no ledger): (sent, failed, seconds, average size)."""
    from distribute.adapters.base import RenderContext
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    set_connections(ws_root, connections)
    ws = Workspace(ws_root / "config.toml")
    release = load_release(ws_root / RELEASE, ws)
    channel = ws.channels["newsletter"]
    adapter = ws.adapter(channel)
    context = RenderContext(release.publish_at, True, release.embargo)
    sent = failed = size = 0
    start = time.perf_counter()
    for outcome in adapter.deliver_many(adapter.render(release, channel, context=context), channel):
        if outcome.error is None:
            sent += 1
            size += len(outcome.delivery.files[0].data)
        else:
            failed += 1
            if failed < 3:
                print("   error:", outcome.error)
    adapter.close()
    return sent, failed, time.perf_counter() - start, size // max(sent, 1)


def run_naive(ws_root: Path, port: int, limit: int) -> tuple[int, float]:
    """EmailMessage per recipient + one reused smtplib connection; bodies rendered once beforehand."""
    import csv
    import smtplib
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser
    from email.utils import formatdate

    from distribute.adapters.base import RenderContext
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    ws = Workspace(ws_root / "config.toml")
    release = load_release(ws_root / RELEASE, ws)
    channel = ws.channels["newsletter"]
    adapter = ws.adapter(channel)
    first = next(iter(adapter.render(release, channel, context=RenderContext(release.publish_at, True))))
    model = BytesParser(policy=policy.default).parsebytes(first.files[0].data)
    text = model.get_body(("plain",)).get_content()
    markup = model.get_body(("html",)).get_content()
    unsubscribe = str(model["List-Unsubscribe"])
    with open(channel.settings.recipients, newline="", encoding="utf-8") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), limit))
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example.org")
    start = time.perf_counter()
    for row in rows:
        greeting = f"Dear {row['name']}," if row["name"] else "Dear reader,"
        message = EmailMessage()
        message["From"] = str(model["From"])
        message["To"] = f"{row['name']} <{row['email']}>" if row["name"] else row["email"]
        message["Subject"] = str(model["Subject"])
        message["Date"] = formatdate()
        message["Message-ID"] = f"<{hashlib.sha256(row['email'].encode()).hexdigest()[:32]}@asaninst.org>"
        message["List-Id"] = str(model["List-Id"])
        message["List-Unsubscribe"] = unsubscribe.replace(first.target, row["email"])
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text.replace("Dear 김민지,", greeting).replace(first.target, row["email"]))
        message.add_alternative(
            markup.replace("Dear 김민지,", greeting).replace(first.target, row["email"]), subtype="html"
        )
        smtp.send_message(message)
    elapsed = time.perf_counter() - start
    smtp.quit()
    return len(rows), elapsed


def run_smtp_source(port: int, count: int, size: int, sessions: int = 16) -> float | None:
    """Seconds postfix smtp-source takes for `count` messages of `size` bytes over `sessions` reused sessions."""
    if not shutil.which("smtp-source"):
        return None
    start = time.perf_counter()
    subprocess.run(
        [
            "smtp-source",
            "-d",
            "-s",
            str(sessions),
            "-m",
            str(count),
            "-l",
            str(size),
            "-f",
            "bench@example.org",
            "-t",
            "sink@example.org",
            f"127.0.0.1:{port}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start
