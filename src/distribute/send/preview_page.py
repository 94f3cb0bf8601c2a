"""The preview page: every channel as its reader sees it, built from the very bytes `render` made.

Mail as a mail client shows it (From, To, subject, preheader, the HTML part itself at desktop or
phone width), posts as cards of their platform, the feed item as a reader lists it, wire copy
exactly as sent. The same markup serves `preview --html` (one self-contained file) and
`preview --serve` (send/preview_server.py, which swaps the <main> part in place on every edit).
"""

from __future__ import annotations

import base64
import html
import json
import re
from email import policy
from email.parser import BytesParser
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..adapters.base import Check, Delivery, PreviewBlock
from ..release import Release
from ..text.entities import find_hashtags, find_mentions, find_urls
from ..text.i18n import language_name, number
from ..times import show

if TYPE_CHECKING:
    from .preview import ChannelPreview

e = html.escape
SOCIAL = ("mastodon", "bluesky", "linkedin", "x", "threads")
# Fillers mail templates put after the preheader so clients do not pull body text into it.
_FILLERS = re.compile("[\u034f\u200c\u00a0\u200b\u2007\u00ad\\s]+")
_PREHEADER = re.compile(r'<body[^>]*>\s*<div style="display:\s*none;[^"]*">([^<]*)', re.I)


def asset(name: str) -> str:
    """A file of the page shipped inside the package (CSS, the page's script)."""
    return resources.files("distribute.send").joinpath("preview_assets", name).read_text(encoding="utf-8")


def page(release: Release, previews: list[ChannelPreview], tz_note: str, *, live: bool = False) -> str:
    """The whole page: its CSS and script inline, so the file needs nothing from outside."""
    return shell(
        release.title, f"{release.id} · {tz_note}", channels(release, previews), live=live, lang=release.language
    )


def speaks(lang: str) -> str:
    """` lang="ar" dir="rtl"`: the page is the tool's (English); the release's own text says its language and direction."""
    from ..text.i18n import parse_tag

    if not lang:
        return ""
    attrs = f' lang="{e(lang)}"'
    return attrs + (' dir="rtl"' if parse_tag(lang).text_direction == "rtl" else "")


def shell(
    title: str,
    when: str,
    main: str,
    *,
    live: bool = False,
    version: int = 0,
    good: int = 0,
    error: str = "",
    lang: str = "",
) -> str:
    """The page around the channels: header, the error banner (live page), the <main> part."""
    status = "live: reloads on every saved edit" if live else "static copy: run distribute preview --serve for live"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Preview: {e(title)}</title><style>{asset('preview.css')}</style></head>"
        f'<body data-live="{"1" if live else "0"}" data-version="{version}" data-good="{good}">'
        f'<header class="top"><h1{speaks(lang)}>{e(title)}</h1><p id="when">{e(when)}</p>'
        f'<p id="status" role="status">{status}</p></header>'
        f'<div id="error" role="alert"{"" if error else " hidden"}><strong>Not updated: this edit has a problem</strong>'
        f'<pre id="error-text">{e(error)}</pre><p>The last good rendition stays below until it is fixed.</p></div>'
        f'<main id="channels">{main}</main>'
        f"<script>{asset('preview.js')}</script></body></html>\n"
    )


def channels(release: Release, previews: list[ChannelPreview]) -> str:
    """The <main> content: one card per channel, side by side."""
    return "".join(_channel(release, cp) for cp in previews)


def _channel(release: Release, cp: ChannelPreview) -> str:
    from ..workspace.identity import channel_placeholders, sender_domain_warning

    p, ch = cp.plan, cp.plan.channel
    tz = p.adapter.workspace.tz
    warnings = [*cp.problems, *channel_placeholders(ch)]
    warning = sender_domain_warning(p.adapter.workspace, ch)
    if warning:
        warnings.append(warning)
    head = (
        f'<header><h2>{e(ch.name)}</h2><span class="adapter">{e(ch.adapter)}</span>'
        f'<span class="total">{number(cp.total, release.language)} deliver{"y" if cp.total == 1 else "ies"}</span></header>'
        f'<dl class="facts"><dt>Due</dt><dd class="due">{e(show(p.due, tz))}</dd>'
        f'<dt>Embargo</dt><dd class="embargo">{e(_embargo(release, cp, tz))}</dd></dl>'
    )
    if warnings:
        head += '<ul class="warnings">' + "".join(f"<li>{e(w)}</li>" for w in warnings) + "</ul>"
    if cp.missing:
        head += '<div class="missing"><strong>Missing to send:</strong> ' + e("; ".join(cp.missing)) + "</div>"
    pairs = _pairs(cp)
    groups = cp.by_language()
    if release.translations and len(pairs) == len(cp.blocks):
        # A release in several languages: each language the channel sends in a column of its own,
        # side by side, headed by the language's own name.
        variants = release.variants()
        columns = "".join(
            f'<div class="language" data-language="{e(lang)}">'
            + (f'<h3 class="language-name"{speaks(lang)}>{e(language_name(lang))}</h3>' if lang else "")
            + "".join(_rendition(variants.get(lang, release), cp, *pairs[n]) for n in indexes)
            + "</div>"
            for lang, indexes in groups.items()
        )
        body = f'<div class="languages" style="--languages:{len(groups)}">{columns}</div>'
    else:
        body = "".join(_rendition(release, cp, d, b) for d, b in pairs)
    shown = sum(b.count for b in cp.blocks)
    if cp.total > shown:
        body += f'<p class="more">… and {number(cp.total - shown, release.language)} more deliveries like these</p>'
    several = f' data-languages="{e(" ".join(groups))}"' if len(groups) > 1 else ""
    return (
        f'<section class="channel" id="ch-{e(ch.name)}" data-adapter="{e(ch.adapter)}"{several}>{head}{body}</section>'
    )


