"""The adapter contract (DESIGN §4), run over every built-in adapter and its example channels.

The contract tests themselves are the exported suite (distribute.testing.AdapterContract) that a
plugin's own tests run too; here they get every example channel, pointed at loopback tripwires.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, ROOT
from distribute.adapters.registry import BUILTIN, Registry
from distribute.testing import AdapterContract, ContractCase
from tripwire import point_channels_at, set_every_secret, tripwire

ADAPTERS = sorted(BUILTIN)
NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)  # after every example release


def example_channels(adapter: str) -> list[str]:
    names = []
    for path in sorted((ROOT / "channels").glob("*.toml")):
        if re.search(rf'^adapter\s*=\s*"{re.escape(adapter)}"', path.read_text(), re.M):
            names.append(path.stem)
    return names


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_has_an_example_channel(adapter: str) -> None:
    assert example_channels(adapter), f"channels/ has no example channel for adapter {adapter!r}"
    assert Registry().get(adapter).name == adapter


def _all_channels() -> list[tuple[str, str]]:
    return [(a, c) for a in ADAPTERS for c in example_channels(a)]


@pytest.fixture
def wired(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """The example workspace with every channel enabled and pointed at loopback tripwires, secrets set."""
    with tripwire() as wire:
        point_channels_at(workspace, wire)
        secrets = set_every_secret(workspace, monkeypatch)
        yield workspace, wire, secrets


class TestBuiltinAdapters(AdapterContract):
    """The exported contract suite (distribute.testing), over every example channel of every built-in adapter."""

    @pytest.fixture(params=_all_channels(), ids=[f"{a}-{c}" for a, c in _all_channels()])
    def contract_case(self, request: pytest.FixtureRequest, wired) -> ContractCase:
        ws_root, wire, secrets = wired
        _adapter, channel = request.param
        return ContractCase(
            ws_root / "config.toml", ws_root / EXAMPLE_RELEASE, channel, secrets, touched=lambda: wire.touched
        )


def test_dry_run_of_every_channel_sends_nothing(wired, cli) -> None:
    ws_root, wire, secrets = wired
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "outbox-proof")
    assert result.exit_code == 0, result.output + result.stderr
    assert wire.touched == 0, f"dry-run reached the network: {wire.requests} / {wire.connections} connections"
    manifest = json.loads((ws_root / "outbox-proof" / "manifest.json").read_text())
    channels = {d["channel"] for d in manifest["deliveries"]}
    assert channels == {c for _, c in _all_channels()}
    everything = b"".join(p.read_bytes() for p in (ws_root / "outbox-proof").rglob("*") if p.is_file())
    for value in secrets.values():
        assert value.encode() not in everything
        assert value not in result.output + result.stderr
