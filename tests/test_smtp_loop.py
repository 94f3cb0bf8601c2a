"""The SMTP pool's one loop: every connection driven by the thread iterating deliver_many (aiosmtpd on loopback).

What a single-threaded loop could get wrong, each against a real server: a slow answer on one
connection must not hold the others; a server that ends sessions mid-batch (421, or a plain
close while the session is idle) costs a reconnect, never a duplicate or a lost message; TLS
sockets (STARTTLS and implicit TLS) read and written without blocking; servers with and without
PIPELINING; and through the real CLI and ledger, the same faults end with every message sent once.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE
from email_servers import smtp_server
from email_support import KEY, adapter_for, certificate, set_keys, smtp_channel, write_list

COUNT = 12


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


@pytest.fixture
def twelve(workspace: Path) -> Path:
    """The newsletter with twelve recipients r0..r11@example.org."""
    rows = "".join(f"r{i}@example.org,Reader {i}\n" for i in range(COUNT))
    listed = write_list(workspace, "twelve.csv", "email,name\n" + rows)
    set_keys(workspace, "newsletter", f'recipients = "{listed}"')
    return workspace


def deliver_all(ws: Path) -> dict[str, str]:
    """Every recipient's outcome from the adapter's deliver_many: "sent" or the error."""
    adapter, channel, deliveries = adapter_for(ws, "newsletter")
    try:
        return {o.delivery.target: str(o.error or "sent") for o in adapter.deliver_many(iter(deliveries), channel)}
    finally:
        adapter.close()


def test_one_thread_drives_every_connection(twelve: Path) -> None:
    """No thread per connection: the sessions run in the thread that iterates deliver_many."""
    with smtp_server(pipelining=True, hold_for=COUNT - 1, rules={"r0@example.org": "hold"}) as sink:
        smtp_channel(twelve, "newsletter", sink.port, "connections = 4")
        adapter, channel, deliveries = adapter_for(twelve, "newsletter")
        before = threading.active_count()
        seen: list[int] = []

        def feed():
            for d in deliveries:
                seen.append(threading.active_count())
                yield d

        outcomes = list(adapter.deliver_many(feed(), channel))
        adapter.close()
    assert [str(o.error) for o in outcomes if o.error] == []
    assert len(sink.messages) == COUNT and sink.connections == 4, "all four connections were in use at once"
    assert max(seen) == before, f"deliver_many started {max(seen) - before} threads for its 4 connections"


@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_a_slow_answer_on_one_connection_does_not_hold_the_others(twelve: Path, pipelining: bool) -> None:
    """r0's server answers only after the eleven others were accepted, over the other connection."""
    with smtp_server({"r0@example.org": "hold"}, pipelining=pipelining, hold_for=COUNT - 1) as sink:
        # If the loop waited on r0's connection, the server would never answer it: r0 would time out (in doubt).
        smtp_channel(twelve, "newsletter", sink.port, "connections = 2\ntimeout = 20")
        adapter, channel, deliveries = adapter_for(twelve, "newsletter")
        order = [o.delivery.target for o in adapter.deliver_many(iter(deliveries), channel) if o.error is None]
        adapter.close()
    assert len(order) == COUNT and order[-1] == "r0@example.org", order
    assert sink.held == ["r0@example.org"] and [r for _, (r,), _ in sink.messages][-1] == "r0@example.org"


