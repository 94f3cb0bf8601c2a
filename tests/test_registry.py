"""The adapter registry: built-ins by name, third-party adapters through the entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT
from distribute.adapters.base import Adapter
from distribute.adapters.registry import BUILTIN, Registry
from distribute.errors import UnknownAdapterError


def test_every_builtin_adapter_imports_and_is_an_adapter() -> None:
    registry = Registry()
    for name in BUILTIN:
        cls = registry.get(name)
        assert issubclass(cls, Adapter) and cls.name == name


def test_a_builtins_settings_and_templates_are_its_own_without_importing_it() -> None:
    """A channel file is checked against registry.settings (a disabled channel's adapter is never imported)."""
    for name in BUILTIN:
        apart = Registry()
        assert apart.settings(name) is Registry().get(name).Settings, name
        assert apart.template_folder(name) is None and Registry().get(name).template_folder() is None, name
    replaced = Registry()
    replaced.register("x", "distribute.adapters.social.mastodon:MastodonAdapter")
    assert replaced.settings("x").__name__ == "MastodonSettings", "a replaced built-in is the new adapter's"


def test_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAdapterError) as info:
        Registry().get("fax")
    for name in BUILTIN:
        assert name in str(info.value)


def test_a_target_that_is_not_an_adapter_is_refused() -> None:
    registry = Registry({"bad": "json:dumps"})
    with pytest.raises(UnknownAdapterError, match="not a subclass of distribute.adapters.base.Adapter"):
        registry.get("bad")


