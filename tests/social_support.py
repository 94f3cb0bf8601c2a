"""Helpers for the social adapter tests: wire the example channels to loopback servers, build releases."""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distribute.adapters.base import Adapter, Delivery
from distribute.plan import plan
from distribute.release import load_release
from distribute.workspace.config import Channel, Workspace
from social_pds import PdsServer
from social_servers import LinkedInServer, MastodonServer, ThreadsServer, XServer

# The key naming each channel's base URL, and the secrets each needs (variable -> the server's value).
BASE_KEY = {"mastodon": "instance", "bluesky": "service", "linkedin": "api", "x": "api", "threads": "api"}


def secrets_for(channel: str) -> dict[str, str]:
    if channel == "mastodon":
        return {"MASTODON_TOKEN": MastodonServer.token}
    if channel == "bluesky":
        return {"BLUESKY_APP_PASSWORD": PdsServer.app_password}
    if channel == "linkedin":
        return {"LINKEDIN_TOKEN": LinkedInServer.token}
    if channel == "threads":
        return {"THREADS_TOKEN": ThreadsServer.token}
    return {
        "X_API_KEY": XServer.consumer_key,
        "X_API_SECRET": XServer.consumer_secret,
        "X_ACCESS_TOKEN": XServer.access_token,
        "X_ACCESS_TOKEN_SECRET": XServer.access_secret,
    }


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def set_keys(path: Path, **values: Any) -> None:
    """Set top-level keys of a channel file (replacing the line that has them, else appending)."""
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        line = f"{key} = {toml_value(value)}"
        pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        text, n = pattern.subn(lambda m, line=line: line, text, count=1)
        if not n:
            text = text.rstrip("\n") + "\n" + line + "\n"
    path.write_text(text, encoding="utf-8")


def wire(ws: Path, monkeypatch: Any, channel: str, url: str, **settings: Any) -> dict[str, str]:
    """Enable channels/<channel>.toml, point it at `url`, set its secrets; returns them."""
    values = {"enabled": True, BASE_KEY[channel]: url, **settings}
    if channel == "bluesky":
        values.setdefault("handle", PdsServer.handle_name)
    set_keys(ws / "channels" / f"{channel}.toml", **values)
    secrets = secrets_for(channel)
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    return secrets


@dataclass
class Rendered:
    """A channel's render, with the adapter and channel that made it."""

    workspace: Workspace
    adapter: Adapter
    channel: Channel
    deliveries: list[Delivery]

    def request(self, i: int = 0, name: str | None = None) -> dict[str, Any]:
        d = self.deliveries[i]
        f = next(f for f in d.files if f.name == (name or f"post-{d.part}.json"))
        return dict(json.loads(f.data))


def render(ws: Path, release: Path | str, channel: str) -> Rendered:
    workspace = Workspace(ws / "config.toml")
    rel = load_release(ws / release, workspace)
    (p,) = plan(workspace, rel, [channel])
    return Rendered(workspace, p.adapter, p.channel, list(p.deliveries()))


def png(width: int = 2, height: int = 1, pad: int = 0) -> bytes:
    """A valid PNG (grey pixels), optionally padded with an ancillary chunk to a given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw))
    if pad:
        body += chunk(b"tEXt", b"pad\x00" + b"x" * pad)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


FRONT = """
title = "{title}"
summary = "{summary}"
publish_at = 2025-06-30T09:00:00+09:00
url = "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"
tags = {tags}
"""


def front(
    title: str = "Managing Decline? NATO's Uneasy Future After the 2025 Summit",
    summary: str = "What the 2025 NATO Summit reveals about the alliance.",
    tags: list[str] | None = None,
    extra: str = "",
) -> str:
    tags = ["NATO", "South Korea"] if tags is None else tags
    return FRONT.format(title=title, summary=summary, tags=json.dumps(tags, ensure_ascii=False)) + extra
