"""One channel's message for one release, prepared once: headers, MIME structure, bodies, parts.

`Prepared.message(recipient, key, name)` is the per-recipient work: a few small encodings (the To
line, the Message-ID, the unsubscribe URL, the name in the greeting) to be joined with bytes that
were encoded once, and the content lock taken of those pieces (`content_lock`); the join itself waits until
the bytes are read (`MessageFile`). See message.py for how values sit inside quoted-printable text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import struct
from email import policy
from email.message import MIMEPart
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from ...errors import ConfigError, ReleaseError
from ..base import File, files_sha256
from . import headers
from .compose import EMAIL, NAME, UNSUBSCRIBE, Composer, NeedsFullRender, embargo_notice, wrap
from .identity import list_identity
from .message import (
    Compiled,
    Hole,
    Piece,
    SkeletonPiece,
    encoded_part,
    escape_attribute,
    escape_text,
    holed_body,
    multipart,
    qp_value,
    text_leaf,
)
from .recipients import Recipient, check_address
from .unsubscribe import PLACEHOLDER, mailto, token, url

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel, Workspace
    from .settings import EmailSettings

VARIANTS = 256
# How a recipient's value sits in each kind of body hole, before quoted-printable.
# The kinds of hole, as _encode's codes.
_TEXT, _HTML, _ATTR, _TO, _MESSAGE_ID, _UNSUBSCRIBE = range(6)
_KINDS = {"text": _TEXT, "html": _HTML, "attr": _ATTR, "to": _TO, "message-id": _MESSAGE_ID}
_KINDS["list-unsubscribe"] = _UNSUBSCRIBE
LOCK_FORMAT = b"distribute email lock 1\n"  # what `content_lock` covers and how; a change makes every lock differ


class Prepared:
    """The message of one channel and release, ready to be filled in for each recipient."""

    def __init__(
        self,
        workspace: Workspace,
        release: Release,
        channel: Channel,
        due: dt.datetime,
        base: str,
        keyless: bool = False,
    ):
        from ...text.i18n import language
        from ...text.markdown import absolutize, to_text
        from .compose import render_subject

        s: EmailSettings = channel.settings
        org = workspace.config.organization.in_language(release.language)  # its name and About in this language
        self.channel = channel.name
        who = list_identity(workspace, channel)
        display, address = _sender(who.sender, channel)
        self.sender = headers.mailbox(display, address)
        self.domain = address.rpartition("@")[2]
        self.envelope_from = _address(s.envelope_from, channel, "envelope_from") if s.envelope_from else address
        self.list_id = s.list_id or f"{channel.name}.{self.domain}"
        self.list_name = who.list_name  # List-Id's phrase: one name for the list, whatever the language
        self.nonce = hashlib.sha256(f"{release.sha256}\n{channel.name}\n{base}".encode()).hexdigest()[:10]
        lang = language(workspace, release.language)
        notice = embargo_notice(release, due, workspace, channel.common.embargoed_copy, lang)
        self.embargo_notice = notice
        # The list is the same in every link: filled in once.
        self.unsubscribe_template = who.unsubscribe_url.replace("{list}", quote(self.list_id, safe=""))
        # With the placeholder token in already (url() fills {email}, which never holds a brace, before {token}).
        self.keyless_template = self.unsubscribe_template.replace("{token}", PLACEHOLDER)
        self.key: bytes | None = None
        # keyless (a proof): the links carry the placeholder token, which unsubscribes nobody.
        if who.unsubscribe_url and s.unsubscribe_key is not None and s.unsubscribe_key.is_set() and not keyless:
            self.key = s.unsubscribe_key.reveal(channel.name).encode()
        self.unsigned = bool(who.unsubscribe_url) and self.key is None
        # The variables whose values shape the messages (the key makes each unsubscribe token).
        self.secrets: tuple[str, ...] = (s.unsubscribe_key.env,) if self.key is not None and s.unsubscribe_key else ()
        self.mailto = mailto(who.unsubscribe_mailto, self.list_id) if who.unsubscribe_mailto else ""
        reply_to = _reply_to(s.reply_to, release, channel)

        images, image_parts = self._images(release)
        attachments, attachment_parts = self._attachments(release, s.attach_files)
        local = release.publish_at.astimezone(workspace.tz)
        context: dict[str, Any] = {
            "release": release,
            "org": org,
            "config": workspace.config,
            "channel": channel.name,
            "embargo_notice": notice,
            "preheader": release.summary,
            "body_html": Markup(absolutize(release.body_html, release.url)),
            "body_text": to_text(release.body, s.text_width),
            "boilerplate_text": wrap(org.boilerplate, s.text_width),
            "dateline": ", ".join(p for p in (release.dateline, lang.format_date(local.date())) if p),
            "published": local,
            "tz": workspace.tz,
            "images": images,
            "attachments": attachments,
            "contacts": release.contacts,
            # The footer's: in this language ("아산정책연구원 뉴스레터"), unless the channel names its list.
            "list_name": list_identity(workspace, channel, lang).list_name,
            "list_id": self.list_id,
        }
        override = release.override(channel.name).subject
        subject = (
            " ".join(override.split()) if override else render_subject(workspace, channel, s.subject, context, lang)
        )
        if notice:
            subject = lang.gettext("%(notice)s: %(subject)s", notice=notice, subject=subject)
        self.subject = subject
        context["subject"] = subject
        self.composer = Composer(workspace, release, channel, context, base, self.nonce, lang)

        head: list[SkeletonPiece] = [
            headers.address("From", address, display),
            Hole("to"),
            headers.unstructured("Subject", subject),
            headers.plain("Date", format_datetime(due.astimezone(workspace.tz))),
            Hole("message-id"),
        ]
        if reply_to:
            head.append(headers.address("Reply-To", reply_to[1], reply_to[0]))
        head.append(headers.fold_words("List-Id", [*headers.phrase_words(self.list_name), f"<{self.list_id}>"]))
        if who.unsubscribe_url:
            head += [Hole("list-unsubscribe"), b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"]
        elif self.mailto:
            head.append(headers.urls("List-Unsubscribe", [self.mailto]))
        head.append(b"MIME-Version: 1.0\r\n")
        boundary = f"=_{self.nonce}"
        text = text_leaf("plain", "text")
        if self.composer.html_name:
            markup = text_leaf("html", "html")
            if image_parts:
                markup = multipart("related", boundary + "_rel", [markup, *image_parts])
            top = multipart("alternative", boundary + "_alt", [text, markup])
        else:
            top = text
        if attachment_parts:
            top = multipart("mixed", boundary + "_mix", [top, *attachment_parts])
        self.skeleton: list[SkeletonPiece] = [*head, top[0], b"\r\n", *top[1]]
        self.variants: dict[tuple[bool, ...], Compiled] = {}
        self.columns: list[str] | None = None
        self.full_render = False

    def _images(self, release: Release) -> tuple[list[dict[str, str]], list[tuple[bytes, list[SkeletonPiece]]]]:
        shown, parts = [], []
        for i, image in enumerate(release.images, start=1):
            if image.url:
                shown.append({"src": image.url, "alt": image.alt, "caption": image.caption})
                continue
            assert image.file is not None
            cid = f"image{i}.{self.nonce}@{self.domain}"
            kind = mimetypes.guess_type(image.file.name)[0] or "application/octet-stream"
            parts.append(_part(image.file.read_bytes(), kind, image.file.name, "inline", f"<{cid}>"))
            shown.append({"src": f"cid:{cid}", "alt": image.alt, "caption": image.caption})
        return shown, parts

    def _attachments(
        self, release: Release, attach: bool
    ) -> tuple[list[dict[str, Any]], list[tuple[bytes, list[SkeletonPiece]]]]:
        listed, parts = [], []
        for item in release.attachments:
            assert item.file is not None
            name = item.file.name
            kind = item.type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            data = item.file.read_bytes() if attach else b""
            if attach:
                parts.append(_part(data, kind, name, "attachment", None))
            listed.append(
                {
                    "title": item.title or name,
                    "filename": name,
                    "url": item.url,
                    "type": kind,
                    "attached": attach,
                    "size": len(data) if attach else item.file.stat().st_size,
                }
            )
        return listed, parts

    def values(self, r: Recipient, keyless: bool = False) -> list[str]:
        """The recipient's values, by index: email, name, unsubscribe URL, then each other column."""
        if self.columns is None:
            self.columns = list(r.fields)
        link = ""
        if self.unsubscribe_template and (keyless or self.key is None):
            link = url(self.keyless_template, self.list_id, r.email, PLACEHOLDER)  # {token} is filled in already
        elif self.unsubscribe_template:
            assert self.key is not None
            link = url(self.unsubscribe_template, self.list_id, r.email, token(self.key, self.list_id, r.email))
        elif self.mailto:
            link = self.mailto
        fields = r.fields
        return [r.email, r.name, link, *[fields.get(c, "") for c in self.columns]]

    def message(self, r: Recipient, key: str, name: str) -> Message:
        """One recipient's message, file `name`: its Message-ID and content lock now, its bytes when read.

        Everything is made as it is without the unsubscribe key (the placeholder token); the lock is
        taken of that (see `content_lock`), so booking neither makes a token nor joins the message. The bytes
        with the key re-encode only what shows the link, once, when something reads them.
        """
        message_id, compiled, encoded, full = self._pieces(r, key)
        return Message(self, r, name, message_id, compiled, encoded, full, content_lock(compiled, encoded, name))

    def lock(self, r: Recipient, key: str, name: str) -> str:
        """The content lock of `message(r, key, name)`, made the same way, without the message (booking)."""
        _, compiled, encoded, _ = self._pieces(r, key)
        return content_lock(compiled, encoded, name)

    def _pieces(self, r: Recipient, key: str) -> tuple[str, Compiled, list[bytes], bool]:
        """(Message-ID, variant, each hole's bytes without the key, whether the bodies hold the values)."""
        values = self.values(r, keyless=True)
        message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{self.domain}>"
        compiled = self._full(r, values) if self.full_render else self._variant(r, values)
        full = self.full_render  # this message's bodies hold its values (the templates need a full render)
        return message_id, compiled, self._encode(compiled, r, values, message_id), full

    def _keyed(self, m: Message) -> bytes:
        """The bytes of a message as sent: with the key, its own token in every place that shows the link."""
        if self.key is None or not self.unsubscribe_template:
            return b"".join(m.compiled.assemble(m.encoded))
        r = m.recipient
        values = self.values(r)
        if m.full:  # the bodies hold the values themselves: render them again
            compiled = self._full(r, values)
            return b"".join(compiled.assemble(self._encode(compiled, r, values, m.message_id)))
        links = [n for n, (kind, index) in enumerate(_program(m.compiled)) if _shows_link(kind, index)]
        encoded = list(m.encoded)
        for n, data in zip(links, self._encode(m.compiled, r, values, m.message_id, links), strict=True):
            encoded[n] = data
        return b"".join(m.compiled.assemble(encoded))

    def _encode(
        self, compiled: Compiled, r: Recipient, values: list[str], message_id: str, only: list[int] | None = None
    ) -> list[bytes]:
        """Each hole's bytes (`only`: of those holes); a value shown twice the same way (the name in text and
        HTML) is encoded once.

        One loop over the variant's holes as (kind, value index) codes, no call a hole but the encoding
        itself: it runs for every hole of every message booked.
        """
        program = _program(compiled)
        if only is not None:
            program = tuple(program[n] for n in only)
        done: dict[str, bytes] = {}
        out: list[bytes] = []
        append = out.append
        for kind, index in program:
            if kind == _TEXT:
                text = values[index]
            elif kind == _HTML:
                text = escape_text(values[index])
            elif kind == _ATTR:
                text = escape_attribute(values[index])
            elif kind == _TO:
                append(headers.address("To", r.email, r.name))
                continue
            elif kind == _MESSAGE_ID:
                append(b"Message-ID: " + message_id.encode("ascii") + b"\r\n")  # headers.plain's line
                continue
            else:
                append(headers.urls("List-Unsubscribe", [v for v in (values[UNSUBSCRIBE], self.mailto) if v]))
                continue
            encoded = done.get(text)
            if encoded is None:
                encoded = done[text] = qp_value(text)
            append(encoded)
        return out

    def _variant(self, r: Recipient, values: list[str]) -> Compiled:
        assert self.columns is not None
        shape = (bool(r.name), *map(bool, map(r.fields.get, self.columns)))
        compiled = self.variants.get(shape)
        if compiled is None:
            try:
                text, markup = self.composer.variant(self.columns, r, values, bool(values[UNSUBSCRIBE]))
            except NeedsFullRender:
                self.full_render = True
                return self._full(r, values)
            bodies: dict[str, list[Piece]] = {"text": holed_body(text, self.composer.pattern, "text")}
            if markup is not None:
                bodies["html"] = holed_body(markup, self.composer.pattern, "html")
            if len(self.variants) >= VARIANTS:
                self.variants.clear()
            compiled = self.variants[shape] = Compiled(self.skeleton, bodies)
        return compiled

    def _full(self, r: Recipient, values: list[str]) -> Compiled:
        text, markup = self.composer.full(r, values)
        bodies: dict[str, list[Piece]] = {"text": holed_body(text, None, "text")}
        if markup is not None:
            bodies["html"] = holed_body(markup, None, "html")
        return Compiled(self.skeleton, bodies)