PLUGIN = '''
"""A third-party adapter: writes each release's headline into a folder, one file per delivery."""
import dataclasses
from pathlib import Path

from distribute.adapters.base import Adapter, Delivery, File, Receipt, PreviewBlock, Check
from distribute.errors import DeliveryError
from distribute import field


@dataclasses.dataclass(frozen=True)
class Settings:
    folder: Path = field(Path("pager-out"), doc="where pages are written")
    limit: int = field(40, doc="longest page")


class PagerAdapter(Adapter):
    name = "pager"
    Settings = Settings

    def render(self, release, channel):
        text = f"{release.title} {release.url}".strip()
        yield Delivery(release.id, channel.name, self.name, "pager", "1",
                       (File("page.txt", text.encode()),), label="page")

    def deliver(self, delivery, channel):
        folder = channel.settings.folder
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{delivery.release_id}.txt"
        target.write_bytes(delivery.files[0].data)
        return Receipt(remote_id=str(target))

    def preview(self, deliveries, channel):
        text = deliveries[0].files[0].data.decode()
        limit = channel.settings.limit
        return [PreviewBlock("page", text, checks=(Check("length", len(text), limit, len(text) <= limit),))]


class DatedPagerAdapter(PagerAdapter):
    """Written for the `due` keyword that came before RenderContext."""

    name = "dated-pager"

    def render(self, release, channel, *, due=None):
        text = f"{release.title} due {due.isoformat()}"
        yield Delivery(release.id, channel.name, self.name, "pager", "1",
                       (File("page.txt", text.encode()),), label="page")


class BrokenCheckAdapter(PagerAdapter):
    name = "broken-check"

    def check_account(self, channel):
        raise RuntimeError("no route to the pager service")


class NotAnAdapter:
    pass
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway third-party package, built and installed with pip into its own folder."""
    src = tmp_path_factory.mktemp("plugin-src")
    (src / "distribute_pager.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "distribute-pager"
        version = "1.0"

        [tool.setuptools]
        py-modules = ["distribute_pager"]

        [project.entry-points."distribute.adapters"]
        pager = "distribute_pager:PagerAdapter"
        dated-pager = "distribute_pager:DatedPagerAdapter"
        broken = "distribute_pager:NotAnAdapter"
        broken-check = "distribute_pager:BrokenCheckAdapter"
    """)
    )
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    return site


def run(ws: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    env.pop("DISTRIBUTE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ws,
    )


def test_third_party_adapter_from_an_entry_point_end_to_end(tmp_path: Path, plugin_site: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "channels").mkdir(parents=True)
    (ws / "releases").mkdir()
    (ws / "config.toml").write_text('timezone = "UTC"\n')
    (ws / "channels" / "pager.toml").write_text('adapter = "pager"\nlimit = 80\n')
    (ws / "releases" / "r.md").write_text(
        '+++\ntitle = "Plugin works"\npublish_at = 2025-01-01T09:00:00Z\nurl = "https://x.org/r"\n+++\nBody\n'
    )
    listed = run(ws, plugin_site, "channels", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["channels"][0]["adapter"] == "pager"

    checked = run(ws, plugin_site, "validate", "releases/r.md")
    assert checked.returncode == 0, checked.stderr
    assert "length 28/80 ok" in checked.stdout

    dry = run(ws, plugin_site, "send", "releases/r.md", "--dry-run", "--outbox", "ob")
    assert dry.returncode == 0, dry.stderr
    manifest = json.loads((ws / "ob" / "manifest.json").read_text())
    assert manifest["deliveries"][0]["key"] == "r/pager/pager/1"
    assert (ws / "ob" / "pager" / "page.txt").read_text() == "Plugin works https://x.org/r"
    assert not (ws / "pager-out").exists()  # dry-run delivered nothing

    # Its render(release, channel) predates the `due` keyword: scheduling and sending still work.
    (ws / "releases" / "r2.md").write_text(
        '+++\ntitle = "Plugin sends"\npublish_at = 2099-01-01T09:00:00Z\nurl = "https://x.org/r2"\n+++\nBody\n'
    )
    sent = run(ws, plugin_site, "send", "releases/r2.md")
    assert sent.returncode == 0, sent.stderr
    assert (ws / "pager-out" / "r2.txt").read_text() == "Plugin sends https://x.org/r2"

    (ws / "channels" / "pager.toml").write_text('adapter = "pager"\nlimit = 10\n')
    too_long = run(ws, plugin_site, "validate", "releases/r.md")
    assert too_long.returncode == 1
    assert "length 28/10" in too_long.stdout


def test_a_plugin_without_an_account_check_is_shown_as_not_checked(tmp_path: Path, plugin_site: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "channels").mkdir(parents=True)
    (ws / "config.toml").write_text('timezone = "UTC"\n')
    (ws / "channels" / "pager.toml").write_text('adapter = "pager"\n')
    result = run(ws, plugin_site, "channels", "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pager  -       nothing to check: the pager adapter has no account check\n"

    (ws / "channels" / "zz.toml").write_text('adapter = "broken-check"\n')
    result = run(ws, plugin_site, "channels", "--check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "pager  -       nothing to check: the pager adapter has no account check",
        "zz     FAILED  the broken-check adapter's check broke (RuntimeError: no route to the pager service)",
    ]
    assert "Traceback" not in result.stderr


def test_an_entry_point_that_is_not_an_adapter_is_named(tmp_path: Path, plugin_site: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "channels").mkdir(parents=True)
    (ws / "config.toml").write_text("")
    (ws / "channels" / "b.toml").write_text('adapter = "broken"\n')
    result = run(ws, plugin_site, "channels")
    assert result.returncode == 1
    assert "adapter 'broken' (entry point 'distribute_pager:NotAnAdapter'" in result.stderr
    assert "not a subclass" in result.stderr and "Traceback" not in result.stderr


def test_a_plugin_whose_render_takes_due_is_told_the_due_time(tmp_path: Path, plugin_site: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "channels").mkdir(parents=True)
    (ws / "releases").mkdir()
    (ws / "config.toml").write_text('timezone = "UTC"\n')
    (ws / "channels" / "pager.toml").write_text('adapter = "dated-pager"\nat = "+2h"\n')
    (ws / "releases" / "r.md").write_text('+++\ntitle = "Dated"\npublish_at = 2025-01-01T09:00:00Z\n+++\nBody\n')
    dry = run(ws, plugin_site, "send", "releases/r.md", "--dry-run", "--outbox", "ob")
    assert dry.returncode == 0, dry.stderr
    assert (ws / "ob" / "pager" / "page.txt").read_text() == "Dated due 2025-01-01T11:00:00+00:00"
