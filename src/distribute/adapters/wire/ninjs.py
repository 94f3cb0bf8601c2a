"""A ninjs 3.1 (News in JSON) document for a wire story."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .story import Story

SCHEMA = "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#"
CONTENT_TYPE = "application/json"


def _words(text: str) -> int:
    return len(text.split())


def _person(contact: Any) -> dict[str, Any]:
    """A media contact as a ninjs person: name, rel "contact", and how to reach them."""
    person: dict[str, Any] = {"name": contact.name, "rel": "contact"}
    info = [
        {"type": kind, "role": "office", "value": value}
        for kind, value in (("email", contact.email), ("phone", contact.phone))
        if value
    ]
    if info:
        person["contactInfo"] = info
    return person


def ninjs(story: Story, text_body: str) -> dict[str, Any]:
    """The ninjs object: headlines, bodies (plain text and HTML), embargo, place, people, subjects."""
    release, org = story.release, story.organization
    doc: dict[str, Any] = {
        "uri": story.guid,
        "standard": {"name": "ninjs", "version": "3.1", "schema": SCHEMA},
        "type": "text",
        "representationType": "full",
        "version": "1",
        "firstCreated": story.created.isoformat(),
        "versionCreated": story.created.isoformat(),
        "contentCreated": story.created.isoformat(),
    }
    if story.embargo is not None:
        doc["embargoedUntil"] = story.embargo.isoformat()
    doc["pubStatus"] = "usable"
    doc["copyrightHolder"] = org.name
    if story.ed_note:
        doc["edNote"] = story.ed_note
    doc["language"] = release.language
    doc["slugline"] = release.id
    doc["headlines"] = [{"role": "main", "contentType": "text/plain", "value": release.title}]
    if release.subtitle:
        doc["headlines"].append({"role": "sub", "contentType": "text/plain", "value": release.subtitle})
    if release.summary:
        doc["descriptions"] = [{"role": "summary", "contentType": "text/plain", "value": release.summary}]
    doc["bodies"] = [
        {
            "role": "main",
            "contentType": "text/plain",
            "charCount": len(text_body),
            "wordCount": _words(text_body),
            "value": text_body,
        },
        {"role": "richtext", "contentType": "text/html", "value": story.body_html},
    ]
    doc["by"] = story.byline
    if story.located:
        doc["located"] = story.located
    if release.tags:
        doc["subjects"] = [{"name": tag, "literal": tag} for tag in release.tags]
    source: dict[str, Any] = {"name": org.name, "role": "originator"}
    if org.website:
        source["uri"] = org.website
    doc["infoSources"] = [source]
    people = [_person(contact) for contact in release.contacts]
    if people:
        doc["people"] = people
    if story.related:
        # The same release in its other languages, each a ninjs document of its own: an association
        # (ninjs 3.1 `associations`: name, uri, rel) per language, rel as in the NewsML-G2 item links.
        doc["associations"] = [
            {"name": other.title, "uri": other.guid, "rel": other.rel, "type": "text", "language": other.language}
            for other in story.related
        ]
    if release.url:
        doc["renditions"] = [{"name": "web", "href": release.url, "contentType": "text/html"}]
    return doc


def ninjs_bytes(story: Story, text_body: str) -> bytes:
    """The document as UTF-8 JSON, keys in a fixed order, ending with a newline."""
    return (json.dumps(ninjs(story, text_body), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
