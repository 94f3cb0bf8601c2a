"""ESP transports over HTTPS: Postmark (batches of up to 500), Mailgun (the exact MIME), SendGrid.

Failures are read by the one HTTP policy (adapters/_transport/http.py, docs/transport.md): 429
and 503 wait as long as the ESP asks (Retry-After; SendGrid's X-RateLimit-Reset), other 4xx are
permanent (a bad address, a suppressed recipient, a refused key) in the ESP's own words, and a
request that may have reached the ESP before failing (read timeout, dropped connection, 500/502/504)
is in doubt: not resent blindly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ConfigError, DeliveryError
from .._transport.http import Client, Reset
from .._transport.pool import hand_out
from ..base import Outcome, Receipt

if TYPE_CHECKING:
    import requests

    from ...workspace.config import Channel
    from ..base import Delivery

# One client per channel and ESP for the run: its sessions (one per thread) keep connections open.
_CLIENTS: dict[tuple[str, str, float, str], Client] = {}
_LOCK = threading.Lock()


def close_sessions() -> None:
    with _LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    for client in clients:
        client.close()


class Esp:
    """One ESP channel: send one message, or a pool that sends many."""

    connections = 1
    name: ClassVar[str] = ""
    table: ClassVar[str] = ""  # the channel file's table of this ESP
    secret_field: ClassVar[str] = ""  # the key of its secret in that table
    resets: ClassVar[tuple[Reset, ...]] = ()  # the ESP's documented rate-limit reset headers

    def __init__(self, channel: Channel):
        self.channel = channel

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST; a 2xx response is returned, anything else raises the policy's DeliveryError."""
        return self.client().request("POST", url, **kwargs)

    def client(self) -> Client:
        settings = getattr(self.channel.settings, self.table)
        secret = getattr(settings, self.secret_field)
        with _LOCK:
            key = (self.channel.name, self.name, settings.timeout, secret.env if secret is not None else "")
            if key not in _CLIENTS:
                _CLIENTS[key] = Client(
                    f"channel {self.channel.name!r}: {self.name}",
                    timeout=settings.timeout,
                    credentials=[secret.env] if secret is not None else [],
                    resets=self.resets,
                )
            return _CLIENTS[key]

    def secret(self, value: Any, what: str) -> str:
        if value is None:
            raise DeliveryError(f"channel {self.channel.name}: [{what}] needs its key by reference", retryable=False)
        try:
            return str(value.reveal(self.channel.name))
        except ConfigError as exc:
            raise DeliveryError(str(exc), retryable=True) from None

    def send_one(self, delivery: Delivery, data: bytes) -> Receipt:
        raise NotImplementedError

    def pool(self, prepare: Callable[[Delivery], bytes]) -> Any:
        self.credentials()  # a missing key fails the whole channel before anything is pulled
        return ParallelPool(self, prepare)

    def credentials(self) -> None:
        raise NotImplementedError

    def check(self) -> str:
        """An account check: the ESP's documented read-only account endpoint; whom it reached, or DeliveryError."""
        raise NotImplementedError

    def _probe(self, url: str, headers: dict[str, str]) -> requests.Response:
        settings = getattr(self.channel.settings, self.table)
        client = Client(f"{self.name}", timeout=settings.timeout)
        try:
            return client.probe("GET", url, headers={"Accept": "application/json", **headers})
        finally:
            client.close()

    def _refused(self, response: requests.Response, url: str, key: str, fix: str) -> DeliveryError:
        from .._transport.http import refusal

        secret = getattr(getattr(self.channel.settings, self.table), self.secret_field)
        where = (
            f"the environment variable {secret.env}" if secret is not None else f"[{self.table}] {self.secret_field}"
        )
        line = refusal(
            response,
            url,
            on401=(f"{self.name} refused the {key}", f"{fix}, and put it in {where}"),
            on403=(f"the {key} may not do this", f"{fix}, and put it in {where}"),
        )
        return DeliveryError(line, retryable=False)


class ParallelPool:
    """`connections` threads, each sending one message per request over a reused HTTP connection."""

    def __init__(self, esp: Esp, prepare: Callable[[Delivery], bytes]):
        self.esp, self.prepare = esp, prepare

    def deliver_many(self, deliveries: Iterable[Delivery]) -> Iterator[Outcome]:
        work: queue.Queue[Delivery | None] = queue.Queue()
        done: queue.Queue[Outcome] = queue.Queue()

        def run() -> None:
            while (delivery := work.get()) is not None:
                try:
                    done.put(Outcome(delivery, receipt=self.esp.send_one(delivery, self.prepare(delivery))))
                except DeliveryError as exc:
                    done.put(Outcome(delivery, error=exc))
                except Exception as exc:  # a bug must not lose a delivery: it may have been sent
                    done.put(
                        Outcome(
                            delivery,
                            error=DeliveryError(f"{exc.__class__.__name__}: {exc}", retryable=True, in_doubt=True),
                        )
                    )

        threads = [threading.Thread(target=run, daemon=True) for _ in range(self.esp.connections)]
        for thread in threads:
            thread.start()
        try:
            yield from hand_out(deliveries, work, done, lambda: len(threads))
        finally:
            for _ in threads:
                work.put(None)
            for thread in threads:
                thread.join()


