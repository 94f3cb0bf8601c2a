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

The protocol of one transaction is written once (`_exchange`, a generator that says what to write
and when it needs a reply) and driven two ways: blocking, by `SmtpConnection.send` (one message:
`deliver`, the wire desk), and by `SmtpPool`, where the thread iterating `deliver_many` drives all
its connections at once with non-blocking sockets and a selector (no thread per connection, no
queues: a message costs a few system calls, not a handful of thread switches).
"""

from __future__ import annotations

import selectors
import smtplib
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING

from ...errors import DeliveryError
from ..base import Outcome, Receipt

if TYPE_CHECKING:
    from ..base import Delivery, Gate
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

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait before using it (0 when it is now)."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        return slot - now

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.sleep(delay)


_READ = None  # what `_exchange` yields when it needs the server's next reply
_GATE = 1  # what it yields before the final dot of a gated delivery: go on only once the gate has passed
_HOLD_BODY = 32 * 1024  # a gated body up to this size is written with its final dot, after the gate
_Exchange = Generator["bytes | int | None", "tuple[int, str] | None", str]


def _body(data: bytes, gated: bool) -> Generator[bytes | int, None, None]:
    """The message and its final dot, dot-stuffed (RFC 5321 §4.5.2; a message never starts with ".",
    it starts with a header); gated, with `_GATE` before the dot."""
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if gated and len(data) <= _HOLD_BODY:
        # A body of this size goes with the dot, once the gate has passed: one write, not two (each
        # costs the sender as much as the server's whole reply on loopback, measured).
        yield _GATE
        yield stuffed + b".\r\n"
    elif gated:  # a bigger one is on its way while the gate is decided
        yield stuffed
        yield _GATE
        yield b".\r\n"
    else:
        yield stuffed + b".\r\n"


def _exchange(where: str, pipelining: bool, sender: str, recipient: str, data: bytes, gated: bool = False) -> _Exchange:
    """One transaction: yields the bytes to write, or `_READ` to be sent the next reply as (code, text),
    or (`gated`) `_GATE` before the final dot, the one step that commits the message (and before the
    body too, when it is small enough to go with the dot: `_HOLD_BODY`).

    The driver throws `_Dropped` in when the connection goes away (a 421 counts); the exchange
    returns the server's reply to the message, or raises DeliveryError, or lets `_Dropped` out when
    nothing was handed over yet (the driver may then try once more on a fresh connection).
    """
    commands = [f"MAIL FROM:<{sender}>\r\n".encode(), f"RCPT TO:<{recipient}>\r\n".encode(), b"DATA\r\n"]
    replies: list[tuple[int, str]] = []
    if pipelining:
        yield b"".join(commands)
        for _ in commands:
            reply = yield _READ
            assert reply is not None
            replies.append(reply)
    else:
        for command, ok in zip(commands, ((250,), (250, 251), (354,)), strict=True):
            yield command
            reply = yield _READ
            assert reply is not None
            replies.append(reply)
            if reply[0] not in ok:
                break
    (mail, rcpt, *rest) = replies + [(0, "")] * (3 - len(replies))
    answer = rest[0]
    if mail[0] != 250 or rcpt[0] not in (250, 251) or answer[0] != 354:
        try:
            if answer[0] == 354:  # DATA accepted although the envelope was not: end it empty (RFC 2920)
                yield b".\r\n"
                yield _READ
            yield b"RSET\r\n"
            yield _READ
        except _Dropped:
            pass  # the refusal below stands; the driver has dropped the connection, the next message opens a new one
        code, text, step = next(
            (c, t, n)
            for (c, t), n in zip((mail, rcpt, answer), ("MAIL FROM", "RCPT TO", "DATA"), strict=True)
            if c not in (250, 251, 354)
        )
        raise DeliveryError(
            f"{where} answered {code} {text[:200]} to {step} for {recipient}", retryable=400 <= code < 500
        )
    yield from _body(data, gated)
    try:
        reply = yield _READ
    except _Dropped as exc:
        raise DeliveryError(
            f"{where}: no answer after the message was handed over ({exc}); the server may have taken it",
            retryable=True,
            in_doubt=True,
        ) from None
    assert reply is not None
    code, text = reply
    if code != 250:
        raise DeliveryError(
            f"{where} answered {code} {text[:200]} to the message for {recipient}", retryable=400 <= code < 500
        )
    return f"{code} {text}"[:200]


def _lost(where: str, exc: _Dropped) -> DeliveryError:
    return DeliveryError(
        f"{where}: connection lost before the message was handed over ({exc}); it will be retried", retryable=True
    )


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
        """Hand one message over (blocking); returns the server's reply, or raises DeliveryError."""
        for attempt in (1, 2):
            if self.client is None:
                self.open()
            try:
                return self._drive(_exchange(self.where, self.pipelining, sender, recipient, data))
            except _Dropped as exc:
                if attempt == 2:
                    raise _lost(self.where, exc) from None
        raise AssertionError("unreachable")

    def _drive(self, exchange: _Exchange) -> str:
        reply: tuple[int, str] | None = None
        dropped: _Dropped | None = None
        while True:
            try:
                want = exchange.send(reply) if dropped is None else exchange.throw(dropped)
            except StopIteration as done:
                return str(done.value)
            reply, dropped = None, None
            client = self.client
            if client is None or client.sock is None:
                dropped = _Dropped("connection closed")
            elif want is _READ:
                try:
                    code, text = client.getreply()
                except smtplib.SMTPServerDisconnected as exc:
                    dropped = _Dropped(str(exc))
                else:
                    reply = (code, _text(text))
                    if code == 421:  # the server is closing this session: as good as a drop
                        dropped = _Dropped(f"421 {reply[1]}")
            else:
                assert isinstance(want, bytes)  # never _GATE: a blocking send has no gate
                try:
                    client.sock.sendall(want)
                except OSError as exc:
                    dropped = _Dropped(f"{exc.__class__.__name__}: {exc}")
            if dropped is not None:
                self.abandon()


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


