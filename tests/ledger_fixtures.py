"""Fixtures of the ledger tests; a test module takes them with `from ledger_fixtures import *`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger_postgres import postgres_server, postgres_url
from ledger_support import install_plugin, write_config

__all__ = ["lws", "plugin_site", "postgres_server", "postgres_url"]


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test adapters installed as a plugin, in a folder put on PYTHONPATH of subprocesses."""
    return install_plugin(tmp_path_factory.mktemp("ledger-plugin"))


@pytest.fixture
def lws(tmp_path: Path, plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (config only) with the test plugin importable in this process too."""
    monkeypatch.syspath_prepend(str(plugin_site))
    for name in [k for k in os.environ if k in ("DISTRIBUTE_CONFIG", "DISTRIBUTE_NOW")]:
        monkeypatch.delenv(name)
    ws = tmp_path / "ws"
    write_config(ws, delivery="backoff = 10\nbackoff_max = 600\nmax_attempts = 3")
    monkeypatch.chdir(ws)
    return ws
