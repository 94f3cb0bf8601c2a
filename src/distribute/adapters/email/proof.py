"""Proofs by email: a channel's own message for one of its recipients, marked and addressed to a proof reader.

The proof is the message `render` makes for that recipient (same templates, subject, headers and
parts), with what would otherwise act on the real recipient's behalf taken out:

- the Subject starts with "[PROOF] " and a one-line banner heads the text and the HTML body;
- To is the proof address (Postmark and SendGrid build their envelope from To), the Date is the
  moment the proof leaves, and the Message-ID is the proof's own: a mail client that kept a proof
  under the real Message-ID would hide the real message as its duplicate;
- List-Unsubscribe and List-Unsubscribe-Post are dropped, or the client's Unsubscribe button
  would unsubscribe the real recipient in one click (RFC 8058); the links in the bodies stay where
  they are, so the reader sees them, but carry a token that verifies for nobody.

`plain_message` is the proof of a non-email channel: its plain rendition, mailed through an email
channel's transport. `proof_delivery` wraps either for `EmailAdapter.deliver`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from contextlib import closing
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from ...errors import ConfigError, DistributeError
from ..base import Delivery, File, key_part
from . import headers
from .esp_requests import parse
from .headers import mailbox
from .identity import list_identity
from .prepared import Prepared, _address, _sender
from .preview import _transport_secrets
from .recipients import ListReport, Recipient, check_address, load_suppression, read_recipients, shown_path
from .unsubscribe import PLACEHOLDER

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel, Workspace
    from ..base import RenderContext
    from .adapter import EmailAdapter
    from .settings import EmailSettings

# In place of the unsubscribe token: the same length and alphabet, and it verifies for nobody.
PROOF_TOKEN = "PROOF-NOT-A-REAL-TOKEN"
SUBJECT_MARK = "[PROOF] "
_BANNER_STYLE = (
    "margin:0 0 16px 0;padding:10px 14px;border:2px solid #b45309;background:#fef3c7;color:#1f2937;"
    "font:bold 14px/1.4 Arial,Helvetica,sans-serif;text-align:start"
)
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.I)
_SUBJECT_SLOT = "zqPROOFSUBJECTqz"
_ONE_LINE = policy.SMTP.clone(max_line_length=998)


def transport_needs(channel: Channel) -> list[str]:
    """What the channel's transport lacks to carry a proof (a proof needs no unsubscribe key)."""
    s: EmailSettings = channel.settings
    secrets = _transport_secrets(s)
    needs = [f"the environment variable {x.env} ([{s.transport}])" for x in secrets if x is not None and not x.is_set()]
    if s.transport in ("postmark", "mailgun", "sendgrid") and not any(secrets):
        needs.append(f"[{s.transport}] credentials (the API key or token, by reference)")
    if s.dkim.enabled and s.dkim.private_key is not None and not s.dkim.private_key.is_file():
        needs.append(f"the DKIM private key {s.dkim.private_key} (not found)")
    return needs


def find_recipient(workspace: Workspace, channel: Channel, as_email: str | None) -> Recipient:
    """The recipient a proof shows: the list's first one that is mailed, or the one `as_email` names."""
    s: EmailSettings = channel.settings
    if s.recipients is None:
        raise ConfigError(
            f'channel {channel.name} has no recipient list; add recipients = "lists/{channel.name}.csv"',
            path=channel.path,
        )
    shown = shown_path(s.recipients, workspace.root)
    wanted = None
    if as_email is not None:
        try:
            wanted = check_address(as_email.strip()).lower()
        except ValueError as exc:
            raise DistributeError(
                f"--as {as_email!r} is not an email address ({exc}); give one from the list {shown}"
            ) from None
    suppressed = load_suppression(s.suppression) if s.suppression is not None else None
    try:
        # With --as the whole list is searched, so a suppressed address is named as such, not as missing.
        rows = read_recipients(s.recipients, None if wanted else suppressed, ListReport(), shown)
        with closing(rows):  # type: ignore[type-var]  # a generator has close(); its Iterator type does not say so
            for r in rows:
                if wanted is None:
                    return r
                if r.key == wanted:
                    if suppressed is not None and r.key in suppressed:
                        where = shown_path(s.suppression, workspace.root) if s.suppression else ""
                        raise DistributeError(
                            f"--as {as_email}: {shown}:{r.line} lists it, but {where} suppresses it, so "
                            f"{channel.name} sends it nothing; choose another recipient with --as"
                        )
                    return r
    finally:
        if suppressed is not None:
            suppressed.close()
    if wanted is not None:
        raise DistributeError(
            f"--as {as_email}: not on the list of {channel.name} ({shown}); choose an address from that list, "
            "or leave out --as to see its first recipient"
        )
    raise DistributeError(f"{channel.name}: its list {shown} has nobody to send to, so there is no message to proof")