class Postmark(Esp):
    name, table, secret_field = "Postmark", "postmark", "token"  # 429 without a reset header: Retry-After or backoff

    def credentials(self) -> None:
        self.token = self.secret(self.channel.settings.postmark.token, "postmark")

    def check(self) -> str:
        # postmarkapp.com/developer/api/server-api#get-server (the server the token belongs to) and
        # postmarkapp.com/developer/api/message-streams-api#get-a-message-stream (the stream exists).
        self.credentials()
        s = self.channel.settings.postmark
        fix = "copy the Server API token from the server's API Tokens tab (not an Account token)"
        url = s.base_url.rstrip("/") + "/server"
        response = self._probe(url, {"X-Postmark-Server-Token": self.token})
        if not response.ok:
            raise self._refused(response, url, "server token", fix)
        name = str(response.json().get("Name", ""))
        url = s.base_url.rstrip("/") + f"/message-streams/{s.message_stream}"
        stream = self._probe(url, {"X-Postmark-Server-Token": self.token})
        if not stream.ok:
            from .._transport.http import said

            raise DeliveryError(
                f'Postmark server "{name}" has no message stream "{s.message_stream}" (HTTP {stream.status_code}: '
                f'{said(stream)}); set [postmark] message_stream to one of its streams ("broadcast" for newsletters)',
                retryable=False,
            )
        kind = str(stream.json().get("MessageStreamType", "")).lower()
        return f'Postmark server "{name}", message stream "{s.message_stream}"' + (f" ({kind})" if kind else "")

    def _post(self, items: list[dict[str, Any]]) -> list[Any]:
        s = self.channel.settings.postmark
        response = self.post(
            s.base_url.rstrip("/") + "/email/batch",
            data=json.dumps(items, ensure_ascii=False).encode(),
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-Postmark-Server-Token": self.token,
            },
        )
        try:
            answers = response.json()
        except ValueError:
            answers = None
        if not isinstance(answers, list) or len(answers) != len(items):
            raise DeliveryError("Postmark: the batch answer does not list every message", retryable=True, in_doubt=True)
        return answers

    def send_one(self, delivery: Delivery, data: bytes) -> Receipt:
        self.credentials()
        return _postmark_result(self._post([self._item(data)])[0])

    def _item(self, data: bytes) -> dict[str, Any]:
        from .esp_requests import postmark_message

        return postmark_message(data, self.channel.settings.postmark.message_stream)

    def pool(self, prepare: Callable[[Delivery], bytes]) -> Any:
        self.credentials()
        return self

    def deliver_many(self, deliveries: Iterable[Delivery]) -> Iterator[Outcome]:
        size, batch = self.channel.settings.postmark.batch, []
        for delivery in deliveries:
            batch.append(delivery)
            if len(batch) == size:
                yield from self._batch(batch)
                batch = []
        if batch:
            yield from self._batch(batch)

    def _batch(self, batch: list[Delivery]) -> Iterator[Outcome]:
        try:
            # JSON APIs build and DKIM-sign their own MIME: the unsigned message is what they read.
            answers = self._post([self._item(d.files[0].data) for d in batch])
        except DeliveryError as exc:
            for delivery in batch:
                yield Outcome(delivery, error=exc)
            return
        for delivery, answer in zip(batch, answers, strict=True):
            try:
                yield Outcome(delivery, receipt=_postmark_result(answer))
            except DeliveryError as exc:
                yield Outcome(delivery, error=exc)


def _postmark_result(answer: Any) -> Receipt:
    code = answer.get("ErrorCode", -1) if isinstance(answer, dict) else -1
    if code == 0:
        return Receipt(remote_id=str(answer.get("MessageID", "")), detail=str(answer.get("Message", "OK")))
    message = answer.get("Message", "") if isinstance(answer, dict) else str(answer)
    # 100 maintenance and 429 rate limit pass; 406 inactive (bounced, unsubscribed) and 300 invalid do not.
    raise DeliveryError(f"Postmark refused the message: {code} {message}"[:300], retryable=code in (100, 429))


