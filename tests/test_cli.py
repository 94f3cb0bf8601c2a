"""The command line as a comms team uses it: init, validate, preview, send --dry-run, channels."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE_RELEASE
from distribute.cli import cli as command


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_init_creates_a_workspace_that_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    runner = CliRunner()
    identity = [
        "--name",
        "Example Press",
        "--website",
        "https://press.example.org",
        "--sender",
        "Press <press@example.org>",
        "--timezone",
        "Asia/Seoul",
        "--language",
        "en",
    ]
    result = runner.invoke(command, ["init", str(tmp_path / "new"), *identity])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "config.toml").is_file()
    assert list((tmp_path / "new" / "channels").glob("*.toml"))
    monkeypatch.chdir(tmp_path / "new")
    checked = runner.invoke(command, ["validate", "releases/first-release.md"])
    assert checked.exit_code == 0, checked.output + checked.stderr
    again = runner.invoke(command, ["init", str(tmp_path / "new"), *identity])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_validate_reports_every_channel(cli, workspace: Path) -> None:
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.stderr
    enabled = [
        p.stem for p in sorted((workspace / "channels").glob("*.toml")) if "enabled = false" not in p.read_text()
    ]
    for name in enabled:
        assert re.search(rf"^  {re.escape(name)} \(\w+\): ok", result.stdout, re.M), name
    assert "KST" in result.stdout and "UTC" in result.stdout


def test_preview_prints_each_channel_readably(cli, workspace: Path) -> None:
    result = cli("preview", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.stderr
    assert "Managing Decline?" in result.stdout
    for path in (workspace / "channels").glob("*.toml"):
        if "enabled = false" not in path.read_text():
            assert path.stem in result.stdout


def test_preview_html_is_one_self_contained_page(cli, workspace: Path) -> None:
    result = cli("preview", EXAMPLE_RELEASE, "--html", "preview.html")
    assert result.exit_code == 0, result.stderr
    page = (workspace / "preview.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Managing Decline?" in page
    # self-contained: no stylesheet, script or image fetched from elsewhere
    assert not re.search(r"""<link\b|<script\b[^>]*\bsrc=|\bsrc=["']https?:""", page)
    sections = page.count('<section class="channel"')
    assert sections == len(
        [p for p in (workspace / "channels").glob("*.toml") if "enabled = false" not in p.read_text()]
    )


def test_dry_run_writes_the_outbox_contract_and_is_byte_identical(cli, workspace: Path) -> None:
    first = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "ob")
    assert first.exit_code == 0, first.stderr
    assert "nothing sent" in first.stdout
    manifest = json.loads((workspace / "ob" / "manifest.json").read_text())
    assert manifest["release"] == "2025-06-30-nato-summit-brief"
    for d in manifest["deliveries"]:
        assert set(d) >= {"key", "channel", "adapter", "target", "due", "files", "sha256"}
        assert d["key"].startswith(f"{manifest['release']}/{d['channel']}/")
        for f in d["files"]:
            assert (workspace / "ob" / f).is_file() and f.startswith(d["channel"] + "/")
    before = tree_digest(workspace / "ob")
    second = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "ob")
    assert second.exit_code == 0
    assert tree_digest(workspace / "ob") == before


def test_dry_run_refuses_to_overwrite_a_folder_that_is_not_an_outbox(cli, workspace: Path) -> None:
    (workspace / "notes").mkdir()
    (workspace / "notes" / "keep.txt").write_text("mine")
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "notes")
    assert result.exit_code == 2 and "holds no manifest.json" in result.stderr
    assert (workspace / "notes" / "keep.txt").read_text() == "mine"


def test_channel_selection_and_unknown_channel(cli, workspace: Path) -> None:
    name = sorted(p.stem for p in (workspace / "channels").glob("*.toml"))[0]
    ok = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "ob", "-c", name)
    assert ok.exit_code == 0, ok.stderr
    manifest = json.loads((workspace / "ob" / "manifest.json").read_text())
    assert {d["channel"] for d in manifest["deliveries"]} == {name}
    bad = cli("send", EXAMPLE_RELEASE, "--dry-run", "-c", "fax")
    assert bad.exit_code == 1 and "unknown channel 'fax'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["send"], "name a RELEASE file, or use --due"),
        (["send", EXAMPLE_RELEASE, "--due"], "either RELEASE or --due"),
        (["send", EXAMPLE_RELEASE, "--outbox", "x"], "--outbox goes with --dry-run"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_2(cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr


def test_missing_release_file_is_one_line(cli) -> None:
    result = cli("validate", "releases/nope.md")
    assert result.exit_code == 1
    assert result.stderr == "error: releases/nope.md: no such release file\n"


def test_channels_lists_adapter_and_readiness(cli, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli("channels", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)["channels"]}
    assert set(rows) == {p.stem for p in (workspace / "channels").glob("*.toml")}
    for row in rows.values():
        assert row["ready"] == (not row["missing"])
    text = cli("channels")
    assert text.exit_code == 0 and all(name in text.stdout for name in rows)


def test_unschedule_of_a_release_never_scheduled_says_so(cli) -> None:
    result = cli("unschedule", EXAMPLE_RELEASE)
    assert result.exit_code == 2
    assert "was never scheduled, so there is nothing to unschedule" in result.stderr
