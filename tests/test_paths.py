"""Files named in a release, a channel file or config.toml stay inside the workspace (or allow_paths).

Each field that takes a path is pointed outside the workspace, by an absolute path, by `../`
or through a symlink inside the workspace; validate, send --dry-run and send refuse it at its
line, and nothing is written anywhere.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, ROOT, write_release

MESSAGE = "must be inside the workspace ({ws}); move the file there or allow its folder with allow_paths in config.toml"


def snapshot(*folders: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folders` (contents of files): what a refused command must not change."""
    found: dict[str, bytes | None] = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            found[str(p)] = p.read_bytes() if p.is_file() else None
    return found


def line_of(path: Path, pattern: str) -> int:
    """The number of the first line of `path` matching `pattern`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, start=1) if re.search(pattern, text))


def set_top_key(path: Path, line: str) -> None:
    """Replace the top-level key of `line` in a TOML file, or add it before the first table."""
    key = line.split("=", 1)[0].strip()
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: line, text, count=1)
    else:
        head, sep, tail = text.partition("\n[")
        text = head.rstrip("\n") + "\n" + line + "\n" + (sep + tail if sep else "")
    path.write_text(text, encoding="utf-8")


def image_release(ws: Path, table: str, value: str) -> str:
    """The example release with one image or attachment whose path is `value`."""
    text = (ws / EXAMPLE_RELEASE).read_text(encoding="utf-8")
    front, _, body = text.removeprefix("+++\n").partition("\n+++\n")
    extra = 'alt = "Cover"' if table == "images" else 'title = "The brief"'
    write_release(ws, "with-file", f'{front}\n\n[[{table}]]\npath = "{value}"\n{extra}\n', body)
    return "releases/with-file.md"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace with files worth stealing and a place worth writing to."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("not for the press\n")
    (folder / "list.csv").write_text("email,name\nx@example.org,X\n")
    shutil.copyfile(ROOT / "config.example.toml", folder / "key.pem")  # any file: it is never read
    for name in ("channels", "releases", "templates", "public", "outbox", "maildir", "wire"):
        (folder / name).mkdir()
    return folder


# (file to edit, the line written, label in the message); {out} is the outside folder.
CONFIG = [
    ("database", 'database = "{out}/state.db"'),
    ("outbox", 'outbox = "{out}/outbox"'),
    ("public", 'public = "{out}/public"'),
    ("channels", 'channels = "{out}/channels"'),
    ("releases", 'releases = "{out}/releases"'),
    ("templates", 'templates = "{out}/templates"'),
    ("database", 'database = "sqlite:///{out}/state.db"'),
    ("public", 'public = "../outside/public"'),
]
CHANNEL = [
    ("newsletter", "recipients", 'recipients = "{out}/list.csv"'),
    ("newsletter", "suppression", 'suppression = "{out}/secret.txt"'),
    ("newsletter", "maildir", 'maildir = "{out}/maildir"'),
    ("press-list", "recipients", 'recipients = "../outside/list.csv"'),
    ("wire-desk", "directory", 'directory = "{out}/wire"'),
    ("rss", "directory", 'directory = "{out}/public"'),
]


def assert_refused(cli, ws: Path, outside: Path, release: str, where: Path, line: int, label: str) -> None:
    before = snapshot(ws, outside)
    for args in (["validate", release], ["send", release, "--dry-run"], ["send", release]):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert re.search(
            rf"{re.escape(where.name)}:{line}: {re.escape(label)} '[^']*'( \(it leads to [^)]*\))? "
            + re.escape(MESSAGE.format(ws=ws)),
            result.stderr,
        ), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert snapshot(ws, outside) == before, args  # no outbox, no maildir file, no feed, no ledger
    assert not (ws / "outbox").exists() and not (ws / "maildir").exists() and not (ws / "public").exists()


@pytest.mark.parametrize("label, written", CONFIG, ids=[w.split(" =")[0] + str(i) for i, (_, w) in enumerate(CONFIG)])
def test_a_config_path_outside_the_workspace_is_refused_at_its_line(
    cli, workspace: Path, outside: Path, label: str, written: str
) -> None:
    config = workspace / "config.toml"
    line = written.format(out=outside)
    set_top_key(config, line)
    assert_refused(cli, workspace, outside, EXAMPLE_RELEASE, config, line_of(config, "^" + re.escape(line)), label)


@pytest.mark.parametrize("channel, label, written", CHANNEL, ids=[f"{c}-{k}" for c, k, _ in CHANNEL])
def test_a_channel_path_outside_the_workspace_is_refused_at_its_line(
    cli, workspace: Path, outside: Path, channel: str, label: str, written: str
) -> None:
    path = workspace / "channels" / f"{channel}.toml"
    line = written.format(out=outside)
    set_top_key(path, line)
    assert_refused(cli, workspace, outside, EXAMPLE_RELEASE, path, line_of(path, "^" + re.escape(line)), label)


def test_a_dkim_key_outside_the_workspace_is_refused_at_its_line(cli, workspace: Path, outside: Path) -> None:
    path = workspace / "channels" / "newsletter.toml"
    path.write_text(path.read_text() + f'\n[dkim]\nselector = "s1"\nprivate_key = "{outside}/key.pem"\n')
    assert_refused(cli, workspace, outside, EXAMPLE_RELEASE, path, line_of(path, "^private_key"), "[dkim] private_key")


@pytest.mark.parametrize("table", ["images", "attachments"])
@pytest.mark.parametrize("how", ["absolute", "dot-dot", "etc-passwd", "symlink"])
def test_a_release_file_outside_the_workspace_is_refused_at_its_line(
    cli, workspace: Path, outside: Path, table: str, how: str
) -> None:
    if how == "absolute":
        value = str(outside / "secret.txt")
    elif how == "dot-dot":
        value = "../outside/secret.txt"
    elif how == "etc-passwd":
        value = "../" * len(workspace.parts) + "etc/passwd"
    else:  # a file inside the workspace that is a symlink to one outside
        (workspace / "images").mkdir()
        (workspace / "images" / "cover.jpg").symlink_to(outside / "secret.txt")
        value = "images/cover.jpg"
    release = image_release(workspace, table, value)
    path = workspace / release
    assert_refused(cli, workspace, outside, release, path, line_of(path, "^path = "), f"{table}[0] path")


def test_a_symlinked_folder_is_as_outside_as_a_written_path(cli, workspace: Path, outside: Path) -> None:
    # public is not even written in config.toml: its default folder is a link to elsewhere.
    config = workspace / "config.toml"
    config.write_text(re.sub(r"^public = .*\n", "", config.read_text(), flags=re.M))
    (workspace / "public").symlink_to(outside / "public")
    before = snapshot(outside)
    for args in (["validate", EXAMPLE_RELEASE], ["send", EXAMPLE_RELEASE]):
        result = cli(*args)
        assert result.exit_code == 1
        assert (
            f"config.toml: public (default) 'public' (it leads to {outside / 'public'}) " + MESSAGE.format(ws=workspace)
        ) in result.stderr
    assert snapshot(outside) == before


def test_allow_paths_lets_a_named_folder_in(cli, workspace: Path, outside: Path) -> None:
    config = workspace / "config.toml"
    set_top_key(config, f'allow_paths = ["{outside / "public"}", "{outside / "press"}"]')
    set_top_key(workspace / "channels" / "rss.toml", f'directory = "{outside / "public"}"')
    (outside / "press").mkdir()
    (outside / "press" / "cover.jpg").write_bytes(b"\xff\xd8\xff image")
    release = image_release(workspace, "images", str(outside / "press" / "cover.jpg"))
    assert cli("validate", release).exit_code == 0
    with time_machine.travel("2025-06-30T00:30:00+00:00", tick=False):
        sent = cli("send", release, "-c", "rss")
    assert sent.exit_code == 0, sent.stderr
    assert "Managing Decline?" in (outside / "public" / "feed.xml").read_text()
    assert (
        outside / "public" / "media" / "2025-06-30-nato-summit-brief" / "cover.jpg"
    ).read_bytes() == b"\xff\xd8\xff image"
    # Only the folders named: the rest of the outside stays out.
    set_top_key(workspace / "channels" / "wire-desk.toml", f'directory = "{outside / "wire"}"')
    refused = cli("validate", release)
    assert (
        refused.exit_code == 1
        and "wire-desk.toml" in refused.stderr
        and "must be inside the workspace" in refused.stderr
    )


def test_outbox_given_on_the_command_line_is_the_users_choice(cli, workspace: Path, outside: Path) -> None:
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", str(outside / "outbox" / "today"))
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((outside / "outbox" / "today" / "manifest.json").read_text())
    assert manifest["release"] == "2025-06-30-nato-summit-brief"
