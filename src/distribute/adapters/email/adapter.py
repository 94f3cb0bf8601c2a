"""The email adapter: a newsletter or a press list, one personal message per recipient.

render() reads the channel's recipient CSV as a stream and yields one delivery per accepted
address (target = the address lower-cased, part "message", file `<n>-<address>.eml`): the
exact RFC 5322 message (in several languages: rendered once per language, each recipient in the
one its list row asks for, see `reader_language`, so a recipient gets one message whatever the language), built by filling a message prepared once per release and channel
(prepared.py). deliver()/deliver_many() hand the messages to a Maildir, an SMTP server
(parallel reused connections, rate ceiling) or an ESP's HTTP API (Postmark, Mailgun, SendGrid),
signing them with DKIM first when the channel has a key.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ConfigError, DeliveryError
from ..base import (
    AccountCheck,
    Adapter,
    Delivery,
    Entry,
    File,
    Outcome,
    PreviewBlock,
    Receipt,
    RenderContext,
    key_part,
    no_media_contact,
)
from .identity import list_identity
from .settings import EmailSettings, SmtpSettings

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel
    from .._transport.smtp import SmtpConnection
    from .dkim import Signer
    from .prepared import Prepared
    from .recipients import ListReport, Recipient

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
JSON_ESPS = ("postmark", "sendgrid")  # send the message's parts as JSON, not our MIME bytes


def _file_name(index: int, target: str) -> str:
    """A message's file: its place in the list and its address, made safe for a file name."""
    return f"{index:06d}-{_UNSAFE.sub('_', target)}.eml"


def reader_language(recipient: Recipient, context: RenderContext) -> str:
    """The language a recipient reads, among those the channel sends (`context.languages`).

    The list's `language` column (BCP 47; exact, then by primary subtag: "ko-KR" reads "ko"); an
    empty cell or a language the release has no translation in gets the main language (the first
    the channel sends when it does not send the main one). A cell that is no tag never gets here:
    the list reader skips its row as a bad one (recipients.py).
    """
    sent = context.languages
    wanted = recipient.fields.get("language", "").strip().lower().replace("_", "-")
    if wanted:
        for tag in sent:
            if tag.lower() == wanted:
                return tag
        primary = wanted.split("-")[0]
        for tag in sent:
            if tag.lower().split("-")[0] == primary:
                return tag
    main = context.original.language if context.original is not None else ""
    return main if main in sent else sent[0]


