"""The keys of an email channel file: one dataclass per table is the schema, the checks and the docs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...workspace.schema import Secret, field

Transport = Literal["maildir", "smtp", "postmark", "mailgun", "sendgrid"]

# "Name <local@domain>" or a bare address; the full check (email-validator) runs at render.
_ADDRESS = re.compile(r"^(?:[^<>]*<)?\s*[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+\s*>?$")
_LIST_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+$")


@dataclass(frozen=True)
class SmtpSettings:
    """[smtp]: the SMTP server (submission) the messages are handed to."""

    host: str = field("localhost", doc="SMTP server host name")
    port: int = field(587, doc="SMTP port (587 STARTTLS submission, 465 SSL, 25 plain relay)")
    security: Literal["starttls", "ssl", "none"] = field("starttls", doc='"starttls", "ssl" or "none" (loopback only)')
    username: str = field("", doc="SMTP login (empty: no login)")
    password: Secret | None = field(None, doc='SMTP password, by reference: { env = "SMTP_PASSWORD" }')
    connections: int = field(4, doc="parallel connections, each reused for many messages")
    rate: float = field(0.0, doc="ceiling in messages per second across all connections (0: none)")
    timeout: float = field(30.0, doc="seconds to wait for the server before giving up on a message")
    helo: str = field("", doc="name given in EHLO (default: the domain of the From address)")

    def __post_init__(self) -> None:
        if not 1 <= self.connections <= 64:
            raise ValueError("[smtp] connections must be between 1 and 64")
        if self.rate < 0 or self.timeout <= 0:
            raise ValueError("[smtp] rate must be 0 (no ceiling) or positive, and timeout positive")


@dataclass(frozen=True)
class PostmarkSettings:
    """[postmark]: Postmark's batch API (POST /email/batch, up to 500 messages a request)."""

    token: Secret | None = field(None, doc='server API token, by reference: { env = "POSTMARK_TOKEN" }')
    message_stream: str = field("broadcast", doc='message stream ("broadcast" for newsletters, "outbound" otherwise)')
    batch: int = field(500, doc="messages per request (Postmark accepts at most 500)")
    base_url: str = field("https://api.postmarkapp.com", doc="API root (change only for a test server)")
    timeout: float = field(60.0, doc="seconds to wait for an answer")

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= 500:
            raise ValueError("[postmark] batch must be between 1 and 500")


@dataclass(frozen=True)
class MailgunSettings:
    """[mailgun]: Mailgun's MIME API (POST /v3/<domain>/messages.mime, the exact message)."""

    domain: str = field("", doc="the sending domain configured at Mailgun")
    api_key: Secret | None = field(None, doc='API key, by reference: { env = "MAILGUN_API_KEY" }')
    base_url: str = field("https://api.mailgun.net", doc="API root (https://api.eu.mailgun.net for the EU region)")
    connections: int = field(4, doc="parallel HTTP connections")
    timeout: float = field(60.0, doc="seconds to wait for an answer")


@dataclass(frozen=True)
class SendGridSettings:
    """[sendgrid]: SendGrid's v3 API (POST /v3/mail/send)."""

    api_key: Secret | None = field(None, doc='API key, by reference: { env = "SENDGRID_API_KEY" }')
    base_url: str = field("https://api.sendgrid.com", doc="API root (change only for a test server)")
    connections: int = field(4, doc="parallel HTTP connections")
    timeout: float = field(60.0, doc="seconds to wait for an answer")


@dataclass(frozen=True)
class DkimSettings:
    """[dkim]: sign every message with DKIM (dkimpy) when a selector and key are given."""

    selector: str = field("", doc="DNS selector (the key is published at <selector>._domainkey.<domain>)")
    domain: str = field("", doc="signing domain (default: the domain of the From address)")
    private_key: Path | None = field(
        None, doc="private key file: PEM RSA, or Ed25519 as dkimpy takes it (base64 of the raw 32 bytes)"
    )
    headers: list[str] = field(
        [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Reply-To",
            "List-Id",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
            "Content-Type",
        ],
        doc="headers covered by the signature (RFC 8058 wants both List-Unsubscribe headers)",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.selector and self.private_key)

    def __post_init__(self) -> None:
        if bool(self.selector) != bool(self.private_key):
            raise ValueError("[dkim] needs both selector and private_key (or neither)")
        if self.selector and "from" not in {h.lower() for h in self.headers}:
            raise ValueError("[dkim] headers must include From (RFC 6376)")


