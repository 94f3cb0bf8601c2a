"""The rss adapter's documents: what feedparser sees, the Feeds rules of PLATFORMS.md one by one, golden files."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import time_machine
from lxml import etree, html

from conftest import EXAMPLE_RELEASE, write_release
from distribute.errors import ConfigError, DeliveryError
from wire_support import check_golden, files, load, render, set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
ATOM = "{http://www.w3.org/2005/Atom}"
PDF = b"%PDF-1.4\n" + b"0" * 2048


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


RICH_FRONT = """
id = "2025-07-02-rich"
title = "Seoul forum on \\"alliance\\" futures & Korea"
subtitle = "Panel of five"
summary = "A summary for feed readers."
publish_at = 2025-07-02T10:30:00+09:00
url = "https://en.asaninst.org/press/rich"
tags = ["NATO", "South Korea"]

[[contacts]]
name = "Dr. Kim Saeme"
email = "s.kim@asaninst.org"

[[images]]
path = "images/chart.png"
alt = "Defense spending chart"

[[attachments]]
path = "files/brief.pdf"
title = "Full brief (PDF)"
"""
RICH_BODY = """Read [the brief](/files/brief.pdf) and [the annex](annex.html) or mail [us](mailto:press@asaninst.org).

![map](img/map.png)

