"""RSS 2.0 and Atom documents from feed items, with feedgen; byte-identical for the same items."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ...clock import parse_seconds, stamp_seconds

if TYPE_CHECKING:
    from ..base import ArchivedItem

ATOM_NS = "http://www.w3.org/2005/Atom"
# RSS 2.0 elements holding plain text (not HTML). The W3C feed validator warns (CharacterData,
# after the RSS Best Practices Profile) on "&" or "<" in them unless written as the hexadecimal
# references &#x26; and &#x3C;, the one form every aggregator reads as the character itself.
_RSS_PLAIN = re.compile(
    rb"(<(title|category|author|dc:creator|dc:language|copyright|managingEditor|webMaster)(?:\s[^>]*)?>)([^<]*)(</\2>)"
)
_HEX_REFS = {b"&amp;": b"&#x26;", b"&lt;": b"&#x3C;", b"&gt;": b"&#x3E;"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class FeedInfo:
    """The channel-level fields of both documents."""

    title: str
    link: str  # the site the feed belongs to (RSS channel link, Atom rel="alternate")
    description: str
    language: str
    rss_url: str  # where feed.xml is served: its atom:link rel="self"
    atom_url: str  # where atom.xml is served: its link rel="self" and feed id
    author_name: str
    author_uri: str = ""
    logo: str = ""
    hub: str = ""
    copyright: str = ""


def newest(items: Sequence[dict[str, Any]], as_of: dt.datetime) -> dt.datetime:
    """The feed's own date: the latest item update (not the clock, so dry-runs repeat exactly).

    A feed with no item yet (nothing public before the first embargo) is dated `as_of`, the
    moment whose view of the archive it shows, to the second: a feed reader or the validator
    would take a 1970 date for a broken feed.
    """
    if not items:
        return as_of.astimezone(dt.timezone.utc).replace(microsecond=0)
    return max(parse_seconds(i["updated"]) for i in items)


def order(items: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Newest publication first (ties by release id), at most `limit` items."""
    ranked = sorted(items, key=lambda i: (i["published"], i["release_id"]), reverse=True)
    return ranked[:limit]


def visible(item: dict[str, Any], now: dt.datetime) -> bool:
    """Whether an item may be in a feed at `now`: never before its embargo."""
    embargo = item.get("embargo")
    return not embargo or now >= parse_seconds(embargo)


def build(items: Sequence[dict[str, Any]], info: FeedInfo, kind: Literal["rss", "atom"], as_of: dt.datetime) -> bytes:
    """One document (kind "rss" or "atom") holding `items` in the order given, as the archive is `as_of`."""
    from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]  # feedgen ships no types

    fg = FeedGenerator()
    fg.load_extension("dc")
    self_url = info.rss_url if kind == "rss" else info.atom_url
    fg.id(info.atom_url)
    fg.title(info.title)
    fg.description(info.description)
    fg.language(info.language)
    fg.author({"name": info.author_name, **({"uri": info.author_uri} if info.author_uri else {})})
    # feedgen uses the *last* link as the RSS channel <link>: self (and hub) first, the site last.
    fg.link(href=self_url, rel="self", type="application/rss+xml" if kind == "rss" else "application/atom+xml")
    if info.hub and kind == "atom":
        fg.link(href=info.hub, rel="hub")
    fg.link(href=info.link, rel="alternate")
    if info.logo:
        fg.logo(info.logo)
    if info.copyright:
        fg.rights(info.copyright)
    fg.generator("distribute")
    fg.lastBuildDate(newest(items, as_of))  # also Atom <updated>; feedgen's default would be the clock
    for item in items:
        _entry(fg, item, kind)
    if kind == "rss":
        return _plain_text_refs(_with_hub(fg.rss_str(pretty=True), info.hub))
    return bytes(fg.atom_str(pretty=True))


