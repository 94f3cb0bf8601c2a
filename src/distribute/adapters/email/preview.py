"""What `preview` and `validate` show for an email channel, and what it still needs before sending."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import Check, PreviewBlock
from .identity import list_identity

if TYPE_CHECKING:
    from email.message import Message

    from ...workspace.config import Channel
    from ...workspace.schema import Secret
    from ..base import Delivery
    from .adapter import EmailAdapter
    from .recipients import ListReport
    from .settings import EmailSettings

GMAIL_CLIP = 102 * 1024  # Gmail hides HTML past this size behind "View entire message" (and the unsubscribe link)
SHOWN = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


def preview(
    adapter: EmailAdapter, deliveries: list[Delivery], channel: Channel, count: bool = True
) -> list[PreviewBlock]:
    """Each sampled message as its headers and text body (the HTML part for --html), with checks
    (with `count`, the whole list read for how many it sends and what it skips)."""
    from email import policy
    from email.parser import BytesParser

    s: EmailSettings = channel.settings
    lists = _list_check(adapter, channel) if count else None
    blocks = []
    for n, d in enumerate(deliveries):
        data = d.files[0].data
        # The message as sent, read back: its structure with compat32, which keeps each header as
        # written (policy.default built a header object on every look-up, Content-Type a dozen
        # times a message: most of the email preview's time); the shown headers are then parsed
        # once each, as policy.default (and a mail program) shows them.
        message = BytesParser(policy=policy.compat32).parsebytes(data)
        raw = {name.lower(): value for name, value in reversed(list(message.raw_items()))}  # the first of each
        headers = {
            name: policy.default.header_fetch_parse(name, raw[name.lower()]) if name.lower() in raw else None
            for name in SHOWN
        }
        text_part, html_part = _body(message, "plain"), _body(message, "html")
        text, markup = _content(text_part), _content(html_part)
        shown = "\n".join(f"{name}: {value}" for name, value in headers.items() if value is not None)
        checks = [_longest_line(data)]
        link = _link(headers)
        if link:
            visible = link in text and (html_part is None or link.replace("&", "&amp;") in markup or link in markup)
            checks.append(
                Check(
                    "unsubscribe link in every body",
                    "yes" if visible else "no",
                    ok=visible,
                    note="" if visible else "print {{ unsubscribe_url }} in the templates",
                )
            )
        if n == 0:  # what is the same for every message of the channel, once
            checks += _channel_checks(headers, data, html_part, d, s, lists)
        title = f"{d.label} — {headers['Subject']}"
        blocks.append(PreviewBlock(title=title, text=f"{shown}\n\n{text}", html=markup, checks=tuple(checks)))
    return blocks


def _body(part: Message, subtype: str) -> Message | None:
    """The text/<subtype> part a mail program shows: EmailMessage.get_body's search, on a compat32 message.

    Depth first; an attachment is skipped (with its parts); a multipart/related counts by its root
    part (its `start`, else its first part).
    """
    if part.get_content_disposition() == "attachment":
        return None
    maintype, _, sub = part.get_content_type().partition("/")
    if maintype == "text":
        return part if sub == subtype else None
    if maintype != "multipart" or not part.is_multipart():
        return None
    parts: list[Message] = part.get_payload()  # type: ignore[assignment]  # a multipart's payload is its parts
    if sub == "related":
        start = part.get_param("start")
        root = next((p for p in parts if start and p["content-id"] == start), parts[0] if parts else None)
        parts = [root] if root is not None else []
    for sub_part in parts:
        found = _body(sub_part, subtype)
        if found is not None:
            return found
    return None


def _content(part: Message | None) -> str:
    """A text part's body as text (policy.default's get_content: transfer encoding undone, its charset)."""
    if part is None:
        return ""
    payload: bytes = part.get_payload(decode=True)  # type: ignore[assignment]  # a leaf part decodes to bytes
    charset = part.get_param("charset", "ASCII")
    return payload.decode(str(charset), errors="replace")


def _channel_checks(
    headers: dict[str, Any], data: bytes, html_part: Message | None, d: Delivery, s: EmailSettings, lists: Check | None
) -> list[Check]:
    checks = [
        Check("subject (characters)", len(str(headers["Subject"] or "")), note="about 60 show in most inboxes"),
        Check("size (bytes)", len(data)),
    ]
    if html_part is not None:
        size = len(html_part.get_payload(decode=True) or b"")
        checks.append(
            Check(
                "HTML size (bytes)",
                size,
                GMAIL_CLIP,
                ok=size <= GMAIL_CLIP,
                note="" if size <= GMAIL_CLIP else "Gmail clips it, hiding the end and the unsubscribe link",
            )
        )
    unsubscribe = headers["List-Unsubscribe"] is not None
    checks.append(
        Check(
            "List-Unsubscribe (RFC 8058)",
            "one-click" if headers["List-Unsubscribe-Post"] else ("mailto only" if unsubscribe else "missing"),
            ok=unsubscribe,
            note="" if unsubscribe else "set unsubscribe_url: bulk mail needs one-click unsubscribe",
        )
    )
    if d.meta.get("unsigned"):
        checks.append(Check("unsubscribe token", "placeholder", note="the key is not set: " + _key_note(s)))
    if s.dkim.enabled:
        checks.append(Check("DKIM", f"{s.dkim.selector}._domainkey", note="signed when delivered"))
    if lists is not None:
        checks.append(lists)
    return checks


def _link(headers: dict[str, Any]) -> str:
    value = str(headers["List-Unsubscribe"] or "")
    for item in value.split(","):
        item = item.strip().strip("<>")
        if item.startswith(("https://", "http://")):
            return item
    return ""


def _longest_line(data: bytes) -> Check:
    longest = max((len(line) for line in data.split(b"\r\n")), default=0)
    return Check(
        "longest line (octets)",
        longest,
        998,
        ok=longest <= 998,
        note="" if longest <= 78 else "over 78 (RFC 5322 prefers 78)",
    )


def _list_check(adapter: EmailAdapter, channel: Channel) -> Check:
    """The whole list read once (without building messages): how many go out, and what was skipped."""
    from ...errors import ConfigError
    from .recipients import ListReport, load_suppression, read_recipients, shown_path

    s: EmailSettings = channel.settings
    # The whole list read by this channel's render or count just now (preview counts first) says it already.
    report = adapter.reports.get(channel.name)
    if (
        report is not None
        and report.complete
        and s.recipients is not None
        and report.path == shown_path(s.recipients, adapter.workspace.root)
    ):
        return _list_summary(report)
    report = ListReport()
    try:
        suppressed = load_suppression(s.suppression) if s.suppression else None
        if s.recipients is not None:
            for _ in read_recipients(
                s.recipients, suppressed, report, shown_path(s.recipients, adapter.workspace.root)
            ):
                pass
    except ConfigError as exc:
        return Check("recipients", 0, ok=False, note=str(exc))
    return _list_summary(report)


def _list_summary(report: ListReport) -> Check:
    parts = [
        f"{report.bad} bad row{'' if report.bad == 1 else 's'} skipped" if report.bad else "",
        f"{report.duplicates} duplicate{'' if report.duplicates == 1 else 's'} sent once" if report.duplicates else "",
        f"{report.suppressed} suppressed" if report.suppressed else "",
    ]
    note = ", ".join(p for p in parts if p)
    if report.problems:
        note += ": " + "; ".join(report.problems[:5]) + (" ..." if report.bad > 5 else "")
    return Check("recipients", report.accepted, note=note)


def _key_note(s: EmailSettings) -> str:
    env = s.unsubscribe_key.env if s.unsubscribe_key is not None else None
    if env:
        return f"set the environment variable {env} before sending"
    return 'add unsubscribe_key = { env = "NAME" } to the channel'


def _transport_secrets(s: EmailSettings) -> list[Secret | None]:
    """The secrets the chosen transport sends with (none for maildir)."""
    return {
        "smtp": [s.smtp.password],
        "postmark": [s.postmark.token],
        "mailgun": [s.mailgun.api_key],
        "sendgrid": [s.sendgrid.api_key],
    }.get(s.transport, [])


def missing(adapter: EmailAdapter, channel: Channel) -> list[str]:
    """Unset secrets of the chosen transport, the unsubscribe key, and files that are not there."""
    return _needs(adapter, channel, blocking=False)


def blocking(adapter: EmailAdapter, channel: Channel) -> list[str]:
    """What stops the chosen transport from sending at all (the preflight refuses the channel then)."""
    return _needs(adapter, channel, blocking=True)


def _needs(adapter: EmailAdapter, channel: Channel, *, blocking: bool) -> list[str]:
    """What the channel lacks; with `blocking`, only what stops its transport (not what merely degrades)."""
    s: EmailSettings = channel.settings
    the = "the " if blocking else ""
    needs: list[str] = []
    secrets = _transport_secrets(s)
    for secret in secrets:
        if secret is not None and not secret.is_set():
            needs.append(f"{the}environment variable {secret.env}" + (f" ([{s.transport}])" if blocking else ""))
    if s.transport in ("postmark", "mailgun", "sendgrid") and not any(secrets):
        needs.append(f"[{s.transport}] credentials (the API key or token, by reference)")
    # Without the unsubscribe key the links carry a placeholder token: maildir takes such messages,
    # every other transport's deliver() refuses them, so only there does the key block sending.
    if list_identity(adapter.workspace, channel).unsubscribe_url and not (blocking and s.transport == "maildir"):
        why = (
            f"transport {s.transport} sends no placeholder unsubscribe links"
            if blocking
            else "unsubscribe links carry a placeholder token until it is set"
        )
        if s.unsubscribe_key is None:
            needs.append(f'unsubscribe_key = {{ env = "NAME" }} ({why})')
        elif not s.unsubscribe_key.is_set():
            needs.append(
                f"{the}environment variable {s.unsubscribe_key.env} ({'unsubscribe_key: ' if blocking else ''}{why})"
            )
    if s.recipients is None:
        needs.append('recipients = "lists/....csv"')
    elif not s.recipients.is_file():
        needs.append(f"recipient list {s.recipients} (not found)")
    if s.suppression is not None and not s.suppression.is_file():
        needs.append(f"suppression list {s.suppression} (not found)")
    if s.dkim.enabled and s.dkim.private_key is not None and not s.dkim.private_key.is_file():
        needs.append(f"DKIM private key {s.dkim.private_key} (not found)")
    return needs


def destination(adapter: EmailAdapter, channel: Channel) -> str:
    """Where the messages go: the maildir folder, the SMTP server or the ESP."""
    s: EmailSettings = channel.settings
    if s.transport == "maildir":
        folder = s.maildir or adapter.workspace.root / "maildir" / channel.name
        try:
            return str(folder.resolve().relative_to(adapter.workspace.root.resolve()))
        except ValueError:
            return str(folder)
    if s.transport == "smtp":
        return f"{s.smtp.host}:{s.smtp.port} (SMTP)"
    return {"postmark": "Postmark", "mailgun": "Mailgun", "sendgrid": "SendGrid"}[s.transport]
