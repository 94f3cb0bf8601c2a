"""Translations routed (issue 16.2, 16.3, 16.5): each channel and each reader gets its language once.

Through the real CLI, against a loopback SMTP server (aiosmtpd) and the Mastodon fake on 127.0.0.1:
the example release and its Korean translation go out together; the newsletter picks per recipient
from the list's language column; a Korean-only channel sends the Korean version; a social channel
with `languages` posts each language once; a channel whose language has no translation says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import babel.dates
import lxml.html
import pytest
import time_machine

from conftest import EXAMPLE_RELEASE
from email_servers import smtp_server
from email_support import KEY, bodies, smtp_channel
from ledger_support import ledger_rows
from social_servers import MastodonServer
from social_support import wire

SEOUL = ZoneInfo("Asia/Seoul")
PUBLISH = dt.datetime(2025, 6, 30, 9, 0, tzinfo=SEOUL)
AFTER = PUBLISH + dt.timedelta(hours=2)  # every channel of the example is due by then
KO_TITLE = "쇠퇴의 관리? 2025 정상회의 이후 NATO의 불안한 미래"
EN_TITLE = "Managing Decline? NATO's Uneasy Future After the 2025 Summit"
KO_RELEASE = "releases/2025-06-30-nato-summit-brief.ko.md"


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


@pytest.fixture
def after_publish() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(AFTER, tick=False) as traveller:
        yield traveller


def _mastodon_in_both(workspace: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    wire(workspace, monkeypatch, "mastodon", url, languages=["en", "ko"])


def test_each_reader_and_channel_gets_the_right_language_exactly_once(
    cli, workspace: Path, monkeypatch: pytest.MonkeyPatch, after_publish
) -> None:
    with smtp_server() as sink, MastodonServer() as mastodon:
        smtp_channel(workspace, "newsletter", sink.port)
        _mastodon_in_both(workspace, monkeypatch, mastodon.url)
        first = cli("send", EXAMPLE_RELEASE)
        assert first.exit_code == 0, first.output
        mails = sink.parsed()
        posts = list(mastodon.statuses.values())
        again = cli("send", EXAMPLE_RELEASE)
        assert len(sink.messages) == len(mails) and len(mastodon.statuses) == len(posts), "a second send sent again"

    # The newsletter: one message per reader; 김민지 (language ko) in Korean, the rest in English.
    assert sorted(mails) == [
        "jane.smith@example.com",
        "kim.minji@example.org",
        "pat.obrien@example.net",
        "reader@example.org",
    ]
    assert all(sink.count(address) == 1 for address in mails)
    minji = mails["kim.minji@example.org"]
    text, markup = bodies(minji)
    assert minji["Subject"] == KO_TITLE
    assert text.splitlines()[0] == "김민지 님, 안녕하세요."
    day = babel.dates.format_date(PUBLISH.date(), format="long", locale="ko")
    assert f"서울, {day}" in text and "June" not in text
    assert "아산정책연구원 소개" in text and "독립적이고 초당파적인 싱크탱크" in text  # the Korean boilerplate
    assert "아산정책연구원 뉴스레터 구독자에게" in text  # the list's name in Korean too
    assert "Asan Institute for Policy Studies" not in text and "About" not in text
    assert lxml.html.document_fromstring(markup.encode()).get("lang") == "ko"
    for address in ("jane.smith@example.com", "pat.obrien@example.net", "reader@example.org"):
        english, _ = bodies(mails[address])
        assert mails[address]["Subject"] == EN_TITLE and "About The Asan Institute for Policy Studies" in english
        assert "아산" not in english and "SEOUL, June 30, 2025" in english

    # Mastodon with languages = ["en", "ko"]: one post in each language, told its language.
    assert sorted(p["language"] for p in posts) == ["en", "ko"]
    by_language = {p["language"]: p["text"] for p in posts}
    assert by_language["ko"].startswith(KO_TITLE) and by_language["en"].startswith(EN_TITLE)

    # The Korean wire desk of the example workspace (language = "ko") drops the Korean copy only.
    (copy,) = (workspace / "wire-ko").glob("*.txt")
    assert KO_TITLE in copy.read_text(encoding="utf-8") and EN_TITLE not in copy.read_text(encoding="utf-8")
    assert EN_TITLE in next((workspace / "wire").glob("*.txt")).read_text(encoding="utf-8")

    # The ledger: the Korean post is its own delivery, keyed by its language.
    keys = {r["key"] for r in ledger_rows(workspace, "2025-06-30-nato-summit-brief") if r["channel"] == "mastodon"}
    assert keys == {"2025-06-30-nato-summit-brief/mastodon/post/1", "2025-06-30-nato-summit-brief/mastodon/post.ko/1"}
    assert again.exit_code == 4, again.output


def subjects_sent(cli, workspace: Path) -> dict[str, str]:
    """The newsletter sent over SMTP to a local server: each recipient's Subject."""
    with smtp_server() as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        result = cli("send", EXAMPLE_RELEASE, "-c", "newsletter")
        assert result.exit_code == 0, result.output
        return {a: m["Subject"] for a, m in sink.parsed().items()}


