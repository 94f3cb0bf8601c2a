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
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _smtp import RELEASE, free_port, run_naive, run_smtp_source, start_sink, workspace  # noqa: E402
from _smtp import run_adapter as run_distribute  # noqa: E402
from make_recipients import write as write_recipients  # noqa: E402


def render_only(csv_path: str, ws_root: str) -> None:
    """(child process) Stream a list through render() alone; print rows, time and memory as JSON."""
    from distribute.adapters.base import RenderContext
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
    for delivery in adapter.render(release, channel, context=RenderContext(release.publish_at, True)):
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
