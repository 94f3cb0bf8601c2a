"""Every output speaks its release's language: German, Korean and Arabic releases through the real CLI.

The oracles are outside tools: Babel's own CLDR formatting for dates, times and zone names,
feedparser for the feeds' languages, lxml for HTML lang/dir, wcwidth for the wire's line widths,
and Babel's catalog reader and extractors for the shipped message catalogs.
"""

from __future__ import annotations

import datetime as dt
import email
import shutil
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import babel.dates
import feedparser
import lxml.etree
import lxml.html
import pytest
import time_machine
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from wcwidth import wcswidth

from conftest import ROOT

RELEASES = ROOT / "tests" / "releases"
LOCALE = ROOT / "src" / "distribute" / "locale"
SHIPPED = ["de", "fr", "es", "it", "pt", "nl", "ko", "ja", "zh", "ar"]
# What English output says; none of it may reach a reader of a release in another language.
ENGLISH = [
    "Dear ",
    "Media contact",
    "About ",
    "Read it on the web",
    "You receive this",
    "FOR IMMEDIATE RELEASE",
    "EMBARGOED",
    "Unsubscribe",
    "attached:",
    "January",
    "March",
    "May",
    "December",
]


def _prepare(ws: Path, release: str, timezone: str, *, embargoed: tuple[str, ...] = ()) -> str:
    """Copy a test release in, set the workspace zone, and let channels go before the embargo."""
    shutil.copyfile(RELEASES / release, ws / "releases" / release)
    config = ws / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('timezone = "Asia/Seoul"', f'timezone = "{timezone}"'),
        encoding="utf-8",
    )
    for name in embargoed:
        path = ws / "channels" / f"{name}.toml"
        text = path.read_text(encoding="utf-8")
        if "\nembargoed_copy = true" not in text:
            text = "embargoed_copy = true\n" + text
        path.write_text('at = "-1d"\n' + text, encoding="utf-8")
    return f"releases/{release}"


def _dry_run(cli, ws: Path, release: str, *channels: str) -> Path:
    out = ws / "out"
    args = ["send", release, "--dry-run", "--outbox", str(out)]
    for c in channels:
        args += ["-c", c]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return out