def _plain_text_refs(document: bytes) -> bytes:
    """RSS plain-text elements with "&", "<" and ">" as hexadecimal references (the same XML text)."""

    def refs(match: re.Match[bytes]) -> bytes:
        text = re.sub(rb"&(amp|lt|gt);", lambda m: _HEX_REFS[m.group(0)], match.group(3))
        return match.group(1) + text + match.group(4)

    return _RSS_PLAIN.sub(refs, document)


def _entry(fg: Any, item: dict[str, Any], kind: str) -> None:
    fe = fg.add_entry(order="append")
    fe.guid(item["guid"], permalink=item["permalink"])
    fe.title(item["title"])
    fe.summary(item["summary"])
    fe.content(item["content"], type="html" if kind == "atom" else None)
    fe.published(parse_seconds(item["published"]))
    fe.updated(parse_seconds(item["updated"]))
    for tag in item["categories"]:
        fe.category(term=tag)
    author = item.get("author")
    if author and author.get("name"):
        fe.author({k: v for k, v in author.items() if v})
    links = [{"href": item["link"], "rel": "alternate", "type": "text/html"}] if item["link"] else []
    for enc in item["enclosures"]:
        links.append(
            {
                "href": enc["url"],
                "rel": "enclosure",
                "type": enc["type"],
                "length": str(enc["length"]),
                "title": enc.get("title", ""),
            }
        )
    if kind == "atom":
        # The item's translations (RFC 4287 4.2.7.4: one alternate per type and hreflang): readers and
        # search engines find each language's page from any of them.
        if links and item.get("alternates"):
            links[0]["hreflang"] = item["language"]
        for alt in item.get("alternates", []):
            links.append({"href": alt["href"], "rel": "alternate", "type": "text/html", "hreflang": alt["hreflang"]})
    if kind == "rss":
        # RSS 2.0 items carry one enclosure: the first file (feedgen keeps the last one set).
        for link in [*links[:1], *[x for x in links if x["rel"] == "enclosure"][:1]]:
            fe.link(href=link["href"], rel=link["rel"], type=link["type"], length=link.get("length"))
    else:
        # feedgen 1.0 drops rel/type/length of entry links in Atom; an extension writes them instead.
        fe.register_extension("atomlinks", _AtomLinks, atom=True, rss=False)
        fe.atomlinks.links = links
        fe.atomlinks.language = item["language"]
    # RSS 2.0 has a language per channel only: each item says its own with <dc:language>.
    fe.dc.dc_language(item["language"])


class _AtomLinks:
    """A feedgen entry extension writing Atom <link> elements with all their attributes."""

    links: list[dict[str, str]]
    language: str

    def __init__(self) -> None:
        self.links = []
        self.language = ""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_rss(self, entry: Any) -> Any:
        return entry

    def extend_atom(self, entry: Any) -> Any:
        from lxml import etree

        for link in self.links:
            # Unqualified like feedgen's own elements (the Atom namespace is the document default).
            element = etree.SubElement(entry, "link", href=link["href"], rel=link["rel"])
            for key in ("type", "hreflang", "length", "title"):
                if link.get(key):
                    element.set(key, link[key])
        if self.language:
            # The entry speaks its release's language, whatever the feed's own xml:lang says.
            entry.set(XML_LANG, self.language)
        return entry


def _with_hub(document: bytes, hub: str) -> bytes:
    """RSS gets its WebSub hub as <atom:link rel="hub"> beside rel="self" (feedgen writes only self)."""
    if not hub:
        return bytes(document)
    from lxml import etree

    root = etree.fromstring(document, etree.XMLParser(remove_blank_text=True))
    channel = root.find("channel")
    assert channel is not None
    link = etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub")
    selfs = channel.findall(f"{{{ATOM_NS}}}link")
    anchor = selfs[-1] if selfs else channel.find("description")
    assert anchor is not None
    anchor.addnext(link)
    return bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8"))


def stamp_items(items: Sequence[ArchivedItem]) -> list[dict[str, Any]]:
    """Archived items as item dicts, with the archive's guid and date as the final word."""
    return [{**a.item, "guid": a.guid, "published": stamp_seconds(a.published)} for a in items]
