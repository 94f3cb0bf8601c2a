"""The real `distribute send` (CLI, ledger) of a personalised newsletter into postfix's smtp-sink.

    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix    # smtp-sink and smtp-source
    python benchmarks/bench_send.py [--quick] [--recipients N] [--connections 4,16] [--rounds 3]
        [--against REV] [--skip-send] [--skip-linear] [--skip-schedule] [--skip-postgres]

Every figure is a ratio against a baseline measured in the same run (3 rounds: min/median/max):
1. `python -m distribute --config … send RELEASE -c newsletter --at now` of N personalised
   messages (default 20,000) with the SQLite ledger, at each connection count, against the
   naive loop (an EmailMessage per recipient, one reused smtplib connection), postfix
   `smtp-source` with as many sessions, and the email adapter alone (render + deliver_many,
   no ledger) at the same connection count.
2. Linear cost: the send's wall time per message at 2,000 and at 100,000 recipients, and the
   peak memory of the send process.
3. `distribute schedule` of 100,000 recipients: rows booked per second.
4. The same send against PostgreSQL (a throwaway cluster, as the tests make one): `schedule
   --at now`, then one `send --due`, and two `send --due` processes sharing the release.
With `--against REV` the send and schedule figures are also measured with the code of git
revision REV (its src/ unpacked into a temporary folder), so "before/after" is one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _smtp import RELEASE, ROOT, free_port, run_adapter, run_naive, run_smtp_source, start_sink, workspace  # noqa: E402
from make_recipients import write as write_recipients  # noqa: E402

KEY = {"UNSUBSCRIBE_KEY": "bench-key-123"}


def spread(values: Sequence[float]) -> str:
    return f"{min(values):7.2f} {statistics.median(values):7.2f} {max(values):7.2f}"


def cli(ws: Path, *args: str, src: Path | None = None) -> tuple[subprocess.Popen[bytes], list[str]]:
    env = {**os.environ, **KEY}
    env.pop("DISTRIBUTE_CONFIG", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    argv = [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), argv


def timed(ws: Path, *args: str, src: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one CLI run; exits on failure."""
    start = time.perf_counter()
    process, argv = cli(ws, *args, src=src)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    err = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[3:])} failed ({process.returncode}): {err[-600:]}")
    return elapsed, usage.ru_maxrss / 1024


def sent_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'").fetchone()[0])


def row(label: str, values: Sequence[float]) -> None:
    """One indented line of a section's table: its label, then min, median and max."""
    print(f"   {'':4}{label:<44} {spread(values)}")


def ratio(r: dict[str, list[float]], a: str, b: str) -> list[float]:
    """Figure `a` over figure `b`, round by round (each round measured both)."""
    return [x / y for x, y in zip(r[a], r[b], strict=True)]


def fresh(
    tmp: Path,
    name: str,
    recipients: Path,
    port: int,
    connections: int,
    database: str | None = None,
    tree: Path | None = None,
) -> Path:
    """A new workspace with the example of `tree` (the code measured: this checkout, or --against's)."""
    root = tmp / name
    if root.exists():
        shutil.rmtree(root)
    inside = root / "lists" / "bench-recipients.csv"  # a list must live inside its workspace
    inside.parent.mkdir(parents=True)
    os.link(recipients, inside)
    return workspace(root, inside, port, connections, database, **({"tree": tree} if tree else {}))


def full_send(
    tmp: Path, recipients: Path, port: int, connections: int, count: int, src: Path | None = None
) -> tuple[float, float]:
    """(messages a second, peak MB) of one `send RELEASE` into a fresh SQLite ledger."""
    ws = fresh(tmp, "ws-send", recipients, port, connections, tree=src.parent if src else None)
    seconds, peak = timed(ws, "send", RELEASE, "-c", "newsletter", "--at", "now", src=src)
    sent = sent_in(ws / ".distribute" / "state.db")
    if sent != count:
        raise SystemExit(f"send delivered {sent} of {count}")
    return count / seconds, peak


def schedule_rate(tmp: Path, recipients: Path, port: int, count: int, src: Path | None = None) -> float:
    ws = fresh(tmp, "ws-schedule", recipients, port, 4, tree=src.parent if src else None)
    seconds, _ = timed(ws, "schedule", RELEASE, "-c", "newsletter", "--at", "+1d", src=src)
    return count / seconds


