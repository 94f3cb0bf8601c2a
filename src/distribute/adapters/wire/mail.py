"""Wire copy by e-mail to a desk: the text copy as the message body, NewsML-G2 and ninjs attached.

The SMTP side is the email adapter's: its `[smtp]` settings schema and its `SmtpConnection`
(reused for every document of a run, reopened after a drop, 4xx/5xx/in-doubt mapped there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import DeliveryError
from ...workspace.schema import field
from ..email.settings import SmtpSettings

if TYPE_CHECKING:
    from email.message import EmailMessage

    from ...workspace.config import Channel, Workspace
    from .._transport.smtp import SmtpConnection
    from ..base import Delivery, File

LABEL = {"txt": "", "newsml": "NewsML-G2", "ninjs": "ninjs"}
_LOOPBACK = ("localhost", "::1", "127.0.0.1")


@dataclass(frozen=True)
class WireEmail:
    """[email]: the wire desk's inbox; [email.smtp] the server that reaches it (as in email channels)."""

    to: str = field("", doc="the wire desk's address")
    sender: str = field("", key="from", doc="From address (default: [organization] sender)")
    smtp: SmtpSettings = field(SmtpSettings(), doc="SMTP server ([email.smtp], the email adapter's keys)")

    def __post_init__(self) -> None:
        s = self.smtp
        if s.security == "none" and s.username and s.host not in _LOOPBACK:
            raise ValueError(
                f'[email.smtp] security = "none" would send the password to {s.host} unencrypted; '
                'use "starttls" or "ssl"'
            )


def sender_of(workspace: Workspace, settings: WireEmail) -> str:
    sender = settings.sender or workspace.config.organization.sender
    if not sender:
        raise DeliveryError(
            "wire e-mail needs a sender: set [email] from in the channel or [organization] sender in config.toml",
            retryable=False,
        )
    return sender


def build_message(workspace: Workspace, delivery: Delivery, document: File, settings: WireEmail) -> EmailMessage:
    """The message for one wire document; its Message-ID is derived from the delivery key."""
    from email.message import EmailMessage
    from email.utils import formatdate, parseaddr

    sender = sender_of(workspace, settings)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    title = delivery.meta.get("title", delivery.release_id)
    prefix = "EMBARGOED: " if delivery.meta.get("embargoed") else ""
    kind = LABEL.get(delivery.part, delivery.part)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = settings.to
    message["Subject"] = f"{prefix}{title}" + (f" [{kind}]" if kind else "")
    message["Date"] = formatdate(localtime=False, usegmt=True)
    digest = hashlib.sha256(delivery.key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}.wire@{domain}>"
    if delivery.part == "txt":
        message.set_content(document.data.decode("utf-8"), subtype="plain", charset="utf-8")
    else:
        message.set_content(f"{kind} document of release {delivery.release_id} attached: {document.name}\n")
        maintype, _, subtype = delivery.meta["content_type"].split(";")[0].partition("/")
        message.add_attachment(document.data, maintype=maintype, subtype=subtype, filename=document.name)
    return message


def connect(workspace: Workspace, channel: Channel) -> SmtpConnection:
    """An SMTP session for the channel (opened on first send), with the password read now."""
    from email.utils import parseaddr

    from .._transport.smtp import SmtpConnection
    from .._transport.upload import auth_header

    s: WireEmail = channel.settings.email
    password = auth_header(s.smtp.password, "p", "", channel.name)["p"] if s.smtp.password is not None else ""
    helo = s.smtp.helo or parseaddr(sender_of(workspace, s))[1].rpartition("@")[2] or "localhost"
    return SmtpConnection(s.smtp, password, helo)


def send_to_desk(
    connection: SmtpConnection, workspace: Workspace, delivery: Delivery, document: File, channel: Channel
) -> tuple[str, str]:
    """Hand one wire document to the desk: (Message-ID, server reply); failures raise DeliveryError."""
    from email import policy
    from email.utils import parseaddr

    s: WireEmail = channel.settings.email
    message = build_message(workspace, delivery, document, s)
    data = message.as_bytes(policy=policy.SMTP)
    reply = connection.send(parseaddr(str(message["From"]))[1], parseaddr(s.to)[1], data)
    return str(message["Message-ID"]), reply