@dataclass(frozen=True)
class EmailSettings:
    """Keys of an email channel file (a newsletter or a press list)."""

    sender: str = field("", key="from", doc='From, "Name <address>" (default: [organization] sender)')
    recipients: Path | None = field(None, doc="CSV file of recipients: an email column, optional name and more")
    transport: Transport = field(
        "maildir", doc='how messages leave: "maildir", "smtp", "postmark", "mailgun", "sendgrid"'
    )
    maildir: Path | None = field(None, doc="Maildir folder for transport maildir (default: maildir/<channel>)")
    subject: str = field(
        "{{ release.title }}", doc="subject template (Jinja2); a release's [channel.NAME] subject wins"
    )
    reply_to: str = field("", doc='Reply-To: an address, or "contact" for the release\'s first contact with an email')
    envelope_from: str = field("", doc="bounce address (SMTP MAIL FROM; default: the From address)")
    list_id: str = field("", doc="List-Id label, e.g. newsletter.example.org (default: <channel>.<From domain>)")
    list_name: str = field(
        "", doc='List-Id description (default: organisation name and channel, e.g. "Example Org press list")'
    )
    unsubscribe_url: str = field(
        "",
        doc="one-click unsubscribe URL (https) with {email}, {token} and {list} placeholders "
        "(default: [organization] unsubscribe_url; with an unsubscribe_key, <website>/unsubscribe?...)",
    )
    unsubscribe_key: Secret | None = field(None, doc='HMAC key of unsubscribe tokens, by reference: { env = "NAME" }')
    unsubscribe_mailto: str = field(
        "",
        doc="address for mailto: unsubscribe requests, also in List-Unsubscribe "
        "(default: [organization] unsubscribe_mailto)",
    )
    suppression: Path | None = field(
        None, doc="file of addresses never to mail (unsubscribed, bounced): CSV or one a line"
    )
    attach_files: bool = field(True, doc="attach the release's files (false: only link to their url)")
    text_width: int = field(
        72, doc="wrap the plain-text body at this many columns (a Hangul or Han character takes two)"
    )
    smtp: SmtpSettings = field(SmtpSettings(), doc="SMTP server (transport smtp)")
    postmark: PostmarkSettings = field(PostmarkSettings(), doc="Postmark API (transport postmark)")
    mailgun: MailgunSettings = field(MailgunSettings(), doc="Mailgun API (transport mailgun)")
    sendgrid: SendGridSettings = field(SendGridSettings(), doc="SendGrid API (transport sendgrid)")
    dkim: DkimSettings = field(DkimSettings(), doc="DKIM signing")

    def __post_init__(self) -> None:
        if self.sender and not _ADDRESS.match(self.sender):
            raise ValueError(f'from = {self.sender!r} is not "Name <address>" or an address')
        if self.reply_to and self.reply_to != "contact" and not _ADDRESS.match(self.reply_to):
            raise ValueError(f'reply_to = {self.reply_to!r} must be an address or "contact"')
        if self.list_id and not _LIST_ID.match(self.list_id):
            raise ValueError(f"list_id = {self.list_id!r} must look like a domain name, e.g. newsletter.example.org")
        if self.unsubscribe_url:
            if not self.unsubscribe_url.startswith("https://") and not self.unsubscribe_url.startswith(
                "http://127.0.0.1"
            ):
                raise ValueError("unsubscribe_url must be an https:// URL (RFC 8058 one-click unsubscribe)")
            if "{token}" not in self.unsubscribe_url or "{email}" not in self.unsubscribe_url:
                raise ValueError(
                    "unsubscribe_url must carry {email} and {token}, e.g. https://x.org/u?e={email}&t={token}"
                )
        if self.unsubscribe_mailto and "@" not in self.unsubscribe_mailto:
            raise ValueError("unsubscribe_mailto must be an address")
        if self.text_width and self.text_width < 40:
            raise ValueError("text_width must be 0 (no wrapping) or at least 40")
        if self.transport == "mailgun" and not self.mailgun.domain:
            raise ValueError('transport "mailgun" needs [mailgun] domain = "mg.example.org"')
        for name, url in (
            ("postmark", self.postmark.base_url),
            ("mailgun", self.mailgun.base_url),
            ("sendgrid", self.sendgrid.base_url),
        ):
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"[{name}] base_url must be an http(s) URL")
