"""Wire copy by e-mail to a desk: the text copy as the message body, NewsML-G2 and ninjs attached."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import DeliveryError
from ..settings import Secret, field

if TYPE_CHECKING:
    from email.message import EmailMessage

    from ..config import Channel, Workspace
    from .base import Delivery, File, Receipt

LABEL = {"txt": "", "newsml": "NewsML-G2", "ninjs": "ninjs"}


@dataclass(frozen=True)
class WireEmail:
    """[email]: the wire desk's inbox and the SMTP server that reaches it."""

    to: str = field("", doc="the wire desk's address")
    sender: str = field("", key="from", doc="From address (default: [organization] sender)")
    host: str = field("localhost", doc="SMTP server")
    port: int = field(587, doc="SMTP port (587 STARTTLS, 465 SSL, 25 plain)")
    security: Literal["starttls", "ssl", "none"] = field("starttls", doc="starttls, ssl or none (loopback only)")
    username: str = field("", doc="SMTP login (empty: no login)")
    password: Secret | None = field(None, doc='SMTP password, by reference: { env = "NAME" }')
    timeout: float = field(30.0, doc="seconds to wait for the SMTP server")

    def __post_init__(self) -> None:
        loopback = self.host in ("localhost", "::1") or self.host.startswith("127.")
        if self.security == "none" and self.username and not loopback:
            raise ValueError(f'security = "none" would send the SMTP password to {self.host} unencrypted; '
                             'use "starttls" or "ssl"')


def build_message(workspace: Workspace, delivery: Delivery, document: File, settings: WireEmail) -> EmailMessage:
    """The message for one wire document; its Message-ID is derived from the delivery key."""
    from email.message import EmailMessage
    from email.utils import formatdate, parseaddr

    sender = settings.sender or workspace.config.organization.sender
    if not sender:
        raise DeliveryError("wire e-mail needs a sender: set [email] from in the channel or "
                            "[organization] sender in config.toml", retryable=False)
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


def send_to_desk(workspace: Workspace, delivery: Delivery, document: File, channel: Channel) -> Receipt:
    """Send one wire document to the desk over SMTP; failures say whether a retry may help."""
    import smtplib
    import ssl

    from .base import Receipt

    s: WireEmail = channel.settings.email
    message = build_message(workspace, delivery, document, s)
    password = ""
    if s.password is not None:
        from .wire_http import auth_header

        password = auth_header(s.password, "password", "", channel.name)["password"]
    handed = False
    try:
        client: smtplib.SMTP
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with client:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, password)
            handed = True  # from here on the server may have accepted the message
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(f"wire desk {s.to} refused: {codes}", retryable=all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        # A 4xx/5xx answer to DATA means the message was not taken: never in doubt.
        raise DeliveryError(f"SMTP {s.host}:{s.port} answered {exc.smtp_code} {reason[:200]}",
                            retryable=400 <= exc.smtp_code < 500) from None
    except smtplib.SMTPNotSupportedError as exc:  # e.g. no AUTH offered: a setting to fix, not a moment
        raise DeliveryError(f"SMTP {s.host}:{s.port}: {exc}", retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {s.host}:{s.port}: {exc.__class__.__name__}: {str(exc)[:200]}",
                            retryable=True, in_doubt=handed) from None
    if refused:
        raise DeliveryError(f"wire desk {s.to} refused the message: {refused}", retryable=False)
    return Receipt(remote_id=str(message["Message-ID"]), detail=f"mailed to {s.to} via {s.host}:{s.port}")
