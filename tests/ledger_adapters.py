"""Adapters for the ledger tests, doing real I/O to loopback servers (SMTP and HTTP).

They are installed as a third-party plugin (entry points in a dist-info folder on the path),
so `distribute` subprocesses find them exactly as they would find any installed adapter.
`loopmail` sends one message per recipient over one reused SMTP connection and is not
idempotent; `looppost` posts a numbered thread to a Mastodon-shaped API with an
Idempotency-Key, so a retry after a crash cannot post twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import smtplib
from collections.abc import Iterable, Iterator
from pathlib import Path

from distribute.adapters.base import Adapter, Delivery, File, Outcome, Receipt, http_request_file
from distribute.errors import DeliveryError
from distribute.workspace.schema import Secret, field


@dataclasses.dataclass(frozen=True)
class MailSettings:
    host: str = field("127.0.0.1", doc="SMTP host")
    port: int = field(25, doc="SMTP port")
    count: int = field(3, doc="recipients r0@example.org ... when no list is given")
    list: Path | None = field(None, doc="a file with one address per line")
    sender: str = field("press@example.org", doc="envelope sender")


class LoopMailAdapter(Adapter):
    name = "loopmail"
    Settings = MailSettings
    public = True
    idempotent = False

    def _recipients(self, settings: MailSettings) -> Iterator[str]:
        if settings.list is not None:
            with open(settings.list, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield line.strip()
        else:
            for i in range(settings.count):
                yield f"r{i}@example.org"

    def render(self, release, channel) -> Iterator[Delivery]:
        s = channel.settings
        for to in self._recipients(s):
            msg_id = f"<{hashlib.sha256(f'{release.id}/{channel.name}/{to}'.encode()).hexdigest()[:24]}@example.org>"
            data = (
                f"From: {s.sender}\r\nTo: {to}\r\nSubject: {release.title}\r\nMessage-ID: {msg_id}\r\n\r\n"
                f"{release.body}\r\n"
            ).encode()
            yield Delivery(
                release.id,
                channel.name,
                self.name,
                to,
                "email",
                (File(f"{to}.eml", data),),
                meta={"to": to, "message_id": msg_id},
                label=f"to {to}",
            )

    def deliver_many(self, deliveries: Iterable[Delivery], channel) -> Iterator[Outcome]:
        s = channel.settings
        smtp: smtplib.SMTP | None = None
        try:
            for d in deliveries:
                try:
                    if smtp is None:
                        smtp = smtplib.SMTP(s.host, s.port, timeout=10)
                    smtp.sendmail(s.sender, [d.meta["to"]], d.files[0].data)
                except smtplib.SMTPRecipientsRefused as exc:
                    code = next(iter(exc.recipients.values()))[0]
                    yield Outcome(d, error=DeliveryError(f"refused: {code}", retryable=400 <= code < 500))
                except smtplib.SMTPResponseException as exc:
                    yield Outcome(d, error=DeliveryError(f"SMTP {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500))
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    smtp = None
                    yield Outcome(d, error=DeliveryError(f"connection lost: {exc}", retryable=True, in_doubt=True))
                else:
                    yield Outcome(d, receipt=Receipt(remote_id=d.meta["message_id"]))
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass

    def deliver(self, delivery: Delivery, channel) -> Receipt:
        (outcome,) = list(self.deliver_many([delivery], channel))
        if outcome.error:
            raise outcome.error
        assert outcome.receipt is not None
        return outcome.receipt


@dataclasses.dataclass(frozen=True)
class PostSettings:
    url: str = field("http://127.0.0.1:9", doc="API base URL")
    parts: int = field(3, doc="posts in the thread")
    token: Secret | None = field(None, doc="access token")
    explode: int = field(0, doc="raise a RuntimeError (an adapter bug) on this part instead of posting")


class LoopPostAdapter(Adapter):
    name = "looppost"
    Settings = PostSettings
    public = True
    idempotent = True

    def render(self, release, channel) -> Iterator[Delivery]:
        n = channel.settings.parts
        previous: str | None = None
        for i in range(1, n + 1):
            body = {"status": f"{release.title} ({i}/{n})", "visibility": "public"}
            request = http_request_file(
                f"post-{i}.json",
                "POST",
                f"{channel.settings.url}/api/v1/statuses",
                {"Authorization": "Bearer ***"},
                body,
            )
            d = Delivery(
                release.id,
                channel.name,
                self.name,
                "thread",
                str(i),
                (request,),
                meta={"body": body},
                label=f"post {i}/{n}",
                after=previous,
            )
            previous = d.key
            yield d

    def deliver(self, delivery: Delivery, channel) -> Receipt:
        s = channel.settings
        if s.explode and delivery.part == str(s.explode):
            raise RuntimeError(f"adapter bug on part {delivery.part}")
        body = dict(delivery.meta["body"])
        if delivery.after:
            parent = self.receipts.get(delivery.after)
            if parent is None:
                raise DeliveryError(f"no receipt for {delivery.after}", retryable=False)
            body["in_reply_to_id"] = parent.remote_id
        host, _, port = s.url.removeprefix("http://").partition(":")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": hashlib.sha256(delivery.key.encode()).hexdigest(),
        }
        if s.token is not None:
            headers["Authorization"] = f"Bearer {s.token.reveal(channel.name)}"
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("POST", "/api/v1/statuses", json.dumps(body), headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            raise DeliveryError(f"connection lost: {exc}", retryable=True, in_doubt=True) from exc
        finally:
            conn.close()
        if response.status >= 400:
            retry_after = response.getheader("Retry-After")
            raise DeliveryError(
                f"HTTP {response.status}: {data.decode(errors='replace')[:200]}",
                retryable=response.status == 429 or response.status >= 500,
                retry_after=float(retry_after) if retry_after else None,
            )
        status = json.loads(data)
        return Receipt(remote_id=status["id"], url=status["url"])
