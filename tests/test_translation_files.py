"""Translations as sibling files `releases/<id>.<lang>.md` (issue 16.1): what they inherit, what they may not change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, write_release
from distribute.errors import ReleaseError
from distribute.release import load_release
from distribute.workspace.config import Workspace

ORIGINAL = """
title = "Headline"
publish_at = 2025-06-30T09:00:00+09:00
embargo = 2025-06-30T09:00:00+09:00
url = "https://example.org/en/r"
tags = ["NATO"]
[[contacts]]
name = "Ana Kim"
email = "ana@example.org"
[channel.mastodon]
at = "+15m"
"""


def ws_at(root: Path) -> Workspace:
    return Workspace(root / "config.toml")


def test_the_example_release_carries_its_korean_translation(workspace: Path) -> None:
    rel = load_release(workspace / EXAMPLE_RELEASE, ws_at(workspace))
    assert rel.language == "en"
    (ko,) = rel.translations
    assert ko.language == "ko"
    assert ko.id == rel.id
    assert (ko.publish_at, ko.embargo) == (rel.publish_at, rel.embargo)
    assert ko.title.startswith("쇠퇴의 관리?")
    assert ko.dateline == "서울"
    assert ko.url != rel.url  # the Korean page, set by the translation
    assert ko.translation_of == rel.path
    assert "김새미" in ko.contacts[0].name
    assert list(rel.variants()) == ["en", "ko"]
    assert rel.in_language("ko-KR") is ko and rel.in_language("de") is None
    assert ko.sha256 != rel.sha256


def test_a_translation_inherits_timing_url_contacts_and_channel_times(workspace: Path) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.de", 'title = "Schlagzeile"\ndateline = "BERLIN"', "Text.\n")
    rel = load_release(workspace / "releases/r.md", ws_at(workspace))
    (de,) = rel.translations
    assert de.language == "de" and de.title == "Schlagzeile" and de.body == "Text.\n"
    assert de.publish_at == rel.publish_at and de.embargo == rel.embargo
    assert de.url == "https://example.org/en/r"
    assert de.contacts == rel.contacts and de.tags == rel.tags
    assert de.override("mastodon").at == "+15m"
    assert de.summary == ""  # never the original's words in another language


def test_a_translation_may_repeat_the_timing_but_not_change_it(workspace: Path) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.fr", 'title = "Titre"\npublish_at = 2025-06-30T02:00:00+02:00')  # the same instant
    rel = load_release(workspace / "releases/r.md", ws_at(workspace))
    assert rel.translations[0].publish_at == rel.publish_at


@pytest.mark.parametrize(
    ("front", "line", "words"),
    [
        ('title = "T"\npublish_at = 2025-06-30T10:00:00+09:00', 3, "publish_at differs from the original's"),
        ('title = "T"\nembargo = 2025-06-29T09:00:00+09:00', 3, "embargo differs from the original's"),
        ('title = "T"\nid = "other"', 3, "id differs from the original's"),
        ('title = "T"\nchannels = ["rss"]', 3, "channels differs from the original's"),
        ('title = "T"\n[channel.mastodon]\nat = "+1h"', 4, "[channel.mastodon] at differs from the original's"),
        ('title = "T"\nlanguage = "ko"', 3, "but the file name says 'de'"),
        ('summary = "no title"', 1, "missing title"),
    ],
)
def test_a_translation_that_contradicts_its_original_is_refused_at_its_line(
    workspace: Path, front: str, line: int, words: str
) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.de", front)
    with pytest.raises(ReleaseError) as caught:
        load_release(workspace / "releases/r.md", ws_at(workspace))
    assert caught.value.path == workspace / "releases/r.de.md"
    assert caught.value.line == line
    assert words in str(caught.value)
    assert "remove" in str(caught.value) or "add a line" in str(caught.value) or "rename" in str(caught.value)


def test_naming_a_translation_points_to_the_original(cli, workspace: Path) -> None:
    result = cli("send", "releases/2025-06-30-nato-summit-brief.ko.md", "--dry-run")
    assert result.exit_code == 1
    assert "is the ko translation of releases/2025-06-30-nato-summit-brief.md; name the original" in result.output


def test_a_suffix_that_is_no_language_is_no_translation(workspace: Path) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.old", 'title = "An old draft"\npublish_at = 2024-01-01T09:00:00+09:00')
    write_release(workspace, "r.v2", 'title = "Another"\npublish_at = 2024-01-01T09:00:00+09:00')
    rel = load_release(workspace / "releases/r.md", ws_at(workspace))
    assert rel.translations == ()
    assert load_release(workspace / "releases/r.old.md", ws_at(workspace)).title == "An old draft"


def test_a_tagged_file_without_an_original_is_a_release_of_its_own(workspace: Path) -> None:
    path = write_release(workspace, "notes.de", 'title = "Notiz"\npublish_at = 2025-06-30T09:00:00+09:00')
    rel = load_release(path, ws_at(workspace))
    assert rel.id == "notes-de" and rel.translations == ()


def test_two_files_for_one_language_are_refused(workspace: Path) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.de", 'title = "A"')
    write_release(workspace, "r.DE", 'title = "B"')
    with pytest.raises(ReleaseError, match="language 'de' is already given by"):
        load_release(workspace / "releases/r.md", ws_at(workspace))


def test_region_tags_are_translations_and_keep_their_case(workspace: Path) -> None:
    write_release(workspace, "r", ORIGINAL)
    write_release(workspace, "r.pt-BR", 'title = "Manchete"')
    write_release(workspace, "r.zh-Hant", 'title = "標題"')
    rel = load_release(workspace / "releases/r.md", ws_at(workspace))
    assert [t.language for t in rel.translations] == ["pt-BR", "zh-Hant"]
    assert rel.in_language("pt").language == "pt-BR"
    assert all(t.publish_at == dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc) for t in rel.translations)


def test_validate_of_a_folder_checks_each_translation_with_its_original_once(cli, workspace: Path) -> None:
    both = cli("validate", "releases/2025-06-30-nato-summit-brief.md", "releases/2025-06-30-nato-summit-brief.ko.md")
    assert both.exit_code == 0, both.output
    assert both.stdout.count("2025-06-30-nato-summit-brief — ") == 1  # checked once, translations included
    assert "note:" not in both.stderr
    alone = cli("validate", "releases/2025-06-30-nato-summit-brief.ko.md")
    assert alone.exit_code == 0, alone.output
    assert (
        "note: releases/2025-06-30-nato-summit-brief.ko.md is a translation: checked with its original "
        "releases/2025-06-30-nato-summit-brief.md" in alone.stderr
    )
