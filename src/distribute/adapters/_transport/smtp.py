"""SMTP delivery: a few connections in parallel, each reused for many messages, under a rate ceiling.

One recipient per transaction (every message is personal). When the server offers PIPELINING
(RFC 2920) MAIL, RCPT and DATA go in one write, so a message costs two round trips, not four.
Outcomes, per message:
- 2xx after the final dot: sent.
- 4xx to MAIL/RCPT/DATA or to the dot: retry later; 5xx: failed for good. Never in doubt: the
  server said no.
- the connection drops (or stalls past `timeout`) before the dot: nothing was handed over, so
  the message is tried once more on a fresh connection, then left for a later retry.
- the connection drops after the dot, before the reply: the server may have taken it. That
  message is *in doubt* and is never resent blindly (the adapter is not idempotent).
"""

from __future__ import annotations

import queue
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ...errors import DeliveryError
from ..base import Outcome, Receipt
from .pool import hand_out

if TYPE_CHECKING:
    from ..base import Delivery
    from ..email.settings import SmtpSettings

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class _Dropped(Exception):
    """The connection went away (or stalled) before the message was handed over."""


class RateLimiter:
    """A ceiling of `rate` messages per second shared by every connection (clock injectable for tests)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class SmtpConnection:
    """One SMTP session, opened on first use and re-opened after a drop."""

    def __init__(self, settings: SmtpSettings, password: str, helo: str):
        self.s, self.password, self.helo = settings, password, helo
        self.client: smtplib.SMTP | None = None
        self.pipelining = False
        self.where = f"SMTP {settings.host}:{settings.port}"

    def open(self) -> None:
        s = self.s
        if s.security == "none" and s.username and s.host not in _LOOPBACK:
            raise DeliveryError(
                f"{self.where}: refusing to send the password unencrypted to a remote host; "
                'use security = "starttls" or "ssl"',
                retryable=False,
            )
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=self.helo, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, local_hostname=self.helo, timeout=s.timeout)
            try:
                client.ehlo()
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if s.username:
                    client.login(s.username, self.password)
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{self.where} refused the login of {s.username!r} ({exc.smtp_code}); check username and password",
                retryable=True,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{self.where}: {exc}; check security and username", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"{self.where} answered {exc.smtp_code} {_text(exc.smtp_error)} on connecting", retryable=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"{self.where}: cannot connect: {exc.__class__.__name__}: {str(exc)[:200]}", retryable=True
            ) from None
        self.client = client
        self.pipelining = client.has_extn("pipelining")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def abandon(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def send(self, sender: str, recipient: str, data: bytes) -> str:
        """Hand one message over; returns the server's reply, or raises DeliveryError."""
        for attempt in (1, 2):
            if self.client is None:
                self.open()
            try:
                return self._transaction(sender, recipient, data)
            except _Dropped as exc:
                self.abandon()
                if attempt == 2:
                    raise DeliveryError(
                        f"{self.where}: connection lost before the message was handed over ({exc}); it will be retried",
                        retryable=True,
                    ) from None
        raise AssertionError("unreachable")

    def _write(self, data: bytes) -> None:
        assert self.client is not None and self.client.sock is not None
        try:
            self.client.sock.sendall(data)
        except OSError as exc:
            raise _Dropped(f"{exc.__class__.__name__}: {exc}") from None

    def _reply(self) -> tuple[int, str]:
        assert self.client is not None
        try:
            code, text = self.client.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            raise _Dropped(str(exc)) from None
        if code == 421:  # the server is closing this session: as good as a drop
            raise _Dropped(f"421 {_text(text)}")
        return code, _text(text)

    def _transaction(self, sender: str, recipient: str, data: bytes) -> str:
        commands = [f"MAIL FROM:<{sender}>\r\n".encode(), f"RCPT TO:<{recipient}>\r\n".encode(), b"DATA\r\n"]
        replies: list[tuple[int, str]] = []
        if self.pipelining:
            self._write(b"".join(commands))
            replies = [self._reply(), self._reply(), self._reply()]
        else:
            for command, ok in zip(commands, ((250,), (250, 251), (354,)), strict=True):
                self._write(command)
                replies.append(self._reply())
                if replies[-1][0] not in ok:
                    break
        (mail, rcpt, *rest) = replies + [(0, "")] * (3 - len(replies))
        answer = rest[0]
        if mail[0] != 250 or rcpt[0] not in (250, 251) or answer[0] != 354:
            try:
                if answer[0] == 354:  # DATA accepted although the envelope was not: end it empty (RFC 2920)
                    self._write(b".\r\n")
                    self._reply()
                self._write(b"RSET\r\n")
                self._reply()
            except _Dropped:
                self.abandon()  # the refusal below stands; the next message opens a new connection
            code, text, step = next(
                (c, t, n)
                for (c, t), n in zip((mail, rcpt, answer), ("MAIL FROM", "RCPT TO", "DATA"), strict=True)
                if c not in (250, 251, 354)
            )
            raise DeliveryError(
                f"{self.where} answered {code} {text[:200]} to {step} for {recipient}", retryable=400 <= code < 500
            )
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        # Dot-stuffing (RFC 5321 §4.5.2); a message never starts with "." (it starts with a header).
        self._write(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        try:
            code, text = self._reply()
        except _Dropped as exc:
            self.abandon()
            raise DeliveryError(
                f"{self.where}: no answer after the message was handed over ({exc}); the server may have taken it",
                retryable=True,
                in_doubt=True,
            ) from None
        if code != 250:
            raise DeliveryError(
                f"{self.where} answered {code} {text[:200]} to the message for {recipient}", retryable=400 <= code < 500
            )
        return f"{code} {text}"[:200]


def try_login(settings: SmtpSettings, password: str, helo: str) -> str:
    """An account check: connect, EHLO, STARTTLS or SSL as configured, AUTH, then QUIT (no MAIL FROM).

    Returns what was done ("STARTTLS, logged in as press@example.org"); a failure raises the
    DeliveryError a send would meet at the same step.
    """
    connection = SmtpConnection(settings, password, helo)
    connection.open()
    try:
        client = connection.client
        assert client is not None
        size = client.esmtp_features.get("size", "").strip()
    finally:
        connection.close()  # QUIT
    security = {"starttls": "STARTTLS", "ssl": "SSL/TLS"}.get(settings.security, "no encryption")
    login = f"logged in as {settings.username}" if settings.username else "no login"
    limit = f", messages up to {int(size) // 1_000_000} MB" if size.isdigit() and int(size) >= 1_000_000 else ""
    return f"{settings.host}:{settings.port} {security}, {login}{limit}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpPool:
    """`connections` workers, each with its own SmtpConnection, fed one delivery at a time."""

    def __init__(self, settings: SmtpSettings, password: str, helo: str, prepare: Callable[[Delivery], bytes]):
        self.s, self.password, self.helo, self.prepare = settings, password, helo, prepare
        self.rate = RateLimiter(settings.rate) if settings.rate else None
        self._lock = threading.Lock()
        self.live = settings.connections
        self.down: str | None = None  # set when no connection can be opened: the rest fail at once
        self.down_retryable = True

    def deliver_many(self, deliveries: Iterable[Delivery]) -> Iterator[Outcome]:
        """Deliver in parallel; the next delivery is pulled only when a connection is free for it."""
        work: queue.Queue[Delivery | None] = queue.Queue()
        done: queue.Queue[Outcome] = queue.Queue()
        workers = [
            threading.Thread(target=self._work, args=(work, done), daemon=True, name=f"smtp-{i}")
            for i in range(self.s.connections)
        ]
        for worker in workers:
            worker.start()
        aborted = False
        try:
            yield from hand_out(deliveries, work, done, lambda: self.live)
        except BaseException as exc:
            # Interrupted (a second Ctrl-C): leave at once; the daemon threads die with the process.
            aborted = not isinstance(exc, GeneratorExit)
            raise
        finally:
            for _ in workers:
                work.put(None)
            for worker in workers if not aborted else ():
                worker.join(self.s.timeout * 2 + 1)

    def _work(self, work: queue.Queue[Delivery | None], done: queue.Queue[Outcome]) -> None:
        connection = SmtpConnection(self.s, self.password, self.helo)
        retired = False
        try:
            while (delivery := work.get()) is not None:
                if self.down is not None:
                    done.put(
                        Outcome(
                            delivery, error=DeliveryError(f"not attempted: {self.down}", retryable=self.down_retryable)
                        )
                    )
                    continue
                try:
                    if connection.client is None:
                        try:
                            connection.open()
                        except DeliveryError as exc:
                            retired = self._lost_one(str(exc)) if exc.retryable else retired
                            if not exc.retryable:
                                self.down, self.down_retryable = str(exc), False
                            raise
                    if self.rate is not None:
                        self.rate.wait()
                    reply = connection.send(
                        delivery.meta["envelope_from"], delivery.meta["envelope_to"], self.prepare(delivery)
                    )
                    done.put(
                        Outcome(delivery, receipt=Receipt(remote_id=str(delivery.meta["message_id"]), detail=reply))
                    )
                except DeliveryError as exc:
                    done.put(Outcome(delivery, error=exc))
                except Exception as exc:  # a bug must not lose a delivery: it may have been handed over
                    connection.abandon()
                    done.put(
                        Outcome(
                            delivery,
                            error=DeliveryError(f"{exc.__class__.__name__}: {exc}", retryable=True, in_doubt=True),
                        )
                    )
                if retired:
                    return
        finally:
            connection.close()

    def _lost_one(self, reason: str) -> bool:
        """A worker could not connect: it retires, unless it is the last, which marks the pool down."""
        with self._lock:
            if self.live > 1:
                self.live -= 1
                return True
            self.down = reason
            return False
