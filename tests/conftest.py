"""Shared fixtures: where the official standards live, and a throwaway copy of the example workspace."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

# Headless Chromium (one for the whole session: Playwright's sync API allows one per thread).
from browser_support import chromium, page  # noqa: F401, E402

ROOT = Path(__file__).resolve().parent.parent


def standards_path() -> Path:
    """The official schemas and vectors: $DISTRIBUTE_STANDARDS, else ../shared/standards."""
    override = os.environ.get("DISTRIBUTE_STANDARDS")
    path = Path(override) if override else ROOT.parent / "shared" / "standards"
    return path.resolve()


@pytest.fixture(scope="session")
def standards() -> Path:
    path = standards_path()
    if not path.is_dir():
        pytest.fail(f"standards not found at {path}; set DISTRIBUTE_STANDARDS to the folder")
    return path


@pytest.fixture(scope="session")
def newsml_schema(standards: Path) -> Any:
    """The NewsML-G2 2.35 power schema (lxml), loaded once; it imports xml.xsd from its folder, offline."""
    from lxml import etree

    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(standards / "newsml-g2" / "NewsML-G2_2.35-spec-All-Power.xsd"), parser))


@pytest.fixture(scope="session")
def ninjs_validator(standards: Path) -> Any:
    """The ninjs 3.1 JSON Schema (jsonschema, draft 2020-12, formats checked), itself checked once."""
    import json

    import jsonschema

    schema = json.loads((standards / "ninjs" / "ninjs-schema_3.1.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


EXAMPLE_RELEASE = "releases/2025-06-30-nato-summit-brief.md"


# The example organisation's accounts, filled in where the shipped channel files say CHANGE-ME,
# as its press office would before enabling them.
EXAMPLE_ACCOUNTS = {
    "bluesky.toml": ('handle = "CHANGE-ME.bsky.social"', 'handle = "asaninst.bsky.social"'),
    "linkedin.toml": ('author = "urn:li:organization:CHANGE-ME"', 'author = "urn:li:organization:2414183"'),
    "mastodon.toml": ('instance = "https://CHANGE-ME.example"', 'instance = "https://mastodon.social"'),
}


def copy_example_workspace(dest: Path) -> Path:
    """The repository's example workspace (config, channels, releases, lists) copied to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "config.example.toml", dest / "config.toml")
    for folder in ("channels", "releases", "lists"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, dest / folder)
    for name, (placeholder, account) in EXAMPLE_ACCOUNTS.items():
        path = dest / "channels" / name
        text = path.read_text(encoding="utf-8")
        assert placeholder in text, f"{path} no longer has {placeholder}"
        path.write_text(text.replace(placeholder, account), encoding="utf-8")
    return dest


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway copy of the example workspace; the current directory is its root."""
    ws = copy_example_workspace(tmp_path / "ws")
    monkeypatch.chdir(ws)
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    return ws


@pytest.fixture
def cli(workspace: Path):
    """Run `distribute --config <workspace>/config.toml ARGS...` in-process; returns the click Result."""
    from click.testing import CliRunner

    from distribute.cli import cli as command

    def run(*args: str, env: dict[str, str] | None = None):
        runner = CliRunner()
        return runner.invoke(
            command, ["--config", str(workspace / "config.toml"), *args], env=env, catch_exceptions=False
        )

    return run


def write_release(ws: Path, name: str, front: str, body: str = "Body text.\n") -> Path:
    """Write releases/<name>.md from front-matter TOML and a Markdown body."""
    path = ws / "releases" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"+++\n{front.strip()}\n+++\n{body}", encoding="utf-8")
    return path
