"""Translations in the outputs (issue 16.2 feeds and wire, 16.4 seeing it): each language its own
feed item or wire document, linked to the others; validate's warnings; the preview side by side."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import time_machine
from lxml import etree

from conftest import EXAMPLE_RELEASE
from distribute.adapters.base import Delivery
from distribute.plan import plan
from test_rss import _urls
from test_wire_standards import assert_valid_newsml, assert_valid_ninjs
from wire_support import load, set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)  # long after the example's embargo
ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
NAR = "{http://iptc.org/std/nar/2006-10-01/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EN_URL = "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"
KO_URL = "https://www.asaninst.org/press/2025-06-30-nato-summit-brief"


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def render_languages(workspace: Path, channel: str, languages: tuple[str, ...]) -> dict[str, list[Delivery]]:
    """Each language's deliveries of the example release on a channel, as the plan routes them (each
    translation rendered with `RenderContext.original`), by language; `languages` are those expected."""
    ws, release = load(workspace, EXAMPLE_RELEASE)
    (p,) = plan(ws, release, [channel])
    assert p.languages == languages
    out: dict[str, list[Delivery]] = {}
    for d in p.deliveries():
        tag = d.meta["item"]["language"] if "item" in d.meta else d.meta["language"]
        out.setdefault(tag, []).append(d)
    assert tuple(out) == languages
    return out


def _check_feed_rules(document: bytes, version: str) -> feedparser.FeedParserDict:
    """What tests/test_rss.py holds every feed to: feedparser reads it cleanly, URLs are absolute,
    Atom has one id/title/updated per entry and one self link."""
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == version
    for url in _urls(document):
        assert urlsplit(url).scheme in ("http", "https", "mailto", "tag"), url
    if version == "atom10":
        root = etree.fromstring(document)
        for node in (root, *root.findall(f"{ATOM}entry")):
            for name in ("id", "title", "updated"):
                assert len(node.findall(f"{ATOM}{name}")) == 1, name
        assert len(root.findall(f"{ATOM}link[@rel='self']")) == 1
    return parsed


# --- RSS / Atom ---------------------------------------------------------------------------------


def test_a_korean_feed_channel_writes_feed_ko_xml_with_the_korean_item(workspace: Path) -> None:
    set_channel(workspace, "rss-ko", 'adapter = "rss"\nlanguage = "ko"\n')
    (delivery,) = render_languages(workspace, "rss-ko", ("ko",))["ko"]
    files = {f.name: f.data for f in delivery.files}
    assert list(files) == ["feed.ko.xml", "atom.ko.xml"]
    rss = _check_feed_rules(files["feed.ko.xml"], "rss20")
    atom = _check_feed_rules(files["atom.ko.xml"], "atom10")
    for parsed, own in ((rss, "feed.ko.xml"), (atom, "atom.ko.xml")):
        assert parsed.feed.language == "ko"
        assert {link.rel: link.href for link in parsed.feed.links}["self"] == f"https://en.asaninst.org/press/{own}"
        (entry,) = parsed.entries
        assert entry.title.startswith("쇠퇴의 관리?")
        assert entry.id == KO_URL  # the Korean page is the Korean item's guid
        assert entry.language == "ko"
    # The main-language channel keeps its names; an explicit name wins over the default.
    ws, release = load(workspace, EXAMPLE_RELEASE)
    (main,) = plan(ws, release, ["rss"])[0].deliveries()
    assert [f.name for f in main.files] == ["feed.xml", "atom.xml"]
    set_channel(workspace, "rss-ko", 'adapter = "rss"\nlanguage = "ko"\nrss_file = "korean.xml"\n')
    (delivery,) = render_languages(workspace, "rss-ko", ("ko",))["ko"]
    assert [f.name for f in delivery.files] == ["korean.xml", "atom.ko.xml"]
    assert b"https://en.asaninst.org/press/korean.xml" in delivery.files[0].data


def test_a_feed_with_languages_holds_each_language_as_its_own_linked_item(workspace: Path) -> None:
    set_channel(workspace, "rss", 'adapter = "rss"\nlanguages = ["en", "ko"]\n')
    rendered = render_languages(workspace, "rss", ("en", "ko"))
    (en,), (ko,) = rendered["en"], rendered["ko"]
    # Each language is its own delivery (its own item, recorded when it goes), showing the same feed.
    assert en.meta["item"]["guid"] == EN_URL and ko.meta["item"]["guid"] == KO_URL
    assert en.sha256 != ko.sha256
    assert (en.target, ko.target) == ("feed", "feed.ko")  # one delivery key per language
    assert [f.data for f in en.files] == [f.data for f in ko.files]
    files = {f.name: f.data for f in en.files}
    assert list(files) == ["feed.xml", "atom.xml"]

    rss = _check_feed_rules(files["feed.xml"], "rss20")
    by_language = {e.language: e for e in rss.entries}
    assert set(by_language) == {"en", "ko"} and len(rss.entries) == 2
    assert by_language["ko"].title.startswith("쇠퇴의 관리?")
    assert by_language["en"].title.startswith("Managing Decline?")
    items = etree.fromstring(files["feed.xml"]).findall("channel/item")
    assert sorted(i.findtext(f"{DC}language") for i in items) == ["en", "ko"]
    assert len({i.findtext("guid") for i in items}) == 2

    atom = _check_feed_rules(files["atom.xml"], "atom10")
    assert {e.language for e in atom.entries} == {"en", "ko"}
    entries = {e.get(XML_LANG): e for e in etree.fromstring(files["atom.xml"]).findall(f"{ATOM}entry")}
    for own, other, own_url, other_url in (("en", "ko", EN_URL, KO_URL), ("ko", "en", KO_URL, EN_URL)):
        links = {
            (link.get("rel"), link.get("hreflang")): link.get("href")
            for link in entries[own].findall(f"{ATOM}link")
            if link.get("rel") == "alternate"
        }
        assert links == {("alternate", own): own_url, ("alternate", other): other_url}

    # Stable: rendering again gives the same guids and bytes.
    again = render_languages(workspace, "rss", ("en", "ko"))
    assert [f.data for f in again["ko"][0].files] == [f.data for f in ko.files]


def test_a_translation_without_a_url_of_its_own_gets_a_guid_of_its_own(workspace: Path) -> None:
    path = workspace / "releases" / "2025-06-30-nato-summit-brief.ko.md"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(x for x in text.splitlines() if not x.startswith("url = ")) + "\n", encoding="utf-8")
    set_channel(workspace, "rss", 'adapter = "rss"\nlanguages = ["en", "ko"]\n')
    rendered = render_languages(workspace, "rss", ("en", "ko"))
    en, ko = rendered["en"][0].meta["item"], rendered["ko"][0].meta["item"]
    assert ko["link"] == EN_URL  # inherited
    assert en["guid"] == EN_URL
    assert ko["guid"] == "tag:en.asaninst.org,2025-06-30:2025-06-30-nato-summit-brief/ko"
    assert "alternates" not in ko and "alternates" not in en  # the same page: no hreflang alternate to itself
    parsed = _check_feed_rules(rendered["ko"][0].files[1].data, "atom10")
    assert len({e.id for e in parsed.entries}) == 2


# --- Wire ---------------------------------------------------------------------------------------


def _wire(workspace: Path) -> dict[str, dict[str, bytes]]:
    set_channel(workspace, "wire-desk", 'adapter = "wire"\nlanguages = ["en", "ko"]\n')
    rendered = render_languages(workspace, "wire-desk", ("en", "ko"))
    assert {d.target for d in rendered["en"]} == {"desk"} and {d.target for d in rendered["ko"]} == {"desk.ko"}
    return {tag: {f.name: f.data for d in ds for f in d.files} for tag, ds in rendered.items()}


def test_newsml_has_one_valid_news_item_per_language_linked_as_translations(workspace: Path, newsml_schema) -> None:
    docs = _wire(workspace)
    stem = "2025-06-30-nato-summit-brief"
    en = assert_valid_newsml(newsml_schema, docs["en"][f"{stem}.newsml.xml"])
    ko = assert_valid_newsml(newsml_schema, docs["ko"][f"{stem}.ko.newsml.xml"])
    assert en.get(XML_LANG) == "en" and ko.get(XML_LANG) == "ko"
    assert ko.find(f"{NAR}contentMeta/{NAR}language").get("tag") == "ko"
    assert ko.findtext(f"{NAR}contentMeta/{NAR}headline").startswith("쇠퇴의 관리?")
    assert en.get("guid") != ko.get("guid") and ko.get("guid") == en.get("guid") + ".ko"
    (to_original,) = ko.findall(f"{NAR}itemMeta/{NAR}link[@rel='irel:translationOf']")
    assert to_original.get("residref") == en.get("guid") and to_original.get(XML_LANG) == "en"
    (to_translation,) = en.findall(f"{NAR}itemMeta/{NAR}link[@rel='irel:hasTranslation']")
    assert to_translation.get("residref") == ko.get("guid") and to_translation.get(XML_LANG) == "ko"
    xhtml = ko.find(f"{NAR}contentSet/{NAR}inlineXML/{{http://www.w3.org/1999/xhtml}}html")
    assert xhtml.get(XML_LANG) == "ko"
    assert ko.findtext(f"{NAR}contentMeta/{NAR}dateline") == "서울, 2025년 6월 30일"


def test_ninjs_has_one_valid_document_per_language_with_its_language(workspace: Path, ninjs_validator) -> None:
    docs = _wire(workspace)
    stem = "2025-06-30-nato-summit-brief"
    en = assert_valid_ninjs(ninjs_validator, docs["en"][f"{stem}.ninjs.json"])
    ko = assert_valid_ninjs(ninjs_validator, docs["ko"][f"{stem}.ko.ninjs.json"])
    assert (en["language"], ko["language"]) == ("en", "ko")
    assert ko["headlines"][0]["value"].startswith("쇠퇴의 관리?")
    assert ko["uri"] != en["uri"]
    assert ko["associations"] == [
        {
            "name": en["headlines"][0]["value"],
            "uri": en["uri"],
            "rel": "translationOf",
            "type": "text",
            "language": "en",
        }
    ]
    assert [(a["uri"], a["rel"], a["language"]) for a in en["associations"]] == [(ko["uri"], "hasTranslation", "ko")]


def test_korean_wire_copy_has_a_korean_dateline_and_date(workspace: Path) -> None:
    docs = _wire(workspace)
    stem = "2025-06-30-nato-summit-brief"
    assert set(docs["ko"]) == {f"{stem}.ko.txt", f"{stem}.ko.newsml.xml", f"{stem}.ko.ninjs.json"}
    text = docs["ko"][f"{stem}.ko.txt"].decode()
    assert "서울, 2025년 6월 30일 -- 아산정책연구원" in text
    assert "쇠퇴의 관리?" in text
    english = docs["en"][f"{stem}.txt"].decode()
    assert "SEOUL, June 30, 2025 -- " in english and "서울" not in english
    json.loads(docs["ko"][f"{stem}.ko.ninjs.json"])


# --- End to end: schedule, then send --due at publish time ---------------------------------------


def test_the_example_goes_out_in_both_languages_to_the_feeds_and_the_wire_exactly_once(workspace: Path, cli) -> None:
    set_channel(workspace, "rss", 'adapter = "rss"\nlanguages = ["en", "ko"]\n')
    set_channel(workspace, "rss-ko", 'adapter = "rss"\nlanguage = "ko"\n')
    set_channel(workspace, "wire-desk", 'adapter = "wire"\nlanguages = ["en", "ko"]\ndirectory = "wire"\n')
    channels = ("-c", "rss", "-c", "rss-ko", "-c", "wire-desk")
    with time_machine.travel(dt.datetime(2025, 6, 29, 12, 0, tzinfo=dt.timezone.utc), tick=False):
        result = cli("schedule", EXAMPLE_RELEASE, *channels)
        assert result.exit_code == 0, result.output + result.stderr
    with time_machine.travel(dt.datetime(2025, 6, 30, 0, 0, 5, tzinfo=dt.timezone.utc), tick=False):
        result = cli("send", "--due")
        assert result.exit_code == 0, result.output + result.stderr
        again = cli("send", "--due")
        assert again.exit_code == 4, again.output + again.stderr  # nothing left: each language went once
    public = workspace / "public"
    both = feedparser.parse((public / "feed.xml").read_bytes())
    assert sorted(e.language for e in both.entries) == ["en", "ko"]
    atom = _check_feed_rules((public / "atom.xml").read_bytes(), "atom10")
    assert sorted(e.id for e in atom.entries) == sorted([EN_URL, KO_URL])
    korean = _check_feed_rules((public / "feed.ko.xml").read_bytes(), "rss20")
    assert [e.language for e in korean.entries] == ["ko"] and korean.feed.language == "ko"
    assert (public / "atom.ko.xml").is_file()
    stem = "2025-06-30-nato-summit-brief"
    assert sorted(p.name for p in (workspace / "wire").iterdir()) == sorted(
        f"{stem}{lang}{suffix}" for lang in ("", ".ko") for suffix in (".txt", ".newsml.xml", ".ninjs.json")
    )
    assert "서울, 2025년 6월 30일 -- " in (workspace / "wire" / f"{stem}.ko.txt").read_text(encoding="utf-8")


# --- validate: warnings (16.4) -------------------------------------------------------------------

KO_FILE = "releases/2025-06-30-nato-summit-brief.ko.md"


def _drop_paragraph(workspace: Path, starting: str) -> None:
    path = workspace / KO_FILE
    front, body = path.read_text(encoding="utf-8").split("+++\n", 2)[1:]
    paragraphs = [p for p in body.split("\n\n") if not p.startswith(starting)]
    assert len(paragraphs) < len(body.split("\n\n"))
    path.write_text(f"+++\n{front}+++\n" + "\n\n".join(paragraphs), encoding="utf-8")


def test_validate_accepts_the_example_korean_translation_as_complete(workspace: Path, cli) -> None:
    set_channel(workspace, "rss", 'adapter = "rss"\nlanguages = ["en", "ko"]\n')
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "shorter than" not in result.stderr
    assert re.search(r"^  rss \(rss\): ok, 2 deliveries, due .*, languages en, ko$", result.stdout, re.M)
    assert "feed in public/ (ko): items in feed 2/20 ok" in result.stdout


def test_validate_warns_of_a_translation_missing_a_paragraph_naming_both_files(workspace: Path, cli) -> None:
    _drop_paragraph(workspace, "이번 정상회의는")
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.output + result.stderr  # a warning: it can still go out
    (line,) = [x for x in result.stderr.splitlines() if "shorter than" in x]
    assert line == (
        f"{KO_FILE}: warning: the ko translation is shorter than {EXAMPLE_RELEASE}: "
        "5 paragraphs, 3 list items against 6 paragraphs, 3 list items; a paragraph may be missing: "
        "compare the two files before sending"
    )
    document = json.loads(cli("validate", EXAMPLE_RELEASE, "--json").stdout)
    assert line in document["releases"][0]["warnings"]  # scripts see it too


def test_validate_warns_of_a_translation_whose_paragraphs_are_cut_short(workspace: Path, cli) -> None:
    path = workspace / KO_FILE
    front, body = path.read_text(encoding="utf-8").split("+++\n", 2)[1:]
    # The same paragraphs and list items, each cut to its first sentence's opening words.
    chunks = [
        "\n".join(
            " ".join(line.split()[:3]) for n, line in enumerate(chunk.splitlines()) if n == 0 or line[:1].isdigit()
        )
        for chunk in body.strip().split("\n\n")
    ]
    cut = "\n\n".join(chunks)
    path.write_text(f"+++\n{front}+++\n{cut}\n", encoding="utf-8")
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.output + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "shorter than" in x]
    assert "its text is " in line and "as long (letters weighted by script:" in line
    assert line.startswith(f"{KO_FILE}: warning: the ko translation is shorter than {EXAMPLE_RELEASE}: ")


def test_validate_warns_of_a_channel_whose_language_the_release_lacks(workspace: Path, cli) -> None:
    set_channel(workspace, "wire-de", 'adapter = "wire"\nlanguage = "de"\ndirectory = "wire-de"\n')
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.output + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "wire-de" in x and "no de translation" in x]
    assert line.startswith("warning: ") and "2025-06-30-nato-summit-brief.de.md" in line


# --- preview: each language side by side (16.4) ---------------------------------------------------


def _two_language_channels(workspace: Path) -> None:
    set_channel(workspace, "rss", 'adapter = "rss"\nlanguages = ["en", "ko"]\n')
    set_channel(workspace, "wire-desk", 'adapter = "wire"\nlanguages = ["en", "ko"]\nformats = ["txt"]\n')


def test_terminal_preview_shows_each_language_side_by_side(workspace: Path, cli) -> None:
    _two_language_channels(workspace)
    result = cli("preview", EXAMPLE_RELEASE, "-c", "wire-desk", env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    # One row holds both languages' headings, then both copies' datelines, left and right.
    (head,) = [x for x in lines if "English · en" in x]
    assert "한국어 · ko" in head and head.index("English · en") < head.index("한국어 · ko")
    (lead,) = [x for x in lines if "SEOUL, June 30, 2025 --" in x]
    assert "서울, 2025년 6월 30일 --" in lead


def _check_columns(page, section: str) -> None:  # type: ignore[no-untyped-def]
    columns = page.locator(f"{section} .languages > .language")
    assert columns.count() == 2
    en, ko = columns.nth(0), columns.nth(1)
    assert en.get_attribute("data-language") == "en" and ko.get_attribute("data-language") == "ko"
    assert en.locator(".language-name").inner_text() == "English · en"
    assert ko.locator(".language-name").inner_text() == "한국어 · ko"
    assert ko.locator(".language-name").get_attribute("lang") == "ko"
    left, right = en.bounding_box(), ko.bounding_box()
    assert left is not None and right is not None
    assert abs(left["y"] - right["y"]) < 1 and right["x"] >= left["x"] + left["width"] - 1  # side by side


def test_html_preview_shows_each_language_side_by_side_in_chromium(workspace: Path, cli, page) -> None:
    _two_language_channels(workspace)
    result = cli("preview", EXAMPLE_RELEASE, "-c", "rss", "-c", "wire-desk", "--html", "preview.html")
    assert result.exit_code == 0, result.output + result.stderr
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto((workspace / "preview.html").as_uri())
    for section in ("#ch-rss", "#ch-wire-desk"):
        _check_columns(page, section)
    rss = page.locator("#ch-rss .languages > .language")
    assert rss.nth(0).locator(".feeditem .title").inner_text().startswith("Managing Decline?")
    assert rss.nth(1).locator(".feeditem .title").inner_text().startswith("쇠퇴의 관리?")
    wire = page.locator("#ch-wire-desk .languages > .language")
    assert "SEOUL, June 30, 2025 --" in wire.nth(0).locator("pre.wire").inner_text()
    assert "서울, 2025년 6월 30일 --" in wire.nth(1).locator("pre.wire").inner_text()


def test_live_preview_shows_each_language_side_by_side(workspace: Path, page) -> None:
    from test_preview_live import Server

    _two_language_channels(workspace)
    server = Server(workspace, EXAMPLE_RELEASE, "-c", "rss", "-c", "wire-desk")
    try:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(server.url)
        _check_columns(page, "#ch-wire-desk")
        assert page.locator("#status").inner_text().startswith("live")
    finally:
        server.stop()
