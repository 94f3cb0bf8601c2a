"""Loopback SMTP servers (aiosmtpd) for the email tests: a recording sink that can misbehave on cue.

Faults are chosen per recipient address, so a test can say exactly who is refused, whose
connection is dropped and where the server stalls. A stalled handler waits on an event that the
test's teardown sets; the client gives up after its own (tiny) timeout, never after a sleep.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


@dataclass
class Sink:
    """What the server saw. `rules` maps a recipient to a fault:

    "451" / "550" at RCPT; "data-451" / "data-550" after the message; "drop-rcpt-once" closes the
    connection at that RCPT the first time; "drop-after-data" takes the message, then closes the
    connection without answering; "stall" takes the message and never answers; "hold" takes the
    message and answers 250 only once `hold_for` other messages were accepted (on other connections).
    `per_session`: after that many messages on one connection the server ends it, with `end`:
    "421" (the next MAIL is answered 421 and the connection closed) or "close" (closed right
    after the reply to the last message).
    """

    port: int = 0
    rules: dict[str, str] = field(default_factory=dict)
    pipelining: bool = False
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)  # accepted (250)
    swallowed: list[str] = field(default_factory=list)  # taken but never answered (drop / stall)
    attempts: dict[str, int] = field(default_factory=dict)  # RCPT commands per recipient
    connections: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    mail_from: list[str] = field(default_factory=list)  # every MAIL FROM, accepted or not
    release: threading.Event = field(default_factory=threading.Event)
    hold_for: int = 0
    per_session: int = 0
    end: str = "421"
    held: list[str] = field(default_factory=list)  # "hold" messages, in the order they were answered
    on_accept: Callable[[str], None] | None = None  # called with the recipient at the final dot, before the 250

    def parsed(self) -> dict[str, EmailMessage]:
        """Accepted messages by recipient, parsed back as a mail client would."""
        out = {}
        for _, rcpts, data in self.messages:
            message = BytesParser(policy=policy.default).parsebytes(data)
            assert isinstance(message, EmailMessage)
            out[rcpts[0]] = message
        return out

    def count(self, address: str) -> int:
        """How many times a message for `address` reached the server (accepted or swallowed)."""
        return sum(1 for _, r, _ in self.messages if address in r) + self.swallowed.count(address)


class _Handler:
    def __init__(self, sink: Sink):
        self.sink = sink
        self.dropped: set[str] = set()
        self.waiting: list[tuple[int, asyncio.Future[None]]] = []  # "hold" answers wanting that many accepted

    def _accepted(self) -> None:
        for want, future in self.waiting:
            if len(self.sink.messages) >= want and not future.done():
                future.set_result(None)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.sink.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.sink.mail_from.append(address)
        if self.sink.per_session and self.sink.end == "421" and getattr(session, "taken", 0) >= self.sink.per_session:
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply below is written
            return "421 4.7.0 too many messages in this session, reconnect"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        sink = self.sink
        sink.attempts[address] = sink.attempts.get(address, 0) + 1
        rule = sink.rules.get(address, "")
        if rule in ("451", "550"):
            return "451 4.2.1 mailbox busy, try later" if rule == "451" else "550 5.1.1 no such user here"
        if rule == "drop-rcpt-once" and address not in self.dropped:
            self.dropped.add(address)
            server.transport.close()
            return "250 OK"  # never reaches the client
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        rcpt = envelope.rcpt_tos[0]
        rule = sink.rules.get(rcpt, "")
        if rule in ("data-451", "data-550"):
            return "451 4.3.0 queue full" if rule == "data-451" else "554 5.6.0 message refused"
        if rule == "drop-after-data":
            sink.swallowed.append(rcpt)
            server.transport.abort()
            return "250 OK"
        if rule == "stall":
            sink.swallowed.append(rcpt)
            await asyncio.get_running_loop().run_in_executor(None, sink.release.wait)
            return "451 too late"
        if rule == "hold":
            future = asyncio.get_running_loop().create_future()
            self.waiting.append((sink.hold_for + len(sink.held), future))
            self._accepted()
            await future
            sink.held.append(rcpt)
        if sink.on_accept is not None:
            sink.on_accept(rcpt)
        sink.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        )
        self._accepted()
        session.taken = getattr(session, "taken", 0) + 1
        if sink.per_session and sink.end == "close" and session.taken >= sink.per_session:
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply below is written
        return f"250 2.0.0 queued as Q{len(sink.messages)}"


class _Auth:
    def __init__(self, sink: Sink, password: str):
        self.sink, self.password = sink, password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode()
        secret = auth_data.password.decode()
        self.sink.logins.append((login, secret))
        return AuthResult(success=secret == self.password, handled=False)  # not handled: the server answers 535


def free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    rules: dict[str, str] | None = None,
    *,
    pipelining: bool = False,
    password: str | None = None,
    tls: tuple[Path, Path] | None = None,
    implicit_tls: bool = False,
    hold_for: int = 0,
    per_session: int = 0,
    end: str = "421",
) -> Iterator[Sink]:
    """A real SMTP server on 127.0.0.1. `password`: require AUTH; `tls`: (cert, key) offer STARTTLS,
    or with `implicit_tls` speak TLS from the first byte (port 465 style)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    sink = Sink(
        port=free_port(),
        rules=dict(rules or {}),
        pipelining=pipelining,
        hold_for=hold_for,
        per_session=per_session,
        end=end,
    )
    handler = _Handler(sink)

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            sink.connections += 1
            super().connection_made(transport)

    class CountingController(Controller):
        def factory(self):
            return CountingSMTP(self.handler, **self.SMTP_kwargs)

    kwargs: dict[str, object] = {"decode_data": False, "enable_SMTPUTF8": False}
    if password is not None:
        # PLAIN only: smtplib would otherwise go on to LOGIN after a refusal, which aiosmtpd lets hang.
        kwargs.update(
            authenticator=_Auth(sink, password),
            auth_require_tls=tls is not None,
            auth_required=True,
            auth_exclude_mechanism=["LOGIN"],
        )
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        if not implicit_tls:
            kwargs.update(tls_context=context, require_starttls=True)
    controller = CountingController(
        handler, hostname="127.0.0.1", port=sink.port, ssl_context=context if implicit_tls else None, **kwargs
    )
    controller.start()
    sink.connections = 0  # the controller's own readiness probe is not a client
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()
