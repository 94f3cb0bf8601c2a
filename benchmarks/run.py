"""Run every benchmark in this folder, one after another: `python benchmarks/run.py [--quick]`.

Each benchmark prints its own figures and ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n== {script.name} ==", flush=True)
        argv = [sys.executable, str(script)]
        if quick:
            argv.append("--quick")
        failed |= subprocess.call(argv) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
