"""Newsletter fan-out into a local SMTP sink, and memory while streaming a million-row list.

    python benchmarks/bench_email.py [--quick] [--recipients N] [--connections C] [--skip-memory]

1. Fan-out: N personalised messages (default 20,000) of the example release to a local sink
   (postfix `smtp-sink` when installed, else an aiosmtpd sink in its own process), in one run:
   - distribute: render() + deliver_many() over C parallel SMTP connections (and over one);
   - naive: an email.message.EmailMessage built per recipient and sent with one reused smtplib
     connection (bodies rendered once beforehand, only personalised per message);
   - postfix `smtp-source` into the same sink with 16 sessions: the machine's limit.
2. Memory: render() alone streams a 100,000- and a 1,000,000-row CSV (fresh process each);
   peak RSS should not grow with the list (duplicate checks live in a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RELEASE = "releases/2025-06-30-nato-summit-brief.md"
sys.path.insert(0, str(HERE))
from make_recipients import write as write_recipients  # noqa: E402

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


def workspace(tmp: Path, recipients: Path, port: int, connections: int) -> Path:
    """The example workspace with the newsletter sending over SMTP to the sink."""
    for folder in ("channels", "releases", "lists"):
        shutil.copytree(ROOT / folder, tmp / folder, dirs_exist_ok=True)
    shutil.copyfile(ROOT / "config.example.toml", tmp / "config.toml")
    text = (ROOT / "channels" / "newsletter.toml").read_text(encoding="utf-8")
    text = re.sub(r"^recipients = .*$", f'recipients = "{recipients}"', text, flags=re.M)
    text = re.sub(r"^transport = .*$", 'transport = "smtp"', text, flags=re.M)
    text += (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = {connections}\ntimeout = 30\n'
    )
    (tmp / "channels" / "newsletter.toml").write_text(text, encoding="utf-8")
    return tmp


def run_distribute(ws_root: Path, connections: int) -> tuple[int, int, float, int]:
    """(sent, failed, seconds, average size) for render + deliver_many through `connections` connections."""
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    text = (ws_root / "channels" / "newsletter.toml").read_text(encoding="utf-8")
    text = re.sub(r"^connections = \d+$", f"connections = {connections}", text, flags=re.M)
    (ws_root / "channels" / "newsletter.toml").write_text(text, encoding="utf-8")
    ws = Workspace(ws_root / "config.toml")
    release = load_release(ws_root / RELEASE, ws)
    channel = ws.channels["newsletter"]
    adapter = ws.adapter(channel)
    sent = failed = size = 0
    start = time.perf_counter()
    for outcome in adapter.deliver_many(adapter.render(release, channel), channel):
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

    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    ws = Workspace(ws_root / "config.toml")
    release = load_release(ws_root / RELEASE, ws)
    channel = ws.channels["newsletter"]
    adapter = ws.adapter(channel)
    first = next(iter(adapter.render(release, channel)))
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


def run_smtp_source(port: int, count: int, size: int) -> float | None:
    """Seconds postfix smtp-source takes for `count` messages of `size` bytes, 16 sessions, reused."""
    if not shutil.which("smtp-source"):
        return None
    start = time.perf_counter()
    subprocess.run(
        [
            "smtp-source",
            "-d",
            "-s",
            "16",
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


def render_only(csv_path: str, ws_root: str) -> None:
    """(child process) Stream a list through render() alone; print rows, time and memory as JSON."""
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    root = Path(ws_root)
    text = (root / "channels" / "newsletter.toml").read_text(encoding="utf-8")
    text = re.sub(r"^recipients = .*$", f'recipients = "{csv_path}"', text, flags=re.M)
    (root / "channels" / "newsletter.toml").write_text(text, encoding="utf-8")
    ws = Workspace(root / "config.toml")
    release = load_release(root / RELEASE, ws)
    channel = ws.channels["newsletter"]
    adapter = ws.adapter(channel)
    rows, size, early = 0, 0, 0
    start = time.perf_counter()
    for delivery in adapter.render(release, channel):
        rows += 1
        size += len(delivery.files[0].data)
        if rows == 1000:
            early = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"rows": rows, "seconds": elapsed, "bytes": size, "rss_1000_kb": early, "peak_kb": peak}))


def memory(tmp: Path, sizes: list[int]) -> None:
    print(f"\nrender only, streaming the list (fresh process each; no network; {os.cpu_count()} CPUs)")
    print(f"  {'rows':>10} {'seconds':>8} {'rows/s':>8} {'RSS at row 1,000':>17} {'peak RSS':>9}")
    for n in sizes:
        ws = tmp / f"ws-{n}"
        path = ws / "lists" / f"list-{n}.csv"  # recipients must live inside the workspace
        path.parent.mkdir(parents=True, exist_ok=True)
        write_recipients(path, n)
        workspace(ws, path, 25, 1)
        done = subprocess.run(
            [sys.executable, __file__, "--render-only", str(path), str(ws)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "UNSUBSCRIBE_KEY": "bench-key-123"},
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  {r['rows']:>10,} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>8,.0f} "
            f"{r['rss_1000_kb'] / 1024:>14.1f} MB {r['peak_kb'] / 1024:>6.1f} MB"
        )
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 recipients; memory at 10,000 and 100,000")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--naive", type=int, default=3_000, help="messages for the (slow) naive loop")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--render-only", nargs=2, metavar=("CSV", "WORKSPACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_only:
        render_only(*args.render_only)
        return
    if args.quick:
        args.recipients, args.naive = 2_000, 1_000
    os.environ["UNSUBSCRIBE_KEY"] = "bench-key-123"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        sink, sink_name = start_sink(port)
        try:
            recipients = write_recipients(tmp / "recipients.csv", args.recipients)
            ws = workspace(tmp / "ws", recipients, port, args.connections)
            print(
                f"newsletter fan-out: {args.recipients:,} personalised recipients into {sink_name} "
                f"on 127.0.0.1 ({os.cpu_count()} CPUs)"
            )
            sent, failed, seconds, size = run_distribute(ws, args.connections)
            ours = sent / seconds
            print(
                f"  distribute, {args.connections} connections   {ours:>9,.0f} msg/s   ({sent:,} sent, {failed} failed, "
                f"{seconds:.2f} s, {size / 1024:.1f} KB a message)"
            )
            sent1, _, seconds1, _ = run_distribute(ws, 1)
            print(f"  distribute, 1 connection    {sent1 / seconds1:>9,.0f} msg/s")
            count, naive_seconds = run_naive(ws, port, min(args.naive, args.recipients))
            naive = count / naive_seconds
            print(f"  naive EmailMessage+smtplib  {naive:>9,.0f} msg/s   ({count:,} messages, {naive_seconds:.2f} s)")
            source = run_smtp_source(port, args.recipients, size)
            if source is not None:
                print(f"  smtp-source, 16 sessions    {args.recipients / source:>9,.0f} msg/s   (the machine's limit)")
            print(f"  ratio distribute / naive:      {ours / naive:6.1f}x   (target >= 10x)")
            if source is not None:
                print(f"  ratio distribute / smtp-source: {ours / (args.recipients / source):5.2f}")
        finally:
            sink.terminate()
            sink.wait()
        if not args.skip_memory:
            memory(tmp, [10_000, 100_000] if args.quick else [100_000, 1_000_000])


if __name__ == "__main__":
    main()