def _program(compiled: Compiled) -> tuple[tuple[int, int], ...]:
    """A variant's holes as (kind code, value index), made once per variant."""
    if compiled.program is None:
        compiled.program = tuple((_KINDS[h.kind], h.index) for h in compiled.holes)
    return compiled.program


def _shows_link(kind: int, index: int) -> bool:
    """Whether a hole shows the unsubscribe link (the one value the key changes)."""
    return kind == _UNSUBSCRIBE or (index == UNSUBSCRIBE and kind in (_TEXT, _HTML, _ATTR))


def content_lock(compiled: Compiled, encoded: list[bytes], name: str) -> str:
    """The content lock of one message: its variant's digest (once per variant), the file name and each
    hole's bytes as they are without the key. Together they fix the message's bytes exactly (it is the
    variant's pieces joined with those), so the lock changes whenever they would, at the cost of hashing
    a few hundred bytes instead of the whole message; no clock, no secret."""
    file = name.encode()
    count = len(encoded)
    sizes = _SIZES.get(count)
    if sizes is None:
        sizes = _SIZES[count] = struct.Struct(f">II{count}I")
    # Every length first (the name's, how many holes, each hole's), then the bytes: one way to read it back.
    head = sizes.pack(len(file), count, *map(len, encoded))
    return hashlib.sha256(b"".join((LOCK_FORMAT, compiled.digest(), head, file, *encoded))).hexdigest()


