"""Release files: the front-matter contract, refusals with path:line, and Markdown rendering."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, write_release
from distribute.errors import ReleaseError
from distribute.release import load_release
from distribute.text.markdown import to_html, to_text
from distribute.workspace.config import Workspace

GOOD = 'title = "Headline"\npublish_at = 2025-06-30T09:00:00+09:00'


def ws_at(root: Path) -> Workspace:
    return Workspace(root / "config.toml")


def test_example_release_parses_into_typed_fields(workspace: Path) -> None:
    rel = load_release(workspace / EXAMPLE_RELEASE, ws_at(workspace))
    assert rel.id == "2025-06-30-nato-summit-brief"
    assert rel.title.startswith("Managing Decline?")
    assert rel.publish_at == dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
    assert rel.publish_at.utcoffset() == dt.timedelta(hours=9)
    assert rel.contacts[0].email == "s.kim@asaninst.org"
    assert "NATO" in rel.tags
    assert "<ol>" in rel.body_html and "<strong>" in rel.body_html
    assert "1. Defense spending" in rel.body_text
    assert len(rel.sha256) == 64


def test_local_time_takes_the_config_timezone(workspace: Path) -> None:
    path = write_release(workspace, "local", 'title = "T"\npublish_at = 2025-06-30T09:00:00')
    rel = load_release(path, ws_at(workspace))
    assert rel.publish_at.astimezone(dt.timezone.utc) == dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)


def test_local_time_across_a_dst_change_uses_that_days_offset(workspace: Path) -> None:
    cfg = workspace / "config.toml"
    cfg.write_text(cfg.read_text().replace('timezone = "Asia/Seoul"', 'timezone = "Europe/Berlin"'))
    winter = load_release(
        write_release(workspace, "w", 'title = "T"\npublish_at = 2025-03-29T12:00:00'), ws_at(workspace)
    )
    summer = load_release(
        write_release(workspace, "s", 'title = "T"\npublish_at = 2025-03-30T12:00:00'), ws_at(workspace)
    )
    assert winter.publish_at.utcoffset() == dt.timedelta(hours=1)
    assert summer.publish_at.utcoffset() == dt.timedelta(hours=2)


def test_id_defaults_to_the_file_stem(workspace: Path) -> None:
    rel = load_release(write_release(workspace, "my-release", GOOD), ws_at(workspace))
    assert rel.id == "my-release"


BAD = [
    # (front matter, expected line, fragment of message)
    ("publish_at = 2025-06-30T09:00:00", 1, "missing title"),
    ('title = "T"', 1, "missing publish_at"),
    ('title = "T"\npublish_at = "2025-06-30 09:00"', 3, "TOML date-time without quotes"),
    ('title = "T"\npublish_at = 2025-06-30', 3, "has no time of day"),
    ('title = "T"\npublish_at = 2025-06-30T09:00:00\nembargo = "soon"', 4, "embargo must be a TOML date-time"),
    (GOOD + '\nchannels = ["nowhere"]', 4, "unknown channel 'nowhere'"),
    (GOOD + '\nsubtitel = "typo"', 4, "unknown key 'subtitel'"),
    (GOOD + '\n\n[[images]]\npath = "x.jpg"\nalt = ""', 7, "image without alt text"),
    (GOOD + '\n\n[[images]]\npath = "missing.jpg"\nalt = "A cover"', 6, "does not exist"),
    (GOOD + '\n\n[[attachments]]\npath = "missing.pdf"', 6, "does not exist"),
    ('title = "T\npublish_at = 2025-06-30T09:00:00', 2, "not valid TOML"),
    (GOOD + '\ntags = "NATO"', 4, "tags must be a list"),
    (GOOD + '\nid = "Not Valid"', 4, "may hold only a-z"),
    (GOOD + '\nurl = "/relative"', 4, "absolute http(s) URL"),
    (GOOD + '\n\n[channel.nowhere]\nat = "+1h"', 5, "unknown channel"),
    (GOOD + '\nlanguage = "english!"', 4, "BCP 47"),
]


@pytest.mark.parametrize("front, line, fragment", BAD, ids=[b[2] for b in BAD])
def test_bad_release_is_refused_with_path_and_line(workspace: Path, front: str, line: int, fragment: str) -> None:
    path = write_release(workspace, "bad", front)
    with pytest.raises(ReleaseError) as info:
        load_release(path, ws_at(workspace))
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("front, line, fragment", BAD[:6], ids=[b[2] for b in BAD[:6]])
def test_cli_refuses_a_bad_release_in_one_line_with_exit_1(
    cli, workspace: Path, front: str, line: int, fragment: str
) -> None:
    write_release(workspace, "bad", front)
    for args in (
        ["validate", "releases/bad.md"],
        ["preview", "releases/bad.md"],
        ["send", "releases/bad.md", "--dry-run", "--outbox", "ob"],
    ):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert f"releases/bad.md:{line}: " in result.stderr and fragment in result.stderr
        assert not (workspace / "ob").exists()


def test_front_matter_must_be_fenced(workspace: Path) -> None:
    path = workspace / "releases" / "nofence.md"
    path.write_text("title = 'x'\n\nbody\n")
    with pytest.raises(ReleaseError, match=r"nofence.md:1: a release starts with a line '\+\+\+'"):
        load_release(path, ws_at(workspace))
    path.write_text("+++\ntitle = 'x'\n\nbody\n")
    with pytest.raises(ReleaseError, match="no closing"):
        load_release(path, ws_at(workspace))


def test_markdown_html_is_safe() -> None:
    html = to_html("<script>alert(1)</script>\n\n[x](javascript:alert(1)) and <b>bold</b>\n")
    assert "<script>" not in html and 'href="javascript' not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_markdown_plain_text_keeps_structure() -> None:
    text = to_text(
        "# Head\n\nSee [the brief](https://x.org/b) and <https://x.org>.\n\n- one\n- two\n\n> quoted\n", width=72
    )
    assert text == "Head\n\nSee the brief (https://x.org/b) and https://x.org.\n\n- one\n- two\n\n> quoted\n"


def test_wrapping_never_breaks_a_url() -> None:
    url = "https://example.org/" + "a" * 90
    text = to_text(f"word {url} word\n", width=40)
    assert url in text.splitlines()[1]