_MAX_LINE = 8192  # smtplib's limit on a reply line
_TLS_WAIT = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _parse_reply(buffer: bytearray) -> tuple[int, str] | None:
    """Take one whole (possibly multi-line) reply off the front of `buffer`; None while it is incomplete.

    Read the way smtplib.getreply reads: the code of the last line, the lines' texts joined by newlines.
    """
    pos, texts = 0, []
    while True:
        end = buffer.find(b"\n", pos)
        if end < 0:
            if len(buffer) - pos > _MAX_LINE:
                raise _Dropped("the server sent a reply line too long")
            return None
        line = bytes(buffer[pos : end + 1])
        pos = end + 1
        texts.append(line[4:].strip(b" \t\r\n"))
        if line[3:4] != b"-":
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
            del buffer[:pos]
            return code, _text(b"\n".join(texts))


class _Session:
    """One connection of a pool: a SmtpConnection opened blocking, then driven without blocking.

    It holds at most one delivery: its exchange (`_exchange`) runs as the socket allows, fed by the
    pool's selector; what it wants to write waits in `out`, what the server said in `received`.
    """

    def __init__(self, pool: SmtpPool):
        self.pool = pool
        self.connection = SmtpConnection(pool.s, pool.password, pool.helo)
        self.sock: socket.socket | None = None
        self.mask = 0
        self.retired = False
        self.delivery: Delivery | None = None
        self.data = b""
        self.exchange: _Exchange | None = None
        self.attempt = 0
        self.out: bytes | memoryview = b""
        self.received = bytearray()
        self.reading = False  # the exchange waits for a reply
        self.gating = False  # the exchange waits for its delivery's gate (the ledger's mark)
        self.deadline = 0.0  # when a server that said nothing counts as gone
        self.start_at = 0.0  # the rate ceiling's slot, when the exchange waits for it

    # -- the connection -------------------------------------------------------------------
    def open(self) -> None:
        """Connect, EHLO, STARTTLS, AUTH as SmtpConnection does (blocking), then hand the socket to the selector."""
        self.connection.open()
        client = self.connection.client
        assert client is not None and client.sock is not None
        self.sock = client.sock
        self.sock.setblocking(False)
        try:
            # Each write is a whole command group or the end of a message: send it now. With Nagle on, the final
            # dot written after the body (a gated delivery) waited for the server's delayed ACK (40 ms).
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.mask = selectors.EVENT_READ
        self.pool.selector.register(self.sock, self.mask, self)

    def drop(self) -> None:
        """Close at once (no QUIT): the server went away, stalled, or is in the middle of a message."""
        self._forget()
        self.connection.abandon()

    def close(self) -> None:
        """QUIT politely when idle; drop when a message is half-way."""
        if self.sock is None:
            return
        if self.delivery is not None or self.out or self.received:
            self.drop()
            return
        sock = self.sock
        self._forget()
        try:
            sock.settimeout(self.pool.s.timeout)  # QUIT through smtplib, which reads blocking
        except OSError:
            pass
        self.connection.close()

    def _forget(self) -> None:
        if self.sock is not None:
            try:
                self.pool.selector.unregister(self.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.sock, self.mask, self.out, self.reading = None, 0, b"", False
        self.received.clear()

    # -- one delivery -----------------------------------------------------------------------
    def take(self, delivery: Delivery, data: bytes) -> None:
        """Start on a delivery: now, or at the rate ceiling's next slot."""
        self.delivery, self.data, self.attempt = delivery, data, 0
        delay = self.pool.rate.reserve() if self.pool.rate is not None else 0.0
        if delay > 0:
            self.start_at = time.monotonic() + delay
        else:
            self.begin()

    def begin(self) -> None:
        self.start_at, self.gating = 0.0, False
        self.attempt += 1
        if self.sock is None:
            try:
                self.open()
            except DeliveryError as exc:
                self.finish(error=exc)
                return
        assert self.delivery is not None
        meta = self.delivery.meta
        self.exchange = _exchange(
            self.connection.where,
            self.connection.pipelining,
            str(meta["envelope_from"]),
            str(meta["envelope_to"]),
            self.data,
            gated=self.delivery.gate is not None,
        )
        self.step(None)

    def step(self, reply: tuple[int, str] | None, dropped: _Dropped | None = None) -> None:
        """Run the exchange as far as it goes without waiting for the server (or the gate)."""
        exchange = self.exchange
        assert exchange is not None and self.delivery is not None
        try:
            while True:
                want = exchange.send(reply) if dropped is None else exchange.throw(dropped)
                reply, dropped = None, None
                if self.sock is None:
                    dropped = _Dropped("connection closed")
                elif want is _GATE:
                    if not self._at_gate():
                        return
                elif isinstance(want, bytes):
                    self.out = bytes(self.out) + want if self.out else want
                else:
                    got = self._reply_now()
                    if got is None:
                        self.reading = True
                        self.deadline = time.monotonic() + self.pool.s.timeout
                        self.flush()
                        return
                    if isinstance(got, _Dropped):
                        dropped = got
                    else:
                        reply = got
        except StopIteration as done:
            self.finish(receipt=Receipt(remote_id=str(self.delivery.meta["message_id"]), detail=str(done.value)))
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, _Dropped):
            # Nothing was handed over: once more on a fresh connection, then left for a later retry.
            self.drop()
            if self.attempt < 2:
                self.begin()
            else:
                self.finish(error=_lost(self.connection.where, exc))
        elif isinstance(exc, DeliveryError):
            self.finish(error=exc)
        else:  # a bug must not lose a delivery: it may have been handed over
            self.drop()
            self.finish(error=DeliveryError(f"{exc.__class__.__name__}: {exc}", retryable=True, in_doubt=True))

    def _reply_now(self) -> tuple[int, str] | _Dropped | None:
        """The next reply if it has arrived (a 421 or a garbled reply is a drop); None: wait for it."""
        try:
            got = _parse_reply(self.received)
        except _Dropped as exc:
            self.drop()
            return exc
        if got is not None and got[0] == 421:  # the server is closing this session: as good as a drop
            self.drop()
            return _Dropped(f"421 {got[1]}")
        return got

    def _at_gate(self) -> bool:
        """Whether the final dot may go now; otherwise the session waits for the gate, or dropped the delivery."""
        assert self.delivery is not None and self.delivery.gate is not None
        gate = self.delivery.gate
        if not gate.done():
            self.gating = True  # the body goes now, the dot once the mark is durable
            self.flush()
            gate.notify(self.pool.wake)
            return False
        return self._passed(gate)

    def _passed(self, gate: Gate) -> bool:
        try:
            passed = gate.passed()
        except Exception:  # the mark failed: the dispatcher raises it; this message must not be committed
            passed = False
        if not passed:
            # Taken over by another sender (or never marked): drop the session before the dot, nothing is delivered.
            assert self.exchange is not None
            self.exchange.close()
            self.drop()
            self.finish(
                error=DeliveryError("not sent: the ledger gave this delivery to another sender", retryable=True)
            )
        return passed

    def ungate(self) -> None:
        """The gate this session waits on is decided: commit the message, or drop it."""
        self.gating = False
        if self.sock is None:  # dropped while waiting: nothing was handed over
            self.step(None, _Dropped("connection closed"))
        else:
            self.step(None)

    def finish(self, *, receipt: Receipt | None = None, error: DeliveryError | None = None) -> None:
        delivery = self.delivery
        assert delivery is not None
        self.delivery, self.exchange, self.data, self.reading, self.gating = None, None, b"", False, False
        self.pool.finished(self, Outcome(delivery, receipt=receipt, error=error))

    def lose(self, reason: str) -> None:
        """The connection went away or stalled: the exchange decides what that means for its message."""
        self.drop()
        self.gating = False
        if self.exchange is not None:
            self.step(None, _Dropped(reason))

    # -- the socket ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what the exchange asked for, as far as the socket takes it now."""
        sock = self.sock
        while self.out and sock is not None:
            try:
                sent = sock.send(self.out)
            except (BlockingIOError, *_TLS_WAIT):
                break
            except OSError as exc:
                self.lose(f"{exc.__class__.__name__}: {exc}")
                return
            self.out = memoryview(self.out)[sent:] if sent < len(self.out) else b""
            if sent == 0:
                break
        if self.sock is not None:
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0)
            if mask != self.mask:
                self.mask = mask
                self.pool.selector.modify(self.sock, mask, self)

    def ready(self, events: int) -> None:
        """The selector says the socket can be read or written."""
        if events & selectors.EVENT_WRITE:
            self.flush()
            self.deadline = time.monotonic() + self.pool.s.timeout
        if events & selectors.EVENT_READ and self.sock is not None:
            self.read()

    def read(self) -> None:
        sock = self.sock
        assert sock is not None
        got = 0
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
                self.received += chunk
                # A TLS socket may hold decrypted bytes the selector cannot see: take them now.
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    break
        except (BlockingIOError, *_TLS_WAIT):
            pass
        except OSError as exc:
            self.lose(f"{exc.__class__.__name__}: {exc}")
            return
        if not got:
            self.lose("the server closed the connection")
            return
        if self.delivery is None or self.exchange is None:
            self.drop()  # unasked (an idle timeout's 421): this session is over; the next message opens a new one
            return
        self.deadline = time.monotonic() + self.pool.s.timeout
        if self.reading:
            try:
                reply = _parse_reply(self.received)
            except _Dropped as exc:
                self.lose(str(exc))
                return
            if reply is not None:
                self.reading = False
                if reply[0] == 421:  # the server is closing this session: as good as a drop
                    self.lose(f"421 {reply[1]}")
                else:
                    self.step(reply)


