"""The adapter contract (DESIGN §4), run over every registered adapter and its example channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, ROOT, write_release
from distribute.adapters.base import Adapter, Delivery, PreviewBlock, Receipt
from distribute.adapters.registry import BUILTIN, Registry
from distribute.errors import DeliveryError
from distribute.plan import plan
from distribute.release import load_release
from distribute.workspace.config import Workspace
from distribute.workspace.schema import describe
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


def deliveries_for(ws_root: Path, release: Path, channel: str) -> tuple[Workspace, Adapter, list[Delivery]]:
    ws = Workspace(ws_root / "config.toml")
    rel = load_release(release, ws)
    (p,) = plan(ws, rel, [channel])
    return ws, p.adapter, list(p.deliveries())


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_has_an_example_channel_and_documented_settings(adapter: str) -> None:
    assert example_channels(adapter), f"channels/ has no example channel for adapter {adapter!r}"
    cls = Registry().get(adapter)
    assert dataclasses.is_dataclass(cls.Settings), "Settings must be a dataclass (the channel-file schema)"
    for key, _type, _default, doc in describe(cls.Settings):
        assert doc, f"{adapter}: setting {key!r} has no doc"
    assert isinstance(cls.public, bool) and isinstance(cls.idempotent, bool)


def _all_channels() -> list[tuple[str, str]]:
    return [(a, c) for a in ADAPTERS for c in example_channels(a)]


@pytest.fixture
def wired(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """The example workspace with every channel enabled and pointed at loopback tripwires, secrets set."""
    with tripwire() as wire:
        point_channels_at(workspace, wire)
        secrets = set_every_secret(workspace, monkeypatch)
        yield workspace, wire, secrets


@pytest.mark.parametrize("adapter, channel", _all_channels())
def test_render_is_deterministic_keyed_hashed_and_secret_free(wired, adapter: str, channel: str) -> None:
    ws_root, wire, secrets = wired
    _, _, first = deliveries_for(ws_root, ws_root / EXAMPLE_RELEASE, channel)
    _, _, second = deliveries_for(ws_root, ws_root / EXAMPLE_RELEASE, channel)
    assert first, "render produced no delivery"
    assert [(d.key, d.files, d.sha256) for d in first] == [(d.key, d.files, d.sha256) for d in second]
    keys = [d.key for d in first]
    assert len(set(keys)) == len(keys), "delivery keys must be unique"
    for d in first:
        assert d.adapter == adapter and d.channel == channel
        assert d.key.split("/")[:2] == ["2025-06-30-nato-summit-brief", channel] and len(d.key.split("/")) == 4
        assert re.fullmatch(r"[0-9a-f]{64}", d.sha256)
        assert d.files and all(isinstance(f.data, bytes) and f.name for f in d.files)
        for value in secrets.values():
            assert value.encode() not in b"".join(f.data for f in d.files), "a secret reached a payload"
        if d.after is not None:
            assert d.after in keys[: keys.index(d.key)], "after must name an earlier delivery of the channel"
    assert wire.touched == 0, f"render touched the network: {wire.requests}"


@pytest.mark.parametrize("adapter, channel", _all_channels())
def test_render_told_a_due_time_is_deterministic_and_keeps_the_same_deliveries(
    wired, adapter: str, channel: str
) -> None:
    ws_root, wire, _ = wired
    ws = Workspace(ws_root / "config.toml")
    (p,) = plan(ws, load_release(ws_root / EXAMPLE_RELEASE, ws), [channel])
    due = p.due - dt.timedelta(hours=14)  # e.g. `send RELEASE` the evening before
    first, second = list(p.render(due)), list(p.render(due))
    assert [(d.key, d.files, d.sha256) for d in first] == [(d.key, d.files, d.sha256) for d in second]
    assert [d.key for d in first] == [d.key for d in p.deliveries()], "the due time changed which deliveries exist"
    assert wire.touched == 0


@pytest.mark.parametrize("adapter, channel", _all_channels())
def test_release_text_is_data_in_every_output(wired, adapter: str, channel: str) -> None:
    ws_root, _, _ = wired
    path = write_release(
        ws_root,
        "injection",
        'title = "Budget {{ config }} review {% if true %}x{% endif %}"\n'
        'summary = "Summary {{ release }}"\n'
        "publish_at = 2025-06-30T09:00:00+09:00\n"
        'url = "https://example.org/news/injection"\n'
        'tags = ["NATO"]\n',
        "Body with {{ config.organization }} and {% raw %}.\n",
    )
    _, _, deliveries = deliveries_for(ws_root, path, channel)
    for d in deliveries:
        data = b"".join(f.data for f in d.files)
        assert b"{{ config }}" in data or b"{{ release }}" in data or b"{{ config.organization }}" in data, (
            f"{d.key}: release text did not come through literally"
        )


@pytest.mark.parametrize("adapter, channel", _all_channels())
def test_preview_gives_readable_blocks(wired, adapter: str, channel: str) -> None:
    ws_root, _, _ = wired
    ws, instance, deliveries = deliveries_for(ws_root, ws_root / EXAMPLE_RELEASE, channel)
    blocks = instance.preview(deliveries[:3], ws.channels[channel])
    assert blocks and all(isinstance(b, PreviewBlock) and b.text.strip() for b in blocks)


@pytest.mark.parametrize("adapter, channel", _all_channels())
def test_deliver_returns_a_receipt_or_raises_delivery_error(wired, adapter: str, channel: str) -> None:
    ws_root, wire, _ = wired
    ws, instance, deliveries = deliveries_for(ws_root, ws_root / EXAMPLE_RELEASE, channel)
    first = deliveries[0]
    try:
        outcome = instance.deliver(first, ws.channels[channel])
    except DeliveryError as exc:
        # The only remote here is the tripwire, which answers 503 (HTTP) or 554 (SMTP).
        assert wire.touched > 0, "a DeliveryError without any attempt to reach the remote"
        assert str(exc)
    else:
        assert isinstance(outcome, Receipt), f"deliver returned {outcome!r}, not a Receipt"
    finally:
        instance.close()


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
