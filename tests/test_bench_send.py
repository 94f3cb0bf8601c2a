"""benchmarks/bench_send.py runs end to end (--quick): the real `distribute send` through the CLI, with its baselines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses, crashes or large lists: the full suite (CI) runs it

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_send.py"


def test_the_send_benchmark_runs_quick_and_prints_each_ratio() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISTRIBUTE_CONFIG", "DISTRIBUTE_NOW")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--connections", "2", "--skip-postgres"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in ("send / naive", "send / adapter alone", "per-message time", "schedule of 10,000", "peak memory"):
        assert line in out, out
    # Every send delivered the whole list (the benchmark exits non-zero otherwise) and printed figures.
    assert "2 connections: send, msg/s" in out
