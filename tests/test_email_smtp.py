"""SMTP delivery against a real server on loopback (aiosmtpd): messages parsed back, faults per recipient."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE
from distribute.adapters._transport.smtp import RateLimiter
from distribute.adapters.email.unsubscribe import verify
from distribute.errors import DeliveryError
from email_servers import free_port, smtp_server
from email_support import KEY, adapter_for, bodies, certificate, set_keys, smtp_channel, write_list

NAMES = ["김민지", "Jane Smith", "", "Zoë 🤖", "Pat O'Brien", "박지우", "Anne Martin", "", "Omar", "Sofia"]


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


@pytest.fixture
def ten(workspace: Path) -> Path:
    """The newsletter with ten recipients r0..r9@example.org."""
    rows = "".join(f"r{i}@example.org,{name}\n" for i, name in enumerate(NAMES))
    listed = write_list(workspace, "ten.csv", "email,name\n" + rows)
    set_keys(workspace, "newsletter", f'recipients = "{listed}"')
    return workspace


def outcome_kind(outcome) -> str:
    if outcome.error is None:
        return "sent"
    if outcome.error.in_doubt:
        return "doubt"
    return "retry" if outcome.error.retryable else "failed"


@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_each_recipient_gets_one_exact_personal_message_over_reused_connections(ten: Path, pipelining: bool) -> None:
    with smtp_server(pipelining=pipelining) as sink:
        smtp_channel(ten, "newsletter", sink.port, "connections = 3")
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        outcomes = list(adapter.deliver_many(iter(deliveries), channel))
        adapter.close()
    assert sorted(o.delivery.target for o in outcomes) == sorted(d.target for d in deliveries)
    assert all(o.error is None for o in outcomes), [str(o.error) for o in outcomes if o.error]
    assert sink.connections <= 3, "connections are reused, not opened per message"
    assert len(sink.messages) == 10
    received = sink.parsed()
    raw = {rcpts[0]: data for _, rcpts, data in sink.messages}
    for o in outcomes:
        d = o.delivery
        assert raw[d.target] == d.files[0].data, "the server receives exactly the rendered bytes (dot-stuffing undone)"
        message = received[d.target]
        assert message["Message-ID"] == o.receipt.remote_id and o.receipt.detail.startswith("250")
        name = NAMES[int(d.target[1])]
        assert message["To"].addresses[0].display_name == name
        assert bodies(message)[0].startswith(f"Dear {name or 'reader'},\n")
        token = re.search(r"token=([A-Za-z0-9_-]+)", str(message["List-Unsubscribe"])).group(1)
        assert verify(KEY.encode(), "newsletter.asaninst.org", d.target, token)
    assert {mail_from for mail_from, _, _ in sink.messages} == {"press@asaninst.org"}


FAULTS = {
    "r1@example.org": ("451", "retry"),
    "r2@example.org": ("550", "failed"),
    "r3@example.org": ("data-451", "retry"),
    "r4@example.org": ("data-550", "failed"),
    "r5@example.org": ("drop-rcpt-once", "sent"),  # nothing handed over yet: tried again on a new connection
    "r6@example.org": ("drop-after-data", "doubt"),  # handed over, no answer: the server may have it
    "r7@example.org": ("stall", "doubt"),
}


@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_faults_end_sent_retried_failed_or_in_doubt_and_none_twice(ten: Path, pipelining: bool) -> None:
    with smtp_server({a: rule for a, (rule, _) in FAULTS.items()}, pipelining=pipelining) as sink:
        smtp_channel(ten, "newsletter", sink.port, "connections = 2\ntimeout = 0.5")
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        outcomes = {o.delivery.target: o for o in adapter.deliver_many(iter(deliveries), channel)}
        adapter.close()
        swallowed = list(sink.swallowed)
    expected = {f"r{i}@example.org": FAULTS.get(f"r{i}@example.org", ("", "sent"))[1] for i in range(10)}
    assert {t: outcome_kind(o) for t, o in outcomes.items()} == expected
    for target, kind in expected.items():
        seen = sink.count(target)
        assert seen == (1 if kind in ("sent", "doubt") else 0), f"{target} reached the server {seen} times"
    assert sorted(swallowed) == ["r6@example.org", "r7@example.org"]
    assert "550" in str(outcomes["r2@example.org"].error) and "451" in str(outcomes["r1@example.org"].error)
    assert "may have taken it" in str(outcomes["r7@example.org"].error)


def test_send_through_the_ledger_then_retry_only_what_may_be_retried(ten: Path, cli) -> None:
    rules = {"r1@example.org": "451", "r2@example.org": "550", "r6@example.org": "drop-after-data"}
    now = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
    with smtp_server(rules, pipelining=True) as sink:
        smtp_channel(ten, "newsletter", sink.port, "connections = 2")
        with time_machine.travel(now, tick=False):
            first = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--late")
        assert first.exit_code == 3, first.output  # partial delivery
        sink.rules.clear()  # the server is happy now
        with time_machine.travel(now + dt.timedelta(hours=2), tick=False):
            again = cli("send", "--due")
        status = json.loads(cli("status", EXAMPLE_RELEASE, "--json").output)
    items = {i["key"].split("/")[2]: i for r in status["releases"] for c in r["channels"] for i in c["items"]}
    assert items["r1@example.org"]["state"] == "sent" and items["r1@example.org"]["attempts"] == 2, again.output
    assert items["r2@example.org"]["state"] == "failed" and "550" in items["r2@example.org"]["error"]
    assert items["r6@example.org"]["state"] == "in_doubt"
    assert all(items[f"r{i}@example.org"]["state"] == "sent" for i in (0, 3, 4, 5, 7, 8, 9))
    for i in range(10):
        assert sink.count(f"r{i}@example.org") == (0 if i == 2 else 1), f"r{i} reached the server twice"


def test_starttls_and_login_with_the_password_from_the_environment(
    ten: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate, nothing else changes
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pass-word")
    with smtp_server(password="s3cret-pass-word", tls=(cert, key)) as sink:
        smtp_channel(
            ten, "newsletter", sink.port, 'username = "press@asaninst.org"\npassword = { env = "SMTP_PASSWORD" }'
        )
        set_keys(ten, "newsletter", 'transport = "smtp"')
        text = (ten / "channels" / "newsletter.toml").read_text().replace('security = "none"', 'security = "starttls"')
        (ten / "channels" / "newsletter.toml").write_text(text)
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        receipt = adapter.deliver(deliveries[0], channel)
        adapter.close()
        assert sink.logins == [("press@asaninst.org", "s3cret-pass-word")] and len(sink.messages) == 1
        assert receipt.remote_id == deliveries[0].meta["message_id"]

        monkeypatch.setenv("SMTP_PASSWORD", "wrong-pass-word")
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        with pytest.raises(DeliveryError) as caught:
            adapter.deliver(deliveries[1], channel)
        assert "check username and password" in str(caught.value) and "wrong-pass-word" not in str(caught.value)


def test_implicit_tls_on_the_ssl_port(ten: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with smtp_server(tls=(cert, key), implicit_tls=True) as sink:
        smtp_channel(ten, "newsletter", sink.port, 'security = "ssl"\nconnections = 2')
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        outcomes = list(adapter.deliver_many(iter(deliveries), channel))
        adapter.close()
    assert all(o.error is None for o in outcomes), [str(o.error) for o in outcomes if o.error]
    assert len(sink.messages) == 10


def test_a_plain_text_login_to_a_remote_host_is_refused_before_connecting(
    ten: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pass-word")
    smtp_channel(ten, "newsletter", 25, 'username = "press"\npassword = { env = "SMTP_PASSWORD" }')
    text = (ten / "channels" / "newsletter.toml").read_text().replace('host = "127.0.0.1"', 'host = "mail.example.org"')
    (ten / "channels" / "newsletter.toml").write_text(text)
    adapter, channel, deliveries = adapter_for(ten, "newsletter")
    outcomes = list(adapter.deliver_many(iter(deliveries), channel))
    assert all(o.error is not None and not o.error.retryable and "unencrypted" in str(o.error) for o in outcomes)


def test_an_unreachable_server_fails_every_message_fast_for_a_later_retry(ten: Path) -> None:
    smtp_channel(ten, "newsletter", free_port(), "connections = 3")  # nothing listens there
    adapter, channel, deliveries = adapter_for(ten, "newsletter")
    outcomes = list(adapter.deliver_many(iter(deliveries), channel))
    assert len(outcomes) == 10
    assert all(o.error is not None and o.error.retryable and not o.error.in_doubt for o in outcomes)
    assert sum("not attempted" in str(o.error) for o in outcomes) >= 7, "after the connections fail, no more tries"


def test_a_missing_password_fails_the_channel_without_touching_the_server(
    ten: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with smtp_server() as sink:
        smtp_channel(ten, "newsletter", sink.port, 'username = "press"\npassword = { env = "SMTP_PASSWORD" }')
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        assert "environment variable SMTP_PASSWORD" in adapter.missing(channel)
        outcomes = list(adapter.deliver_many(iter(deliveries), channel))
        assert all(o.error and "SMTP_PASSWORD" in str(o.error) and o.error.retryable for o in outcomes)
        assert sink.connections == 0


def test_without_the_unsubscribe_key_nothing_goes_out_over_smtp(ten: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSUBSCRIBE_KEY")
    with smtp_server() as sink:
        smtp_channel(ten, "newsletter", sink.port)
        adapter, channel, deliveries = adapter_for(ten, "newsletter")
        outcomes = list(adapter.deliver_many(iter(deliveries), channel))
        assert all(o.error and not o.error.retryable and "UNSUBSCRIBE_KEY" in str(o.error) for o in outcomes)
        assert sink.connections == 0


def test_the_rate_ceiling_spaces_messages_across_connections() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert waits == [0.25, 0.5, 0.75, 1.0], "five messages at 4/s take a second, however many connections ask"
    now[0] = 200.0  # long idle: no burst credit piles up beyond one slot
    waits.clear()
    limiter.wait()
    limiter.wait()
    assert waits == [0.25]


def test_deliver_many_pulls_a_delivery_only_when_a_connection_is_free(ten: Path) -> None:
    """The ledger marks a delivery `sending` when it is pulled: never more in hand than connections."""
    pulled: list[str] = []
    done: list[str] = []
    with smtp_server() as sink:
        smtp_channel(ten, "newsletter", sink.port, "connections = 2")
        adapter, channel, deliveries = adapter_for(ten, "newsletter")

        def feed():
            for d in deliveries:
                assert len(pulled) - len(done) < 2, "more deliveries in hand than connections"
                pulled.append(d.target)
                yield d

        for outcome in adapter.deliver_many(feed(), channel):
            done.append(outcome.delivery.target)
        adapter.close()
    assert sorted(done) == sorted(pulled) and len(done) == 10
    assert os.environ.get("UNSUBSCRIBE_KEY") == KEY
