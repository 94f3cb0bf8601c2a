"""Helpers for the rss and wire tests: golden files, renders by channel, a loopback SMTP sink."""

from __future__ import annotations

import difflib
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT
from distribute.adapters.base import Delivery
from distribute.plan import plan
from distribute.release import Release, load_release
from distribute.workspace.config import Workspace

GOLDEN = ROOT / "tests" / "golden"
REGEN = "DISTRIBUTE_REGEN_GOLDEN"


def check_golden(area: str, name: str, data: bytes) -> None:
    """Compare with tests/golden/<area>/<name>; DISTRIBUTE_REGEN_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / area / name
    if os.environ.get(REGEN) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.is_file(), f"golden file {path} is missing: run with {REGEN}=1 to create it"
    expected = path.read_bytes()
    if data != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.decode("utf-8", "replace").splitlines(),
                data.decode("utf-8", "replace").splitlines(),
                "golden",
                "rendered",
                lineterm="",
                n=2,
            )
        )
        raise AssertionError(f"{path} differs (regenerate with {REGEN}=1 if intended):\n{diff[:4000]}")


def load(ws_root: Path, release: str | Path) -> tuple[Workspace, Release]:
    ws = Workspace(ws_root / "config.toml")
    return ws, load_release(ws_root / release, ws)


def render(ws_root: Path, release: str | Path, channel: str) -> tuple[Workspace, list[Delivery]]:
    """A fresh workspace object (channel files re-read) and the channel's deliveries for a release."""
    ws, rel = load(ws_root, release)
    (p,) = plan(ws, rel, [channel])
    return ws, list(p.deliveries())


def files(deliveries: list[Delivery]) -> dict[str, bytes]:
    return {f.name: f.data for d in deliveries for f in d.files}


def set_channel(ws_root: Path, name: str, text: str) -> None:
    (ws_root / "channels" / f"{name}.toml").write_text(text, encoding="utf-8")


@dataclass
class SmtpSink:
    """What a loopback aiosmtpd server received."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    answer: str | None = None  # e.g. "451 try later": refuse DATA with this reply
    received: threading.Event = field(default_factory=threading.Event)
    peers: list[object] = field(default_factory=list)  # client address of each message: one per session


@contextmanager
def smtp_sink(answer: str | None = None) -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 recording every message."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(answer=answer)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if sink.answer:
                return sink.answer
            sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            sink.peers.append(session.peer)
            sink.received.set()
            return "250 OK queued"

    with socket.socket() as probe:  # a free port: aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
