"""A new workspace speaks for its own organisation: init writes its identity, channels take it from config.

Before, `init` copied the example institute's config and channel files: a new organisation's mail
went out From the institute's address, with its List-Id and unsubscribe links, its social accounts
and a /PRNewswire/ dateline.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import pty
import subprocess
import sys
import tomllib
from email import policy
from pathlib import Path

import babel.dates
import pytest
import time_machine
from click.testing import CliRunner

from distribute.cli import cli as command

MUSTER = [
    "--name",
    "Musterverein e.V.",
    "--website",
    "https://musterverein.de",
    "--sender",
    "Presse <presse@musterverein.de>",
    "--timezone",
    "Europe/Berlin",
    "--language",
    "de",
]
RELEASE = "releases/first-release.md"


def invoke(*args: str):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


@pytest.fixture
def muster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`distribute init` for Musterverein on 2 March 2026, and the current directory in it."""
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    monkeypatch.delenv("UNSUBSCRIBE_KEY", raising=False)
    with time_machine.travel("2026-03-02T12:00:00+01:00", tick=False):
        result = invoke("init", str(tmp_path / "muster"), *MUSTER)
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(tmp_path / "muster")
    return tmp_path / "muster"


def message(path: Path) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_a_new_organisation_sends_in_its_own_name_and_nothing_of_the_example_one(muster: Path) -> None:
    config = tomllib.loads((muster / "config.toml").read_text(encoding="utf-8"))
    assert config["timezone"] == "Europe/Berlin" and config["language"] == "de"
    assert config["organization"] == {
        "name": "Musterverein e.V.",
        "website": "https://musterverein.de",
        "sender": "Presse <presse@musterverein.de>",
        "boilerplate": "",
    }
    release = (muster / RELEASE).read_text(encoding="utf-8")
    assert "publish_at = 2026-03-09T10:00:00+01:00" in release  # a week on, 10:00 in the workspace's zone
    assert 'email = "presse@musterverein.de"' in release
    assert (muster / ".gitignore").read_text().splitlines()[1:] == [
        ".distribute/",
        "outbox/",
        "public/",
        "maildir/",
        "wire/",
    ]

    with time_machine.travel("2026-03-02T12:00:00+01:00", tick=False):
        checked = invoke("validate", RELEASE)
        sent = invoke("send", RELEASE, "--dry-run")
    assert checked.exit_code == 0, checked.output
    assert "warning" not in checked.stderr and "error" not in checked.stderr
    assert sent.exit_code == 0, sent.output

    for path in sorted(muster.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            assert b"asan" not in data.lower(), path
            assert b"PRNewswire" not in data, path
    newsletter = message(next((muster / "outbox" / "newsletter").glob("*.eml")))
    assert newsletter["From"] == "Presse <presse@musterverein.de>"
    assert newsletter["List-Id"] == '"Musterverein e.V. newsletter" <newsletter.musterverein.de>'
    assert newsletter["List-Unsubscribe"].startswith(
        "<https://musterverein.de/unsubscribe?list=newsletter.musterverein.de&email="
    )
    press = message(next((muster / "outbox" / "press-list").glob("*.eml")))
    assert press["From"] == "Presse <presse@musterverein.de>"
    assert press["List-Id"] == '"Musterverein e.V. press list" <press-list.musterverein.de>'
    assert press["List-Unsubscribe"].startswith("<https://musterverein.de/unsubscribe?list=press-list.musterverein.de&")
    assert press["Reply-To"] == "Presse <presse@musterverein.de>"
    wire = (muster / "outbox" / "wire-desk" / "first-release.txt").read_text(encoding="utf-8")
    # The workspace writes German (--language de): the dateline's date is CLDR's German long date.
    day = babel.dates.format_date(dt.date(2026, 3, 9), format="long", locale="de")
    assert f"{day} -- Dies ist eine Beispiel-Pressemitteilung von Musterverein e.V." in " ".join(wire.split())
    assert "Schreiben Sie den Text in **Markdown**" in release  # the example speaks the workspace's language
    feed = (muster / "outbox" / "rss" / "feed.xml").read_text(encoding="utf-8")
    assert "<title>Musterverein e.V.</title>" in feed


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "pt", "nl", "ko", "ja", "zh", "ar", "pt-BR", "sv"])
def test_the_example_release_is_written_in_the_workspace_language(tmp_path: Path, language: str) -> None:
    from distribute.workspace.first_release import WORDS, words_for

    args = [*MUSTER[:-1], language]
    with time_machine.travel("2026-03-02T12:00:00+01:00", tick=False):
        assert invoke("init", str(tmp_path / "w"), *args).exit_code == 0
        checked = invoke("--config", str(tmp_path / "w" / "config.toml"), "validate", str(tmp_path / "w" / RELEASE))
    assert checked.exit_code == 0, checked.output
    text = (tmp_path / "w" / RELEASE).read_text(encoding="utf-8")
    words = words_for(language)
    assert words is WORDS.get(language.split("-")[0], WORDS["en"])  # sv has no words of its own: English
    assert words.title.format(name="Musterverein e.V.") in text
    assert words.lead.format(name="Musterverein e.V.") in text
    if language not in ("en", "sv"):
        assert "replace this text" not in text


