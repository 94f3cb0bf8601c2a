"""Files as ordinary editors save them are read as meant; real mistakes are named at their own line."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, write_release

BOM = b"\xef\xbb\xbf"


def windows(path: Path, bom: bool = True, crlf: bool = True) -> None:
    """Save a file as a Windows editor does: a BOM first, CRLF line ends."""
    data = path.read_bytes()
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    path.write_bytes((BOM if bom else b"") + data)


def outbox(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def example_front(ws: Path, **changes: str) -> tuple[str, str]:
    """The example release's front matter with some top-level lines replaced, and its body."""
    text = (ws / EXAMPLE_RELEASE).read_text(encoding="utf-8")
    front, _, body = text.removeprefix("+++\n").partition("\n+++\n")
    for key, line in changes.items():
        front = re.sub(rf"^{key} = .*$", line, front, count=1, flags=re.M)
        if line not in front:
            front = front.replace("\n[[contacts]]", f"\n{line}\n\n[[contacts]]", 1)
    return front, body


@pytest.mark.parametrize("bom, crlf", [(True, False), (False, True), (True, True)], ids=["bom", "crlf", "bom+crlf"])
def test_a_release_saved_on_windows_sends_exactly_what_the_plain_file_sends(
    cli, workspace: Path, bom: bool, crlf: bool
) -> None:
    plain = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "plain")
    assert plain.exit_code == 0, plain.stderr
    windows(workspace / EXAMPLE_RELEASE, bom, crlf)
    assert cli("validate", EXAMPLE_RELEASE).exit_code == 0
    saved = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "windows")
    assert saved.exit_code == 0, saved.stderr
    # Byte for byte the same emails, feed, posts and wire copy: no BOM, no stray \r anywhere.
    assert outbox(workspace / "windows") == outbox(workspace / "plain")


def test_a_whole_workspace_saved_on_windows_works_as_it_is(cli, workspace: Path) -> None:
    plain = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "plain")
    assert plain.exit_code == 0, plain.stderr
    files = [
        workspace / "config.toml",
        workspace / EXAMPLE_RELEASE,
        *(workspace / "channels").glob("*.toml"),
        *(workspace / "lists").glob("*.csv"),
    ]
    for path in files:
        windows(path)
    checked = cli("validate", EXAMPLE_RELEASE)
    assert checked.exit_code == 0, checked.stderr
    saved = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "windows")
    assert saved.exit_code == 0, saved.stderr
    assert outbox(workspace / "windows") == outbox(workspace / "plain")
    eml = next((workspace / "windows" / "press-list").glob("*.eml")).read_bytes()
    assert b"\r\r" not in eml and b"\xef\xbb\xbf" not in eml


def test_an_invalid_contact_email_is_refused_at_its_own_line(cli, workspace: Path) -> None:
    front, body = example_front(workspace)
    front = front.replace('email = "s.kim@asaninst.org"', 'email = "kim at example"')
    path = write_release(workspace, "bad-contact", front, body)
    line = path.read_text().splitlines().index('email = "kim at example"') + 1
    for args in (["validate", "releases/bad-contact.md"], ["send", "releases/bad-contact.md", "--dry-run"]):
        result = cli(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"error: releases/bad-contact.md:{line}: contacts[0] email 'kim at example' is not a valid address ("
        ), result.stderr
        assert "channels/" not in result.stderr and "mailto:" not in result.stdout
    assert not (workspace / "outbox").exists()


def test_a_contact_that_cannot_be_the_reply_to_is_blamed_on_the_release_not_the_channel(cli, workspace: Path) -> None:
    # Valid for feeds and wire copy, but not as a Reply-To header (no SMTPUTF8): press-list has reply_to = "contact".
    front, body = example_front(workspace)
    write_release(workspace, "utf8-contact", front.replace("s.kim@asaninst.org", "민지@asaninst.org"), body)
    line = (workspace / "releases" / "utf8-contact.md").read_text().splitlines().index(
        'email = "민지@asaninst.org"'
    ) + 1
    result = cli("validate", "releases/utf8-contact.md")
    assert result.exit_code == 1
    assert (
        f"releases/utf8-contact.md:{line}: contacts[0] email '민지@asaninst.org' cannot be the Reply-To of "
        "channel press-list ("
    ) in result.stderr
    assert "press-list.toml:" not in result.stderr


