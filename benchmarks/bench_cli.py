"""Cold start of the everyday commands: `preview` and `validate` of the example release; `status` of a big one.

Each is a fresh process (nothing cached in memory), timed against `python -c pass`
measured in the same run, so the ratio holds on any machine. Targets: --help <= 5x,
validate and preview <= 30x.

Then `status` of a release whose newsletter has N ledger rows (default 100,000; scheduled with
the real `distribute schedule`, then a share marked sent, failed and in doubt): wall time (target
under a second) and how many lines it prints, with and without --json.

    python benchmarks/bench_cli.py [--runs N] [--status-rows N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import compare, env_without_config, python  # noqa: E402
from make_recipients import write as write_recipients  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "releases/2025-06-30-nato-summit-brief.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs; status of 20,000 rows")
    parser.add_argument("--status-rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.status_rows = 3, 20_000
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        shutil.copyfile(ROOT / "config.example.toml", ws / "config.toml")
        for folder in ("channels", "releases", "lists"):
            if (ROOT / folder).is_dir():
                shutil.copytree(ROOT / folder, ws / folder)
        base = [python(), "-c", "pass"]
        dist = [python(), "-m", "distribute", "--config", str(ws / "config.toml")]
        env = env_without_config()
        # As installed (pip writes bytecode): a PYTHONDONTWRITEBYTECODE=1 shell would time compiling
        # the package's sources on every run; the warm-up run below writes their .pyc files.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for warm in (["--help"], ["validate", RELEASE], ["preview", RELEASE]):
            subprocess.run([*dist, *warm], cwd=tmp, env=env, capture_output=True)
        print(f"cold commands on the example release ({args.runs} runs each, medians)")
        compare("distribute --help", [*dist, "--help"], base, runs=args.runs, cwd=tmp, env=env)
        compare("distribute validate RELEASE", [*dist, "validate", RELEASE], base, runs=args.runs, cwd=tmp, env=env)
        compare("distribute preview RELEASE", [*dist, "preview", RELEASE], base, runs=args.runs, cwd=tmp, env=env)
        compare(
            "distribute preview RELEASE --html",
            [*dist, "preview", RELEASE, "--html", "p.html"],
            base,
            runs=args.runs,
            cwd=tmp,
            env=env,
        )

        status(ws, dist, env, args.status_rows, args.runs)


def status(ws: Path, dist: list[str], env: dict[str, str], rows: int, runs: int) -> None:
    """`status RELEASE` of a release with `rows` newsletter deliveries in the ledger."""
    recipients = write_recipients(ws / "lists" / "status-bench.csv", rows)
    path = ws / "channels" / "newsletter.toml"
    text = re.sub(r"^recipients = .*$", f'recipients = "{recipients}"', path.read_text(encoding="utf-8"), flags=re.M)
    path.write_text(text, encoding="utf-8")
    env = {**env, "UNSUBSCRIBE_KEY": "bench-key-123"}
    start = time.perf_counter()
    subprocess.run([*dist, "schedule", RELEASE, "--late"], cwd=ws, env=env, check=True, capture_output=True)
    booked = time.perf_counter() - start
    db = sqlite3.connect(ws / ".distribute" / "state.db")
    with db:  # half sent, 1% failed, 20 in doubt; the rest still pending
        db.execute("UPDATE deliveries SET state = 'sent', sent_at = due WHERE channel = 'newsletter' AND seq % 2 = 0")
        db.execute(
            "UPDATE deliveries SET state = 'failed', attempts = 3, last_error = '550 5.1.1 mailbox unavailable' "
            "WHERE channel = 'newsletter' AND seq % 100 = 1"
        )
        db.execute(
            "UPDATE deliveries SET state = 'in_doubt', attempts = 1, last_error = 'connection lost after DATA' "
            "WHERE channel = 'newsletter' AND seq % 100 = 3 AND seq < 2000"
        )
        total = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    db.close()
    print(f"\nstatus of a release with {total:,} ledger rows (scheduled in {booked:.1f} s; {runs} runs each, medians)")
    for extra in ([], ["--json"]):
        argv = [*dist, "status", RELEASE, *extra]
        times, lines = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            lines = done.stdout.count("\n")
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-400:]}")
        label = "distribute status RELEASE" + (" --json" if extra else "")
        print(f"{label:<42} {statistics.median(times) * 1000:8.1f} ms   {lines:,} lines   (target < 1000 ms)")
    os.remove(recipients)


if __name__ == "__main__":
    main()
