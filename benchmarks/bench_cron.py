"""Cron mode's cost and the ledger's own overhead.

1. `distribute send --due` with nothing due (what cron runs every minute), as a whole process,
   against `python -c pass` measured in the same run: the budget is 5x.
2. Deliveries dispatched per second from the ledger to an adapter that does nothing (the
   ledger's claims, hand-over marks and outcome records are all that is measured), and
   rows recorded per second by `schedule` while render() streams.

    python benchmarks/bench_cron.py [--runs N] [--deliveries N] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import compare, env_without_config, python  # noqa: E402

from distribute.adapters.base import Adapter, Delivery, File, Receipt  # noqa: E402
from distribute.workspace.schema import field  # noqa: E402

RELEASE = """+++
id = "bench"
title = "Benchmark release"
publish_at = {when}
+++
Body.
"""


@dataclasses.dataclass(frozen=True)
class NoopSettings:
    count: int = field(1000, doc="deliveries to render")


class NoopAdapter(Adapter):
    """Renders `count` tiny deliveries and delivers each by doing nothing at all."""

    name = "noop"
    Settings = NoopSettings
    public = False

    def render(self, release, channel) -> Iterator[Delivery]:  # type: ignore[no-untyped-def]
        for i in range(channel.settings.count):
            yield Delivery(release.id, channel.name, self.name, f"t{i}", "1", (File("x.txt", b"%d" % i),))

    def deliver(self, delivery: Delivery, channel) -> Receipt:  # type: ignore[no-untyped-def]
        return Receipt(remote_id=delivery.target)


def workspace(root: Path, count: int, when: str) -> Path:
    (root / "channels").mkdir(parents=True)
    (root / "releases").mkdir()
    (root / "config.toml").write_text('timezone = "UTC"\n[delivery]\nbatch = 50\n')
    (root / "channels" / "noop.toml").write_text(f'adapter = "noop"\ncount = {count}\n')
    (root / "releases" / "bench.md").write_text(RELEASE.format(when=when))
    return root / "config.toml"


def load(config: Path):  # type: ignore[no-untyped-def]
    from distribute.adapters.registry import Registry
    from distribute.workspace.config import Workspace

    registry = Registry()
    registry.register("noop", NoopAdapter)
    return Workspace(config, registry=registry)


def cron_cost(runs: int) -> float:
    """The no-op cron run against `python -c pass`, with a ledger holding a future schedule."""
    from distribute.send.schedule import book

    script = Path(python()).with_name("distribute")
    argv = [str(script)] if script.exists() else [python(), "-m", "distribute"]
    with tempfile.TemporaryDirectory() as tmp:
        config = workspace(Path(tmp), 100, "2999-01-01T00:00:00Z")
        book(load(config), Path(tmp) / "releases" / "bench.md")
        env = env_without_config()
        print(f"cron: `distribute send --due` with nothing due ({runs} runs each, interleaved, medians)")
        return compare(
            "distribute send --due (nothing due)",
            [*argv, "--config", str(config), "send", "--due"],
            [python(), "-c", "pass"],
            runs=runs,
            cwd=tmp,
            env=env,
        )


def throughput(count: int) -> None:
    """Rows recorded per second by schedule, deliveries dispatched per second by send."""
    from distribute.send.dispatch import run
    from distribute.send.schedule import book

    with tempfile.TemporaryDirectory() as tmp:
        config = workspace(Path(tmp), count, "2000-01-01T00:00:00Z")
        ws = load(config)
        start = time.perf_counter()
        book(ws, Path(tmp) / "releases" / "bench.md", late=True)  # dated 2000: due at once
        scheduled = time.perf_counter() - start
        start = time.perf_counter()
        report = run(ws)
        sent = time.perf_counter() - start
        assert report.sent == count, report
        print(f"ledger: schedule {count} deliveries   {count / scheduled:10.0f} rows/s       ({scheduled:.2f} s)")
        print(
            f"ledger: dispatch {count} deliveries   {count / sent:10.0f} deliveries/s ({sent:.2f} s, "
            "no-op adapter: the ledger's own overhead)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="5 runs, 2,000 deliveries")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.deliveries = 5, 2000
    ratio = cron_cost(args.runs)
    print(f"budget: within 5x `python -c pass` -> {'met' if ratio <= 5 else 'MISSED'} ({ratio:.1f}x)")
    throughput(args.deliveries)


if __name__ == "__main__":
    main()
