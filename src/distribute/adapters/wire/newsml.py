"""A NewsML-G2 2.35 newsItem (power conformance) for a wire story, built with lxml."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .story import Story

NAR = "http://iptc.org/std/nar/2006-10-01/"
XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# The IPTC catalog resolving the ninat:, stat:, cptype: and cpnat: scheme aliases used below.
IPTC_CATALOG = "http://www.iptc.org/std/catalog/catalog.IPTC-G2-Standards_32.xml"
CONTENT_TYPE = "application/vnd.iptc.g2.newsitem+xml"


def _el(parent: Any, name: str, text: str | None = None, **attrs: str) -> Any:
    from lxml import etree

    element = etree.SubElement(parent, f"{{{NAR}}}{name}", {k.replace("_", ""): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _named(parent: Any, name: str, label: str, **attrs: str) -> Any:
    element = _el(parent, name, **attrs)
    _el(element, "name", label)
    return element


def _xhtml(story: Story) -> Any:
    """The body as an XHTML document: the release's safe HTML parsed as XML in the XHTML namespace."""
    from lxml import etree

    release, org = story.release, story.organization
    parts = [f"<h1>{_esc(release.title)}</h1>"]
    if release.subtitle:
        parts.append(f"<h2>{_esc(release.subtitle)}</h2>")
    parts.append(story.body_html)
    if org.boilerplate.strip():
        parts.append(f"<h3>{_esc('About ' + org.name)}</h3><p>{_esc(' '.join(org.boilerplate.split()))}</p>")
    for contact in release.contacts:
        lines = [
            _esc(v) for v in (contact.name, contact.title, contact.organization, contact.email, contact.phone) if v
        ]
        parts.append(f'<p class="contact">{"<br/>".join(lines)}</p>')
    markup = (
        f'<html xmlns="{XHTML}" xml:lang="{_esc(release.language)}"><head><title>{_esc(release.title)}</title>'
        f"</head><body>{''.join(parts)}</body></html>"
    )
    return etree.fromstring(markup.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))


def _esc(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


def newsml(story: Story) -> bytes:
    """The newsItem document, UTF-8, with an XML declaration."""
    from lxml import etree

    release, org = story.release, story.organization
    # lxml takes None as the default namespace's prefix; lxml-stubs 0.5 types nsmap keys as str only.
    root = etree.Element(f"{{{NAR}}}newsItem", nsmap={None: NAR})  # type: ignore[dict-item]
    root.set("guid", story.guid)
    root.set("version", "1")
    root.set("standard", "NewsML-G2")
    root.set("standardversion", "2.35")
    root.set("conformance", "power")
    root.set(XML_LANG, release.language)
    _el(root, "catalogRef", href=IPTC_CATALOG)
    rights = _el(root, "rightsInfo")
    _named(rights, "copyrightHolder", org.name, **({"uri": org.website} if org.website else {}))

    meta = _el(root, "itemMeta")
    _el(meta, "itemClass", qcode="ninat:text")
    if org.website:
        _named(meta, "provider", org.name, uri=org.website)
    else:
        _named(meta, "provider", org.name, literal=story.provider_id)
    _el(meta, "versionCreated", story.created.isoformat())
    _el(meta, "firstCreated", story.created.isoformat())
    if story.embargo is not None:
        _el(meta, "embargoed", story.embargo.isoformat())
    _el(meta, "pubStatus", qcode="stat:usable")
    _el(meta, "generator", "distribute")
    if story.ed_note:
        _el(meta, "edNote", story.ed_note)
    if release.url:
        _el(meta, "link", rel="irel:seeAlso", href=release.url, contenttype="text/html")
    for other in story.related:
        # The release in its other languages, one newsItem each, linked as translations: NewsML-G2 2.35
        # itemMeta/link (Link1Type: rel as a QCode of the IPTC Item Relation NewsCodes, alias irel:,
        # http://cv.iptc.org/newscodes/itemrelation/; residref = the other item's guid; title its headline,
        # xml:lang its language). irel:translationOf (a translation -> the item it translates) and
        # irel:hasTranslation (the original -> each translation) are the names this project uses: the
        # copies of the vocabulary reachable when this was written list seeAlso and previousVersion but
        # no translation term, so check them against the live CV before a desk relies on them.
        link = _el(
            meta,
            "link",
            rel=f"irel:{other.rel}",
            residref=other.guid,
            contenttype=CONTENT_TYPE,
            title=other.title,
        )
        link.set(XML_LANG, other.language)

    content = _el(root, "contentMeta")
    _el(content, "contentCreated", story.created.isoformat())
    if story.located:
        _named(content, "located", story.located, type="cptype:city")
    _named(content, "creator", org.name, **({"uri": org.website} if org.website else {}))
    _el(content, "language", tag=release.language)
    for tag in release.tags:
        _named(content, "subject", tag, type="cpnat:abstract")
    _el(content, "slugline", release.id)
    _el(content, "headline", release.title)
    _el(content, "dateline", story.dateline)
    _el(content, "by", story.byline)
    _el(content, "creditline", story.credit)
    if release.summary:
        _el(content, "description", release.summary, role="drol:summary")

    body = _el(root, "contentSet")
    inline = _el(body, "inlineXML", contenttype="application/xhtml+xml")
    # Indent the metadata only: whitespace added inside the XHTML could change the text it shows.
    etree.indent(root, space="  ")
    inline.append(_xhtml(story))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
