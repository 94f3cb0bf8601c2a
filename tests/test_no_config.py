"""A command that touches the ledger, run where there is no config.toml, refuses and leaves the folder as it was.

A cron line or a service with the wrong working directory must not look healthy: before this,
`send --due` there exited 4 (nothing to do) in silence and made a fresh empty ledger of its own.
The real entry point runs in a subprocess, so the cron fast path of __main__ is part of what is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RELEASE = """+++
title = "A release"
publish_at = 2026-03-02T09:00:00+01:00
+++
Body.
"""


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISTRIBUTE_CONFIG"}
    env["DISTRIBUTE_NOW"] = "2026-03-02T08:00:00+00:00"
    return subprocess.run(
        [sys.executable, "-m", "distribute", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def release_elsewhere(tmp_path: Path) -> Path:
    path = tmp_path / "drafts" / "a-release.md"
    path.parent.mkdir()
    path.write_text(RELEASE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["send", "--due"],
        ["-v", "send", "--due"],
        ["send", "--due", "--dry-run"],
        ["send", "RELEASE"],
        ["schedule", "RELEASE"],
        ["approve", "RELEASE"],
        ["approve", "RELEASE", "--revoke"],
        ["unschedule", "a-release"],
        ["status"],
        ["status", "a-release"],
        ["worker"],
    ],
    ids=" ".join,
)
def test_a_ledger_command_without_config_refuses_and_creates_nothing(
    tmp_path: Path, release_elsewhere: Path, args: list[str]
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    argv = [str(release_elsewhere) if a == "RELEASE" else a for a in args]
    result = run_in(folder, *argv)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"error: no config.toml in {folder.resolve()} (and no --config or $DISTRIBUTE_CONFIG): "
        "run this in your workspace, or pass --config PATH\n"
    )
    assert result.stdout == ""
    assert list(folder.iterdir()) == []


def test_a_config_path_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    result = run_in(tmp_path, "--config", "press/config.toml", "send", "--due")
    assert result.returncode == 2
    assert result.stderr == "error: --config press/config.toml: no such file\n"
    assert list(tmp_path.iterdir()) == []


def test_the_built_in_defaults_still_serve_validate_preview_and_a_dry_run(
    tmp_path: Path, release_elsewhere: Path
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    for args in (["validate", str(release_elsewhere)], ["preview", str(release_elsewhere)]):
        result = run_in(folder, *args)
        assert result.returncode == 0, result.stderr
        assert list(folder.iterdir()) == []
    result = run_in(folder, "send", str(release_elsewhere), "--dry-run", "--outbox", "out")
    assert result.returncode in (0, 4), result.stderr  # no channels without a config: nothing to do
    assert "no config.toml" not in result.stderr
    assert not (folder / ".distribute").exists()
