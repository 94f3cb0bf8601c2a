"""Loopback servers that answer or count every request, and a rewrite that points channels at them."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Tripwire:
    """An HTTP server and a bare TCP listener on 127.0.0.1 recording whatever reaches them."""

    http_port: int = 0
    tcp_port: int = 0
    requests: list[str] = field(default_factory=list)
    connections: int = 0
    status: int = 503

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def touched(self) -> int:
        return len(self.requests) + self.connections


@contextmanager
def tripwire(status: int = 503) -> Iterator[Tripwire]:
    """Start both servers; every HTTP request is answered `status` with Retry-After: 1."""
    wire = Tripwire(status=status)

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            wire.requests.append(f"{self.command} {self.path}")
            body = b'{"error": "tripwire"}'
            self.send_response(wire.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    wire.http_port = http.server_address[1]
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    tcp.settimeout(0.2)
    wire.tcp_port = tcp.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except OSError:
                continue
            wire.connections += 1
            conn.sendall(b"554 tripwire: nothing should connect here\r\n")
            conn.close()

    threads = [threading.Thread(target=http.serve_forever, daemon=True), threading.Thread(target=accept, daemon=True)]
    for t in threads:
        t.start()
    try:
        yield wire
    finally:
        stop.set()
        http.shutdown()
        http.server_close()
        tcp.close()


_URL = re.compile(r"""(["'])https?://[^"'\s]+?(/[^"'\s]*)?\1""")
_HOST = re.compile(r"""^(\s*host\s*=\s*)(["']).*?\2""", re.M)
_PORT = re.compile(r"""^(\s*port\s*=\s*)\d+""", re.M)
_SECURITY = re.compile(r"""^(\s*security\s*=\s*)(["']).*?\2""", re.M)


def point_channels_at(ws: Path, wire: Tripwire, enable: bool = True) -> dict[str, str]:
    """Rewrite every URL, SMTP host and port in the workspace's channel files to the tripwire.

    Returns the channel files' new texts by name. With `enable`, disabled channels are enabled.
    """
    texts = {}
    for path in sorted((ws / "channels").glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        text = _URL.sub(lambda m: f"{m.group(1)}{wire.url}{m.group(2) or '/'}{m.group(1)}", text)
        text = _HOST.sub(lambda m: f"{m.group(1)}{m.group(2)}127.0.0.1{m.group(2)}", text)
        text = _PORT.sub(lambda m: f"{m.group(1)}{wire.tcp_port}", text)
        text = _SECURITY.sub(lambda m: f"{m.group(1)}{m.group(2)}none{m.group(2)}", text)
        if enable:
            text = re.sub(r"^enabled\s*=\s*false", "enabled = true", text, flags=re.M)
        path.write_text(text, encoding="utf-8")
        texts[path.stem] = text
    return texts


def set_every_secret(ws: Path, monkeypatch) -> dict[str, str]:
    """Set each environment variable the channel files refer to, to a distinctive value."""
    values = {}
    for path in (ws / "channels").glob("*.toml"):
        for name in re.findall(r"""env\s*=\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""", path.read_text()):
            values[name] = f"SeCrEt-{name}-9f3a7c"
            monkeypatch.setenv(name, values[name])
    return values
