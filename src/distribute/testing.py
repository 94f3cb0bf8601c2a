"""The adapter contract suite (DESIGN §4): the same tests over every built-in adapter and any plugin.

A plugin's tests run it in a few lines (pytest is needed; see docs/plugins.md)::

    from distribute.testing import AdapterContract, ContractCase

    class TestWebhookContract(AdapterContract):
        @pytest.fixture
        def contract_case(self, tmp_path, httpserver) -> ContractCase:
            ...  # write config.toml, channels/<name>.toml and a release into tmp_path
            return ContractCase(tmp_path / "config.toml", tmp_path / "releases/r.md", "hook",
                                touched=lambda: len(httpserver.log))

Each test method takes the `contract_case` fixture; parametrise that fixture to run the suite
over several channels. Only the public API is needed to use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .adapters.base import Adapter, Delivery, PreviewBlock, Receipt, entry_of, render_in
from .errors import DeliveryError
from .plan import ChannelPlan, plan
from .release import load_release
from .workspace.config import Workspace
from .workspace.schema import describe

__all__ = ["AdapterContract", "ContractCase"]


@dataclass(frozen=True)
class ContractCase:
    """One channel to hold to the contract: its workspace, a release that goes to it, and its remote."""

    config: Path  # the workspace's config.toml
    release: Path  # a release file the channel can render (its text needs no more than title and body)
    channel: str  # the channel (file stem in channels/) under test
    secrets: Mapping[str, str] = field(default_factory=dict)  # values that must never reach a payload
    touched: Callable[[], int] = lambda: 0  # how many requests (or connections) reached the remote so far


def planned(case: ContractCase, release: Path | None = None) -> tuple[Workspace, ChannelPlan]:
    """The workspace and the channel's plan for the case's release (or another release file)."""
    ws = Workspace(case.config)
    (p,) = plan(ws, load_release(release or case.release, ws), [case.channel])
    return ws, p


def _files(d: Delivery) -> bytes:
    return b"".join(f.data for f in d.files)


class AdapterContract:
    """The contract tests; subclass it and give a `contract_case` fixture returning a ContractCase."""

    @pytest.fixture
    def contract_case(self) -> ContractCase:
        raise NotImplementedError("give the subclass a `contract_case` fixture that returns a ContractCase")

    def test_settings_are_a_documented_dataclass(self, contract_case: ContractCase) -> None:
        ws = Workspace(contract_case.config)
        cls: type[Adapter] = ws.registry.get(ws.channels[contract_case.channel].adapter)
        assert cls.name, "the adapter class needs a name"
        assert dataclasses.is_dataclass(cls.Settings), "Settings must be a dataclass (the channel-file schema)"
        for key, _type, _default, doc in describe(cls.Settings):
            assert doc, f"{cls.name}: setting {key!r} has no doc (use field(default, doc=...))"
        assert isinstance(cls.public, bool) and isinstance(cls.idempotent, bool)
        folder = cls.template_folder()
        assert folder is None or folder.is_dir(), f"{cls.name}: templates folder {folder} does not exist"

    def test_render_is_deterministic_keyed_hashed_and_secret_free(self, contract_case: ContractCase) -> None:
        before = contract_case.touched()
        _, p = planned(contract_case)
        first = list(p.deliveries())
        second = list(planned(contract_case)[1].deliveries())
        assert first, "render produced no delivery"
        assert [(d.key, d.files, d.sha256) for d in first] == [(d.key, d.files, d.sha256) for d in second]
        keys = [d.key for d in first]
        assert len(set(keys)) == len(keys), "delivery keys must be unique"
        for d in first:
            assert d.adapter == p.adapter.name and d.channel == contract_case.channel
            assert d.key.split("/")[:2] == [p.release.id, contract_case.channel] and len(d.key.split("/")) == 4
            assert re.fullmatch(r"[0-9a-f]{64}", d.sha256)
            assert d.files and all(isinstance(f.data, bytes) and f.name for f in d.files)
            for value in contract_case.secrets.values():
                assert value.encode() not in _files(d), "a secret reached a payload"
            if d.after is not None:
                assert d.after in keys[: keys.index(d.key)], "after must name an earlier delivery of the channel"
        assert contract_case.touched() == before, "render touched the network"

    def test_render_told_a_due_time_is_deterministic_and_keeps_the_same_deliveries(
        self, contract_case: ContractCase
    ) -> None:
        before = contract_case.touched()
        _, p = planned(contract_case)
        due = p.due - dt.timedelta(hours=14)  # e.g. `send RELEASE` the evening before
        first, second = list(p.render(due)), list(p.render(due))
        assert [(d.key, d.files, d.sha256) for d in first] == [(d.key, d.files, d.sha256) for d in second]
        assert [d.key for d in first] == [d.key for d in p.deliveries()], "the due time changed which deliveries exist"
        assert contract_case.touched() == before

    def test_count_is_the_number_of_deliveries_render_gives(self, contract_case: ContractCase) -> None:
        before = contract_case.touched()
        _, p = planned(contract_case)
        context = p.context()
        for variant in p.variants:
            rendered = sum(1 for _ in render_in(p.adapter, variant, p.channel, context))
            counted = p.adapter.count(variant, p.channel, context=context)
            assert counted == rendered, f"{variant.language}: count says {counted}, render gives {rendered}"
        assert contract_case.touched() == before, "count touched the network"

    def test_entries_are_what_render_gives_without_the_payload(self, contract_case: ContractCase) -> None:
        # schedule books `entries` (key, lock, label, ...); dispatch checks the render against what was booked.
        before = contract_case.touched()
        _, p = planned(contract_case)
        booked = list(p.entries(p.due))
        rendered = [(seq, entry_of(d)) for seq, d in p.numbered(p.due)]
        assert booked == rendered, "entries must give entry_of(delivery) of each delivery render gives, in order"
        assert contract_case.touched() == before, "entries touched the network"

    def test_release_text_is_data_in_every_output(self, contract_case: ContractCase) -> None:
        original = contract_case.release.read_text(encoding="utf-8")
        when = re.search(r"(?m)^publish_at\s*=.*$", original)
        assert when, f"{contract_case.release}: the contract needs a release with publish_at"
        path = contract_case.release.with_name("contract-injection.md")
        text = (
            'title = "Budget {{ config }} review {% if true %}x{% endif %}"\n'
            'summary = "Summary {{ release }}"\n'
            'url = "https://example.org/news/injection"\n'
            'tags = ["NATO"]\n'
            "+++\n"
            "Body with {{ config.organization }} and {% raw %}.\n"
        )
        path.write_text(f"+++\n{when.group(0)}\n{text}", encoding="utf-8")
        # A channel that sends other languages (language = "ko") gets the same text as their translations.
        ws = Workspace(contract_case.config)
        common = ws.channels[contract_case.channel].common
        tags = [common.language] if common.language else list(common.languages)
        translations = [
            path.with_name(f"{path.stem}.{tag}.md") for tag in tags if tag.lower() != ws.config.language.lower()
        ]
        for translation in translations:
            translation.write_text(f"+++\n{text}", encoding="utf-8")
        try:
            _, p = planned(contract_case, path)
            deliveries = list(p.deliveries())
        finally:
            path.unlink()
            for translation in translations:
                translation.unlink()
        assert deliveries
        for d in deliveries:
            data = _files(d)
            assert b"{{ config }}" in data or b"{{ release }}" in data or b"{{ config.organization }}" in data, (
                f"{d.key}: release text did not come through literally"
            )

    def test_preview_gives_readable_blocks(self, contract_case: ContractCase) -> None:
        _, p = planned(contract_case)
        blocks = p.adapter.preview(list(p.deliveries())[:3], p.channel)
        assert blocks and all(isinstance(b, PreviewBlock) and b.text.strip() for b in blocks)

    def test_deliver_returns_a_receipt_or_raises_delivery_error(self, contract_case: ContractCase) -> None:
        _, p = planned(contract_case)
        first = next(iter(p.deliveries()))
        before = contract_case.touched()
        try:
            outcome = p.adapter.deliver(first, p.channel)
        except DeliveryError as exc:
            assert contract_case.touched() > before, "a DeliveryError without any attempt to reach the remote"
            assert str(exc)
        else:
            assert isinstance(outcome, Receipt), f"deliver returned {outcome!r}, not a Receipt"
        finally:
            p.adapter.close()
