"""A release as a feed item: stable guid and date, HTML content with absolute URLs, enclosures."""

from __future__ import annotations

import datetime as dt
import mimetypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from ...clock import stamp_seconds
from ...errors import ReleaseError
from ...text.markdown import absolutize

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel, Workspace
    from ..base import ArchivedItem

DEFAULT_TEMPLATE = "rss/item.html.j2"


@dataclass(frozen=True)
class Media:
    """A release file the feed links to under the public folder: copied there by deliver()."""

    source: str  # absolute path of the workspace file
    target: str  # path relative to the feed directory


def absolute(url: str) -> bool:
    """Whether a URL is absolute (has a scheme)."""
    return bool(urlsplit(url).scheme)


def media_url(
    workspace: Workspace, media_path: str, release: Release, name: str, what: str, line: int | None
) -> tuple[str, str]:
    """Where a release file is served when it has no url of its own: public_url + media path."""
    base = workspace.config.public_url
    if not base:
        raise ReleaseError(
            f"{what} has no url and config.toml has no public_url to serve it from; "
            f'add url = "https://..." to it or set public_url',
            path=release.path,
            line=line,
        )
    rel = "/".join(p for p in (media_path.strip("/"), release.id, name) if p)
    return urljoin(base if base.endswith("/") else base + "/", quote(rel)), rel


def tag_uri(authority_url: str, release: Release, language: str = "") -> str:
    """A `tag:` URI (RFC 4151) for a release without a URL of its own: never changes, never resolves.

    A translation's is the original's with `/<language>` after it (`tag:host,day:id/ko`).
    """
    host = urlsplit(authority_url).hostname or "localhost"
    day = release.publish_at.astimezone(dt.timezone.utc).date().isoformat()
    return f"tag:{host},{day}:{release.id}" + (f"/{language}" if language else "")


def is_translation(release: Release, original: Release | None) -> bool:
    """Whether `release` is a translation of `original` (not its main language)."""
    return original is not None and release is not original and release.language != original.language


def item_id(release: Release, original: Release | None) -> str:
    """The archive's name for one language of a release: its id, and `<id>.<lang>` for a translation.

    Release ids are `[a-z0-9-]`, so the dot never meets another release's id.
    """
    return f"{release.id}.{release.language}" if is_translation(release, original) else release.id


def release_of(item_id: str) -> str:
    """The release id an archive item belongs to, whatever its language."""
    return item_id.partition(".")[0]


def _guid(release: Release, original: Release | None, link: str) -> str:
    """The item's guid: the release url, else a tag URI; a translation's own url, else its own tag URI.

    A translation that inherits the original's url must not take its guid too: each language is an
    item of its own, and a feed reader keeps one of two items with the same guid.
    """
    if not is_translation(release, original):
        return release.url or tag_uri(link, release)
    assert original is not None
    if release.url and release.url != original.url:
        return release.url
    return tag_uri(link, release, release.language)


def alternates(release: Release, original: Release | None) -> list[dict[str, str]]:
    """The other languages of the release that have a page of their own: [{hreflang, href}]."""
    if original is None:
        return []
    out = []
    for tag, variant in original.variants().items():
        if tag != release.language and variant.url and variant.url != release.url:
            out.append({"hreflang": tag, "href": variant.url})
    return out


def _summary(release: Release) -> str:
    if release.summary:
        return release.summary
    from ...text.markdown import text_blocks

    for block in text_blocks(release.body):
        if block.kind == "paragraph" and block.text.strip():
            return " ".join(block.text.split())
    return release.title


def build_item(
    release: Release,
    channel: Channel,
    workspace: Workspace,
    link: str,
    archived: ArchivedItem | None,
    original: Release | None = None,
) -> tuple[dict[str, Any], list[Media]]:
    """The feed item of a release (a JSON-ready dict) and the files deliver() must publish with it.

    `original` is the release in its main language when `release` may be one of its translations:
    a translation is an item of its own (its own guid and archive id), and every item links the
    other languages' pages (Atom hreflang alternates).
    """
    from markupsafe import Markup

    settings = channel.settings
    media: list[Media] = []
    images = []
    for i, image in enumerate(release.images):
        assert image.file is not None
        url = image.url
        if not url:
            url, target = media_url(
                workspace,
                settings.media_path,
                release,
                image.file.name,
                f"images[{i}] ({image.path})",
                release.source.line_of(("images", i), "path"),
            )
            media.append(Media(str(image.file), target))
        images.append({"url": url, "alt": image.alt, "caption": image.caption})
    enclosures = []
    for i, att in enumerate(release.attachments):
        assert att.file is not None
        url = att.url
        if not url:
            url, target = media_url(
                workspace,
                settings.media_path,
                release,
                att.file.name,
                f"attachments[{i}] ({att.path})",
                release.source.line_of(("attachments", i), "path"),
            )
            media.append(Media(str(att.file), target))
        kind = att.type or mimetypes.guess_type(att.file.name)[0] or "application/octet-stream"
        enclosures.append(
            {"url": url, "length": att.file.stat().st_size, "type": kind, "title": att.title or att.file.name}
        )

    from ...text.i18n import language

    base = release.url or link
    content = workspace.templates.render(
        channel.common.template or DEFAULT_TEMPLATE,
        lang=language(workspace, release.language),
        release=release,
        body_html=Markup(release.body_html),
        images=images,
        attachments=enclosures,
        organization=workspace.config.organization.in_language(release.language),
    )
    content = absolutize(content.strip() + "\n", base)
    if archived is not None:
        guid, published = archived.guid, archived.published
    else:
        guid = _guid(release, original, link)
        published = release.publish_at
    updated = max(published, release.publish_at)
    author = None
    for contact in release.contacts:
        author = {"name": contact.name, "email": contact.email}
        break
    item = {
        "release_id": item_id(release, original),
        "guid": guid,
        "permalink": guid.startswith(("http://", "https://")),
        "published": stamp_seconds(published),
        "updated": stamp_seconds(updated),
        "embargo": stamp_seconds(release.embargo) if release.embargo else None,
        "title": release.title,
        "link": release.url,
        "summary": _summary(release),
        "content": content,
        "categories": list(release.tags),
        "enclosures": enclosures,
        "author": author,
        "language": release.language,
    }
    others = alternates(release, original)
    if others:  # only then: the item of a release in one language stays as it was (its content lock too)
        item["alternates"] = others
    return item, media
