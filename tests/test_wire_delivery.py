"""The wire adapter's transports on loopback: drop folder, HTTP ingest API (pytest-httpserver), SMTP (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
from pathlib import Path

import pytest
import time_machine
from pytest_httpserver import HTTPServer

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.base import Delivery, Receipt
from distribute.errors import DeliveryError
from wire_support import render, set_channel, smtp_sink

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
TOKEN = "wire-t0ken-5ecret"
PASSWORD = "smtp-pa55word-5ecret"


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def deliver_all(ws_root: Path, release: Path | str = EXAMPLE_RELEASE) -> tuple[list[Delivery], list[Receipt]]:
    ws, deliveries = render(ws_root, release, "wire-desk")
    channel = ws.channels["wire-desk"]
    adapter = ws.adapter(channel)
    try:
        return deliveries, [adapter.deliver(d, channel) for d in deliveries]
    finally:
        adapter.close()


def test_drop_directory_gets_every_format_atomically(workspace: Path) -> None:
    set_channel(workspace, "wire-desk", 'adapter = "wire"\ndirectory = "drop/wire"\n')
    deliveries, receipts = deliver_all(workspace)
    folder = workspace / "drop" / "wire"
    names = [
        "2025-06-30-nato-summit-brief.txt",
        "2025-06-30-nato-summit-brief.newsml.xml",
        "2025-06-30-nato-summit-brief.ninjs.json",
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # no temporary files left behind
    for delivery, receipt, name in zip(deliveries, receipts, names, strict=True):
        assert delivery.key == f"2025-06-30-nato-summit-brief/wire-desk/desk/{delivery.part}"
        assert (folder / name).read_bytes() == delivery.files[0].data
        assert receipt.remote_id == name and receipt.url == (folder / name).resolve().as_uri()
    # Delivering again replaces each file whole: a collector never sees a half-written one.
    inode = (folder / names[0]).stat().st_ino
    with open(folder / names[0], "rb") as reader:
        deliver_all(workspace)
        assert reader.read() == deliveries[0].files[0].data
    assert (folder / names[0]).stat().st_ino != inode


def test_drop_directory_that_is_a_file_fails_permanently(workspace: Path) -> None:
    set_channel(workspace, "wire-desk", 'adapter = "wire"\ndirectory = "blocked"\n')
    (workspace / "blocked").write_text("a file")
    with pytest.raises(DeliveryError) as caught:
        deliver_all(workspace)
    assert not caught.value.retryable and "blocked" in str(caught.value)


def _http_channel(ws: Path, server: HTTPServer, formats: str = '["txt", "newsml", "ninjs"]') -> None:
    set_channel(
        ws,
        "wire-desk",
        f'adapter = "wire"\nformats = {formats}\ntransport = "http"\n'
        f'[http]\nurl = "{server.url_for("/v1/ingest")}"\nheader = "X-Api-Key"\nscheme = ""\n'
        'token = { env = "WIRE_TOKEN" }\ntimeout = 2\n',
    )


def test_http_posts_each_document_with_its_type_and_the_auth_header(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_TOKEN", TOKEN)
    _http_channel(workspace, httpserver)
    types = [
        "text/plain; charset=utf-8",
        "application/vnd.iptc.g2.newsitem+xml; charset=utf-8",
        "application/json; charset=utf-8",
    ]
    for n, kind in enumerate(types):
        httpserver.expect_ordered_request(
            "/v1/ingest", method="POST", headers={"X-Api-Key": TOKEN, "Content-Type": kind}
        ).respond_with_json({"id": f"wire-{n}"}, status=201, headers={"Location": f"/v1/items/{n}"})
    deliveries, receipts = deliver_all(workspace)
    httpserver.check_assertions()
    requests = [r for r, _ in httpserver.log]
    assert [r.get_data() for r in requests] == [d.files[0].data for d in deliveries]
    assert requests[0].headers["Content-Disposition"] == 'attachment; filename="2025-06-30-nato-summit-brief.txt"'
    key = hashlib.sha256(deliveries[1].key.encode()).hexdigest()[:32]
    assert requests[1].headers["Idempotency-Key"] == key
    json.loads(requests[2].get_data())  # the ninjs body is the JSON document itself
    assert [r.remote_id for r in receipts] == ["wire-0", "wire-1", "wire-2"]
    assert receipts[0].url == "/v1/items/0" and receipts[0].detail == "HTTP 201"
    # The outbox of the same channel shows the documents, never the credential.
    for d in deliveries:
        assert TOKEN.encode() not in d.files[0].data


@pytest.mark.parametrize(
    "status, retryable, retry_after", [(429, True, 30.0), (503, True, 30.0), (400, False, None), (401, False, None)]
)
def test_http_failures_say_whether_to_retry(
    workspace: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    monkeypatch.setenv("WIRE_TOKEN", TOKEN)
    _http_channel(workspace, httpserver, '["ninjs"]')
    httpserver.expect_request("/v1/ingest", method="POST").respond_with_data(
        f"refused: {status}", status=status, headers={"Retry-After": "30"} if retryable else {}
    )
    with pytest.raises(DeliveryError) as caught:
        deliver_all(workspace)
    assert caught.value.retryable is retryable and caught.value.retry_after == retry_after
    assert not caught.value.in_doubt and str(status) in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_http_server_and_gateway_errors_are_in_doubt(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    # The same policy as every HTTP adapter (docs/transport.md): the desk's system may have taken the copy
    # before its front end failed, and a desk may print a repeat, so the delivery is reported, not resent.
    monkeypatch.setenv("WIRE_TOKEN", TOKEN)
    _http_channel(workspace, httpserver, '["ninjs"]')
    httpserver.expect_request("/v1/ingest", method="POST").respond_with_data("upstream timed out", status=status)
    with pytest.raises(DeliveryError) as caught:
        deliver_all(workspace)
    assert caught.value.retryable and caught.value.in_doubt and "may have arrived" in str(caught.value)
    assert f"HTTP {status}" in str(caught.value) and "upstream timed out" in str(caught.value)


def test_http_refusal_names_the_token_variable(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_TOKEN", TOKEN)
    _http_channel(workspace, httpserver, '["ninjs"]')
    httpserver.expect_request("/v1/ingest", method="POST").respond_with_data("bad key", status=401)
    with pytest.raises(DeliveryError) as caught:
        deliver_all(workspace)
    assert "refused the credentials" in str(caught.value) and "WIRE_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_http_without_its_secret_says_which_variable(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIRE_TOKEN", raising=False)
    _http_channel(workspace, httpserver, '["txt"]')
    ws, deliveries = render(workspace, EXAMPLE_RELEASE, "wire-desk")  # render needs no secret
    channel = ws.channels["wire-desk"]
    assert ws.adapter(channel).missing(channel) == ["environment variable WIRE_TOKEN"]
    with pytest.raises(DeliveryError, match="WIRE_TOKEN"):
        ws.adapter(channel).deliver(deliveries[0], channel)
    assert not httpserver.log


def _email_channel(ws: Path, port: int, extra: str = "") -> None:
    set_channel(
        ws,
        "wire-desk",
        f'adapter = "wire"\ntransport = "email"\n{extra}'
        f'[email]\nto = "desk@wire.example"\n[email.smtp]\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\ntimeout = 5\n',
    )


def test_email_to_the_desk_puts_the_copy_in_the_body_and_attaches_the_documents(workspace: Path) -> None:
    with smtp_sink() as sink:
        _email_channel(workspace, sink.port)
        deliveries, receipts = deliver_all(workspace)
    assert len(sink.messages) == 3
    assert len(set(sink.peers)) == 1  # the email adapter's SmtpConnection, reused for the three documents
    for (sender, rcpts, raw), delivery, receipt in zip(sink.messages, deliveries, receipts, strict=True):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert sender == "press@asaninst.org" and rcpts == ["desk@wire.example"]
        assert message["Message-ID"] == receipt.remote_id
        assert message["Message-ID"].endswith("@asaninst.org>")
        if delivery.part == "txt":
            assert message["Subject"] == "Managing Decline? NATO's Uneasy Future After the 2025 Summit"
            assert message.get_content_type() == "text/plain"
            assert message.get_content().replace("\r\n", "\n") == delivery.files[0].data.decode()
        else:
            (attachment,) = list(message.iter_attachments())
            assert attachment.get_filename() == delivery.files[0].name
            assert attachment.get_content_type() == delivery.meta["content_type"].split(";")[0]
            payload = attachment.get_payload(decode=True)
            assert payload == delivery.files[0].data
            assert message["Subject"].endswith("[NewsML-G2]" if delivery.part == "newsml" else "[ninjs]")
    ids = [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in sink.messages]
    assert len(set(ids)) == 3  # one stable id per delivery key


def test_embargoed_copy_by_email_says_so_in_the_subject(workspace: Path) -> None:
    path = write_release(
        workspace,
        "embargoed",
        'title = "Embargoed"\npublish_at = 2026-01-06T09:00:00+09:00\nembargo = 2026-01-06T09:00:00+09:00\n',
    )
    with smtp_sink() as sink:
        _email_channel(workspace, sink.port, 'embargoed_copy = true\nat = "-1d"\nformats = ["txt"]\n')
        deliver_all(workspace, path)
    message = email.message_from_bytes(sink.messages[0][2], policy=email.policy.default)
    assert message["Subject"] == "EMBARGOED: Embargoed"
    assert message.get_content().startswith("EMBARGOED UNTIL January 6, 2026, 09:00 KST (00:00 UTC)")


@pytest.mark.parametrize("answer, retryable", [("451 4.3.0 try again later", True), ("554 5.7.1 rejected", False)])
def test_smtp_refusal_is_mapped(workspace: Path, answer: str, retryable: bool) -> None:
    with smtp_sink(answer=answer) as sink:
        _email_channel(workspace, sink.port, 'formats = ["txt"]\n')
        with pytest.raises(DeliveryError) as caught:
            deliver_all(workspace)
    assert caught.value.retryable is retryable and not caught.value.in_doubt
    assert answer.split()[0] in str(caught.value)


def test_smtp_login_password_never_leaks(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRE_SMTP_PASSWORD", PASSWORD)
    with smtp_sink() as sink:
        _email_channel(workspace, sink.port, 'formats = ["txt"]\n')
        text = (workspace / "channels" / "wire-desk.toml").read_text()
        (workspace / "channels" / "wire-desk.toml").write_text(
            text + 'username = "press"\npassword = { env = "WIRE_SMTP_PASSWORD" }\n'
        )
        with pytest.raises(DeliveryError) as caught:  # the sink offers no AUTH over plain text
            deliver_all(workspace)
    assert PASSWORD not in str(caught.value) and not caught.value.in_doubt and not caught.value.retryable


def test_unreachable_smtp_server_is_retryable(workspace: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _email_channel(workspace, port, 'formats = ["txt"]\n')
    with pytest.raises(DeliveryError) as caught:
        deliver_all(workspace)
    assert caught.value.retryable and not caught.value.in_doubt


def test_plain_smtp_login_to_a_remote_host_is_refused_at_load(workspace: Path) -> None:
    from distribute.errors import ConfigError

    set_channel(
        workspace,
        "wire-desk",
        'adapter = "wire"\ntransport = "email"\n[email]\nto = "desk@wire.example"\n'
        '[email.smtp]\nhost = "smtp.example.org"\nsecurity = "none"\nusername = "press"\n',
    )
    with pytest.raises(ConfigError, match="unencrypted"):
        render(workspace, EXAMPLE_RELEASE, "wire-desk")
