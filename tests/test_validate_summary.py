"""`validate` on a long list: a bounded summary per channel, skipped rows as warnings with file:line, -v for all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, ROOT, copy_example_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return copy_example_workspace(tmp_path / "ws")


def write_list(ws: Path, count: int, bad_every: int = 0) -> None:
    rows = ["email,name"]
    for i in range(count):
        rows.append(
            f"not-an-address-{i},Bad" if bad_every and i % bad_every == 7 else f"reader{i}@example.org,Reader {i}"
        )
    (ws / "lists" / "newsletter.csv").write_text("\n".join(rows) + "\n")


def validate(ws: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run(
        [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args, "validate", EXAMPLE_RELEASE],
        cwd=ws,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def test_validate_on_20000_recipients_is_a_short_summary_in_seconds(ws: Path) -> None:
    write_list(ws, 20_000, bad_every=5000)  # 4 bad rows, at lines 9, 5009, 10009, 15009
    started = time.monotonic()
    result = validate(ws)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) < 60, f"{len(lines)} lines"
    assert re.search(r"^  newsletter \(email\): 4 warnings, 19,996 deliveries, due ", result.stdout, re.M), (
        result.stdout
    )
    assert "checked: all 19,996 rendered, the first 50 in full" in result.stdout
    assert "warning: lists/newsletter.csv:9: 'not-an-address-7' is not a valid address" in result.stderr
    assert "warning: newsletter: 1 more row of the list skipped" in result.stderr
    assert re.search(r"^  press-list \(email\): ok, 3 deliveries", result.stdout, re.M)
    print(f"validate, 20,000 recipients: {took:.1f} s")  # shown with -s; before this summary: about 67 s here


def test_a_skipped_row_is_a_warning_with_its_line_not_ok(ws: Path) -> None:
    (ws / "lists" / "newsletter.csv").write_text("email,name\na@example.org,A\nnot an address,B\nb@example.org,B\n")
    result = validate(ws)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^  newsletter \(email\): 1 warning, 2 deliveries", result.stdout, re.M), result.stdout
    assert "warning: lists/newsletter.csv:3: 'not an address' is not a valid address" in result.stderr
    assert result.stderr.count("lists/newsletter.csv:3") == 1, "said once, not logged a second time"


@pytest.mark.slow  # a few seconds; CI runs it, the fast lane leaves it out
def test_validate_v_checks_and_lists_every_delivery(ws: Path) -> None:
    write_list(ws, 60)
    short, full = validate(ws), validate(ws, "-v")
    assert short.returncode == 0 and full.returncode == 0, short.stderr + full.stderr
    checked = [line for line in full.stdout.splitlines() if "longest line (octets)" in line]
    assert len(checked) == 60 + 3, "every newsletter message and every press-list message"
    assert sum("longest line (octets)" in line for line in short.stdout.splitlines()) == 1 + 3
    assert "checked: all 60 rendered, the first 50 in full" in short.stdout
    assert "checked:" not in full.stdout