@pytest.mark.parametrize("end", ["421", "close"])
@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_sessions_ended_by_the_server_mid_batch_cost_a_reconnect_not_a_message(
    twelve: Path, pipelining: bool, end: str
) -> None:
    """After 3 messages a session is ended (421 to the next MAIL, or closed while idle): reconnect, go on."""
    with smtp_server(pipelining=pipelining, per_session=3, end=end) as sink:
        smtp_channel(twelve, "newsletter", sink.port, "connections = 2")
        outcomes = deliver_all(twelve)
        received = sorted(r for _, (r,), _ in sink.messages)
    assert outcomes == {f"r{i}@example.org": "sent" for i in range(COUNT)}
    assert received == sorted(outcomes), "each message reached the server exactly once"
    assert sink.connections >= COUNT // 3, "a new session after each one the server ended"


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
def test_tls_sessions_in_parallel(
    twelve: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implicit: bool
) -> None:
    cert, key = certificate(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with smtp_server(tls=(cert, key), implicit_tls=implicit, pipelining=True, per_session=5, end="close") as sink:
        security = "ssl" if implicit else "starttls"
        smtp_channel(twelve, "newsletter", sink.port, f'security = "{security}"\nconnections = 3')
        adapter, channel, deliveries = adapter_for(twelve, "newsletter")
        outcomes = {o.delivery.target: o for o in adapter.deliver_many(iter(deliveries), channel)}
        adapter.close()
        raw = {rcpts[0]: data for _, rcpts, data in sink.messages}
    assert [str(o.error) for o in outcomes.values() if o.error] == []
    assert len(sink.messages) == COUNT
    for target, outcome in outcomes.items():
        assert raw[target] == outcome.delivery.files[0].data, "the exact bytes arrive through TLS"


def test_send_through_the_ledger_with_sessions_ended_and_one_slow_answer(twelve: Path, cli) -> None:
    """The real `send`: 4 connections, sessions ended after 2 messages, r3 answered last; all sent once."""
    now = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
    with smtp_server({"r3@example.org": "hold"}, pipelining=True, hold_for=COUNT - 1, per_session=2) as sink:
        smtp_channel(twelve, "newsletter", sink.port, "connections = 4\ntimeout = 20")
        with time_machine.travel(now, tick=False):
            result = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--late")
        assert result.exit_code == 0, result.output
        status = json.loads(cli("status", EXAMPLE_RELEASE, "--json").output)
        received = sorted(r for _, (r,), _ in sink.messages)
    items = {i["key"].split("/")[2]: i for r in status["releases"] for c in r["channels"] for i in c["items"]}
    assert {k: (i["state"], i["attempts"]) for k, i in items.items()} == {
        f"r{i}@example.org": ("sent", 1) for i in range(COUNT)
    }
    assert received == sorted(items) and sink.held == ["r3@example.org"]


class Gate:
    """The ledger's side of Delivery.gate, as the dispatcher's MarkGate behaves: decided once, callbacks told."""

    def __init__(self, passed: bool | None = None):
        self.decision = passed
        self.callbacks: list = []

    def done(self) -> bool:
        return self.decision is not None

    def passed(self) -> bool:
        assert self.decision is not None, "asked before it was decided"
        return self.decision

    def notify(self, callback) -> None:
        self.callbacks.append(callback)
        if self.decision is not None:
            callback()

    def meanwhile(self) -> bool:
        return False  # nothing of its owner's to do ahead

    def decide(self, passed: bool) -> None:
        self.decision = passed
        for callback in self.callbacks:
            threading.Thread(target=callback).start()  # the ledger's thread tells the loop


@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_the_final_dot_waits_for_the_gate_and_a_refused_gate_sends_nothing(twelve: Path, pipelining: bool) -> None:
    """r0's mark is still on its way to the disk while r1.. go; r2's was refused (taken over): never accepted."""
    import dataclasses

    with smtp_server(pipelining=pipelining) as sink:
        smtp_channel(twelve, "newsletter", sink.port, "connections = 2")
        adapter, channel, deliveries = adapter_for(twelve, "newsletter")
        assert adapter.gated(channel)
        gates = {
            d.target: Gate(None if d.target == "r0@example.org" else d.target != "r2@example.org") for d in deliveries
        }
        accepted_before: list[str] = []

        def feed():
            for d in deliveries:
                if d.target == "r4@example.org":  # r0 waits at its gate meanwhile, its body already sent
                    accepted_before.extend(r for _, (r,), _ in sink.messages)
                    assert sink.attempts.get("r0@example.org") == 1, "r0's envelope went before the gate opened"
                    gates["r0@example.org"].decide(True)
                yield dataclasses.replace(d, gate=gates[d.target])

        outcomes = {o.delivery.target: str(o.error or "sent") for o in adapter.deliver_many(feed(), channel)}
        adapter.close()
        accepted = sorted(r for _, (r,), _ in sink.messages)
    assert "r0@example.org" not in accepted_before and "r1@example.org" in accepted_before
    assert "not sent" in outcomes.pop("r2@example.org") and "r2@example.org" not in accepted
    assert outcomes == {f"r{i}@example.org": "sent" for i in range(COUNT) if i != 2}
    assert accepted == sorted(outcomes)


def test_a_gate_decided_on_the_loops_own_thread_is_acted_on_without_a_wake_up(twelve: Path) -> None:
    """Gated runs commit their marks on the transport's thread (the owner's `meanwhile`, a claim, an early
    verdict): the loop skips waking itself, so it must look at the gates decided before it waits for sockets."""
    import dataclasses

    class Owner(Gate):
        undecided: list[Gate] = []

        def meanwhile(self) -> bool:
            # Decides a gate a session waits at (it asked to be told) here, on the loop's thread, and
            # says it did nothing else: the loop has no socket to wake it for that gate.
            waiting = [gate for gate in Owner.undecided if gate.callbacks]
            if waiting:
                Owner.undecided.remove(waiting[0])
                waiting[0].decision = True
                for callback in waiting[0].callbacks:
                    callback()
            return False

    with smtp_server(pipelining=True) as sink:
        smtp_channel(twelve, "newsletter", sink.port, "connections = 1")
        adapter, channel, deliveries = adapter_for(twelve, "newsletter")

        def feed():
            for d in deliveries:
                gate = Owner()
                Owner.undecided.append(gate)
                yield dataclasses.replace(d, gate=gate)

        outcomes: dict[str, str] = {}
        loop = threading.Thread(
            target=lambda: outcomes.update(
                (o.delivery.target, str(o.error or "sent")) for o in adapter.deliver_many(feed(), channel)
            ),
            daemon=True,
        )
        loop.start()
        loop.join(timeout=20)  # a loop waiting for a wake-up that never comes would wait for ever
        assert not loop.is_alive(), "the loop stalled on a gate decided on its own thread"
        adapter.close()
    assert outcomes == {f"r{i}@example.org": "sent" for i in range(COUNT)}


@pytest.mark.parametrize("connections", [1, 4])
def test_the_server_takes_a_message_only_once_its_row_is_durably_sending(twelve: Path, cli, connections: int) -> None:
    """The real `send`: at each final dot the ledger file (read by another connection) already says `sending`."""
    import sqlite3

    now = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
    seen: dict[str, str] = {}

    def state_at_dot(rcpt: str) -> None:
        with sqlite3.connect(twelve / ".distribute" / "state.db") as db:  # sees committed transactions only
            (state,) = db.execute("SELECT state FROM deliveries WHERE target = ?", (rcpt,)).fetchone()
        seen[rcpt] = state

    with smtp_server(pipelining=True) as sink:
        sink.on_accept = state_at_dot
        smtp_channel(twelve, "newsletter", sink.port, f"connections = {connections}")
        with time_machine.travel(now, tick=False):
            result = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--late")
        assert result.exit_code == 0, result.output
    assert seen == {f"r{i}@example.org": "sending" for i in range(COUNT)}