@pytest.mark.parametrize(
    "timezone, written, expected",
    [
        (
            "Europe/Berlin",
            "2026-12-02 10:00",
            "2026-12-02T10:00:00 (Europe/Berlin time) or with its offset, 2026-12-02T10:00:00+01:00",
        ),
        (
            "Europe/Berlin",
            "2026-07-02 10:00",
            "2026-07-02T10:00:00 (Europe/Berlin time) or with its offset, 2026-07-02T10:00:00+02:00",
        ),
        (
            "America/New_York",
            "2026-12-02T10:00",
            "2026-12-02T10:00:00 (America/New_York time) or with its offset, 2026-12-02T10:00:00-05:00",
        ),
        (
            "Asia/Kolkata",
            "2026-12-2 9:30",
            "2026-12-02T09:30:00 (Asia/Kolkata time) or with its offset, 2026-12-02T09:30:00+05:30",
        ),
    ],
)
@pytest.mark.parametrize("key", ["publish_at", "embargo"])
def test_a_date_time_toml_cannot_read_says_what_form_is_expected(
    cli, workspace: Path, timezone: str, written: str, expected: str, key: str
) -> None:
    config = workspace / "config.toml"
    config.write_text(re.sub(r'^timezone = ".*?"', f'timezone = "{timezone}"', config.read_text(), flags=re.M))
    front, body = example_front(workspace, **{key: f"{key} = {written}"})
    path = write_release(workspace, "loose-time", front, body)
    line = path.read_text().splitlines().index(f"{key} = {written}") + 1
    result = cli("validate", "releases/loose-time.md")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: releases/loose-time.md:{line}: {key} = {written} is not a date-time TOML can read; "
        f"write {key} = {expected}\n"
    )


def test_a_quoted_or_dateless_time_names_the_workspace_zone(cli, workspace: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(re.sub(r'^timezone = ".*?"', 'timezone = "Europe/Berlin"', config.read_text(), flags=re.M))
    front, body = example_front(workspace, publish_at='publish_at = "2026-12-02 10:00"')
    write_release(workspace, "quoted", front, body)
    quoted = cli("validate", "releases/quoted.md")
    assert (
        quoted.exit_code == 1
        and (
            "publish_at must be a TOML date-time without quotes, e.g. publish_at = "
            "2026-12-02T10:00:00 (Europe/Berlin time) or with its offset, "
            "2026-12-02T10:00:00+01:00"
        )
        in quoted.stderr
    )
    front, body = example_front(workspace, publish_at="publish_at = 2026-12-02")
    write_release(workspace, "dateless", front, body)
    dateless = cli("validate", "releases/dateless.md")
    assert (
        dateless.exit_code == 1 and "2026-12-02T09:00:00+01:00" in dateless.stderr and "+09:00" not in dateless.stderr
    )


def test_a_channel_at_toml_cannot_read_is_named_at_its_line(cli, workspace: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(re.sub(r'^timezone = ".*?"', 'timezone = "Europe/Berlin"', config.read_text(), flags=re.M))
    channel = workspace / "channels" / "mastodon.toml"
    text = channel.read_text()
    head, sep, tail = text.partition("\n[")
    channel.write_text(head.rstrip("\n") + "\nat = 2026-12-02 10:00\n" + sep + tail)
    line = channel.read_text().splitlines().index("at = 2026-12-02 10:00") + 1
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 1
    assert (
        f"mastodon.toml:{line}: at = 2026-12-02 10:00 is not a date-time TOML can read; write at = "
        "2026-12-02T10:00:00 (Europe/Berlin time) or with its offset, 2026-12-02T10:00:00+01:00"
    ) in result.stderr
    channel.write_text(text)
    front, body = example_front(workspace)
    write_release(workspace, "override", front + "\n\n[channel.mastodon]\nat = 2026-12-02 10:00\n", body)
    line = (workspace / "releases" / "override.md").read_text().splitlines().index("at = 2026-12-02 10:00") + 1
    result = cli("validate", "releases/override.md")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: releases/override.md:{line}: at = 2026-12-02 10:00 is not a date-time")
