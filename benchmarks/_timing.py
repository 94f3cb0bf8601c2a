"""Whole-process timing with the standard library: repeated runs, medians, ratios in one run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence


def time_command(
    argv: Sequence[str], runs: int = 7, warmup: int = 1, cwd: str | None = None, env: dict[str, str] | None = None
) -> list[float]:
    """Wall seconds of each of `runs` runs of a command (after `warmup` uncounted runs)."""
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 4):
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
        if i >= warmup:
            times.append(elapsed)
    return times


def compare(label: str, argv: Sequence[str], baseline: Sequence[str], runs: int = 7, **kw: object) -> float:
    """Time a command against a baseline, interleaved, and print medians and the ratio."""
    ours, base = [], []
    for _ in range(runs):
        ours += time_command(argv, runs=1, warmup=0, **kw)  # type: ignore[arg-type]
        base += time_command(baseline, runs=1, warmup=0, **kw)  # type: ignore[arg-type]
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    ratio = m_ours / m_base
    print(f"{label:<42} {m_ours * 1000:8.1f} ms   baseline {m_base * 1000:7.1f} ms   ratio {ratio:6.1f}x")
    return ratio


def python() -> str:
    return sys.executable


def env_without_config() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DISTRIBUTE_CONFIG", None)
    return env
