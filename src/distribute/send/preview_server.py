"""`distribute preview --serve`: the preview page on 127.0.0.1, rebuilt on every saved edit.

Werkzeug's threaded WSGI server (Pallets; its one dependency, MarkupSafe, comes with Jinja2)
answers three paths: `/` the page, `/state` the current rendition as JSON, `/events` a
server-sent event stream that says "something changed" (the page then fetches /state). It binds
127.0.0.1 only and answers only requests whose Host names that address (or localhost) and its
port: a web page elsewhere cannot point a DNS name at 127.0.0.1 and read the release (DNS
rebinding).

Edits are found by polling modification times: the watched set is the workspace's own files
(the release and its translations, config.toml, channel files, templates, recipient lists),
tens of stat calls every 0.2 s, which costs nothing measurable, needs no native package, and
also works on network drives and container bind mounts, where inotify-based watchers miss
changes and fall back to polling anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DistributeError

POLL = 0.2  # seconds between two looks at the files: a saved edit shows well within a second
KEEPALIVE = 10.0  # seconds between comments on an idle event stream, so proxies keep it open
LOOPBACK = "127.0.0.1"


@dataclass
class Rendition:
    """What the page shows now: the last good channels, and the problem of the latest edit, if any."""

    version: int = 0
    good_version: int = 0
    title: str = ""
    lang: str = ""  # the release's language: the heading says it (and its direction)
    when: str = ""
    html: str | None = None
    error: str = ""
    rendered_at: str = ""
    good_at: str = ""


class Preview:
    """Renders the release again whenever a watched file changes, keeping the last good rendition."""

    def __init__(self, config: str | None, release: str, channels: Sequence[str] = ()):
        self.config, self.release, self.channels = config, release, tuple(channels)
        self.state = Rendition(title=Path(release).name)
        self.changed = threading.Condition()
        self._watched: list[Path] = []
        self.stopping = threading.Event()

    def build(self) -> None:
        """One render of every channel, from fresh files (the same `render` as --dry-run)."""
        from ..release import load_release
        from ..times import show
        from ..workspace.config import Workspace
        from ..workspace.schema import redact
        from .preview import preview_release
        from .preview_page import channels

        now = dt.datetime.now().strftime("%H:%M:%S")
        try:
            ws = Workspace.discover(self.config)
            self._watched = watched_files(ws, Path(self.release))
            rel = load_release(Path(self.release), ws)
            previews = preview_release(ws, rel, self.channels, counted=True)
            when = f"publish {show(rel.publish_at, ws.tz)}" + (
                f", embargo {show(rel.embargo, ws.tz)}" if rel.embargo else ""
            )
            main = channels(rel, previews)
        except DistributeError as exc:
            self._update(error=redact(str(exc)), rendered_at=now)
        except Exception as exc:  # a template or plugin bug must not stop the server: show it like a bad edit
            self._update(error=redact(f"{self.release}: {type(exc).__name__}: {exc}"), rendered_at=now)
        else:
            self._update(
                html=main,
                title=rel.title,
                lang=rel.language,
                when=f"{rel.id} · {when}",
                error="",
                rendered_at=now,
                good_at=now,
                good=True,
            )

    def _update(self, good: bool = False, **fields: Any) -> None:
        with self.changed:
            for name, value in fields.items():
                setattr(self.state, name, value)
            self.state.version += 1
            if good:
                self.state.good_version = self.state.version
            self.changed.notify_all()

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """Name, mtime and size of every watched file (a missing file counts too)."""
        out = []
        for path in [Path(self.release), *self._watched]:
            try:
                st = path.stat()
                out.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(path), -1, -1))
        return out

    def watch(self) -> None:
        """Rebuild whenever the fingerprint changes, until stopped."""
        seen = self.fingerprint()
        while not self.stopping.wait(POLL):
            now = self.fingerprint()
            if now != seen:
                self.build()
                seen = self.fingerprint()  # the build may have found new files to watch

    def events(self) -> Iterator[bytes]:
        """The server-sent event stream: one event per new rendition, a comment when idle."""
        yield b"retry: 500\n\n"
        last = -1
        while not self.stopping.is_set():
            with self.changed:

                def news(seen: int = last) -> bool:
                    return self.state.version != seen or self.stopping.is_set()

                self.changed.wait_for(news, KEEPALIVE)
                version = self.state.version
            if version != last:
                last = version
                yield f"data: {version}\n\n".encode()
            else:
                yield b": idle\n\n"

    def snapshot(self) -> dict[str, Any]:
        with self.changed:
            return dict(vars(self.state))

    def stop(self) -> None:
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()


def watched_files(ws: Any, release: Path) -> list[Path]:
    """Every file whose change can change a rendition: config, channels, templates, lists, translations."""
    found: list[Path] = []
    if ws.config_path is not None:
        found.append(ws.config_path)
    folder = release.parent
    if folder.is_dir():
        stem = release.name.removesuffix(".md")
        found += sorted(folder.glob(f"{stem}.*.md"))
    for root, pattern in ((ws.config.channels, "*.toml"), (ws.config.templates, "**/*"), (ws.root / "lists", "*")):
        if root.is_dir():
            found += sorted(p for p in root.glob(pattern) if p.is_file())
    try:
        channels = ws.channels.values()
    except DistributeError:
        channels = []  # a broken channel file: its folder is watched above
    for channel in channels:
        for value in vars(channel.settings).values():
            if isinstance(value, Path) and value.suffix in (".csv", ".txt", ".tsv"):
                found.append(value)
    return list(dict.fromkeys(found))


def allowed_hosts(port: int) -> set[str]:
    return {f"{LOOPBACK}:{port}", f"localhost:{port}", f"[::1]:{port}"}


def app(preview: Preview, port: Callable[[], int]) -> Callable[..., Any]:
    """The WSGI application."""
    from werkzeug.wrappers import Request, Response

    from .preview_page import shell

    @Request.application
    def application(request: Request) -> Response:
        if request.host not in allowed_hosts(port()):
            return Response(
                f"refused: this preview answers only at http://{LOOPBACK}:{port()}/ "
                "(another Host name is how a web page reaches a local server by DNS rebinding)\n",
                status=403,
                mimetype="text/plain",
            )
        if request.method != "GET":
            return Response("the preview only shows: GET\n", status=405, mimetype="text/plain")
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        if request.path == "/":
            s = preview.snapshot()
            body = shell(
                s["title"],
                s["when"],
                s["html"] or "",
                live=True,
                version=s["version"],
                good=s["good_version"],
                error=s["error"],
                lang=s["lang"],
            )
            return Response(body, mimetype="text/html", headers=headers)
        if request.path == "/state":
            return Response(json.dumps(preview.snapshot()), mimetype="application/json", headers=headers)
        if request.path == "/events":
            response = Response(
                preview.events(), mimetype="text/event-stream", headers=headers, direct_passthrough=True
            )
            return response
        return Response("not found\n", status=404, mimetype="text/plain")

    return application


def serve(preview: Preview, port: int, ready: Callable[[str], None]) -> None:
    """Serve until interrupted; `ready` is told the URL once the socket listens."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request would drown the URL
            pass

    holder: dict[str, int] = {}
    # The socket is bound here, so a port in use is an OSError for the command line to word (werkzeug
    # would print its own advice and exit); the server takes it over by its descriptor.
    with socket.create_server((LOOPBACK, port)) as listening:
        holder["port"] = listening.getsockname()[1]
        server = make_server(
            LOOPBACK,
            holder["port"],
            app(preview, lambda: holder["port"]),
            threaded=True,
            request_handler=QuietHandler,
            fd=listening.fileno(),
        )
    preview.build()
    watcher = threading.Thread(target=preview.watch, name="preview-watch", daemon=True)
    watcher.start()
    ready(f"http://{LOOPBACK}:{holder['port']}/")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        preview.stop()
        server.server_close()
        watcher.join(timeout=2)