def test_a_reader_whose_language_has_no_translation_gets_the_main_language(cli, workspace: Path, after_publish) -> None:
    listed = workspace / "lists" / "newsletter.csv"
    listed.write_text(
        "email,name,language\nde@example.org,Dora,de\nko@example.org,고은,ko-KR\nnone@example.org,Nobody,\n",
        encoding="utf-8",
    )
    assert subjects_sent(cli, workspace) == {
        "de@example.org": EN_TITLE,  # no German translation: the main language
        "ko@example.org": KO_TITLE,  # ko-KR reads the ko translation
        "none@example.org": EN_TITLE,
    }


def test_a_row_whose_language_is_no_language_tag_is_refused_at_its_line(cli, workspace: Path, after_publish) -> None:
    """`english` or `xx_YY!` was read as no language: the reader silently got the main language."""
    listed = workspace / "lists" / "newsletter.csv"
    listed.write_text(
        "email,name,language\n"
        "en@example.org,Erin,en\n"
        "word@example.org,Wanda,english\n"
        "junk@example.org,Jun,xx_YY!\n"
        "ko@example.org,고은,ko_KR\n"
        "de@example.org,Dora,de\n",
        encoding="utf-8",
    )
    checked = cli("validate", EXAMPLE_RELEASE)
    assert checked.exit_code == 0, checked.output
    for line, tag in ((3, "english"), (4, "xx_YY!")):
        assert (
            f"warning: lists/newsletter.csv:{line}: language {tag!r} is not a language code; write one such as en, "
            "ko or pt-BR, or leave the cell empty for the release's main language; skipped"
        ) in checked.output, checked.output
    assert "newsletter (email): 2 warnings, 3 deliveries" in checked.output, checked.output
    assert subjects_sent(cli, workspace) == {
        "en@example.org": EN_TITLE,
        "ko@example.org": KO_TITLE,  # ko_KR, as a spreadsheet writes it, reads Korean
        "de@example.org": EN_TITLE,  # a language without a translation still reads the main one
    }


def test_a_channel_whose_language_has_no_translation_sends_nothing_and_says_so(
    cli, workspace: Path, after_publish
) -> None:
    (workspace / "channels" / "wire-desk-de.toml").write_text(
        'adapter = "wire"\nlanguage = "de"\nformats = ["txt"]\ntransport = "directory"\ndirectory = "wire-de"\n',
        encoding="utf-8",
    )
    line = (
        "channel wire-desk-de sends de only, and release 2025-06-30-nato-summit-brief has no de translation "
        "(2025-06-30-nato-summit-brief.de.md): nothing goes out on it; add the translation, or change its language"
    )
    result = cli("send", EXAMPLE_RELEASE, "-c", "wire-desk-de", "-c", "wire-desk")
    assert result.exit_code == 0, result.output
    assert line in result.stderr
    assert not (workspace / "wire-de").exists() and list((workspace / "wire").glob("*.txt"))
    preview = cli("preview", EXAMPLE_RELEASE, "-c", "wire-desk-de")
    assert preview.exit_code == 0 and "has no de translation" in " ".join(preview.output.split())
    dry = cli("send", EXAMPLE_RELEASE, "-c", "wire-desk-de", "--dry-run", "--outbox", "out")
    assert dry.exit_code == 4 and line in dry.stderr  # nothing to do, and why


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('language = "korean"', "channels/wire-desk-ko.toml:6: language: 'korean' is not a BCP 47 language tag"),
        (
            'language = "ko"\nlanguages = ["en", "ko"]',
            "channels/wire-desk-ko.toml:7: language and languages are both set",
        ),
        ('languages = ["en", "EN"]', "channels/wire-desk-ko.toml:6: languages: 'EN' is listed twice"),
    ],
)
def test_a_bad_channel_language_is_refused_at_its_line(cli, workspace: Path, lines: str, message: str) -> None:
    path = workspace / "channels" / "wire-desk-ko.toml"
    text = path.read_text(encoding="utf-8").replace(
        'language = "ko"             # this channel sends the Korean version only', lines
    )
    path.write_text(text, encoding="utf-8")
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out")
    assert result.exit_code != 0
    assert message in result.stderr.replace(str(workspace) + "/", ""), result.stderr
    assert not (workspace / "out").exists()