def _mails(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def _plain(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def _html(message: email.message.EmailMessage) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def _moment(value: dt.datetime, zone: ZoneInfo, locale: str) -> str:
    """What Babel itself makes of an instant: CLDR date, time and zone name, joined CLDR's way, then UTC."""
    local = value.astimezone(zone)
    date = babel.dates.format_date(local.date(), format="long", locale=locale)
    time = babel.dates.format_time(local, format="short", tzinfo=zone, locale=locale)
    joined = babel.dates.get_datetime_format("medium", locale=locale).replace("{1}", date).replace("{0}", time)
    name = babel.dates.get_timezone_name(local, width="short", locale=locale)
    if name.startswith(("+", "-", "GMT")):
        name = babel.dates.get_timezone_name(local, width="long", locale=locale)
    return f"{joined} {name} ({value.astimezone(dt.timezone.utc):%H:%M} UTC)"


def test_a_german_release_reads_german_in_mail_press_list_and_wire(cli, workspace: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    release = _prepare(workspace, "de-energiewende.md", "Europe/Berlin", embargoed=("press-list",))
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "newsletter", "press-list", "wire-desk")
    publish = dt.datetime(2026, 12, 2, 10, 0, tzinfo=berlin)
    day = babel.dates.format_date(publish.date(), format="long", locale="de")
    assert day == "2. Dezember 2026"  # what a German reader expects; Babel is the oracle below

    letters = _mails(out / "newsletter")
    texts = {m["To"]: _plain(m) for m in letters}
    jane = next(t for to, t in texts.items() if "jane.smith" in to)
    assert jane.splitlines()[0] == "Guten Tag Jane Smith,"
    assert f"Berlin, {day}" in jane
    assert "Im Web lesen: https://example.org/presse/2026-12-02-waermewende" in jane
    assert "Pressekontakte:\nAnna Schmidt, Pressesprecherin" in jane
    assert "Über The Asan Institute for Policy Studies" in jane
    # The list's name in German too, from the catalog (the organisation has no German name of its own).
    assert (
        "Sie erhalten diese E-Mail, weil Sie den Newsletter von The Asan Institute for Policy Studies abonniert" in jane
    )
    assert "\nAbmelden: https://" in jane
    nameless = [t for t in texts.values() if t.startswith("Liebe Leserin, lieber Leser,")]
    assert nameless, "a subscriber without a name is greeted in German too"
    markup = _html(letters[0])
    root = lxml.html.document_fromstring(markup.encode())
    assert root.get("lang") == "de" and root.get("dir") is None
    assert root.xpath("//a[@class='button']")[0].text_content() == "Im Web lesen"

    (press, *_) = _mails(out / "press-list")
    embargo = _moment(publish, berlin, "de")
    assert embargo == "2. Dezember 2026, 10:00 MEZ (09:00 UTC)"
    body = _plain(press)
    assert body.splitlines()[0] == f"SPERRFRIST: {embargo}"
    assert press["Subject"] == f"SPERRFRIST: {embargo} – Neue Studie: Kommunen treiben die Wärmewende voran"
    assert "Sie erhalten diese Pressemitteilung über den Verteiler" in body

    wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    assert wire.splitlines()[0] == "PRESSEMITTEILUNG"
    assert f"\nBERLIN, {day} -- Zwei Drittel" in wire
    assert "\nÜber The Asan Institute for Policy Studies\n" in wire and "\nPressekontakte:\n" in wire

    for text in [*texts.values(), markup, body, wire]:
        for english in ENGLISH:
            assert english not in text, f"{english!r} in a German output:\n{text}"


def test_a_korean_release_greets_dates_and_emphasises_in_korean(cli, workspace: Path) -> None:
    seoul = ZoneInfo("Asia/Seoul")
    release = _prepare(workspace, "ko-alliance.md", "Asia/Seoul", embargoed=("press-list", "wire-desk"))
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "newsletter", "press-list", "wire-desk")
    publish = dt.datetime(2026, 3, 12, 9, 0, tzinfo=seoul)
    day = babel.dates.format_date(publish.date(), format="long", locale="ko")

    letters = {m["To"]: m for m in _mails(out / "newsletter")}
    minji = next(m for to, m in letters.items() if "kim.minji" in to)
    text = _plain(minji)
    assert text.splitlines()[0] == "김민지 님, 안녕하세요."
    assert f"서울, {day}" in text and "MARCH" not in text.upper()
    # CJK emphasis: `**「동맹의 재조정」**을` is bold in HTML and plain in text, no asterisks left.
    markup = _html(minji)
    root = lxml.html.document_fromstring(markup.encode())
    bold = [(s.text_content(), (s.tail or "")[:1]) for s in root.xpath("//td[@class='content']/p/strong")]
    assert ("「동맹의 재조정」", "을") in bold
    assert "**" not in markup and "**" not in text and "「동맹의 재조정」을" in text
    assert root.get("lang") == "ko" and root.get("dir") is None

    embargo = _moment(publish, seoul, "ko")
    (press, *_) = _mails(out / "press-list")
    assert _plain(press).splitlines()[0] == f"엠바고: {embargo} 이후 보도"
    wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    assert wire.splitlines()[0].startswith(f"엠바고: {babel.dates.format_date(publish, 'long', locale='ko')}")
    assert f"서울, {day} -- " in wire.replace("\n", " ") and "\n문의:\n김새미\n" in wire
    assert "**" not in wire
    for output in (wire, _plain(press), text):
        for english in ENGLISH:
            assert english not in output, f"{english!r} in a Korean output:\n{output}"


@pytest.mark.parametrize("width", [72, 40])
def test_korean_wire_and_press_lines_fit_the_width_in_display_columns(cli, workspace: Path, width: int) -> None:
    release = _prepare(workspace, "ko-alliance.md", "Asia/Seoul")
    wire_file = workspace / "channels" / "wire-desk.toml"
    wire_file.write_text(
        wire_file.read_text(encoding="utf-8").replace("width = 72 ", f"width = {width} "), encoding="utf-8"
    )
    with time_machine.travel(dt.datetime(2026, 3, 12, 1, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "press-list", "wire-desk")
    wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    # Every line fits the configured width in display columns (a Hangul syllable takes two),
    # except a line that is one unbreakable word (a URL).
    for line in wire.splitlines():
        assert wcswidth(line) <= width or len(line.split()) == 1, (wcswidth(line), line)
    # The press list's body is wrapped at its text_width (72) in columns too (the footer is not wrapped).
    (press, *_) = _mails(out / "press-list")
    for line in _plain(press).split("\n--\n")[0].splitlines():
        assert wcswidth(line) <= 72 or len(line.split()) == 1, (wcswidth(line), line)


def test_a_korean_feed_item_no_longer_claims_to_be_english(cli, workspace: Path) -> None:
    release = _prepare(workspace, "ko-alliance.md", "Asia/Seoul")
    with time_machine.travel(dt.datetime(2026, 3, 12, 1, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "rss")
    atom = feedparser.parse((out / "rss" / "atom.xml").read_bytes())
    assert atom.bozo == 0 and atom.feed.language == "en"  # the feed's own language (config.toml)
    entry = atom.entries[0]
    assert entry.title_detail.language == "ko"
    assert entry.content[0].language == "ko"
    assert entry.summary_detail.language == "ko"
    rss_bytes = (out / "rss" / "feed.xml").read_bytes()
    rss = feedparser.parse(rss_bytes)
    assert rss.bozo == 0 and rss.entries[0].language == "ko"  # <dc:language> of the item
    item = lxml.etree.fromstring(rss_bytes).find("channel/item")
    assert item.findtext("{http://purl.org/dc/elements/1.1/}language") == "ko"


def test_an_arabic_release_is_right_to_left_in_mail_feed_and_preview(cli, workspace: Path) -> None:
    release = _prepare(workspace, "ar-forum.md", "Asia/Dubai")
    with time_machine.travel(dt.datetime(2026, 5, 4, 6, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "newsletter", "rss", "wire-desk")
        result = cli("preview", release, "-c", "newsletter", "--html", str(workspace / "preview.html"))
    assert result.exit_code == 0, result.output

    letter = _mails(out / "newsletter")[0]
    root = lxml.html.document_fromstring(_html(letter).encode())
    assert (root.get("lang"), root.get("dir")) == ("ar", "rtl")
    assert "نبذة عن The Asan Institute for Policy Studies" in root.text_content()

    atom = feedparser.parse((out / "rss" / "atom.xml").read_bytes())
    entry = atom.entries[0]
    assert entry.content[0].language == "ar"
    content = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="body")
    (wrapper,) = content
    assert (wrapper.tag, wrapper.get("dir"), wrapper.get("lang")) == ("div", "rtl", "ar")
    rss = feedparser.parse((out / "rss" / "feed.xml").read_bytes())
    item = lxml.html.fragment_fromstring(rss.entries[0].content[0].value, create_parent="body")
    assert item[0].get("dir") == "rtl"

    day = babel.dates.format_date(dt.date(2026, 5, 4), format="long", locale="ar")
    wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    assert f"\nDUBAI, {day} -- " in wire and wire.splitlines()[0] == "بيان صحفي للنشر الفوري"

    page = lxml.html.document_fromstring((workspace / "preview.html").read_bytes())
    (heading,) = page.iter("h1")
    assert (heading.get("lang"), heading.get("dir")) == ("ar", "rtl")
    frames = list(page.iter("iframe"))  # one per sample recipient
    assert frames
    for frame in frames:
        inner = lxml.html.document_fromstring(frame.get("srcdoc").encode())
        assert (inner.get("lang"), inner.get("dir")) == ("ar", "rtl")


def test_a_workspace_catalog_overrides_a_string_and_keeps_the_rest(cli, workspace: Path) -> None:
    release = _prepare(workspace, "de-energiewende.md", "Europe/Berlin")
    own = workspace / "locale" / "de" / "LC_MESSAGES"
    own.mkdir(parents=True)
    (own / "distribute.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Media contact:"\nmsgid_plural "Media contacts:"\n'
        'msgstr[0] "Ansprechpartnerin:"\nmsgstr[1] "Ansprechpersonen:"\n',
        encoding="utf-8",
    )
    english = workspace / "locale" / "en" / "LC_MESSAGES"
    english.mkdir(parents=True)
    (english / "distribute.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "FOR IMMEDIATE RELEASE"\nmsgstr "NEWS RELEASE"\n',
        encoding="utf-8",
    )
    with time_machine.travel(dt.datetime(2026, 12, 2, 12, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "wire-desk")
        wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
        shutil.rmtree(out)
        out = _dry_run(cli, workspace, "releases/2025-06-30-nato-summit-brief.md", "wire-desk")
        english_wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    assert "\nAnsprechpersonen:\n" in wire and "Pressekontakte" not in wire
    assert wire.splitlines()[0] == "PRESSEMITTEILUNG"  # the built-in catalog fills the rest
    assert english_wire.splitlines()[0] == "NEWS RELEASE"
    assert "\nMedia contact:\n" in english_wire


def test_every_string_of_the_templates_and_code_is_translated_into_every_shipped_language() -> None:
    with open(LOCALE / "distribute.pot", "rb") as fp:
        template = read_po(fp)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    # Babel's own extractors over the built-in templates (Jinja2's) and the package (Python's).
    used = {
        (m[2] if isinstance(m[2], str) else m[2][0])
        for folder, method in ((ROOT / "templates", "jinja2.ext.babel_extract"), (ROOT / "src", "python"))
        for m in extract_from_dir(
            str(folder),
            method_map=[("**.j2", method)] if method != "python" else [("**.py", "python")],
            keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
        )
    }
    assert used - ids == set(), "strings used but missing from src/distribute/locale/distribute.pot"
    assert ids - used == set(), "strings in the .pot that nothing uses"
    for lang in SHIPPED:
        with open(LOCALE / lang / "LC_MESSAGES" / "distribute.po", "rb") as fp:
            catalog = read_po(fp, locale=lang)
        for message in template:
            if not message.id:
                continue
            translated = catalog.get(message.id)
            assert translated is not None and not translated.fuzzy, (lang, message.id)
            strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
            assert all(strings) and len(strings) == (catalog.num_plurals if translated.pluralizable else 1)
        # Babel's checkers: the same %(name)s placeholders as the msgid, nothing malformed.
        assert [(m.id, errors) for m, errors in catalog.check() if errors] == []


def test_init_puts_a_readme_into_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from distribute.cli import cli as command

    monkeypatch.delenv("DISTRIBUTE_CONFIG", raising=False)
    result = CliRunner().invoke(command, ["init", str(tmp_path / "new"), "--name", "Musterverein e.V."])
    assert result.exit_code == 0, result.output
    readme = (tmp_path / "new" / "templates" / "README.md").read_text(encoding="utf-8")
    assert "format_date" in readme and "locale/<language>/LC_MESSAGES/distribute.po" in readme


@pytest.mark.parametrize(
    "markdown, bold, after",
    [
        ("보고서 **「동맹의 재조정」**을 발표했다.", "「동맹의 재조정」", "을"),
        ("**이 용어(This term)**를 강조해 주세요.", "이 용어(This term)", "를"),
        ("これは**「重要」**です。", "「重要」", "で"),
        ("我可以强调**这个`code`**吗？", "这个code", "吗"),
    ],
)
def test_cjk_emphasis_next_to_punctuation_is_bold(markdown: str, bold: str, after: str) -> None:
    from distribute.text.markdown import to_html, to_text

    root = lxml.html.fragment_fromstring(to_html(markdown), create_parent="div")
    (strong,) = root.iter("strong")
    assert strong.text_content() == bold and (strong.tail or "").startswith(after)
    assert "**" not in to_text(markdown)


@pytest.mark.parametrize("width", [40, 41, 72])
@pytest.mark.parametrize(
    "text",
    [
        "아산정책연구원은 12일 한미동맹의 방위비 분담과 확장억제를 둘러싼 쟁점을 분석한 보고서를 발표했다. "
        "보고서는 2025년 이후 미국의 동맹 정책 변화가 한국의 안보 전략에 미치는 영향을 종합적으로 검토했다.",
        "研究所は本日、エネルギー安全保障に関する新しい報告書「湾岸のエネルギー」を発表した。"
        "報告書は2025年以降の市場の変化を分析し、政策の選択肢を示している。",
        "研究所今天发布了一份关于能源安全的新报告，分析了二〇二五年以后能源市场的变化及其对地区安全的影响。"
        "See https://example.org/zh/press/2026-05-04-energy-security-report for the full text.",
    ],
)
def test_plain_text_wraps_by_display_width(text: str, width: int) -> None:
    from distribute.text.wrap import fill

    lines = fill(text, width).splitlines()
    assert len(lines) > 1
    for line in lines:
        assert wcswidth(line) <= width or len(line.split()) == 1, (wcswidth(line), line)
        assert not line.startswith(("。", "、", "，", "」")) and not line.endswith(("「", "（"))
    assert "".join(text.split()) == "".join("".join(lines).split())  # nothing lost, nothing added


def test_a_korean_particle_stays_on_its_closing_bracket() -> None:
    from distribute.text.wrap import fill

    text = "서울, 2026년 3월 12일 -- 아산정책연구원은 12일 보고서 「동맹의 재조정」을 발표했다."
    for width in range(20, 80):
        assert "「동맹의 재조정」을" in fill(text, width).replace("\n", " "), width


def test_a_workspace_template_gets_the_locale_and_the_formatting_helpers(cli, workspace: Path) -> None:
    release = _prepare(workspace, "ko-alliance.md", "Asia/Seoul")
    own = workspace / "templates" / "wire"
    own.mkdir(parents=True)
    (own / "copy.txt.j2").write_text(
        "{{ language }} {{ text_direction }} {{ locale.language }}\n"
        '{{ format_date(release.publish_at, "full") }}\n'
        "{{ format_datetime(release.publish_at) }}\n"
        "{{ format_zone(release.publish_at) }}\n"
        '{{ _("About %(name)s", name=organization.name) }}\n'
        "{% trans %}Attachment{% endtrans %}\n",
        encoding="utf-8",
    )
    with time_machine.travel(dt.datetime(2026, 3, 12, 1, tzinfo=dt.timezone.utc), tick=False):
        out = _dry_run(cli, workspace, release, "wire-desk")
    lines = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8").splitlines()
    publish = dt.datetime(2026, 3, 12, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert lines == [
        "ko ltr ko",
        babel.dates.format_date(publish.date(), format="full", locale="ko"),
        babel.dates.format_datetime(publish, format="medium", tzinfo=ZoneInfo("Asia/Seoul"), locale="ko"),
        babel.dates.get_timezone_name(publish, width="long", locale="ko"),
        "아산정책연구원 소개",  # the organisation's Korean name ([organization.translations.ko])
        "첨부 파일",
    ]


def test_validate_warns_when_a_language_has_no_catalog_until_the_workspace_adds_one(cli, workspace: Path) -> None:
    text = (RELEASES / "de-energiewende.md").read_text(encoding="utf-8").replace('language = "de"', 'language = "sv"')
    (workspace / "releases" / "sv.md").write_text(text, encoding="utf-8")
    shutil.copyfile(RELEASES / "de-energiewende.md", workspace / "releases" / "de.md")
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, tzinfo=dt.timezone.utc), tick=False):
        result = cli("validate", "releases/sv.md", "releases/de.md")
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.output.splitlines() if "warning: language" in line]
        assert warnings == [
            "releases/sv.md:7: warning: language 'sv' has no message catalog, so the fixed "
            "words (FOR IMMEDIATE RELEASE, Media contact, About …) stay English (dates are Swedish); add "
            "locale/sv/LC_MESSAGES/distribute.po to the workspace to translate them (see docs/languages.md)"
        ]
        own = workspace / "locale" / "sv" / "LC_MESSAGES"
        own.mkdir(parents=True)
        (own / "distribute.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            'msgid "FOR IMMEDIATE RELEASE"\nmsgstr "PRESSMEDDELANDE"\n',
            encoding="utf-8",
        )
        result = cli("validate", "releases/sv.md")
        assert "warning: language" not in result.output
        out = _dry_run(cli, workspace, "releases/sv.md", "wire-desk")
    wire = next((out / "wire-desk").glob("*.txt")).read_text(encoding="utf-8")
    day = babel.dates.format_date(dt.date(2026, 12, 2), format="long", locale="sv")
    assert wire.splitlines()[0] == "PRESSMEDDELANDE" and f"BERLIN, {day} -- " in wire


def test_the_cjk_emphasis_rule_answers_latin1_and_hangul_syllables_as_the_unicode_properties_do() -> None:
    """_is_cjk tells these ranges without importing regex (a cold validate's Korean body): the same answers."""
    import unicodedata

    import regex

    from distribute.text.markdown import _is_cjk

    def by_properties(c: str) -> bool:
        if regex.match(r"\p{Script=Hangul}", c):
            return True
        return unicodedata.east_asian_width(c) in ("W", "F", "H") and not regex.match(r"\p{Emoji_Presentation}", c)

    for code in [*range(0x100), *range(0xAC00, 0xD7A4), *range(0x1100, 0x1200), 0x3000, 0x300C, 0xFF01]:
        assert _is_cjk(chr(code)) is by_properties(chr(code)), hex(code)