class Mailgun(Esp):
    name, table, secret_field = "Mailgun", "mailgun", "api_key"  # "retry as defined in the response": Retry-After

    def __init__(self, channel: Channel):
        super().__init__(channel)
        self.connections = channel.settings.mailgun.connections

    def credentials(self) -> None:
        self.key = self.secret(self.channel.settings.mailgun.api_key, "mailgun")

    def check(self) -> str:
        # documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Domains/ (GET /v4/domains/{name}):
        # the sending domain, its state "active", "unverified" or "disabled".
        self.credentials()
        s = self.channel.settings.mailgun
        url = f"{s.base_url.rstrip('/')}/v4/domains/{s.domain}"
        auth = base64.b64encode(f"api:{self.key}".encode()).decode("ascii")
        response = self._probe(url, {"Authorization": f"Basic {auth}"})
        if response.status_code == 404:
            raise DeliveryError(
                f"Mailgun has no domain {s.domain} in this account (HTTP 404 from {s.base_url.rstrip('/')}): check "
                "[mailgun] domain, and base_url (https://api.eu.mailgun.net for a domain in the EU region)",
                retryable=False,
            )
        if not response.ok:
            raise self._refused(response, url, "API key", "create a sending or account API key (API Security)")
        domain = response.json().get("domain", {})
        state = str(domain.get("state", ""))
        if state != "active":
            reason = (
                (domain.get("disabled") or {}).get("reason", "") if isinstance(domain.get("disabled"), dict) else ""
            )
            raise DeliveryError(
                f"Mailgun domain {s.domain} is {state or 'not active'}{f' ({reason})' if reason else ''}: "
                "publish its DNS records and verify it (Sending > Domains), or ask Mailgun support",
                retryable=False,
            )
        return f"Mailgun domain {s.domain} (active)"

    def send_one(self, delivery: Delivery, data: bytes) -> Receipt:
        from .esp_requests import multipart_form

        self.credentials()
        s = self.channel.settings.mailgun
        boundary = hashlib.sha256(delivery.key.encode()).hexdigest()[:32]
        body, kind = multipart_form(
            [
                ("to", "", str(delivery.meta["envelope_to"]).encode(), ""),
                ("message", "message.eml", data, "message/rfc822"),
            ],
            boundary,
        )
        auth = base64.b64encode(f"api:{self.key}".encode()).decode("ascii")
        response = self.post(
            f"{s.base_url.rstrip('/')}/v3/{s.domain}/messages.mime",
            data=body,
            headers={"Content-Type": kind, "Authorization": f"Basic {auth}", "Accept": "application/json"},
        )
        answer = response.json() if response.content else {}
        return Receipt(remote_id=str(answer.get("id", "")), detail=str(answer.get("message", "")))


class SendGrid(Esp):
    name, table, secret_field = "SendGrid", "sendgrid", "api_key"
    # twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits: Unix seconds.
    resets = (Reset("X-RateLimit-Reset", "epoch", "X-RateLimit-Remaining"),)

    def __init__(self, channel: Channel):
        super().__init__(channel)
        self.connections = channel.settings.sendgrid.connections

    def credentials(self) -> None:
        self.key = self.secret(self.channel.settings.sendgrid.api_key, "sendgrid")

    def check(self) -> str:
        # twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access:
        # GET /v3/scopes lists the scopes of the key that asks; sending needs "mail.send".
        self.credentials()
        s = self.channel.settings.sendgrid
        url = s.base_url.rstrip("/") + "/v3/scopes"
        fix = "create an API key with Mail Send access (Settings > API Keys)"
        response = self._probe(url, {"Authorization": f"Bearer {self.key}"})
        if not response.ok:
            raise self._refused(response, url, "API key", fix)
        scopes = response.json().get("scopes", [])
        if "mail.send" not in scopes:
            env = f"the environment variable {s.api_key.env}" if s.api_key is not None else "[sendgrid] api_key"
            raise DeliveryError(
                f"the SendGrid API key has no Mail Send permission (mail.send is not among its {len(scopes)} scopes); "
                f"{fix}, and put it in {env}",
                retryable=False,
            )
        return f"SendGrid API key with Mail Send ({len(scopes)} scopes)"

    def send_one(self, delivery: Delivery, data: bytes) -> Receipt:
        from .esp_requests import sendgrid_body

        self.credentials()
        s = self.channel.settings.sendgrid
        response = self.post(
            s.base_url.rstrip("/") + "/v3/mail/send",
            data=json.dumps(sendgrid_body(delivery.files[0].data), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
        )
        return Receipt(remote_id=response.headers.get("X-Message-Id", ""), detail=f"HTTP {response.status_code}")


def esp_for(channel: Channel) -> Esp:
    """The ESP transport of a channel."""
    kinds: dict[str, type[Esp]] = {"postmark": Postmark, "mailgun": Mailgun, "sendgrid": SendGrid}
    return kinds[channel.settings.transport](channel)