def channel_message(
    adapter: EmailAdapter, release: Release, channel: Channel, context: RenderContext, recipient: Recipient
) -> bytes:
    """The channel's message for `recipient`, as render makes it, its unsubscribe links without the key."""
    prepared = Prepared(adapter.workspace, release, channel, context.due, adapter.base_template(channel), keyless=True)
    key = "/".join(key_part(p) for p in (release.id, channel.name, recipient.key, "message"))
    data = prepared.message(recipient, key, "proof.eml").data
    return data


def mark(data: bytes, *, to: str, banner: str, message_id: str, date: dt.datetime) -> bytes:
    """The message as a proof to `to`: [PROOF] subject, the banner atop both bodies, no unsubscribe headers."""
    message = parse(data)
    subject = SUBJECT_MARK + str(message["Subject"])
    message.replace_header("Subject", _SUBJECT_SLOT)
    message.replace_header("To", to)
    message.replace_header("Message-ID", message_id)
    message.replace_header("Date", format_datetime(date))
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        del message[name]
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        body = str(part.get_content()).replace("\r\n", "\n").replace(PLACEHOLDER, PROOF_TOKEN)
        if kind == "text/plain":
            body = f"{banner}\n\n{body}"
        else:
            div = f'<div style="{_BANNER_STYLE}">{html.escape(banner, quote=False)}</div>'
            found = _BODY_TAG.search(body)
            body = body[: found.end()] + div + body[found.end() :] if found else div + body
        part.set_content(body, subtype=kind.split("/")[1], charset="utf-8", cte="quoted-printable")
    return _serialize(message, subject)


def _serialize(message: EmailMessage, subject: str) -> bytes:
    """The message with CRLF; the Subject encoded and folded by headers.py, as every other message's."""
    # Lines already in the message keep their folding; new headers go on one line, then the
    # Subject's slot is replaced (the email package would fold a long one right after "Subject:").
    raw = message.as_bytes(policy=_ONE_LINE)
    slot = f"Subject: {_SUBJECT_SLOT}\r\n".encode()
    assert raw.count(slot) == 1
    return raw.replace(slot, headers.unstructured("Subject", subject), 1)


def subject(data: bytes) -> str:
    """A message's Subject as a reader sees it (decoded)."""
    return str(parse(data)["Subject"])


def plain_message(
    workspace: Workspace, via: Channel, *, to: str, subject: str, text: str, message_id: str, date: dt.datetime
) -> bytes:
    """A plain-text proof (of a post, a feed item, wire copy) from the email channel `via`."""
    display, address = _sender(list_identity(workspace, via).sender, via)
    message = EmailMessage(policy=policy.default)
    message["From"] = mailbox(display, address)
    message["To"] = to
    message["Subject"] = _SUBJECT_SLOT
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(text.replace("\r\n", "\n"), charset="utf-8", cte="quoted-printable")
    return _serialize(message, SUBJECT_MARK + subject)


def proof_id(workspace: Workspace, via: Channel, seed: str, to: str, date: dt.datetime) -> str:
    """A Message-ID of the proof's own (never the real message's), in the sender's domain."""
    address = _sender(list_identity(workspace, via).sender, via)[1]
    digest = hashlib.sha256(f"proof\n{seed}\n{to}\n{date.isoformat()}".encode()).hexdigest()[:32]
    return f"<proof.{digest}@{address.rpartition('@')[2]}>"


def proof_delivery(
    workspace: Workspace, via: Channel, release_id: str, shows: str, to: str, data: bytes, date: dt.datetime
) -> Delivery:
    """The proof as a delivery `EmailAdapter.deliver` hands to `via`'s transport (never put in the ledger)."""
    s: EmailSettings = via.settings
    address = _sender(list_identity(workspace, via).sender, via)[1]
    message_id = str(parse(data)["Message-ID"])
    return Delivery(
        release_id,
        via.name,
        "email",
        to,
        f"proof-{shows}",
        files=(File("proof.eml", data),),
        meta={
            "envelope_to": to,
            "envelope_from": _address(s.envelope_from, via, "envelope_from") if s.envelope_from else address,
            "message_id": message_id,
            "unsigned": False,  # its placeholder links are meant: they must not work
            "signed_at": date,
        },
        label=f"proof to {to}",
    )