def unpack(rev: str, into: Path) -> Path:
    """The src/ folder of git revision `rev`, unpacked beside its templates and example (config, channels,
    releases: the code of an older revision is measured on its own example, which it can read)."""
    parts = ["src", "templates", "config.example.toml", "channels", "releases", "lists"]
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *parts], check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def rounds(n: int, measure: Callable[[], dict[str, float]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for _ in range(n):
        for key, value in measure().items():
            out.setdefault(key, []).append(value)
    return out


def section_send(args: argparse.Namespace, tmp: Path, port: int, old: Path | None) -> None:
    recipients = write_recipients(tmp / "lists-src" / "recipients.csv", args.recipients)
    base = fresh(tmp, "ws-base", recipients, port, 1)
    os.environ.update(KEY)  # the adapter alone runs in this process
    print(f"\n1. full send of {args.recipients:,} personalised messages (SQLite ledger), {args.rounds} rounds")
    print(f"   {'':44} {'min':>7} {'median':>7} {'max':>7}")
    for c in args.connections:

        def measure(c: int = c) -> dict[str, float]:
            got: dict[str, float] = {}
            got["send"], got["peak"] = full_send(tmp, recipients, port, c, args.recipients)
            sent, failed, seconds, size = run_adapter(base, c)
            got["adapter"] = sent / seconds
            n, naive_seconds = run_naive(base, port, min(args.naive, args.recipients))
            got["naive"] = n / naive_seconds
            source = run_smtp_source(port, args.recipients, size, sessions=c)
            if source is not None:
                got["source"] = args.recipients / source
            if old is not None:
                got["before"], _ = full_send(tmp, recipients, port, c, args.recipients, src=old)
            return got

        r = rounds(args.rounds, measure)
        print(f"   {c} connections: send, msg/s {'':22} {spread(r['send'])}")
        row("adapter alone (render + deliver_many), msg/s", r["adapter"])
        row("naive EmailMessage + smtplib, msg/s", r["naive"])
        row("send / naive (target >= 10)", ratio(r, "send", "naive"))
        if "source" in r:
            row(f"smtp-source, {c} sessions, msg/s", r["source"])
            row("send / smtp-source (target >= 0.25)", ratio(r, "send", "source"))
        row("send / adapter alone", ratio(r, "send", "adapter"))
        if "before" in r:
            row(f"send with {args.against}, msg/s", r["before"])
            row(f"send now / send with {args.against}", ratio(r, "send", "before"))
        row("peak memory of the send process, MB", r["peak"])


def section_linear(args: argparse.Namespace, tmp: Path, port: int) -> None:
    small, large = (500, 5_000) if args.quick else (2_000, 100_000)
    lists = {n: write_recipients(tmp / f"lists-{n}" / "recipients.csv", n) for n in (small, large)}
    c = args.connections[0]
    print(f"\n2. linear cost: send of {small:,} and of {large:,} at {c} connections, {args.rounds} rounds")

    def measure() -> dict[str, float]:
        got: dict[str, float] = {}
        for n in (small, large):
            rate, got[f"peak{n}"] = full_send(tmp, lists[n], port, c, n)
            got[f"us{n}"] = 1e6 / rate
        return got

    r = rounds(args.rounds, measure)
    print(f"   {'':44} {'min':>7} {'median':>7} {'max':>7}")
    for n in (small, large):
        print(f"   µs a message at {n:>7,} {'':20} {spread(r[f'us{n}'])}")
    ratio = [b / a for a, b in zip(r[f"us{small}"], r[f"us{large}"], strict=True)]
    print(f"   per-message time {large:,} / {small:,} (target <= 1.15) {'':2} {spread(ratio)}")
    for n in (small, large):
        print(f"   peak memory at {n:>7,}, MB {'':17} {spread(r[f'peak{n}'])}")


def section_schedule(args: argparse.Namespace, tmp: Path, port: int, old: Path | None) -> None:
    n = 10_000 if args.quick else 100_000
    recipients = write_recipients(tmp / f"lists-s{n}" / "recipients.csv", n)
    print(f"\n3. schedule of {n:,} recipients, {args.rounds} rounds")

    def measure() -> dict[str, float]:
        got = {"now": schedule_rate(tmp, recipients, port, n)}
        if old is not None:
            got["before"] = schedule_rate(tmp, recipients, port, n, src=old)
        return got

    r = rounds(args.rounds, measure)
    print(f"   {'':44} {'min':>7} {'median':>7} {'max':>7}")
    print(f"   rows/s {'':37} {spread(r['now'])}")
    if "before" in r:
        print(f"   rows/s with {args.against} {'':24} {spread(r['before'])}")
        ratio = [a / b for a, b in zip(r["now"], r["before"], strict=True)]
        print(f"   now / {args.against} (target >= 3) {'':21} {spread(ratio)}")


def postgres_cluster(tmp: Path) -> tuple[str, Callable[[], None]] | None:
    """A throwaway PostgreSQL server (initdb + pg_ctl, as the tests make one): (URL, stop)."""
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(shutil.which("initdb") or (found[-1] if found else "")).parent
    if not (bindir / "initdb").exists():
        return None
    home = tmp / "pg"
    home.mkdir()
    wrap: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        wrap = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = home / "data"

    def call(*argv: str) -> None:
        subprocess.run([*wrap, *argv], check=True, capture_output=True, timeout=120)

    call(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=100"
    call(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}", lambda: call(
        str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"
    )


def section_postgres(args: argparse.Namespace, tmp: Path, port: int) -> None:
    import psycopg

    cluster = postgres_cluster(tmp)
    if cluster is None:
        print("\n4. PostgreSQL: skipped (install the Debian package postgresql)")
        return
    server, stop = cluster
    recipients = write_recipients(tmp / "lists-pg" / "recipients.csv", args.recipients)
    c = args.connections[0]
    admin = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    print(f"\n4. PostgreSQL ledger: {args.recipients:,} messages at {c} connections a worker, {args.rounds} rounds")
    counter = iter(range(10_000))

    def send_with(workers: int) -> float:
        name = f"bench_{next(counter)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"
        ws = fresh(tmp, "ws-pg", recipients, port, c, database=url)
        timed(ws, "schedule", RELEASE, "-c", "newsletter", "--at", "now")
        start = time.perf_counter()
        running = [cli(ws, "send", "--due") for _ in range(workers)]
        for process, argv in running:
            if process.wait() not in (0, 4):
                raise SystemExit(f"{' '.join(argv[3:])} failed: {process.stderr.read().decode()[-600:]}")  # type: ignore[union-attr]
        elapsed = time.perf_counter() - start
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            sent = conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'").fetchone()[0]  # type: ignore[index]
        if sent != args.recipients:
            raise SystemExit(f"PostgreSQL: {sent} of {args.recipients} sent")
        return args.recipients / elapsed

    try:
        r = rounds(
            args.rounds,
            lambda: {
                "one": send_with(1),
                "two": send_with(2),
                "sqlite": full_send(tmp, recipients, port, c, args.recipients)[0],
            },
        )
    finally:
        stop()
    print(f"   {'':44} {'min':>7} {'median':>7} {'max':>7}")
    print(f"   one `send --due`, msg/s {'':20} {spread(r['one'])}")
    print(f"   two `send --due` sharing the release, msg/s {spread(r['two'])}")
    print(f"   two / one {'':34} {spread([b / a for a, b in zip(r['one'], r['two'], strict=True)])}")
    print(f"   SQLite `send RELEASE`, msg/s {'':15} {spread(r['sqlite'])}")
    print(f"   one PostgreSQL / SQLite {'':20} {spread([a / b for a, b in zip(r['one'], r['sqlite'], strict=True)])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 recipients, 1 round (for the test suite)")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--connections", default="4,16", help="comma-separated connection counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--naive", type=int, default=3_000, help="messages for the (slow) naive loop")
    parser.add_argument("--against", metavar="REV", help="also measure send and schedule with git revision REV")
    parser.add_argument("--skip-send", action="store_true", help="leave out section 1 (the full send)")
    parser.add_argument("--skip-linear", action="store_true")
    parser.add_argument("--skip-schedule", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    args.connections = [int(c) for c in str(args.connections).split(",")]
    if args.quick:
        args.recipients, args.naive, args.rounds = 500, 300, 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755)  # the PostgreSQL cluster runs as its own user
        old = unpack(args.against, tmp / "against") if args.against else None
        port = free_port()
        sink, sink_name = start_sink(port)
        print(f"into {sink_name} on 127.0.0.1; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
        try:
            if not args.skip_send:
                section_send(args, tmp, port, old)
            if not args.skip_linear:
                section_linear(args, tmp, port)
            if not args.skip_schedule:
                section_schedule(args, tmp, port, old)
            if not args.skip_postgres:
                section_postgres(args, tmp, port)
        finally:
            sink.terminate()
            sink.wait()
        print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