_SIZES: dict[int, struct.Struct] = {}  # content_lock's length fields, by the number of holes


class Message:
    """One recipient's message: Message-ID and lock at once, the bytes (`data`) when first asked for."""

    __slots__ = ("prepared", "recipient", "name", "message_id", "compiled", "encoded", "full", "lock", "_data")

    def __init__(
        self,
        prepared: Prepared,
        recipient: Recipient,
        name: str,
        message_id: str,
        compiled: Compiled,
        encoded: list[bytes],
        full: bool,
        lock: str,
    ):
        self.prepared, self.recipient, self.name, self.message_id = prepared, recipient, name, message_id
        self.compiled, self.encoded, self.full, self.lock = compiled, encoded, full, lock
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        """The message as sent (made once; a benign race between threads makes the same bytes)."""
        if self._data is None:
            self._data = self.prepared._keyed(self)
        return self._data

    def plain(self) -> str:
        """The hash of the file as it is without the key, as files_sha256 makes it: the lock of earlier
        versions (rows they scheduled hold it) and what approvals and the outbox manifest show."""
        return files_sha256((File(self.name, b"".join(self.compiled.assemble(self.encoded))),))


class MessageFile(File):
    """A message's file whose bytes are joined when first read (booking reads only the lock)."""

    message: Message

    def __init__(self, message: Message):
        object.__setattr__(self, "name", message.name)
        object.__setattr__(self, "message", message)

    @property
    def data(self) -> bytes:
        return self.message.data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, File):
            return (self.name, self.data) == (other.name, other.data)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.data))


