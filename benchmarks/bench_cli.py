"""Cold start of the everyday commands: `preview` and `validate` of the example release.

Each is a fresh process (nothing cached in memory), timed against `python -c pass`
measured in the same run, so the ratio holds on any machine.

    python benchmarks/bench_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import compare, env_without_config, python  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "releases/2025-06-30-nato-summit-brief.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3
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


if __name__ == "__main__":
    main()
