"""`distribute preview --serve`: the live page in headless Chromium, and the static `--html` page.

The server runs as a real `python -m distribute` process; the browser opens the URL it prints.
Edits are real file writes; the tests wait on the page's DOM (never a sleep) for the change.
"""

from __future__ import annotations

import html
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import regex
import requests

from conftest import EXAMPLE_RELEASE, ROOT
from email_support import parse

SOCIAL = ("bluesky", "mastodon", "linkedin", "threads", "x")


def _enable_every_channel(ws: Path) -> None:
    for path in (ws / "channels").glob("*.toml"):
        path.write_text(path.read_text(encoding="utf-8").replace("enabled = false", "enabled = true"), encoding="utf-8")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTE_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


class Server:
    """A running `distribute preview RELEASE --serve` and the URL it printed."""

    def __init__(self, ws: Path, *args: str) -> None:
        argv = [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), "preview", *args, "--serve"]
        self.process = subprocess.Popen(
            argv, cwd=ws, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not line:
            if selector.select(timeout=deadline - time.monotonic()):
                line = self.process.stdout.readline()
                if not line:
                    break
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not found:
            self.stop()
            raise AssertionError(
                f"no URL printed: {line!r} {self.process.stderr.read() if self.process.stderr else ''}"
            )
        self.line, self.url, self.port = line, found.group(0), int(found.group(1))

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stderr.read() if self.process.stderr else ""


@pytest.fixture
def served(workspace: Path) -> Iterator[Server]:
    _enable_every_channel(workspace)
    server = Server(workspace, EXAMPLE_RELEASE)
    try:
        yield server
    finally:
        server.stop()


def _outbox(ws: Path) -> dict[str, list[Path]]:
    """What `send --dry-run` writes, by channel: the bytes the page must show."""
    out = subprocess.run(
        [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), "send", EXAMPLE_RELEASE, "--dry-run"]
        + ["--outbox", str(ws.parent / "outbox")],
        cwd=ws,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads((ws.parent / "outbox" / "manifest.json").read_text(encoding="utf-8"))
    files: dict[str, list[Path]] = {}
    for d in manifest["deliveries"]:
        files.setdefault(d["channel"], []).extend(ws.parent / "outbox" / f for f in d["files"])
    return files


@pytest.mark.slow
def test_live_page_shows_every_channel_as_its_reader_sees_it(workspace: Path, served: Server, page) -> None:
    outbox = _outbox(workspace)
    page.goto(served.url)
    channels = page.eval_on_selector_all("section.channel", "s => s.map(e => e.id.slice(3))")
    assert sorted(channels) == sorted(p.stem for p in (workspace / "channels").glob("*.toml"))

    # Mail: From, To, subject and preheader as a mail client lists them, and the HTML part itself.
    first = parse(outbox["newsletter"][0].read_bytes())
    card = page.locator("#ch-newsletter .mail").first
    assert card.locator(".from").inner_text() == str(first["From"])
    assert card.locator(".to").inner_text() == str(first["To"])
    assert card.locator(".subject").inner_text() == str(first["Subject"])
    assert card.locator(".preheader").inner_text().startswith("What the 2025 NATO Summit reveals")
    markup = first.get_body(("html",)).get_content()
    # The very HTML part --dry-run writes: in the page's source byte for byte, in the DOM with the line
    # ends an HTML parser makes of CRLF.
    state = requests.get(served.url + "state", timeout=10).json()
    assert html.escape(markup, quote=True) in state["html"]
    assert card.locator("iframe.body").get_attribute("srcdoc") == markup.replace("\r\n", "\n")
    # The desktop/phone switch narrows the message to a phone's width.
    frame = card.locator("iframe.body")
    assert frame.bounding_box()["width"] > 375
    card.locator("label", has_text="Phone").click()
    page.wait_for_function("w => document.querySelector('#ch-newsletter iframe.body').offsetWidth <= w", arg=377)

    # Wire copy in monospace exactly as sent, notice and end mark included.
    txt = next(p for p in outbox["wire-desk"] if p.suffix == ".txt")
    wire = page.locator("#ch-wire-desk pre.wire").first
    assert wire.text_content() == txt.read_text(encoding="utf-8")
    assert "monospace" in wire.evaluate("e => getComputedStyle(e).fontFamily")
    assert "###" in wire.text_content()

    # Social cards: the account, the text with links and hashtags marked, the counter against the limit.
    record = json.loads(next(p for p in outbox["bluesky"] if p.suffix == ".json").read_text(encoding="utf-8"))
    text = record["body"]["record"]["text"]
    post = page.locator("#ch-bluesky article.post").first
    assert post.locator(".account").inner_text() == "asaninst.bsky.social"
    assert post.locator(".text").text_content() == text
    graphemes = len(regex.findall(r"\X", text))  # Bluesky's limit counts graphemes
    assert post.locator(".counter").inner_text() == f"{graphemes} / 300"
    assert post.locator(".text .link").first.inner_text().startswith("https://en.asaninst.org/")
    assert post.locator(".text .tag").first.inner_text() == "#NATO"
    assert post.locator(".linkcard .title").inner_text() == record["body"]["record"]["embed"]["external"]["title"]
    for name in SOCIAL:
        counter = page.locator(f"#ch-{name} .counter").first.inner_text()
        length, limit = (int(n) for n in counter.split(" / "))
        assert 0 < length <= limit

    # The feed item as a reader lists it; every channel says when it is due, in local time and UTC.
    assert page.locator("#ch-rss .feeditem .title").inner_text().startswith("Managing Decline?")
    assert page.locator("#ch-newsletter .due").inner_text() == "2025-06-30 09:00 KST (00:00 UTC)"
    assert page.locator("#ch-newsletter .embargo").inner_text() == "no embargo"
    assert "UNSUBSCRIBE_KEY" in page.locator("#ch-newsletter .missing").inner_text()


@pytest.mark.slow
def test_an_edit_shows_without_reloading_and_a_bad_edit_shows_its_error(
    workspace: Path,
    served: Server,
    page,
) -> None:
    release = workspace / EXAMPLE_RELEASE
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(served.url)
    page.wait_for_selector("#ch-newsletter .subject")
    page.evaluate("window.__same_page = true; window.scrollTo(0, 600)")
    y = page.evaluate("window.scrollY")
    assert y > 0

    original = release.read_text(encoding="utf-8")
    release.write_text(original.replace("Managing Decline?", "Managing Renewal?", 1), encoding="utf-8")
    page.wait_for_function(
        "() => document.querySelector('#ch-newsletter .subject').textContent.startsWith('Managing Renewal?')",
        timeout=5000,
    )
    assert page.evaluate("window.__same_page") is True, "the page changed without being reloaded"
    assert abs(page.evaluate("window.scrollY") - y) <= 2, "the scroll position is kept"

    # A channel file counts too.
    channel = workspace / "channels" / "newsletter.toml"
    channel.write_text(
        channel.read_text(encoding="utf-8").replace(
            'subject = "{{ release.title }}"', 'subject = "Brief: {{ release.title }}"'
        ),
        encoding="utf-8",
    )
    page.wait_for_function(
        "() => document.querySelector('#ch-newsletter .subject').textContent.startsWith('Brief: Managing Renewal?')"
    )

    # And a recipient list: one more subscriber is one more message.
    total = page.locator("#ch-newsletter .total").inner_text()
    count = int(total.split()[0])
    with (workspace / "lists" / "newsletter.csv").open("a", encoding="utf-8") as rows:
        rows.write("new.reader@example.org,New Reader\n")
    page.wait_for_function(
        "n => document.querySelector('#ch-newsletter .total').textContent === n + ' deliveries'", arg=count + 1
    )

    # A bad edit: the error at its line, in the page; the last good rendition stays.
    broken = release.read_text(encoding="utf-8").replace(
        "publish_at = 2025-06-30T09:00:00+09:00", 'publish_at = "soon"'
    )
    release.write_text(broken, encoding="utf-8")
    page.wait_for_selector("#error:not([hidden])", timeout=5000)
    line = broken.splitlines().index('publish_at = "soon"') + 1
    error = page.locator("#error-text").inner_text()
    assert re.match(rf"^\S*{re.escape(EXAMPLE_RELEASE)}:{line}: ", error), error
    assert "publish_at" in error
    assert page.locator("#ch-newsletter .subject").first.inner_text().startswith("Brief: Managing Renewal?")
    assert page.evaluate("window.__same_page") is True
    assert served.process.poll() is None, "a bad edit does not stop the server"

    release.write_text(original, encoding="utf-8")
    page.wait_for_selector("#error", state="hidden", timeout=5000)
    page.wait_for_function(
        "() => document.querySelector('#ch-newsletter .subject').textContent.startsWith('Brief: Managing Decline?')"
    )


def _listening(port: int) -> list[str]:
    """Local addresses listening on `port`, from the kernel's own table (hex, as /proc/net/tcp writes them)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in lines:
            local, state = row.split()[1], row.split()[3]
            address, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_the_server_answers_only_on_loopback_and_to_its_own_name(served: Server) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    if Path("/proc/net/tcp").exists():
        assert _listening(served.port) == ["0100007F"], "bound to 127.0.0.1 only"
    ok = requests.get(served.url, timeout=10)
    assert ok.status_code == 200 and "Managing Decline?" in ok.text
    for host in ("evil.example", f"evil.example:{served.port}", f"192.168.1.10:{served.port}"):
        refused = requests.get(served.url + "state", headers={"Host": host}, timeout=10)
        assert refused.status_code == 403, host
        assert "answers only at http://127.0.0.1:" in refused.text
        assert "Managing" not in refused.text
    assert requests.get(served.url + "state", headers={"Host": f"localhost:{served.port}"}, timeout=10).ok
    assert requests.post(served.url, timeout=10).status_code == 405


def test_a_port_in_use_is_named(cli, workspace: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("preview", EXAMPLE_RELEASE, "--serve", "--port", str(port))
    assert result.exit_code == 2
    assert f"error: port {port} is in use on 127.0.0.1: choose another with --port, or leave it out" in result.stderr


def test_port_and_html_do_not_go_with_the_wrong_mode(cli) -> None:
    result = cli("preview", EXAMPLE_RELEASE, "--port", "8000")
    assert result.exit_code == 2 and "--port goes with --serve" in result.stderr
    result = cli("preview", EXAMPLE_RELEASE, "--serve", "--html", "x.html")
    assert result.exit_code == 2 and "--html in another run" in result.stderr


@pytest.mark.slow
def test_static_page_has_the_same_cards_and_fetches_nothing(cli, workspace: Path, page) -> None:
    _enable_every_channel(workspace)
    result = cli("preview", EXAMPLE_RELEASE, "--html", "preview.html")
    assert result.exit_code == 0, result.stderr
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto((workspace / "preview.html").as_uri())
    assert page.locator("section.channel").count() == len(list((workspace / "channels").glob("*.toml")))
    assert page.locator("#ch-bluesky .counter").first.inner_text().endswith(" / 300")
    assert page.locator("#ch-newsletter .mail .subject").first.inner_text().startswith("Managing Decline?")
    assert page.locator("#status").inner_text().startswith("static copy")
    outside = [u for u in fetched if not u.startswith(("file:", "data:", "about:"))]
    assert outside == [], f"the static page fetched {outside}"
