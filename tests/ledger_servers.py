"""Loopback servers for the ledger tests: they count every message and post where it arrives.

Both can hold the Nth arrival (after it was received, before answering) until the test lets
go, which gives crash tests exact kill points without sleeping: the test waits for `held`,
kills the sender, then releases the server.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT = 30.0  # the longest any test waits for a server event (a bound, never a sleep)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float = WAIT, what: str = "condition") -> None:
    """Poll `predicate` until true (bounded); each poll yields the CPU briefly."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@dataclass
class Gate:
    """Hold the Nth arrival (1-based) until released."""

    at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    passed: bool = False  # the held arrival was let through
    every: bool = False  # hold every arrival from the Nth on, not only the Nth
    want: int = 1  # `held` is set once this many arrivals are held
    holding: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def holds(self, n: int) -> bool:
        return self.at is not None and (n == self.at or (self.every and n > self.at))

    def pass_through(self, n: int) -> None:
        if self.holds(n):
            with self.lock:
                self.holding += 1
                if self.holding >= self.want:
                    self.held.set()
            self.release.wait(WAIT)
            self.passed = True


@dataclass
class MailSink:
    """An aiosmtpd server that records every message (recipient, Message-ID) at DATA."""

    port: int = 0
    messages: list[tuple[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # wall-clock arrival of each message
    refuse: dict[str, int] = field(default_factory=dict)  # recipient -> SMTP reply code at RCPT
    gate: Gate = field(default_factory=Gate)  # holds the Nth message after DATA, before the reply
    rcpt_gate: Gate = field(default_factory=Gate)  # holds the Nth RCPT TO (nothing received yet)
    rcpts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def per_recipient(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(r for r, _ in self.messages)

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.refuse.get(address)
        if code:
            return f"{code} {'mailbox unavailable' if code >= 500 else 'try again later'}"
        envelope.rcpt_tos.append(address)
        with self.lock:
            self.rcpts += 1
            n = self.rcpts
        if self.rcpt_gate.at is not None and n == self.rcpt_gate.at:
            await asyncio.get_running_loop().run_in_executor(None, self.rcpt_gate.pass_through, n)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg_id = ""
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                msg_id = line.split(":", 1)[1].strip()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, msg_id))
                self.times.append(time.time())
            n = len(self.messages)
        if self.gate.holds(n):
            await asyncio.get_running_loop().run_in_executor(None, self.gate.pass_through, n)
        return "250 Message accepted for delivery"


@contextmanager
def mail_sink() -> Iterator[MailSink]:
    from aiosmtpd.controller import Controller

    sink = MailSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.gate.release.set()
        sink.rcpt_gate.release.set()
        controller.stop()


@dataclass
class Statuses:
    """A Mastodon-shaped POST /api/v1/statuses with Idempotency-Key semantics, counting creations."""

    port: int = 0
    token: str | None = None
    created: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: list[tuple[int, str | None]] = field(default_factory=list)  # answers before the next creations
    problems: list[str] = field(default_factory=list)  # requests off the documented shape
    gate: Gate = field(default_factory=Gate)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, body: dict[str, Any], headers) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.requests += 1
            if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"error": "The access token is invalid"}, {}
            if self.fail:
                code, retry_after = self.fail.pop(0)
                extra = {"Retry-After": retry_after} if retry_after else {}
                return code, {"error": f"failing as told ({headers.get('Authorization')})"}, extra
            if not isinstance(body.get("status"), str) or not body["status"]:
                self.problems.append(f"no status text: {body}")
            if body.get("visibility") not in ("public", "unlisted", "private", "direct"):
                self.problems.append(f"bad visibility: {body}")
            if "language" in body and not (isinstance(body["language"], str) and 2 <= len(body["language"]) <= 3):
                self.problems.append(f"language is not an ISO 639 code: {body}")
            parent = body.get("in_reply_to_id")
            if parent is not None and parent not in {s["id"] for s in self.created}:
                self.problems.append(f"reply to unknown status {parent}")
            key = headers.get("Idempotency-Key")
            if key and key in self.by_key:
                return 200, self.by_key[key], {}
            sid = str(100000 + len(self.created) + 1)
            status = {
                "id": sid,
                "url": f"https://social.example/@press/{sid}",
                "content": body.get("status"),
                "in_reply_to_id": parent,
            }
            self.created.append(status)
            if key:
                self.by_key[key] = status
            n = len(self.created)
        self.gate.pass_through(n)
        return 200, status, {}


@contextmanager
def statuses_server(token: str | None = None) -> Iterator[Statuses]:
    api = Statuses(token=token)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # GET /api/v2/instance, as documented: the status limits of this instance.
            if self.path == "/api/v2/instance":
                code, body = (
                    200,
                    {
                        "domain": "social.example",
                        "configuration": {
                            "statuses": {
                                "max_characters": 500,
                                "max_media_attachments": 4,
                                "characters_reserved_per_url": 23,
                            }
                        },
                    },
                )
            else:
                code, body = 404, {"error": "Record not found"}
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/api/v1/statuses":
                code, body, extra = 404, {"error": "Record not found"}, {}
            else:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    code, body, extra = 422, {"error": "bad JSON"}, {}
                else:
                    code, body, extra = api.answer(parsed, self.headers)
            data = json.dumps(body).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client was killed while we held its request

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.gate.release.set()
        server.shutdown()
        server.server_close()