def test_editing_the_translation_after_scheduling_holds_only_the_korean_deliveries(
    cli, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as sink, MastodonServer() as mastodon:
        smtp_channel(workspace, "newsletter", sink.port)
        _mastodon_in_both(workspace, monkeypatch, mastodon.url)
        with time_machine.travel(PUBLISH - dt.timedelta(days=1), tick=False):
            booked = cli("schedule", EXAMPLE_RELEASE)
            assert booked.exit_code == 0, booked.output
        translation = workspace / KO_RELEASE
        translation.write_text(
            translation.read_text(encoding="utf-8").replace("발간했다.", "발간했습니다."), encoding="utf-8"
        )
        with time_machine.travel(AFTER, tick=False):
            due = cli("send", "--due")
            status = cli("status", EXAMPLE_RELEASE)
            status_json = json.loads(cli("status", EXAMPLE_RELEASE, "--json").output)
        mails = sink.parsed()
        posts = list(mastodon.statuses.values())

    # English went: every English reader, the English post, the English wire copy; nothing Korean.
    assert sorted(mails) == ["jane.smith@example.com", "pat.obrien@example.net", "reader@example.org"]
    assert [p["language"] for p in posts] == ["en"]
    assert list((workspace / "wire").glob("*.txt")) and not (workspace / "wire-ko").exists()
    assert due.exit_code == 3, due.output
    said = " ".join(due.stderr.split())
    assert "the ko translation releases/2025-06-30-nato-summit-brief.ko.md changed since it was scheduled" in said
    assert "distribute schedule" in said
    # status names what is held: the Korean part of each channel.
    shown = " ".join(status.output.split())
    assert "HELD" in shown and "2025-06-30-nato-summit-brief.ko.md" in shown
    items = {i["key"]: i for r in status_json["releases"] for c in r["channels"] for i in c["items"]}
    assert items["2025-06-30-nato-summit-brief/newsletter/kim.minji@example.org/message"]["state"] == "pending"
    assert items["2025-06-30-nato-summit-brief/mastodon/post.ko/1"]["state"] == "pending"
    assert items["2025-06-30-nato-summit-brief/mastodon/post/1"]["state"] == "sent"


def test_an_organisation_translation_must_be_named_by_a_language_tag(cli, workspace: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[organization.translations.ko]", "[organization.translations.korean]"
        ),
        encoding="utf-8",
    )
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out")
    assert result.exit_code == 1
    # Named at the line of the table in config.toml.
    line = config.read_text(encoding="utf-8").splitlines().index("[organization.translations.korean]") + 1
    assert f"config.toml:{line}: [organization.translations.korean]: 'korean' is not a BCP 47" in result.stderr
    assert not (workspace / "out").exists()


def test_a_translation_added_after_scheduling_waits_for_a_new_schedule_and_status_says_so(cli, workspace: Path) -> None:
    (workspace / "channels" / "wire-desk-de.toml").write_text(
        'adapter = "wire"\nlanguage = "de"\nformats = ["txt"]\ntransport = "directory"\ndirectory = "wire-de"\n',
        encoding="utf-8",
    )
    with time_machine.travel(PUBLISH - dt.timedelta(days=1), tick=False):
        assert cli("schedule", EXAMPLE_RELEASE, "-c", "wire-desk-de", "-c", "wire-desk").exit_code == 0
        (workspace / "releases" / "2025-06-30-nato-summit-brief.de.md").write_text(
            '+++\ntitle = "Verwalteter Niedergang? Die NATO nach dem Gipfel 2025"\n+++\nText.\n', encoding="utf-8"
        )
        status = cli("status", EXAMPLE_RELEASE)
    shown = " ".join(status.output.split())
    assert (
        "note: the de translation releases/2025-06-30-nato-summit-brief.de.md was added after the release was "
        "scheduled, so it is not sent; run `distribute schedule" in shown
    )
    with time_machine.travel(AFTER, tick=False):
        due = cli("send", "--due")
    assert due.exit_code == 0, due.output
    assert not (workspace / "wire-de").exists() and list((workspace / "wire").glob("*.txt"))
    with time_machine.travel(AFTER, tick=False):
        again = cli("schedule", EXAMPLE_RELEASE, "-c", "wire-desk-de", "-c", "wire-desk", "--at", "now")
        assert again.exit_code == 0, again.output
        assert cli("send", "--due").exit_code == 0
    assert "Verwalteter Niedergang?" in next((workspace / "wire-de").glob("*.txt")).read_text(encoding="utf-8")