def _part(
    data: bytes, kind: str, filename: str, disposition: str, cid: str | None
) -> tuple[bytes, list[SkeletonPiece]]:
    """An attachment or inline image, base64-encoded once by the email package (RFC 2231 file names)."""
    maintype, _, subtype = kind.partition("/")
    part = MIMEPart(policy=policy.SMTP)
    # The raw-bytes content manager refuses maintype "text"; a text file goes as bytes all the same.
    part.set_content(
        data,
        "application" if maintype == "text" else maintype,
        subtype,
        disposition=disposition,
        filename=filename,
        cid=cid,
    )
    if maintype == "text":
        part.replace_header("Content-Type", kind)
        part.set_param("name", filename)
    return encoded_part(part.as_bytes(policy=policy.SMTP))


def _address(value: str, channel: Channel, key: str) -> str:
    try:
        return check_address(value)
    except ValueError as exc:
        raise ConfigError(
            f"{key} {value!r} is not a valid address ({exc})", path=channel.path, line=channel.source.line_of((), key)
        ) from None


def _sender(value: str, channel: Channel) -> tuple[str, str]:
    if not value:
        raise ConfigError(
            f'channel {channel.name} has no sender: add from = "Name <address>" to the channel '
            "or sender to [organization] in config.toml",
            path=channel.path,
        )
    display, address = parseaddr(value)
    return display, _address(address, channel, "from")


def _reply_to(setting: str, release: Release, channel: Channel) -> tuple[str, str] | None:
    if setting == "contact":
        index, contact = next(((i, c) for i, c in enumerate(release.contacts) if c.email), (0, None))
        if contact is None:
            return None
        try:
            return contact.name, check_address(contact.email)
        except ValueError as exc:  # the release's contact is wrong, not the channel's reply_to = "contact"
            raise ReleaseError(
                f"contacts[{index}] email {contact.email!r} cannot be the Reply-To of channel "
                f"{channel.name} ({exc}); give the contact another address, or set reply_to "
                f"in {channel.path.name} to one",
                path=release.path,
                line=release.source.line_of(("contacts", index), "email"),
            ) from None
    if setting:
        display, address = parseaddr(setting)
        return display, _address(address, channel, "reply_to")
    return None


__all__ = ["Prepared", "Message", "MessageFile", "EMAIL", "NAME"]
