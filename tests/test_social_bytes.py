"""Bluesky has two limits: 300 graphemes and 3000 UTF-8 bytes; validate must catch either."""

from __future__ import annotations

from pathlib import Path

from conftest import write_release
from social_support import set_keys

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 UTF-8 bytes


def test_a_title_within_the_grapheme_limit_but_over_the_byte_limit_fails_validate(cli, workspace: Path) -> None:
    title = FAMILY * 150  # 150 graphemes, 3,750 bytes
    set_keys(workspace / "channels" / "bluesky.toml", embed="none")  # no link card: the title is in the text
    write_release(
        workspace,
        "emoji",
        f'title = "{title}"\npublish_at = 2025-06-30T09:00:00+09:00\n'
        'url = "https://example.org/e"\nchannels = ["bluesky"]',
    )
    result = cli("validate", "releases/emoji.md")
    assert result.exit_code == 1, result.stdout
    assert "channel bluesky: post: bytes 3773/3000" in result.stderr


def test_the_same_title_in_fewer_bytes_passes(cli, workspace: Path) -> None:
    write_release(
        workspace,
        "emoji",
        f'title = "{FAMILY * 20}"\npublish_at = 2025-06-30T09:00:00+09:00\n'
        'url = "https://example.org/e"\nchannels = ["bluesky"]',
    )
    result = cli("validate", "releases/emoji.md")
    assert result.exit_code == 0, result.stdout + result.stderr
