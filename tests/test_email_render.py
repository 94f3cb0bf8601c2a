"""What the email adapter renders: structure, headers, personalisation, encodings, unsubscribe, parts.

Every message is parsed back with the standard library's mail parser (policy.default), as a
mail client would, and checked against RFC 5322 / 2045 / 2047 / 2369 / 2919 / 8058.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, ROOT, write_release
from distribute.adapters.email.unsubscribe import PLACEHOLDER, verify
from distribute.errors import TemplateError
from email_support import KEY, bodies, parse, render, set_keys, write_list

GOLDEN = ROOT / "tests" / "golden" / "email"
ONCE = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


def test_newsletter_is_text_then_html_alternative_with_inlined_css(workspace: Path) -> None:
    _, _, deliveries = render(workspace, "newsletter")
    # The English readers, then the Korean one (the list's language column; the newsletter sends en and ko).
    assert [d.target for d in deliveries] == [
        "jane.smith@example.com",
        "pat.obrien@example.net",
        "reader@example.org",
        "kim.minji@example.org",
    ]
    korean = {"kim.minji@example.org"}
    for d in deliveries:
        message = parse(d.files[0].data)
        assert message.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in message.iter_parts()]
        assert parts == ["text/plain", "text/html"], "text/plain first, text/html last"
        for part in message.iter_parts():
            assert part["Content-Transfer-Encoding"] == "quoted-printable"
            assert part.get_content_charset() == "utf-8"
        text, markup = bodies(message)
        assert "<style" not in markup, "CSS must be inlined: Gmail drops <style> in many cases"
        assert re.search(r'<h1 style="[^"]*color: #0f2b46', markup)
        # The preheader: the summary, first in the body, hidden.
        hidden = re.search(r'<body[^>]*>\s*<div style="display:none;[^"]*">([^<]*)', markup)
        summary, title = (
            ("2025 NATO 정상회의가", "쇠퇴의 관리?")
            if d.target in korean
            else ("What the 2025 NATO Summit reveals", "Managing Decline?")
        )
        assert hidden and hidden.group(1).startswith(summary)
        assert title in text and "###" not in text


def test_each_header_once_and_a_stable_unique_message_id(workspace: Path) -> None:
    _, _, first = render(workspace, "newsletter")
    _, _, again = render(workspace, "newsletter")
    ids = []
    for d, d2 in zip(first, again, strict=True):
        assert d.files == d2.files and d.sha256 == d2.sha256, "render is deterministic"
        message = parse(d.files[0].data)
        for name in ONCE:
            assert len(message.get_all(name) or []) == 1, f"{name} must appear exactly once"
        assert message["Message-ID"] == d.meta["message_id"]
        assert re.fullmatch(r"<[0-9a-f]{32}@asaninst\.org>", message["Message-ID"])
        assert message["Date"] == "Mon, 30 Jun 2025 09:00:00 +0900"
        ids.append(message["Message-ID"])
    assert len(set(ids)) == len(ids)
    names = [d.files[0].name for d in first]
    # Numbered by their place in the list, whichever language each reads (the Korean reader comes last).
    assert names == [
        "000002-jane.smith@example.com.eml",
        "000003-pat.obrien@example.net.eml",
        "000004-reader@example.org.eml",
        "000001-kim.minji@example.org.eml",
    ]
    assert first[-1].key == "2025-06-30-nato-summit-brief/newsletter/kim.minji@example.org/message"


def test_list_headers_one_click_unsubscribe_and_visible_links(workspace: Path) -> None:
    _, _, deliveries = render(workspace, "newsletter")
    for d in deliveries:
        message = parse(d.files[0].data)
        assert message["List-Id"] == "The Asan Institute for Policy Studies newsletter <newsletter.asaninst.org>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        uris = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
        assert len(uris) == 2 and uris[0].startswith("https://") and uris[1].startswith("mailto:unsubscribe@")
        link = uris[0]
        match = re.fullmatch(
            r"https://en\.asaninst\.org/unsubscribe\?list=newsletter\.asaninst\.org"
            r"&email=([^&]+)&token=([A-Za-z0-9_-]{22})",
            link,
        )
        assert match and match.group(1) == d.target
        assert verify(KEY.encode(), "newsletter.asaninst.org", d.target, match.group(2))
        assert not verify(KEY.encode(), "newsletter.asaninst.org", "someone.else@example.org", match.group(2))
        assert not verify(b"another key", "newsletter.asaninst.org", d.target, match.group(2))
        text, markup = bodies(message)
        word = "수신 거부" if d.target == "kim.minji@example.org" else "Unsubscribe"  # the Korean reader's
        assert f"{word}: {link}" in text
        assert f'<a href="{link.replace("&", "&amp;")}"' in markup and f">{word}</a>" in markup


def test_without_the_key_links_carry_a_placeholder_and_missing_says_so(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNSUBSCRIBE_KEY")
    ws, channel, deliveries = render(workspace, "newsletter")
    message = parse(deliveries[0].files[0].data)
    assert f"token={PLACEHOLDER}" in str(message["List-Unsubscribe"]) and deliveries[0].meta["unsigned"]
    needs = ws.adapter(channel).missing(channel)
    assert any("UNSUBSCRIBE_KEY" in n and "placeholder" in n for n in needs)
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    assert not any("UNSUBSCRIBE_KEY" in n for n in ws.adapter(channel).missing(channel))


def test_personalisation_greeting_and_to_with_the_name(workspace: Path) -> None:
    _, _, deliveries = render(workspace, "newsletter")
    seen = {}
    for d in deliveries:
        message = parse(d.files[0].data)
        text, markup = bodies(message)
        seen[d.target] = (
            str(message["To"]),
            text.splitlines()[0],
            re.search(r'class="greeting"[^>]*>([^<]*)<', markup).group(1),
        )
    # 김민지 reads Korean (the list's language column): greeted in Korean.
    assert seen["kim.minji@example.org"] == (
        "김민지 <kim.minji@example.org>",
        "김민지 님, 안녕하세요.",
        "김민지 님, 안녕하세요.",
    )
    assert seen["pat.obrien@example.net"] == (
        '"O\'Brien, Pat" <pat.obrien@example.net>',
        "Dear O'Brien, Pat,",
        "Dear O'Brien, Pat,",
    )
    assert seen["reader@example.org"] == ("reader@example.org", "Dear reader,", "Dear reader,")


def test_korean_and_emoji_in_subject_names_and_body_round_trip(workspace: Path) -> None:
    title = "북한 🚀 Managing Decline? «NATO» after the 2025 Summit — what it means for South Korea's alliances"
    write_release(
        workspace,
        "unicode",
        f'title = "{title}"\nsummary = "요약 ✨"\npublish_at = 2025-07-01T09:00:00+09:00',
        "본문입니다. Emoji: 🇰🇷 and a long line " + "x" * 300 + "\n",
    )
    names = ["김민지 🌸", "Zoë 🤖 Ångström", "=?utf-8?q?not-encoded?=", 'Quote "me" \\ here']
    rows = "".join(f'u{i}@example.org,"{n.replace(chr(34), chr(34) * 2)}"\n' for i, n in enumerate(names))
    listed = write_list(workspace, "uni.csv", "email,name\n" + rows)
    set_keys(workspace, "newsletter", f'recipients = "{listed}"')
    _, _, deliveries = render(workspace, "newsletter", "releases/unicode.md")
    assert len(deliveries) == len(names)
    for d, name in zip(deliveries, names, strict=True):
        data = d.files[0].data
        assert data.isascii(), "7-bit clean: every non-ASCII character encoded"
        message = parse(data)
        assert message["Subject"] == title
        assert message["To"].addresses[0].display_name == name
        assert message["To"].addresses[0].addr_spec == d.target
        text, markup = bodies(message)
        assert text.startswith(f"Dear {name},\n")
        assert "본문입니다. Emoji: 🇰🇷" in text and "x" * 300 in text
        assert "요약 ✨" in markup


def test_lines_stay_within_rfc_5322_limits(workspace: Path) -> None:
    write_release(
        workspace,
        "long",
        'title = "' + "Word " * 60 + '"\npublish_at = 2025-07-01T09:00:00+09:00',
        "A" * 2000 + "\n\n" + "가" * 700 + "\n",
    )
    _, _, deliveries = render(workspace, "newsletter", "releases/long.md")
    for d in deliveries:
        data = d.files[0].data
        assert b"\n" not in data.replace(b"\r\n", b""), "CRLF line ends only"
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            # Only List-Unsubscribe's URL may pass 78: a URL is never folded inside its brackets.
            assert len(line) <= 78 or line.startswith(b"List-Unsubscribe: <https"), line
            assert len(line) <= 998
        for line in body.split(b"\r\n"):
            assert len(line) <= 76, line  # quoted-printable (RFC 2045 §6.7) and base64 lines
        assert parse(data)["Subject"] == ("Word " * 60).strip()


def test_press_list_embargoed_copy_is_marked_in_subject_and_at_the_top(workspace: Path) -> None:
    write_release(
        workspace,
        "embargoed",
        'title = "Defense white paper"\npublish_at = 2025-07-01T06:00:00+09:00\n'
        'embargo = 2025-07-01T10:00:00+09:00\n[[contacts]]\nname = "Dr. Kim Saeme"\nemail = "s.kim@asaninst.org"',
    )
    _, _, deliveries = render(workspace, "press-list", "releases/embargoed.md")
    notice = "EMBARGOED UNTIL 2025-07-01 10:00 KST (01:00 UTC)"
    for d in deliveries:
        message = parse(d.files[0].data)
        assert message["Subject"] == f"{notice}: Defense white paper"
        assert message.get_content_type() == "text/plain", "the press list is plain text"
        assert message.get_content().splitlines()[0] == notice
        assert message["Reply-To"] == '"Dr. Kim Saeme" <s.kim@asaninst.org>'
    # The newsletter (a public channel) is held until the embargo, and then says nothing of it.
    _, _, news = render(workspace, "newsletter", "releases/embargoed.md")
    assert "EMBARGOED" not in bodies(parse(news[0].files[0].data))[0]
    assert parse(news[0].files[0].data)["Date"] == "Tue, 01 Jul 2025 10:00:00 +0900"


def test_a_newsletter_sent_as_an_embargoed_copy_heads_both_bodies_with_the_notice(workspace: Path) -> None:
    set_keys(workspace, "newsletter", "embargoed_copy = true")
    write_release(
        workspace,
        "embargoed",
        'title = "Defense white paper"\npublish_at = 2025-07-01T06:00:00+09:00\nembargo = 2025-07-01T10:00:00+09:00',
    )
    _, _, deliveries = render(workspace, "newsletter", "releases/embargoed.md")
    message = parse(deliveries[0].files[0].data)
    text, markup = bodies(message)
    notice = "EMBARGOED UNTIL 2025-07-01 10:00 KST (01:00 UTC)"
    assert message["Subject"].startswith(notice) and text.startswith(notice)
    assert markup.index(notice) < markup.index("<h1")


def test_a_template_that_drops_the_embargo_notice_is_refused(workspace: Path) -> None:
    (workspace / "templates" / "email").mkdir(parents=True)
    (workspace / "templates" / "email" / "press-list.txt.j2").write_text("{{ release.title }}\n{{ embargo_notice }}\n")
    write_release(
        workspace,
        "embargoed",
        'title = "T"\npublish_at = 2025-07-01T06:00:00+09:00\nembargo = 2025-07-01T10:00:00+09:00',
    )
    with pytest.raises(TemplateError, match="embargo_notice"):
        render(workspace, "press-list", "releases/embargoed.md")


def test_attachments_and_images_with_their_types(workspace: Path) -> None:
    (workspace / "files").mkdir()
    (workspace / "files" / "brief.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    (workspace / "files" / "figures.csv").write_text("year,spending\n2025,2.3\n")
    (workspace / "files" / "브리핑.txt").write_text("요약\n")
    (workspace / "images").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    (workspace / "images" / "chart.png").write_bytes(png)
    (workspace / "images" / "cover.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    write_release(
        workspace,
        "files",
        'title = "With files"\npublish_at = 2025-07-01T09:00:00+09:00\n'
        '[[images]]\npath = "images/chart.png"\nalt = "Spending chart"\ncaption = "Figure 1"\n'
        '[[images]]\npath = "images/cover.jpg"\nalt = "Cover"\nurl = "https://en.asaninst.org/cover.jpg"\n'
        '[[attachments]]\npath = "files/brief.pdf"\ntitle = "Full brief"\n'
        '[[attachments]]\npath = "files/figures.csv"\n'
        '[[attachments]]\npath = "files/브리핑.txt"\ntitle = "Korean summary"\n',
    )
    _, _, deliveries = render(workspace, "newsletter", "releases/files.md")
    message = parse(deliveries[0].files[0].data)
    assert message.get_content_type() == "multipart/mixed"
    alternative, *attached = message.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "multipart/related"]
    related = list(alternative.iter_parts())[1]
    html_part, image = related.iter_parts()
    assert image.get_content_type() == "image/png" and image.get_content() == png
    cid = image["Content-ID"].strip("<>")
    markup = html_part.get_content()
    assert f'src="cid:{cid}"' in markup and 'alt="Spending chart"' in markup
    assert 'src="https://en.asaninst.org/cover.jpg"' in markup, "an image with a url is linked, not attached"
    found = {
        p.get_filename(): (p.get_content_type(), p.get_content_disposition(), p.get_payload(decode=True))
        for p in attached
    }
    assert found["brief.pdf"][:2] == ("application/pdf", "attachment")
    assert found["brief.pdf"][2] == (workspace / "files" / "brief.pdf").read_bytes()
    assert found["figures.csv"][:2] == ("text/csv", "attachment")
    assert found["브리핑.txt"][0] == "text/plain" and found["브리핑.txt"][2] == "요약\n".encode()
    assert "Full brief (attached: brief.pdf)" in bodies(message)[0]


def test_extra_columns_reach_templates_and_value_tests_fall_back_to_full_render(workspace: Path) -> None:
    # A template that compares a recipient value cannot be pre-rendered; the result must still be exact.
    folder = workspace / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "newsletter.txt.j2").write_text(
        '{% if recipient.organization == "Korea Defense Daily" %}KDD READER {{ recipient.name|upper }}\n'
        '{% else %}Reader at {{ recipient.organization or "home" }}\n{% endif %}'
        '{% include "default:email/newsletter.txt.j2" %}',
        encoding="utf-8",
    )
    _, _, deliveries = render(workspace, "newsletter")
    texts = {d.target: bodies(parse(d.files[0].data))[0] for d in deliveries}
    assert texts["kim.minji@example.org"].startswith("KDD READER 김민지\n김민지 님, 안녕하세요.")
    assert texts["jane.smith@example.com"].startswith("Reader at Institute for Alliance Studies\nDear Jane Smith,")
    assert texts["reader@example.org"].startswith("Reader at home\nDear reader,")


def test_fast_fill_in_equals_a_full_render_of_every_message(workspace: Path) -> None:
    _, _, fast = render(workspace, "newsletter")
    folder = workspace / "templates" / "email"
    folder.mkdir(parents=True)
    # Comparing a value forces the full render; otherwise these are the built-in templates.
    for kind in ("txt", "html"):
        (folder / f"newsletter.{kind}.j2").write_text(
            '{% set probe = recipient.email == "" %}{% include "default:email/newsletter.' + kind + '.j2" %}',
            encoding="utf-8",
        )
    _, _, slow = render(workspace, "newsletter")
    for a, b in zip(fast, slow, strict=True):
        ma, mb = parse(a.files[0].data), parse(b.files[0].data)
        assert bodies(ma) == bodies(mb)
        assert [(k, str(v)) for k, v in ma.items()] == [(k, str(v)) for k, v in mb.items()]


def test_subject_template_override_and_no_recipient_values_in_it(workspace: Path) -> None:
    set_keys(workspace, "newsletter", 'subject = "Asan Brief: {{ release.title }}"')
    _, _, deliveries = render(workspace, "newsletter")
    assert parse(deliveries[0].files[0].data)["Subject"].startswith("Asan Brief: Managing Decline?")
    write_release(
        workspace,
        "override",
        'title = "T"\npublish_at = 2025-07-01T09:00:00+09:00\n'
        '[channel.newsletter]\nsubject = "Hand-written {{ subject }}"',
    )
    _, _, deliveries = render(workspace, "newsletter", "releases/override.md")
    assert parse(deliveries[0].files[0].data)["Subject"] == "Hand-written {{ subject }}"
    set_keys(workspace, "newsletter", 'subject = "For {{ recipient.name }}"')
    with pytest.raises(TemplateError, match="same for every recipient"):
        render(workspace, "newsletter")


@pytest.mark.parametrize("channel, index", [("newsletter", 1), ("newsletter", 4), ("press-list", 2)])
def test_golden_messages(workspace: Path, channel: str, index: int) -> None:
    _, _, deliveries = render(workspace, channel, EXAMPLE_RELEASE)
    # By its place in the list (the file name's number), whatever language block renders it.
    d = next(d for d in deliveries if d.files[0].name.startswith(f"{index:06d}-"))
    path = GOLDEN / f"{channel}-{d.files[0].name}"
    if os.environ.get("DISTRIBUTE_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(d.files[0].data)
    assert path.is_file(), f"{path} is missing: run with DISTRIBUTE_REGEN_GOLDEN=1 to create it"
    assert d.files[0].data == path.read_bytes(), f"{path} differs (DISTRIBUTE_REGEN_GOLDEN=1 if intended)"