class SmtpPool:
    """`connections` SMTP sessions, all driven by the thread that iterates `deliver_many`.

    Each session is opened (connect, EHLO, STARTTLS, AUTH) with smtplib, blocking, when a delivery
    first needs it; its socket is then non-blocking and watched by one selector, so no session
    waits for another: a slow server on one connection holds only that connection's message.
    """

    def __init__(self, settings: SmtpSettings, password: str, helo: str, prepare: Callable[[Delivery], bytes]):
        self.s, self.password, self.helo, self.prepare = settings, password, helo, prepare
        self.rate = RateLimiter(settings.rate) if settings.rate else None
        self.live = settings.connections
        self.down: str | None = None  # set when no connection can be opened: the rest fail at once
        self.down_retryable = True
        self.selector: selectors.BaseSelector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()  # a gate decided in the ledger thread wakes the loop
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._free: list[_Session] = []
        self._outcomes: deque[Outcome] = deque()
        self._loop = 0  # the thread that iterates deliver_many

    def deliver_many(self, deliveries: Iterable[Delivery]) -> Iterator[Outcome]:
        """Deliver in parallel; the next delivery is pulled only when a connection is free for it.

        The ledger marks a delivery as handed over when it is pulled, so pulling early would leave
        more than one delivery per open connection in doubt after a crash. Each outcome is yielded
        as soon as it is known, and all that are known are yielded before the next pull.
        """
        self._loop = threading.get_ident()
        sessions = [_Session(self) for _ in range(self.s.connections)]
        self._free = sessions[::-1]  # a stack: the session that just finished (still open) goes again first
        source = iter(deliveries)
        exhausted = False
        try:
            while True:
                while self._outcomes:
                    yield self._outcomes.popleft()
                if not exhausted and self._free:
                    delivery = next(source, None)
                    if delivery is None:
                        exhausted = True
                    else:
                        self._take(self._free.pop(), delivery)
                    continue
                busy = [s for s in sessions if s.delivery is not None]
                if not busy:
                    if exhausted:
                        return
                    raise AssertionError("no session is free, none is busy")  # the last one never retires
                self._wait(busy)
        except BaseException as exc:
            # Interrupted (a second Ctrl-C), or the consumer stopped: what is half-way is dropped, not finished.
            for session in sessions:
                if isinstance(exc, GeneratorExit):
                    session.close()
                else:
                    session.drop()
            raise
        finally:
            for session in sessions:
                session.close()
            self.selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def wake(self) -> None:
        """Called by a gate when decided: let the loop look at the sessions waiting on gates.

        Decided on the loop's own thread (a mark committed inline), the loop looks before it waits.
        """
        if threading.get_ident() == self._loop:
            return
        try:
            self._wake_w.send(b"!")
        except OSError:  # full (the loop is already due to wake) or closed (the loop is over)
            pass

    def _take(self, session: _Session, delivery: Delivery) -> None:
        if self.down is not None:
            self._free.append(session)
            error = DeliveryError(f"not attempted: {self.down}", retryable=self.down_retryable)
            self._outcomes.append(Outcome(delivery, error=error))
            return
        try:
            data = self.prepare(delivery)
        except DeliveryError as exc:
            self._free.append(session)
            self._outcomes.append(Outcome(delivery, error=exc))
            return
        except Exception as exc:  # a bug must not lose a delivery
            self._free.append(session)
            error = DeliveryError(f"{exc.__class__.__name__}: {exc}", retryable=True, in_doubt=True)
            self._outcomes.append(Outcome(delivery, error=error))
            return
        if session.sock is None:
            try:
                session.open()
            except DeliveryError as exc:
                self._outcomes.append(Outcome(delivery, error=exc))
                if not exc.retryable:
                    self.down, self.down_retryable = str(exc), False
                if exc.retryable and self._lost_one(str(exc)):
                    session.retired = True  # this one is gone; the others carry on
                else:
                    self._free.append(session)
                return
        session.take(delivery, data)

    def finished(self, session: _Session, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        if not session.retired:
            self._free.append(session)

    def _wait(self, busy: list[_Session]) -> None:
        """Wait for the sockets (or a timeout, or a rate slot), then move every session on that can move.

        Before waiting, the gates' owner may use the time (`Gate.meanwhile`); a gate it decided on
        this thread (a mark committed here) wakes nobody, so decided gates are looked at first.
        """
        now = time.monotonic()
        timed = [s.start_at or s.deadline for s in busy if not s.gating]
        timeout = max(0.0, min(timed) - now) if timed else None
        ready = self.selector.select(0)
        if not ready and timeout != 0 and not self._meanwhile(busy) and not self._decided(busy):
            ready = self.selector.select(timeout)
        self._move(ready)
        now = time.monotonic()
        for session in busy:
            if session.delivery is None:
                continue
            if session.gating:
                gate = session.delivery.gate
                if gate is not None and gate.done():
                    session.ungate()
            elif session.start_at:
                if session.start_at <= now:
                    session.begin()
            elif session.deadline <= now and session.sock is not None and (session.reading or session.out):
                session.lose(f"no answer in {self.s.timeout:g} s")

    def _move(self, ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Let the sessions whose sockets are ready read or write; empty the wake-up socket."""
        for key, events in ready:
            session: _Session | None = key.data
            if session is None:
                try:
                    self._wake_r.recv(4096)
                except OSError:
                    pass
            else:
                session.ready(events)

    @staticmethod
    def _decided(busy: list[_Session]) -> bool:
        return any(
            s.gating and s.delivery is not None and s.delivery.gate is not None and s.delivery.gate.done() for s in busy
        )

    def _meanwhile(self, busy: list[_Session]) -> bool:
        """Nothing to do until a socket or a gate moves: the gate's owner may use the time (Gate.meanwhile)."""
        for session in busy:
            gate = session.delivery.gate if session.delivery is not None else None
            if gate is not None:
                return gate.meanwhile()  # one owner for all: the run that handed them
        return False

    def _lost_one(self, reason: str) -> bool:
        """A session could not connect: it retires, unless it is the last, which marks the pool down."""
        if self.live > 1:
            self.live -= 1
            return True
        self.down = reason
        return False
