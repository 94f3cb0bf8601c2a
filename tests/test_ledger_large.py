"""A long recipient list is recorded in batches while render() streams: memory stays flat in list size."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_support import subprocess_env, write_channel, write_config, write_release

pytestmark = pytest.mark.slow  # subprocesses, crashes or large lists: the full suite (CI) runs it

SCRIPT = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from distribute.send.schedule import book
    from distribute.workspace.config import Workspace
    ws = Workspace(Path(sys.argv[1]) / "config.toml")
    booking = book(ws, Path(sys.argv[1]) / "releases" / "big.md", late=True)
    print(booking.channels[0].count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def peak_kib(root: Path, site: Path, count: int) -> int:
    ws = root / f"ws{count}"
    write_config(ws)
    write_channel(ws, "newsletter", f'adapter = "loopmail"\nport = 9\ncount = {count}\n')
    write_release(ws, "big")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ws)],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    booked, peak = map(int, done.stdout.split())
    assert booked == count
    rows = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
            ".execute('SELECT COUNT(*) FROM deliveries').fetchone()[0])",
            str(ws / ".distribute/state.db"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(rows.stdout) == count
    return peak


def test_scheduling_ten_times_more_recipients_takes_no_more_memory(tmp_path: Path, plugin_site: Path) -> None:
    small = peak_kib(tmp_path, plugin_site, 10_000)
    large = peak_kib(tmp_path, plugin_site, 100_000)
    # 90,000 more rows held in memory would cost tens of MiB; streamed, the peak barely moves.
    assert large - small < 8 * 1024, (small, large)
