"""The rss adapter's deliver(): the archive over several releases, atomic files, upload and WebSub ping."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest
import time_machine
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters._transport.files import write_atomic
from distribute.adapters.base import Receipt
from distribute.errors import DeliveryError
from wire_support import load, render, set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
TOKEN = "upload-t0ken-5ecret"


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def release(ws: Path, name: str, publish_at: str, title: str | None = None, **extra: str) -> Path:
    front = f'title = "{title or name.title()}"\npublish_at = {publish_at}\n'
    front += "".join(f"{key} = {value}\n" for key, value in extra.items())
    return write_release(ws, name, front, f"Body of {name}.\n")


def deliver(ws_root: Path, path: Path | str, channel: str = "rss") -> Receipt:
    ws, deliveries = render(ws_root, path, channel)
    (delivery,) = deliveries
    adapter = ws.adapter(ws.channels[channel])
    try:
        return adapter.deliver(delivery, ws.channels[channel])
    finally:
        adapter.close()


def feed(ws_root: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse((ws_root / "public" / "feed.xml").read_bytes())
    assert parsed.bozo == 0
    return parsed


def test_archive_keeps_every_release_newest_publication_first(workspace: Path) -> None:
    a = release(workspace, "alpha", "2025-06-01T09:00:00+09:00")
    b = release(workspace, "bravo", "2025-06-10T09:00:00+09:00")
    c = release(workspace, "charlie", "2025-06-05T09:00:00+09:00")  # published after bravo, dated before it
    receipt = deliver(workspace, a)
    assert receipt.url == "https://en.asaninst.org/press/feed.xml" and "feed.xml" in receipt.detail
    deliver(workspace, b)
    deliver(workspace, c)
    assert [e.title for e in feed(workspace).entries] == ["Bravo", "Charlie", "Alpha"]
    atom = feedparser.parse((workspace / "public" / "atom.xml").read_bytes())
    assert [e.title for e in atom.entries] == ["Bravo", "Charlie", "Alpha"]
    # The feed's own date is the newest item's, whatever order they were delivered in.
    assert feed(workspace).feed.updated_parsed[:3] == (2025, 6, 10)
    # A render of a new release shows the archive beneath it, without writing anything.
    d = release(workspace, "delta", "2025-06-20T09:00:00+09:00")
    before = (workspace / "public" / "feed.xml").read_bytes()
    _, deliveries = render(workspace, d, "rss")
    rendered = feedparser.parse(deliveries[0].files[0].data)
    assert [e.title for e in rendered.entries] == ["Delta", "Bravo", "Charlie", "Alpha"]
    assert (workspace / "public" / "feed.xml").read_bytes() == before


def test_republishing_never_changes_guid_or_date(workspace: Path) -> None:
    path = release(workspace, "alpha", "2025-06-01T09:00:00+09:00", title="First title")
    deliver(workspace, path)
    (first,) = feed(workspace).entries
    release(
        workspace,
        "alpha",
        "2025-06-03T09:00:00+09:00",
        title="Corrected title",
        url='"https://en.asaninst.org/press/alpha-new"',
    )
    deliver(workspace, path)
    (again,) = feed(workspace).entries
    assert again.title == "Corrected title"
    assert again.id == first.id == "tag:en.asaninst.org,2025-06-01:alpha"
    assert again.published_parsed == first.published_parsed
    atom = feedparser.parse((workspace / "public" / "atom.xml").read_bytes()).entries[0]
    assert atom.updated_parsed[:3] == (2025, 6, 3)  # updated moves, published stays
    rows = (
        sqlite3.connect(workspace / ".distribute" / "state.db")
        .execute("SELECT guid, published FROM feed_items")
        .fetchall()
    )
    assert rows == [("tag:en.asaninst.org,2025-06-01:alpha", "2025-06-01T00:00:00Z")]


def test_max_items_keeps_the_newest(workspace: Path) -> None:
    set_channel(workspace, "rss", 'adapter = "rss"\nmax_items = 2\n')
    for day in (1, 2, 3):
        deliver(workspace, release(workspace, f"day-{day}", f"2025-06-0{day}T09:00:00+09:00"))
    assert [e.title for e in feed(workspace).entries] == ["Day-3", "Day-2"]


def test_render_never_writes_state(workspace: Path) -> None:
    render(workspace, EXAMPLE_RELEASE, "rss")
    assert not (workspace / ".distribute").exists() and not (workspace / "public").exists()


def test_scheduled_embargoed_release_goes_into_the_feed_at_the_embargo(workspace: Path, cli) -> None:
    """Scheduled before its embargo (rendered without the item), sent after it, with another release
    published in between: the delivery still matches what was scheduled and the feed gets both."""
    embargoed = release(
        workspace, "embargoed", "2026-01-06T09:00:00+09:00", embargo="2026-01-06T09:00:00+09:00", channels='["rss"]'
    )
    result = cli("schedule", str(embargoed))
    assert result.exit_code == 0, result.output + result.stderr
    deliver(workspace, release(workspace, "meanwhile", "2026-01-05T21:00:00+09:00"))
    assert [e.title for e in feed(workspace).entries] == ["Meanwhile"]
    result = cli("send", "--due")
    assert "Embargoed" not in (workspace / "public" / "feed.xml").read_text()  # not due yet
    with time_machine.travel(dt.datetime(2026, 1, 6, 0, 0, 1, tzinfo=dt.timezone.utc), tick=False):
        result = cli("send", "--due")
        assert result.exit_code == 0, result.output + result.stderr
    assert [e.title for e in feed(workspace).entries] == ["Embargoed", "Meanwhile"]


def test_files_are_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old complete document")
    with open(target, "rb") as reader:  # a reader that opened the old file keeps reading it whole
        write_atomic(target, b"new complete document")
        assert reader.read() == b"old complete document"
    assert target.read_bytes() == b"new complete document"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.xml"]  # no temporary file left
    assert oct(target.stat().st_mode & 0o777) == "0o644"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_is_a_permanent_failure_and_records_nothing(workspace: Path) -> None:
    public = workspace / "public"
    public.mkdir()
    public.chmod(0o500)
    try:
        with pytest.raises(DeliveryError) as caught:
            deliver(workspace, EXAMPLE_RELEASE)
    finally:
        public.chmod(0o700)
    assert not caught.value.retryable and "permissions" in str(caught.value)
    rows = sqlite3.connect(workspace / ".distribute" / "state.db").execute("SELECT count(*) FROM feed_items")
    assert rows.fetchone() == (0,)  # the archive transaction was rolled back with the failed write


def test_a_file_in_place_of_the_folder_fails_without_recording(workspace: Path) -> None:
    (workspace / "public").write_text("not a folder")
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert not caught.value.retryable
    rows = sqlite3.connect(workspace / ".distribute" / "state.db").execute("SELECT count(*) FROM feed_items")
    assert rows.fetchone() == (0,)


def test_two_releases_delivered_at_once_both_stay_in_the_feed(workspace: Path) -> None:
    paths = [release(workspace, f"rel-{i}", f"2025-06-0{i + 1}T09:00:00+09:00") for i in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(paths))

    def run(path: Path) -> None:
        try:
            ws, deliveries = render(workspace, path, "rss")
            start.wait()
            ws.adapter(ws.channels["rss"]).deliver(deliveries[0], ws.channels["rss"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [e.title for e in feed(workspace).entries] == ["Rel-3", "Rel-2", "Rel-1", "Rel-0"]


def _remote_channel(ws: Path, server: HTTPServer) -> None:
    set_channel(
        ws,
        "rss",
        f'adapter = "rss"\nhub = "{server.url_for("/hub")}"\ntimeout = 2\n'
        f'[upload]\nurl = "{server.url_for("/press/")}"\ntoken = {{ env = "FEED_TOKEN" }}\n',
    )


def test_upload_puts_both_files_and_pings_the_hub(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    _remote_channel(workspace, httpserver)
    for name, kind in (("feed.xml", "application/rss+xml"), ("atom.xml", "application/atom+xml")):
        httpserver.expect_ordered_request(
            f"/press/{name}",
            method="PUT",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": f"{kind}; charset=utf-8"},
        ).respond_with_data("", 201)
    seen: list[dict[str, list[str]]] = []

    def hub(request: Request) -> Response:
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        seen.append(parse_qs(request.get_data(as_text=True)))
        return Response("", status=204)

    httpserver.expect_ordered_request("/hub", method="POST").respond_with_handler(hub)
    receipt = deliver(workspace, EXAMPLE_RELEASE)
    httpserver.check_assertions()
    uploaded = {r.path: r.get_data() for r, _ in httpserver.log if r.method == "PUT"}
    assert uploaded["/press/feed.xml"] == (workspace / "public" / "feed.xml").read_bytes()
    assert uploaded["/press/atom.xml"] == (workspace / "public" / "atom.xml").read_bytes()
    assert seen == [
        {
            "hub.mode": ["publish"],
            "hub.url": ["https://en.asaninst.org/press/feed.xml", "https://en.asaninst.org/press/atom.xml"],
        }
    ]
    assert "uploaded" in receipt.detail and "pinged" in receipt.detail
    # The hub is advertised in both documents, so subscribers find it.
    assert httpserver.url_for("/hub").encode() in (workspace / "public" / "feed.xml").read_bytes()


def test_upload_failures_map_to_retryable_or_permanent_without_the_secret(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    _remote_channel(workspace, httpserver)
    httpserver.expect_oneshot_request("/press/feed.xml", method="PUT").respond_with_data(
        "busy", 503, headers={"Retry-After": "120"}
    )
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert caught.value.retryable and caught.value.retry_after == 120 and not caught.value.in_doubt
    assert TOKEN not in str(caught.value) and "503" in str(caught.value)
    httpserver.expect_oneshot_request("/press/feed.xml", method="PUT").respond_with_data("no", 403)
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert not caught.value.retryable and TOKEN not in str(caught.value)
    # The files were written and recorded before the upload failed; a retry rewrites the same bytes.
    assert b"Managing Decline" in (workspace / "public" / "feed.xml").read_bytes()


def test_a_gateway_error_on_upload_is_in_doubt_and_names_the_token(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one HTTP policy (docs/transport.md): a 502 may mean the upload arrived. The feed is idempotent,
    # so the ledger retries it anyway; a refusal names the variable that holds the token.
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    _remote_channel(workspace, httpserver)
    httpserver.expect_oneshot_request("/press/feed.xml", method="PUT").respond_with_data("bad gateway", 502)
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert caught.value.retryable and caught.value.in_doubt and "may have arrived" in str(caught.value)
    httpserver.expect_oneshot_request("/press/feed.xml", method="PUT").respond_with_data("no", 401)
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert "FEED_TOKEN" in str(caught.value) and TOKEN not in str(caught.value)


def test_unreachable_hub_is_retryable_and_not_in_doubt(workspace: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with-block ends: nothing listens there
    set_channel(workspace, "rss", f'adapter = "rss"\nhub = "http://127.0.0.1:{port}/hub"\ntimeout = 1\n')
    with pytest.raises(DeliveryError) as caught:
        deliver(workspace, EXAMPLE_RELEASE)
    assert caught.value.retryable and not caught.value.in_doubt


def test_missing_upload_secret_names_the_variable(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEED_TOKEN", raising=False)
    _remote_channel(workspace, httpserver)
    ws, _ = load(workspace, EXAMPLE_RELEASE)
    assert ws.adapter(ws.channels["rss"]).missing(ws.channels["rss"]) == ["environment variable FEED_TOKEN"]