def test_without_a_terminal_missing_values_are_placeholders_that_validate_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    result = invoke("init", str(tmp_path / "new"), "--name", "Musterverein e.V.")
    assert result.exit_code == 0
    assert "note: no --website, --sender, --timezone, --language given" in result.stderr
    assert "website = 'https://change-me.example/'" in result.stderr and "edit these before sending" in result.stderr
    monkeypatch.chdir(tmp_path / "new")
    checked = invoke("validate", RELEASE)
    assert checked.exit_code == 1
    config = (tmp_path / "new" / "config.toml").read_text().splitlines()
    refused = [line for line in checked.stderr.splitlines() if line.startswith("error: ")]
    assert len(refused) == 3  # public_url, website and sender; the name was given
    for line in refused:
        where = line.removeprefix("error: ").split(": ")[0]
        path, number = where.rsplit(":", 1)
        assert Path(path) == (tmp_path / "new" / "config.toml").resolve()
        assert "CHANGE-ME" in config[int(number) - 1].upper()
        assert "is still the placeholder `distribute init` wrote: put your organisation's own value there" in line
    assert '[organization] sender = "CHANGE-ME Press Office <press@change-me.example>"' in checked.stderr


def test_validate_refuses_the_placeholder_accounts_of_the_channels_a_release_uses(muster: Path) -> None:
    path = muster / RELEASE
    path.write_text(
        path.read_text().replace(
            'tags = ["announcement"]', 'tags = ["announcement"]\nchannels = ["newsletter", "bluesky", "mastodon"]'
        )
    )
    checked = invoke("validate", RELEASE)
    assert checked.exit_code == 1
    bluesky = (muster / "channels" / "bluesky.toml").resolve()
    line = next(n for n, text in enumerate(bluesky.read_text().splitlines(), 1) if text.startswith("handle ="))
    assert (
        f'error: {bluesky}:{line}: handle = "CHANGE-ME.bsky.social" is still the placeholder `distribute init` '
        "wrote: put the account's own value there, or leave channel bluesky out of the release"
    ) in checked.stderr
    assert f"{(muster / 'channels' / 'mastodon.toml').resolve()}:" in checked.stderr
    assert "linkedin" not in checked.stderr  # not in this release: its placeholder does not matter yet

    filled = muster / "channels" / "mastodon.toml"
    filled.write_text(filled.read_text().replace("https://CHANGE-ME.example", "https://social.musterverein.de"))
    handle = muster / "channels" / "bluesky.toml"
    handle.write_text(handle.read_text().replace("CHANGE-ME.bsky.social", "musterverein.de"))
    assert invoke("validate", RELEASE).exit_code == 0