class EmailAdapter(Adapter):
    """Newsletters and press lists by email: Maildir, SMTP or an ESP API."""

    name: ClassVar[str] = "email"
    Settings: ClassVar[type] = EmailSettings
    default_template: ClassVar[str] = "email/newsletter"
    public: ClassVar[bool] = True  # a press list with embargoed_copy goes early, marked EMBARGOED UNTIL
    idempotent: ClassVar[bool] = False  # SMTP has no idempotency key: a message in doubt is never resent blindly
    per_reader_language: ClassVar[bool] = True  # `languages`: each recipient by the list's language column

    def __init__(self, workspace: Any):
        super().__init__(workspace)
        self.reports: dict[str, ListReport] = {}
        self._smtp: dict[str, SmtpConnection] = {}
        self._signers: dict[str, Signer | None] = {}

    # -- render ---------------------------------------------------------------------------
    def base_template(self, channel: Channel) -> str:
        """The template name without its ending: <base>.txt.j2 and (optional) <base>.html.j2."""
        return re.sub(r"\.(html|txt)(\.j2)?$|\.j2$", "", self.template_name(channel))

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Delivery]:
        from .headers import mailbox
        from .prepared import MessageFile

        for prepared, index, r, target, key in self._each(release, channel, context):
            message = prepared.message(r, key, _file_name(index, target))
            yield Delivery(
                release.id,
                channel.name,
                self.name,
                target,
                "message",
                files=(MessageFile(message),),  # joined when read: booking needs only the lock
                meta={
                    "envelope_to": r.email,
                    "envelope_from": prepared.envelope_from,
                    "message_id": message.message_id,
                    "unsigned": prepared.unsigned,
                    # The DKIM t= tag: the due time the Date header carries, so a signature never depends on the clock.
                    "signed_at": context.due,
                },
                label=f"to {mailbox(r.name, r.email)}",
                secrets=prepared.secrets,
                # Locked as it would be without the key (a sender lacking it is told so, not "changed"), by
                # the prepared pieces rather than the whole message; `plain` hashes the whole message.
                lock=message.lock,
                plain=message.plain,
            )

    def entries(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Entry]:
        """What schedule books of each message render gives: its key, label and lock, no message made."""
        from .headers import mailbox

        for prepared, index, r, target, key in self._each(release, channel, context):
            yield Entry(
                key,
                target,
                "message",
                f"to {mailbox(r.name, r.email)}",
                None,
                prepared.lock(r, key, _file_name(index, target)),
                prepared.secrets,
            )

    def _each(
        self, release: Release, channel: Channel, context: RenderContext
    ) -> Iterator[tuple[Prepared, int, Recipient, str, str]]:
        """(prepared message, place in the list, recipient, target, delivery key) of each message: render's and entries'."""
        from .prepared import Prepared

        self._list(channel)
        prepared = Prepared(self.workspace, release, channel, context.due, self.base_template(channel))
        head = "/".join(key_part(p) for p in (release.id, channel.name)) + "/"
        for index, r in self._readers(release, channel, context):
            target = r.key
            yield prepared, index, r, target, f"{head}{key_part(target)}/message"

    def count(self, release: Release, channel: Channel, *, context: RenderContext) -> int:
        """The recipients render gives a message, read from the list as render reads it (no message built)."""
        self._list(channel)
        return sum(1 for _ in self._readers(release, channel, context))

    def _list(self, channel: Channel) -> None:
        if channel.settings.recipients is None:
            raise ConfigError(
                f'channel {channel.name} has no recipient list; add recipients = "lists/{channel.name}.csv"',
                path=channel.path,
            )

    def _readers(self, release: Release, channel: Channel, context: RenderContext) -> Iterator[tuple[int, Recipient]]:
        """(place in the whole list, recipient) of each reader of this language: what render and count share.

        The list is read as a stream: duplicates and suppressed addresses dropped, bad rows reported
        (by the reading of the channel's first language, kept in `self.reports`), each recipient in
        the one language its row asks for (see `reader_language`).
        """
        from .recipients import ListReport, Recipient, list_columns, load_suppression, read_recipients, shown_path, warn

        s: EmailSettings = channel.settings
        assert s.recipients is not None
        # One reading of the list per language the channel sends; the first one reports its bad rows.
        first = not context.languages or release.language == context.languages[0]
        shown = shown_path(s.recipients, self.workspace.root)
        # No language column: everyone reads the language an empty cell gives, the others nobody.
        everyone = len(context.languages) > 1 and "language" not in list_columns(s.recipients, shown)
        ours = everyone and reader_language(Recipient("", "", {}, 0), context) == release.language
        if everyone and not ours and not first:
            return  # not even read (the first reading reports the list's bad rows, whatever it yields)
        suppressed = load_suppression(s.suppression) if s.suppression is not None else None
        report = ListReport()
        if first:
            self.reports[channel.name] = report
        numbered: Iterable[tuple[int, Recipient]] = enumerate(
            read_recipients(s.recipients, suppressed, report, shown), start=1
        )
        if len(context.languages) > 1 and not ours:
            # Each recipient gets one language: the list's language column picks it (see reader_language);
            # the file keeps the recipient's place in the whole list.
            numbered = ((i, r) for i, r in numbered if reader_language(r, context) == release.language)
        try:
            yield from numbered
        finally:
            if suppressed is not None:
                suppressed.close()
        if first:
            warn(report)

    # -- deliver --------------------------------------------------------------------------
    def _refusal(self, delivery: Delivery, channel: Channel) -> DeliveryError | None:
        s: EmailSettings = channel.settings
        if delivery.meta.get("unsigned") and s.transport != "maildir":
            env = s.unsubscribe_key.env if s.unsubscribe_key is not None else "a variable"
            return DeliveryError(
                f"channel {channel.name}: the unsubscribe links were rendered without their key; set unsubscribe_key "
                f"(environment variable {env}) and schedule the release again",
                retryable=False,
            )
        return None

    def _prepare(self, channel: Channel) -> Any:
        """A function giving the bytes to send for a delivery (DKIM-signed when configured)."""
        s: EmailSettings = channel.settings
        if channel.name not in self._signers:
            signer = None
            if s.dkim.enabled:
                from .dkim import Signer

                assert s.dkim.private_key is not None
                domain = s.dkim.domain or self._sender_domain(channel)
                signer = Signer(s.dkim.selector, domain, s.dkim.private_key, s.dkim.headers)
            self._signers[channel.name] = signer
        signer = self._signers[channel.name]
        if signer is None:
            return lambda d: d.files[0].data
        return lambda d: signer.sign(d.files[0].data, d.meta["signed_at"])

    def as_sent(self, delivery: Delivery, channel: Channel) -> Delivery:
        """The message DKIM-signed as deliver() would send it (unsigned when the key cannot be read: missing() says so)."""
        if channel.settings.transport in JSON_ESPS:
            return delivery  # their JSON APIs read the unsigned message and sign what they build themselves
        try:
            prepare = self._prepare(channel)
        except DeliveryError:
            return delivery
        data = prepare(delivery)
        if data is delivery.files[0].data:
            return delivery
        return dataclasses.replace(delivery, files=(File(delivery.files[0].name, data),), lock=delivery.sha256)

    def _maildir(self, channel: Channel) -> Any:
        s: EmailSettings = channel.settings
        return s.maildir or self.workspace.root / "maildir" / channel.name

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        refusal = self._refusal(delivery, channel)
        if refusal is not None:
            raise refusal
        s: EmailSettings = channel.settings
        data = self._prepare(channel)(delivery)
        message_id = str(delivery.meta["message_id"])
        if s.transport == "maildir":
            from . import maildir as email_maildir

            folder = self._maildir(channel)
            name = email_maildir.write(folder, data)
            return Receipt(remote_id=message_id, url=(folder / "new" / name).as_uri(), detail=f"Maildir {folder}")
        if s.transport == "smtp":
            connection = self._connection(channel)
            reply = connection.send(str(delivery.meta["envelope_from"]), str(delivery.meta["envelope_to"]), data)
            return Receipt(remote_id=message_id, detail=reply)
        from .esp import esp_for

        return esp_for(channel).send_one(delivery, data)

    def _connection(self, channel: Channel) -> SmtpConnection:
        from .._transport.smtp import SmtpConnection

        if channel.name not in self._smtp:
            s: EmailSettings = channel.settings
            self._smtp[channel.name] = SmtpConnection(s.smtp, self._password(channel), self._helo(channel))
        return self._smtp[channel.name]

    def _password(self, channel: Channel) -> str:
        smtp: SmtpSettings = channel.settings.smtp
        if smtp.password is None:
            return ""
        try:
            return smtp.password.reveal(channel.name)
        except ConfigError as exc:
            raise DeliveryError(str(exc), retryable=True) from None

    def _sender_domain(self, channel: Channel) -> str:
        from email.utils import parseaddr

        return parseaddr(list_identity(self.workspace, channel).sender)[1].rpartition("@")[2] or "localhost"

    def _helo(self, channel: Channel) -> str:
        return channel.settings.smtp.helo or self._sender_domain(channel)

    def deliver_many(self, deliveries: Iterable[Delivery], channel: Channel) -> Iterator[Outcome]:
        s: EmailSettings = channel.settings
        if s.transport == "maildir":
            yield from super().deliver_many(deliveries, channel)
            return
        pending = iter(deliveries)
        first = next(pending, None)
        if first is None:
            return
        try:
            # Channel-wide conditions, checked once: every message of a render shares them.
            refusal = self._refusal(first, channel)
            if refusal is not None:
                raise refusal
            prepare = self._prepare(channel)
            if s.transport == "smtp":
                from .._transport.smtp import SmtpPool

                transport: Any = SmtpPool(s.smtp, self._password(channel), self._helo(channel), prepare)
            else:
                from .esp import esp_for

                transport = esp_for(channel).pool(prepare)
        except DeliveryError as exc:
            # Nothing can go out (a secret or key is missing): every delivery says why, none is tried.
            for delivery in itertools.chain([first], pending):
                yield Outcome(delivery, error=exc)
            return
        yield from transport.deliver_many(itertools.chain([first], pending))

    def gated(self, channel: Channel) -> bool:
        return bool(channel.settings.transport == "smtp")  # SmtpPool writes the final dot once the gate passes

    def close(self) -> None:
        for connection in self._smtp.values():
            connection.close()
        self._smtp.clear()
        from . import esp as email_esp

        email_esp.close_sessions()

    # -- preview and readiness --------------------------------------------------------------
    def warnings(self, release: Release, channel: Channel) -> list[str]:
        # A press list (journalists: an embargoed copy, or replies to the contact); a newsletter can do without one.
        s: EmailSettings = channel.settings
        press = channel.common.embargoed_copy or s.reply_to == "contact" or "press" in self.template_name(channel)
        return no_media_contact(release) if press else []

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        from .preview import preview

        return preview(self, deliveries, channel)

    def schedule_checks(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        # Without the count of the whole list (a reading of it, which only informs): the render
        # schedule makes next reads it anyway, and refuses a list it cannot read, naming the line.
        from .preview import preview

        return preview(self, deliveries, channel, count=False)

    def missing(self, channel: Channel) -> list[str]:
        from .preview import missing

        return missing(self, channel)

    def blocking(self, channel: Channel) -> list[str]:
        from .preview import blocking

        return blocking(self, channel)

    def destination(self, channel: Channel) -> str:
        from .preview import destination

        return destination(self, channel)

    def check_account(self, channel: Channel) -> AccountCheck:
        from .account import check

        return check(self, channel)