def _embargo(release: Release, cp: ChannelPreview, tz: Any) -> str:
    if release.embargo is None:
        return "no embargo"
    until = show(release.embargo, tz)
    if cp.plan.public:
        return f"held until {until}" if cp.plan.held_by_embargo else f"after the embargo ({until})"
    if cp.plan.due < release.embargo:
        return f"embargoed copy, goes before the embargo: marked EMBARGOED UNTIL {until}"
    return f"after the embargo ({until})"


def _pairs(cp: ChannelPreview) -> list[tuple[Delivery | None, PreviewBlock]]:
    # Adapters return one block per sampled delivery; a plugin that groups them gets blocks alone.
    if len(cp.sample) == len(cp.blocks):
        return list(zip(cp.sample, cp.blocks, strict=True))
    return [(None, b) for b in cp.blocks]


def _rendition(release: Release, cp: ChannelPreview, d: Delivery | None, b: PreviewBlock) -> str:
    adapter = cp.plan.channel.adapter
    if d is not None and adapter == "email" and d.files and d.files[0].name.endswith(".eml"):
        inner = _mail(d, b)
    elif d is not None and adapter in SOCIAL and "text" in d.meta:
        inner = _post(release, cp, d)
    elif d is not None and adapter == "rss" and "item" in d.meta:
        inner = _feed_item(d)
    elif adapter == "wire":
        inner = f'<pre class="wire">{e(b.text)}</pre>'
    else:
        inner = f"<pre>{e(b.text)}</pre>"
    more = f" (×{number(b.count, release.language)})" if b.count > 1 else ""
    return (
        f'<div class="block"><h3>{e(b.title)}{more}</h3>{inner}'
        f'<ul class="checks">{"".join(_check(c, release.language) for c in b.checks)}</ul></div>'
    )


def _check(c: Check, language: str) -> str:
    limit = f" / {e(number(c.limit, language))}" if c.limit is not None else ""
    note = f" — {e(c.note)}" if c.note else ""
    return f'<li class="{"ok" if c.ok else "bad"}">{e(c.label)}: {e(number(c.value, language))}{limit}{note}</li>'


def _mail(d: Delivery, b: PreviewBlock) -> str:
    message = BytesParser(policy=policy.default).parsebytes(d.files[0].data)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    markup = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    found = _PREHEADER.search(markup)
    preheader = _FILLERS.sub(" ", html.unescape(found.group(1))).strip() if found else text.strip()[:120]
    rows = "".join(
        f'<div class="hdr"><span>{name}</span> <span class="{name.lower()}">{e(str(message[name]))}</span></div>'
        for name in ("From", "To", "Date")
        if message[name] is not None
    )
    key = re.sub(r"[^A-Za-z0-9_-]", "_", d.key)
    if markup:
        view = (
            f'<div class="widths"><input type="radio" name="w-{key}" id="d-{key}" checked>'
            f'<label for="d-{key}">Desktop</label><input type="radio" name="w-{key}" id="p-{key}">'
            f'<label for="p-{key}">Phone (375 px)</label><div class="frame">'
            # No allow-scripts: the message cannot run anything; same origin lets the page size the frame.
            f'<iframe class="body" sandbox="allow-same-origin" title="message body" srcdoc="{e(markup, quote=True)}">'
            "</iframe></div></div>"
            f'<details><summary>Plain-text part</summary><pre class="mailtext">{e(text)}</pre></details>'
        )
    else:
        view = f'<pre class="mailtext">{e(text)}</pre>'
    return (
        f'<div class="mail"><div class="mailhead">{rows}'
        f'<div class="subject">{e(str(message["Subject"] or ""))}</div>'
        f'<div class="preheader">{e(preheader)}</div></div>{view}</div>'
    )


