"""The requests each ESP documents, built from the exact message render() made.

- Postmark, POST /email/batch: a JSON array of up to 500 messages ({From, To, Subject, TextBody,
  HtmlBody, ReplyTo, Headers [{Name, Value}], Attachments [{Name, Content, ContentType, ContentID}],
  MessageStream}); header X-Postmark-Server-Token. Answer: one {ErrorCode, Message, MessageID, To}
  per message, in order (ErrorCode 0 = accepted), with HTTP 200 even when some were refused.
- Mailgun, POST /v3/<domain>/messages.mime: multipart/form-data with `to` and `message` (the
  MIME message as a file); HTTP basic auth, user "api". Answer: {"id", "message"}.
- SendGrid, POST /v3/mail/send: JSON {personalizations [{to [{email, name}]}], from, reply_to,
  subject, content [{type, value}] (text/plain first), headers, attachments}; Authorization:
  Bearer. Answer: 202 with the X-Message-Id header.
JSON APIs get the message's parts decoded; they build and sign their own MIME.
"""

from __future__ import annotations

import base64
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

# Headers the message carries that a JSON API must be told about (it writes From, To, Subject itself).
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    markup = message.get_body(("html",))
    return (text.get_content() if text is not None else "", markup.get_content() if markup is not None else "")


def _files(message: EmailMessage) -> list[dict[str, str]]:
    """Attachments and inline images: name, base64 content, type, Content-ID (without <>) or ""."""
    found = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "text" and part.get_filename() is None:
            continue
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        found.append(
            {
                "name": part.get_filename() or "file",
                "content": base64.b64encode(payload).decode("ascii"),
                "type": part.get_content_type(),
                "cid": str(part.get("Content-ID", "")).strip("<>"),
                "disposition": part.get_content_disposition() or "attachment",
            }
        )
    return found


def _mailbox(value: Any) -> tuple[str, str]:
    address: Address = value.addresses[0]
    return address.display_name, address.addr_spec


def postmark_message(data: bytes, stream: str) -> dict[str, Any]:
    """One message of a Postmark batch."""
    message = parse(data)
    text, markup = _bodies(message)
    item: dict[str, Any] = {"From": str(message["From"]), "To": str(message["To"]), "Subject": str(message["Subject"])}
    if text:
        item["TextBody"] = text
    if markup:
        item["HtmlBody"] = markup
    if message["Reply-To"] is not None:
        item["ReplyTo"] = str(message["Reply-To"])
    item["Headers"] = [
        {"Name": name, "Value": str(message[name])}
        for name in ("Message-ID", *LIST_HEADERS)
        if message[name] is not None
    ]
    files = _files(message)
    if files:
        item["Attachments"] = [
            {
                "Name": f["name"],
                "Content": f["content"],
                "ContentType": f["type"],
                **({"ContentID": "cid:" + f["cid"]} if f["cid"] else {}),
            }
            for f in files
        ]
    item["MessageStream"] = stream
    return item


def sendgrid_body(data: bytes) -> dict[str, Any]:
    """The JSON of one SendGrid /v3/mail/send request."""
    message = parse(data)
    text, markup = _bodies(message)
    name, address = _mailbox(message["To"])
    from_name, from_address = _mailbox(message["From"])
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": address, **({"name": name} if name else {})}]}],
        "from": {"email": from_address, **({"name": from_name} if from_name else {})},
        "subject": str(message["Subject"]),
        "content": [
            c for c in ({"type": "text/plain", "value": text}, {"type": "text/html", "value": markup}) if c["value"]
        ],
    }
    if message["Reply-To"] is not None:
        reply_name, reply_address = _mailbox(message["Reply-To"])
        body["reply_to"] = {"email": reply_address, **({"name": reply_name} if reply_name else {})}
    headers = {name: str(message[name]) for name in LIST_HEADERS if message[name] is not None}
    if headers:
        body["headers"] = headers
    files = _files(message)
    if files:
        body["attachments"] = [
            {
                "content": f["content"],
                "type": f["type"],
                "filename": f["name"],
                "disposition": "inline" if f["cid"] else "attachment",
                **({"content_id": f["cid"]} if f["cid"] else {}),
            }
            for f in files
        ]
    return body


def multipart_form(fields: list[tuple[str, str, bytes, str]], boundary: str) -> tuple[bytes, str]:
    """multipart/form-data (RFC 7578) from (name, filename or "", data, type) fields."""
    out = []
    for name, filename, value, kind in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if kind:
            out.append(f"Content-Type: {kind}\r\n".encode())
        out.append(b"\r\n" + value + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"