- first point
- second point
"""


@pytest.fixture
def rich(workspace: Path) -> Path:
    (workspace / "files").mkdir()
    (workspace / "files" / "brief.pdf").write_bytes(PDF)
    (workspace / "images").mkdir()
    (workspace / "images" / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"1" * 100)
    set_channel(
        workspace,
        "rss",
        'adapter = "rss"\nlogo = "https://en.asaninst.org/logo.png"\n'
        'hub = "https://hub.example.org/"\ncopyright = "(c) Asan"\n',
    )
    return write_release(workspace, "rich", RICH_FRONT, RICH_BODY)


def _docs(workspace: Path, release: Path | str) -> tuple[bytes, bytes]:
    _, deliveries = render(workspace, release, "rss")
    (delivery,) = deliveries
    assert (delivery.target, delivery.part) == ("feed", "feed")
    out = files(deliveries)
    return out["feed.xml"], out["atom.xml"]


def test_feedparser_reads_both_formats_cleanly_and_sees_every_field(workspace: Path, rich: Path) -> None:
    rss, atom = _docs(workspace, rich)
    for document, version in ((rss, "rss20"), (atom, "atom10")):
        parsed = feedparser.parse(document)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.version == version
        feed = parsed.feed
        assert feed.title == "The Asan Institute for Policy Studies"
        assert feed.link == "https://en.asaninst.org/"
        assert feed.subtitle == "News releases from The Asan Institute for Policy Studies"
        assert feed.language == "en"
        assert feed.rights == "(c) Asan"
        logo = feed.image.href if version == "rss20" else feed.logo  # RSS <image>, Atom <logo>
        assert logo == "https://en.asaninst.org/logo.png"
        rels = {link.rel: link.href for link in feed.links}
        assert rels["self"].endswith("feed.xml" if version == "rss20" else "atom.xml")
        assert rels["hub"] == "https://hub.example.org/"
        (entry,) = parsed.entries
        assert entry.id == "https://en.asaninst.org/press/rich"
        assert entry.title == 'Seoul forum on "alliance" futures & Korea'
        assert entry.link == "https://en.asaninst.org/press/rich"
        assert entry.summary == "A summary for feed readers."
        assert dt.datetime(*entry.published_parsed[:6], tzinfo=dt.timezone.utc) == dt.datetime(
            2025, 7, 2, 1, 30, tzinfo=dt.timezone.utc
        )
        content = entry.content[0].value
        assert "<li>first point</li>" in content and "Panel of five" in content
        assert [t.term for t in entry.tags] == ["NATO", "South Korea"]
        (enclosure,) = entry.enclosures
        assert enclosure.href == "https://en.asaninst.org/press/media/2025-07-02-rich/brief.pdf"
        assert int(enclosure.length) == len(PDF) and enclosure.type == "application/pdf"
        assert entry.author_detail.email == "s.kim@asaninst.org"
        assert entry.author_detail.name == "Dr. Kim Saeme"
        assert entry.language == "en"
    atom_entry = feedparser.parse(atom).entries[0]
    assert dt.datetime(*atom_entry.updated_parsed[:6], tzinfo=dt.timezone.utc) == dt.datetime(
        2025, 7, 2, 1, 30, tzinfo=dt.timezone.utc
    )


# PLATFORMS.md, Feeds — each rule, in order.


def test_rule_rss_channel_has_title_link_and_description(workspace: Path) -> None:
    rss, _ = _docs(workspace, EXAMPLE_RELEASE)
    channel = etree.fromstring(rss).find("channel")
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), name


def test_rule_item_guid_without_url_is_marked_not_a_permalink(workspace: Path) -> None:
    path = write_release(workspace, "no-url", 'title = "No page"\npublish_at = 2025-07-01T09:00:00+09:00\n')
    rss, atom = _docs(workspace, path)
    guid = etree.fromstring(rss).find("channel/item/guid")
    assert guid.text == "tag:en.asaninst.org,2025-07-01:no-url"
    assert guid.get("isPermaLink") == "false"
    assert etree.fromstring(atom).findtext(f"{ATOM}entry/{ATOM}id") == guid.text
    rss, _ = _docs(workspace, EXAMPLE_RELEASE)
    guid = etree.fromstring(rss).find("channel/item/guid")
    assert guid.text.startswith("https://") and guid.get("isPermaLink") == "true"


def test_rule_pubdate_is_rfc822(workspace: Path) -> None:
    rss, _ = _docs(workspace, EXAMPLE_RELEASE)
    channel = etree.fromstring(rss).find("channel")
    for text in (channel.findtext("item/pubDate"), channel.findtext("lastBuildDate")):
        assert re.fullmatch(
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
            r"\d{4} \d\d:\d\d:\d\d (\+0000|GMT)",
            text,
        ), text
        assert email.utils.parsedate_to_datetime(text) == dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)


def test_rule_rss_has_atom_self_link_from_public_url_or_feed_url(workspace: Path) -> None:
    rss, _ = _docs(workspace, EXAMPLE_RELEASE)
    link = etree.fromstring(rss).find(f"channel/{ATOM}link[@rel='self']")
    assert link.get("href") == "https://en.asaninst.org/press/feed.xml"
    assert link.get("type") == "application/rss+xml"
    set_channel(workspace, "rss", 'adapter = "rss"\nfeed_url = "https://feeds.example.org/asan/rss.xml"\n')
    rss, atom = _docs(workspace, EXAMPLE_RELEASE)
    assert (
        etree.fromstring(rss).find(f"channel/{ATOM}link[@rel='self']").get("href")
        == "https://feeds.example.org/asan/rss.xml"
    )
    assert (
        etree.fromstring(atom).find(f"{ATOM}link[@rel='self']").get("href") == "https://feeds.example.org/asan/atom.xml"
    )


def test_rule_enclosures_have_url_length_and_type(workspace: Path, rich: Path) -> None:
    rss, atom = _docs(workspace, rich)
    (enclosure,) = etree.fromstring(rss).findall("channel/item/enclosure")
    assert enclosure.get("url").startswith("https://")
    assert enclosure.get("length") == str(len(PDF))
    assert enclosure.get("type") == "application/pdf"
    (link,) = etree.fromstring(atom).findall(f"{ATOM}entry/{ATOM}link[@rel='enclosure']")
    assert (link.get("href"), link.get("length"), link.get("type")) == (
        enclosure.get("url"),
        str(len(PDF)),
        "application/pdf",
    )


def _urls(document: bytes) -> list[str]:
    """Every URL in a feed: URL-valued attributes and elements, and every href/src inside HTML content."""
    root = etree.fromstring(document)
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        for attr in ("href", "url", "uri", "src"):
            if element.get(attr):
                found.append(element.get(attr))
        if local in ("link", "url", "logo", "icon", "uri", "docs") and (element.text or "").strip():
            found.append(element.text.strip())
        if local == "guid" and element.get("isPermaLink") == "true":
            found.append(element.text)
        if local in ("encoded", "content", "description", "summary") and "<" in (element.text or ""):
            fragment = html.fragment_fromstring(element.text, create_parent="div")
            for node in fragment.iter():
                found += [node.get(a) for a in ("href", "src") if node.get(a)]
    return found


def test_rule_no_relative_urls_anywhere(workspace: Path, rich: Path) -> None:
    for document in _docs(workspace, rich):
        urls = _urls(document)
        assert len(urls) > 8
        for url in urls:
            assert urlsplit(url).scheme in ("http", "https", "mailto", "tag"), url
        text = document.decode()
        assert "https://en.asaninst.org/files/brief.pdf" in text  # "/files/brief.pdf" against the release url
        assert "https://en.asaninst.org/press/annex.html" in text
        assert "https://en.asaninst.org/press/img/map.png" in text


def test_rule_atom_feed_and_entries_have_one_id_title_updated_self_link_and_author(workspace: Path) -> None:
    _, atom = _docs(workspace, EXAMPLE_RELEASE)
    root = etree.fromstring(atom)
    rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
    for node in (root, *root.findall(f"{ATOM}entry")):
        for name in ("id", "title", "updated"):
            assert len(node.findall(f"{ATOM}{name}")) == 1, name
        assert rfc3339.fullmatch(node.findtext(f"{ATOM}updated"))
    assert len(root.findall(f"{ATOM}link[@rel='self']")) == 1
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "The Asan Institute for Policy Studies"


def test_rule_embargoed_release_is_not_in_the_feed_before_the_embargo(workspace: Path, cli) -> None:
    path = write_release(
        workspace,
        "embargoed",
        'title = "Embargoed news"\npublish_at = 2026-01-06T09:00:00+09:00\nembargo = 2026-01-06T09:00:00+09:00\n',
        "Secret until then.\n",
    )
    rss, atom = _docs(workspace, path)  # NOW is 2026-01-05 12:00 UTC: under embargo
    assert b"Embargoed news" not in rss + atom and b"Secret until" not in rss + atom
    assert b"<item>" not in rss and b"<entry>" not in atom
    # The dry-run outbox shows the feed without it too, though the delivery is due at the embargo.
    result = cli("send", "releases/embargoed.md", "-c", "rss", "--dry-run", "--outbox", "out")
    assert result.exit_code == 0, result.output
    assert b"Embargoed news" not in (workspace / "out" / "rss" / "feed.xml").read_bytes()
    ws, deliveries = render(workspace, path, "rss")
    assert deliveries[0].due == dt.datetime(2026, 1, 6, 0, 0, tzinfo=dt.timezone.utc)
    adapter = ws.adapter(ws.channels["rss"])
    with pytest.raises(DeliveryError) as caught:
        adapter.deliver(deliveries[0], ws.channels["rss"])
    assert caught.value.retryable and caught.value.retry_after == 12 * 3600
    assert not (workspace / "public" / "feed.xml").exists()
    with time_machine.travel(dt.datetime(2026, 1, 6, 0, 0, tzinfo=dt.timezone.utc), tick=False):
        rss, _ = _docs(workspace, path)
        assert b"Embargoed news" in rss


# The W3C feed validator (validator.w3.org/feed) is not packaged on PyPI or Debian, so these two
# tests state the rules of its that a release could break, and check them on the bytes:
# - CharacterData (warning, RSS): "&" and "<" in an RSS plain-text element must be written as the
#   hexadecimal references &#x26; and &#x3C; (docs/warning/CharacterData in the validator's source,
#   after the RSS Advisory Board's Best Practices Profile); Atom text constructs have no such rule.
# - ImplausibleDate (warning, both): no feed or entry date before 1990 (the validator's
#   implausible_822 / implausible_8601), so an empty feed must not be dated 1970.
def test_rule_ampersand_and_less_than_in_plain_text_are_hex_references(workspace: Path) -> None:
    path = write_release(
        workspace,
        "amp",
        'title = "R&D spending <2%: AT&T and the alliance"\nsummary = "Q&A"\npublish_at = 2025-07-01T09:00:00+09:00\n'
        'tags = ["R&D", "C++ <tools>"]\n',
        "Body.\n",
    )
    rss, atom = _docs(workspace, path)
    item = rss.split(b"<item>", 1)[1]
    assert b"<title>R&#x26;D spending &#x3C;2%: AT&#x26;T and the alliance</title>" in item
    assert b"<category>R&#x26;D</category>" in item
    for element in (b"title", b"category", b"author", b"dc:creator"):
        for text in re.findall(rb"<" + element + rb"(?:\s[^>]*)?>([^<]*)</", rss):
            assert b"&amp;" not in text and b"&lt;" not in text, (element, text)
    for document in (rss, atom):
        parsed = feedparser.parse(document)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.entries[0].title == "R&D spending <2%: AT&T and the alliance"
        assert [t.term for t in parsed.entries[0].tags] == ["R&D", "C++ <tools>"]


def test_rule_a_feed_with_no_item_yet_is_dated_when_it_was_rendered_not_1970(workspace: Path) -> None:
    path = write_release(
        workspace,
        "embargoed",
        'title = "Embargoed news"\npublish_at = 2026-01-06T09:00:00+09:00\nembargo = 2026-01-06T09:00:00+09:00\n',
        "Secret until then.\n",
    )
    rss, atom = _docs(workspace, path)  # under embargo at NOW, and nothing else in the archive
    assert b"<item>" not in rss and b"<entry>" not in atom
    assert b"1970" not in rss + atom
    assert b"<lastBuildDate>Mon, 05 Jan 2026 12:00:00 +0000</lastBuildDate>" in rss
    assert re.search(rb"<feed[^>]*>.*?<updated>2026-01-05T12:00:00\+00:00</updated>", atom, re.S)
    for document in (rss, atom):
        parsed = feedparser.parse(document)
        assert parsed.bozo == 0 and parsed.feed.updated_parsed[:4] == (2026, 1, 5, 12)


def test_render_is_deterministic_and_dated_from_the_items_not_the_clock(workspace: Path) -> None:
    first = _docs(workspace, EXAMPLE_RELEASE)
    with time_machine.travel(NOW + dt.timedelta(days=30), tick=False):
        later = _docs(workspace, EXAMPLE_RELEASE)
    assert first == later
    assert b"<lastBuildDate>Mon, 30 Jun 2025 00:00:00 +0000</lastBuildDate>" in first[0]
    assert b"<updated>2025-06-30T00:00:00+00:00</updated>" in first[1]


def test_golden_feed_of_the_example_release(workspace: Path) -> None:
    rss, atom = _docs(workspace, EXAMPLE_RELEASE)
    check_golden("rss", "example.feed.xml", rss)
    check_golden("rss", "example.atom.xml", atom)


def test_golden_feed_with_media_links_and_hub(workspace: Path, rich: Path) -> None:
    rss, atom = _docs(workspace, rich)
    check_golden("rss", "rich.feed.xml", rss)
    check_golden("rss", "rich.atom.xml", atom)


def test_a_feed_without_an_absolute_self_url_is_refused_clearly(workspace: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text().replace('public_url = "https://en.asaninst.org/press/"', ""))
    with pytest.raises(ConfigError, match="public_url in config.toml or feed_url"):
        _docs(workspace, EXAMPLE_RELEASE)
    ws, _ = load(workspace, EXAMPLE_RELEASE)
    needs = ws.adapter(ws.channels["rss"]).missing(ws.channels["rss"])
    assert any("feed_url" in n for n in needs)


def test_attachment_without_url_needs_public_url(workspace: Path, rich: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text().replace('public_url = "https://en.asaninst.org/press/"', ""))
    set_channel(workspace, "rss", 'adapter = "rss"\nfeed_url = "https://feeds.example.org/rss.xml"\n')
    with pytest.raises(Exception, match=r"rich\.md:\d+: images\[0\].*has no url"):
        _docs(workspace, rich)


def test_preview_says_whether_the_release_is_in_the_feed_yet(workspace: Path) -> None:
    path = write_release(
        workspace,
        "later",
        'title = "Later"\npublish_at = 2026-02-01T09:00:00+09:00\nembargo = 2026-02-01T09:00:00+09:00\n',
    )
    ws, deliveries = render(workspace, path, "rss")
    (block,) = ws.adapter(ws.channels["rss"]).preview(deliveries, ws.channels["rss"])
    checks = {c.label: c for c in block.checks}
    assert checks["this release in the feed now"].value.startswith("no") and all(c.ok for c in block.checks)


def test_a_workspace_template_can_shape_the_item_content(workspace: Path) -> None:
    (workspace / "templates" / "rss").mkdir(parents=True)
    (workspace / "templates" / "rss" / "item.html.j2").write_text(
        '<p><a href="contact.html">{{ release.title }}</a></p>\n{{ body_html }}'
    )
    rss, _ = _docs(workspace, EXAMPLE_RELEASE)
    content = etree.fromstring(rss).findtext("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded")
    assert content.startswith('<p><a href="https://en.asaninst.org/press/contact.html">Managing Decline?')
    assert "<strong>Defense spending" in content  # the body stays HTML, not escaped twice