def _highlight(text: str) -> str:
    spans = sorted(
        [(s, t, "link") for s, t in find_urls(text)]
        + [(s, t, "tag") for s, t in find_hashtags(text)]
        + [(s, t, "mention") for s, t in find_mentions(text)]
    )
    out, at = [], 0
    for start, end, kind in spans:
        if start < at:
            continue
        out.append(e(text[at:start]) + f'<span class="{kind}">{e(text[start:end])}</span>')
        at = end
    return "".join(out) + e(text[at:])


def _account(cp: ChannelPreview) -> str:
    s = cp.plan.channel.settings
    for name in ("handle", "account", "author", "instance", "user_id"):
        value = getattr(s, name, None)
        if isinstance(value, str) and value and value != "me":
            return value
    return f"the {cp.plan.channel.adapter} account of the token"


def _bodies(d: Delivery) -> list[Any]:
    out = []
    for f in d.files:
        if f.name.endswith(".json"):
            try:
                out.append(json.loads(f.data).get("body"))
            except (ValueError, AttributeError):
                pass
    return out


def _walk(value: Any, key: str) -> list[Any]:
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += [v] if k == key else []
            found += _walk(v, key)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v, key)
    return found


def _post(release: Release, cp: ChannelPreview, d: Delivery) -> str:
    m = d.meta
    bodies = _bodies(d)
    over = m["length"] > m["limit"]
    images = [f for f in d.files if not f.name.endswith(".json")]
    alts = [a for a in _walk(bodies, "alt") if isinstance(a, str)] + [
        x["alt"] for x in m.get("media", []) if isinstance(x, dict) and x.get("alt")
    ]
    extra = ""
    for n, alt in enumerate(dict.fromkeys(alts)):
        src = ""
        if n < len(images) and images[n].data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"GIF8"):
            kind = "png" if images[n].data[:4] == b"\x89PNG" else "gif" if images[n].data[:4] == b"GIF8" else "jpeg"
            src = f"data:image/{kind};base64,{base64.b64encode(images[n].data).decode()}"
        picture = f'<img src="{src}" alt="{e(alt)}">' if src else '<div class="noimg">image</div>'
        extra += f'<figure class="image">{picture}<figcaption>alt: {e(alt)}</figcaption></figure>'
    cards = [c for c in _walk(bodies, "external") if isinstance(c, dict)]
    if cards:
        c = cards[0]
        extra += _card(str(c.get("uri", "")), str(c.get("title", "")), str(c.get("description", "")))
    elif m.get("index") == 1 and release.url and release.url in m["text"] and not alts:
        extra += _card(release.url, release.title, release.summary or "")
    part = f"part {m['index']} of {m['count']}" if m.get("count", 1) > 1 else "single post"
    return (
        f'<article class="post {e(cp.plan.channel.adapter)}"><div class="account">{e(_account(cp))}</div>'
        f'<div class="text">{_highlight(m["text"])}</div>{extra}'
        f'<footer><span class="part">{part}</span>'
        f'<span class="counter {"over" if over else "ok"}">{m["length"]} / {m["limit"]}</span></footer></article>'
    )


def _card(uri: str, title: str, description: str) -> str:
    host = re.sub(r"^https?://([^/]+).*", r"\1", uri)
    return (
        f'<div class="linkcard"><div class="host">{e(host)}</div>'
        f'<div class="title">{e(title)}</div><div class="desc">{e(description)}</div></div>'
    )


def _feed_item(d: Delivery) -> str:
    item = d.meta["item"]
    tags = "".join(f'<span class="cat">{e(str(t))}</span>' for t in item.get("categories") or [])
    content = str(item.get("content") or item.get("summary") or "")
    files = "".join(
        f"<details><summary>{e(f.name)} (as written)</summary><pre>{e(f.data.decode('utf-8', 'replace'))}</pre></details>"
        for f in d.files
    )
    return (
        f'<article class="feeditem"><div class="title"><a href="{e(str(item.get("link") or ""))}">'
        f"{e(str(item.get('title', '')))}</a></div>"
        f'<div class="published">{e(str(item.get("published", "")))}</div>'
        f'<div class="summary">{e(str(item.get("summary") or ""))}</div>'
        f'<iframe class="body" sandbox="allow-same-origin" title="feed item" srcdoc="{e(content, quote=True)}"></iframe>'
        f'<div class="cats">{tags}</div></article>{files}'
    )
