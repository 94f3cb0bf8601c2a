"""Workspace configuration: discovery order, unknown keys, secrets by reference and masked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from distribute.adapters.base import Adapter
from distribute.adapters.registry import Registry
from distribute.errors import ConfigError, SecretMissing, UsageError
from distribute.workspace.config import Workspace, find_config
from distribute.workspace.schema import Secret, field, redact


@dataclasses.dataclass(frozen=True)
class _Smtp:
    host: str = field("localhost")
    password: Secret | None = field(None)


@dataclasses.dataclass(frozen=True)
class _Settings:
    endpoint: str = field("http://127.0.0.1:9/")
    token: Secret | None = field(None, doc="API token")
    sender: str = field("", key="from")
    folder: Path = field(Path("out"))
    smtp: _Smtp = field(_Smtp())


class Plain(Adapter):
    name = "plain"
    Settings = _Settings


def workspace_with(root: Path, channel_toml: str, config_toml: str = "") -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(config_toml)
    (root / "channels").mkdir(exist_ok=True)
    (root / "channels" / "out.toml").write_text(channel_toml)
    return Workspace(root / "config.toml", registry=Registry({"plain": f"{__name__}:Plain"}))


def test_channel_settings_are_typed_and_paths_relative_to_config(tmp_path: Path) -> None:
    ws = workspace_with(
        tmp_path / "w", 'adapter = "plain"\nfrom = "Press <p@x.org>"\nfolder = "drop"\ntoken = { env = "TOK" }\n'
    )
    ch = ws.channels["out"]
    assert ch.settings.sender == "Press <p@x.org>"
    assert ch.settings.folder == (tmp_path / "w" / "drop").resolve()
    assert ch.settings.token == Secret("TOK")


@pytest.mark.parametrize(
    "toml, line, fragment",
    [
        (
            'adapter = "plain"\nendpont = "x"\n',
            2,
            "unknown key 'endpont' in channel 'out' (adapter 'plain'); known keys:",
        ),
        ('adapter = "plain"\n[smtp]\nhost = "h"\nport2 = 1\n', 4, "unknown key 'port2' in [smtp]"),
        ('adapter = "plian"\n', 1, "unknown adapter 'plian'; known adapters:"),
        ('adapter = "plain"\ntoken = "s3cr3t-literal"\n', 2, "token is a secret: give it by reference"),
        ('adapter = "plain"\nenabled = "yes"\n', 2, "enabled must be true or false"),
        ('adapter = "plain"\nat = "tomorrow"\n', 2, "neither an offset"),
        ("enabled = true\n", 1, 'missing adapter = "..."'),
    ],
)
def test_bad_channel_file_names_file_line_and_key(tmp_path: Path, toml: str, line: int, fragment: str) -> None:
    ws = workspace_with(tmp_path / "w", toml)
    with pytest.raises(ConfigError) as info:
        _ = ws.channels
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'w' / 'channels' / 'out.toml'}:{line}: "), message
    assert fragment in message
    assert "s3cr3t-literal" not in message


def test_unknown_key_in_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('timezone = "UTC"\n\n[organization]\nname = "X"\nwebsite_url = "y"\n')
    with pytest.raises(ConfigError, match=r"config.toml:5: unknown key 'website_url' in \[organization\]"):
        Workspace(tmp_path / "config.toml")


def test_bad_timezone_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        Workspace(tmp_path / "config.toml")


def test_config_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("")
    b.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    assert find_config(None) is None  # built-in defaults
    (tmp_path / "config.toml").write_text("")
    assert find_config(None) == (tmp_path / "config.toml").resolve()
    monkeypatch.setenv("DISTRIBUTE_CONFIG", str(b))
    assert find_config(None) == b.resolve()
    assert find_config(str(a)) == a.resolve()
    with pytest.raises(UsageError, match="no such file"):
        find_config(str(tmp_path / "nope.toml"))


def test_database_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('database = "state/x.db"\n')
    ws = Workspace(tmp_path / "config.toml")
    assert ws.database_url == f"sqlite:///{tmp_path.resolve() / 'state' / 'x.db'}"
    (tmp_path / "config.toml").write_text('database = "postgresql+psycopg://u@127.0.0.1/db"\n')
    assert Workspace(tmp_path / "config.toml").database_url.startswith("postgresql+psycopg://")


def test_missing_secret_names_the_variable_and_a_revealed_one_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = Secret("DISTRIBUTE_TEST_TOKEN")
    monkeypatch.delenv("DISTRIBUTE_TEST_TOKEN", raising=False)
    with pytest.raises(SecretMissing, match="channel 'out' needs the environment variable DISTRIBUTE_TEST_TOKEN"):
        secret.reveal("out")
    monkeypatch.setenv("DISTRIBUTE_TEST_TOKEN", "tok-very-secret-123")
    assert secret.reveal("out") == "tok-very-secret-123"
    assert "tok-very-secret-123" not in repr(secret) + str(secret)
    assert redact("failed with tok-very-secret-123 in it") == "failed with ******** in it"


def test_missing_secrets_are_listed_per_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOK_A", raising=False)
    monkeypatch.setenv("TOK_B", "set-value")
    ws = workspace_with(
        tmp_path / "w", 'adapter = "plain"\ntoken = { env = "TOK_A" }\n[smtp]\npassword = { env = "TOK_B" }\n'
    )
    assert ws.channels["out"].missing_secrets() == ["TOK_A"]
