"""The plain rendition a proof mails for a channel that is not email: posts, a feed item, wire copy.

Built from the channel's own deliveries and the adapter's `preview` blocks, so the text and the
counts (a post's length against the platform's limit, a wire line against its width) are the
ones `preview` and `validate` show.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..text.markdown import to_text
from ..times import show

if TYPE_CHECKING:
    from ..adapters.base import Check, Delivery, PreviewBlock
    from ..plan import ChannelPlan

RULE = "-" * 40
WIDTH = 72


def rendition(plan: ChannelPlan, deliveries: list[Delivery]) -> str:
    """What the channel would publish, as plain text: each delivery with its checks."""
    workspace = plan.adapter.workspace
    lines = [f"{plan.channel.name} ({plan.channel.adapter}), due {show(plan.due, workspace.tz)}"]
    where = plan.adapter.destination(plan.channel)
    if where:
        lines.append(f"goes to: {where}")
    blocks = plan.adapter.preview(deliveries, plan.channel) if deliveries else []
    # Adapters give one block per delivery; a plugin that groups them gives blocks alone.
    paired = len(blocks) == len(deliveries)
    for n, block in enumerate(blocks):
        d = deliveries[n] if paired else None
        lines += ["", RULE]
        if d is not None and "text" in d.meta and "length" in d.meta:
            lines += _post(d, block)
        elif d is not None and isinstance(d.meta.get("item"), dict):
            lines += _feed_item(plan, d, block)
        else:
            lines += _document(block)
    if not blocks:
        lines += ["", "(nothing: this channel has no delivery for the release)"]
    return "\n".join(lines).rstrip() + "\n"


def _check(c: Check) -> str:
    limit = f"/{c.limit}" if c.limit is not None else ""
    return f"{c.label}: {c.value}{limit}" + (f" ({c.note})" if c.note else "") + ("" if c.ok else " -- NOT OK")


def _post(d: Delivery, block: PreviewBlock) -> list[str]:
    m = d.meta
    length, limit = int(m["length"]), int(m["limit"])
    checks = list(block.checks)
    unit = next((c.note for c in checks if c.label == "length"), "characters")
    fits = "fits" if length <= limit else f"TOO LONG by {length - limit}"
    out = [f"{block.title}: {length}/{limit} {unit} ({fits})"]
    out += [_check(c) for c in checks if c.label != "length"]
    return [*out, "", block.text.rstrip("\n")]


def _feed_item(plan: ChannelPlan, d: Delivery, block: PreviewBlock) -> list[str]:
    item = d.meta["item"]
    tz = plan.adapter.workspace.tz
    out = ["feed item", f"title: {item.get('title', '')}"]
    if item.get("link"):
        out.append(f"link: {item['link']}")
    published = item.get("published")
    if isinstance(published, str):
        try:
            out.append(f"published: {show(dt.datetime.fromisoformat(published.replace('Z', '+00:00')), tz)}")
        except ValueError:
            out.append(f"published: {published}")
    if item.get("categories"):
        out.append("categories: " + ", ".join(str(c) for c in item["categories"]))
    out += [_check(c) for c in block.checks]
    if item.get("summary"):
        out += ["", str(item["summary"])]
    return [*out, "", to_text(plan.release.body, WIDTH).rstrip("\n")]


def _document(block: PreviewBlock) -> list[str]:
    out = [block.title, *(_check(c) for c in block.checks)]
    text = block.text.rstrip("\n")
    if text.lstrip().startswith(("<?xml", "{", "<")):  # NewsML-G2, ninjs: machine documents, sent beside the text
        return [*out, f"({len(text.encode()):,} bytes of {'XML' if text.lstrip().startswith('<') else 'JSON'})"]
    return [*out, "", text]