def test_validate_warns_when_email_goes_out_from_another_domain(muster: Path) -> None:
    channel = muster / "channels" / "press-list.toml"
    channel.write_text(channel.read_text() + 'from = "Presse <presse.musterverein@gmail.com>"\n')
    line = len(channel.read_text().splitlines())
    checked = invoke("validate", RELEASE)
    assert checked.exit_code == 0, checked.output
    assert (
        f"warning: {channel.resolve()}:{line}: channel press-list sends From presse.musterverein@gmail.com, "
        "not on the organisation's domain musterverein.de ([organization] website)"
    ) in checked.stderr
    assert "newsletter sends" not in checked.stderr

    config = muster / "config.toml"
    config.write_text(
        config.read_text()
        .replace("presse@musterverein.de", "presse@mail.musterverein.de")
        .replace("https://musterverein.de", "https://www.musterverein.de")
    )
    assert "newsletter sends" not in invoke("validate", RELEASE).stderr  # a subdomain is the same organisation


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("--timezone", "Berlin", "--timezone 'Berlin': give an IANA time zone, e.g. Europe/Berlin"),
        ("--website", "musterverein", "--website 'musterverein': give the organisation's web address"),
        ("--sender", "Presse", "--sender 'Presse': give \"Name <address>\""),
        ("--language", "Deutsch!", "--language 'Deutsch!': give a language tag (BCP 47)"),
    ],
)
def test_a_wrong_option_is_refused_before_anything_is_written(
    tmp_path: Path, option: str, value: str, says: str
) -> None:
    args = list(MUSTER)
    args[args.index(option) + 1] = value
    result = invoke("init", str(tmp_path / "new"), *args)
    assert result.exit_code == 2
    assert says in result.stderr
    assert not (tmp_path / "new").exists()


def test_on_a_terminal_init_asks_for_what_the_options_do_not_say(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DISTRIBUTE_CONFIG"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distribute",
            "init",
            "new",
            "--name",
            "Musterverein e.V.",
            "--timezone",
            "Europe/Berlin",
        ],
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    # website; sender (the suggestion from name and website taken with Enter); language
    os.write(controller, b"https://www.musterverein.de\n\nde\n")
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=60) == 0, seen.decode(errors="replace")
    os.close(controller)
    text = seen.decode()
    assert "Website:" in text and "Sender of the email channels" in text and "Time zone" not in text
    config = tomllib.loads((tmp_path / "new" / "config.toml").read_text(encoding="utf-8"))
    assert config["organization"]["website"] == "https://www.musterverein.de"
    assert config["organization"]["sender"] == "Musterverein e.V. <press@musterverein.de>"
    assert config["language"] == "de" and config["timezone"] == "Europe/Berlin"


def test_the_shipped_channel_files_take_the_organisation_from_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's way: edit [organization] in config.toml, and every channel follows."""
    from conftest import ROOT, copy_example_workspace

    ws = copy_example_workspace(tmp_path / "ws")
    (ws / "config.toml").write_text(
        'timezone = "Europe/Berlin"\npublic_url = "https://musterverein.de/presse/"\n'
        '[organization]\nname = "Musterverein e.V."\nwebsite = "https://musterverein.de"\n'
        'sender = "Presse <presse@musterverein.de>"\n',
        encoding="utf-8",
    )
    release = ws / "releases" / "own.md"
    release.write_text('+++\ntitle = "Ein Titel"\npublish_at = 2026-03-09T10:00:00\n+++\nText.\n', encoding="utf-8")
    monkeypatch.chdir(ws)
    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    sent = invoke("send", "releases/own.md", "--dry-run", "--outbox", "out")
    assert sent.exit_code == 0, sent.output
    for path in sorted((ws / "out").rglob("*")):
        if path.is_file():
            assert b"asan" not in path.read_bytes().lower(), path
            assert b"PRNewswire" not in path.read_bytes(), path
    for channel in ("newsletter", "press-list"):
        mail = message(next((ws / "out" / channel).glob("*.eml")))
        assert mail["From"] == "Presse <presse@musterverein.de>"
        assert mail["List-Id"].endswith(f" <{channel}.musterverein.de>")
    for path in (ROOT / "channels").glob("*.toml"):
        assert "asan" not in path.read_text(encoding="utf-8").lower(), path
