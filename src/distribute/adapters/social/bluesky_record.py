"""Building app.bsky.feed.post records: TIDs, blob CIDs, link and tag facets, embeds (pure, no network).

References: atproto specs "Record Key" / "TID" (13 characters of base32-sortable, a 53-bit
microsecond timestamp and a 10-bit clock id), "Blob" (CIDv1, raw codec, sha2-256, base32), and
the lexicons app.bsky.feed.post, app.bsky.richtext.facet, app.bsky.embed.external/images.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import mimetypes
from pathlib import Path
from typing import Any

COLLECTION = "app.bsky.feed.post"
_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
THUMB_MAX = 1_000_000  # app.bsky.embed.external#external thumb maxSize
IMAGE_MAX = 2_000_000  # app.bsky.embed.images#image maxSize
IMAGES_MAX = 4
TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640


def tid(micros: int, clock_id: int) -> str:
    """A TID: the top bit 0, 53 bits of microseconds since the epoch, 10 bits of clock id."""
    if not 0 <= micros < 2**53 or not 0 <= clock_id < 1024:
        raise ValueError("TID timestamp or clock id out of range")
    value = (micros << 10) | clock_id
    chars = []
    for _ in range(13):
        chars.append(_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def post_rkey(thread_key: str, when: dt.datetime, part: int) -> str:
    """The record key of post `part`: a TID fixed by the thread's key and its planned time.

    The same delivery always gets the same key, so a retry of a post whose answer was lost
    collides with the record already made instead of posting twice. The key's hash picks the
    millisecond within the second and the clock id (about a million choices), and the part
    number the microsecond, so parts of a thread sort in order.
    """
    h = int.from_bytes(hashlib.sha256(thread_key.encode()).digest()[:8], "big")
    micros = int(when.timestamp()) * 1_000_000 + (h % 1000) * 1000 + min(part, 999)
    return tid(micros, (h >> 10) & 0x3FF)


def created_at(when: dt.datetime) -> str:
    """A lexicon datetime in UTC with milliseconds, as Bluesky clients write createdAt."""
    utc = when.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def blob_cid(data: bytes) -> str:
    """The CID a PDS gives a blob: CIDv1, raw (0x55), sha2-256 multihash, multibase base32 ("b...")."""
    digest = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")


def blob_ref(data: bytes, mime: str) -> dict[str, Any]:
    """The blob object a record holds, as uploadBlob will return it."""
    return {"$type": "blob", "ref": {"$link": blob_cid(data)}, "mimeType": mime, "size": len(data)}


def image_mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets with UTF-8 byte offsets (start inclusive, end exclusive)."""
    import regex

    from ...text import fit as textfit

    out: list[dict[str, Any]] = []
    for start, end in textfit.find_urls(text):
        shown = text[start:end]
        uri = shown if "://" in shown else "https://" + shown
        byte_start, byte_end = textfit.utf8_span(text, start, end)
        out.append(
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
            }
        )
    for start, end in textfit.find_hashtags(text):
        tag = text[start:end].lstrip("#＃")
        if not tag or len(regex.findall(r"\X", tag)) > TAG_MAX_GRAPHEMES or len(tag.encode()) > TAG_MAX_BYTES:
            continue
        byte_start, byte_end = textfit.utf8_span(text, start, end)
        out.append(
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    out.sort(key=lambda f: f["index"]["byteStart"])
    return out


def external_embed(uri: str, title: str, description: str, thumb: dict[str, Any] | None) -> dict[str, Any]:
    """A link card built from the release itself (never scraped)."""
    external: dict[str, Any] = {"uri": uri, "title": title, "description": description}
    if thumb is not None:
        external["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": external}


def images_embed(images: list[tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """Up to four images, each with its alt text."""
    return {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": alt} for blob, alt in images]}


def replace_blob(value: Any, cid: str, blob: dict[str, Any]) -> Any:
    """The record with every blob ref `cid` replaced by `blob` (what the PDS said it stored)."""
    if isinstance(value, dict):
        if value.get("$type") == "blob" and value.get("ref", {}).get("$link") == cid:
            return dict(blob)
        return {k: replace_blob(v, cid, blob) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_blob(v, cid, blob) for v in value]
    return value
