"""The wire adapter: plain wire copy, NewsML-G2 2.35 and ninjs 3.1, to a drop folder, a desk's inbox or an API.

render() gives one delivery per format (target "desk", part = the format), each one file:
`<release-id>.txt`, `<release-id>.newsml.xml`, `<release-id>.ninjs.json`. deliver() writes it
into the drop directory atomically, POSTs it with an auth header, or mails it to the desk.
A channel with `embargoed_copy = true` receives the release before the embargo, marked as such
(EMBARGOED UNTIL..., NewsML-G2 <embargoed> + <edNote>, ninjs embargoedUntil).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from ...workspace.schema import Secret, field
from ..base import (
    AccountCheck,
    Adapter,
    Check,
    Delivery,
    File,
    PreviewBlock,
    Receipt,
    RenderContext,
    in_language,
    no_media_contact,
)
from .datelines import STYLES
from .mail import WireEmail

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel, Workspace
    from .._transport.smtp import SmtpConnection

Format = Literal["txt", "newsml", "ninjs"]
SUFFIX = {"txt": ".txt", "newsml": ".newsml.xml", "ninjs": ".ninjs.json"}
CONTENT_TYPE = {
    "txt": "text/plain; charset=utf-8",
    "newsml": "application/vnd.iptc.g2.newsitem+xml; charset=utf-8",  # IANA-registered for NewsML-G2 items
    "ninjs": "application/json; charset=utf-8",
}


@dataclass(frozen=True)
class WireHttp:
    """[http]: the wire's ingest API."""

    url: str = field("", doc="endpoint each document is sent to")
    method: Literal["POST", "PUT"] = field("POST", doc="HTTP method")
    header: str = field("Authorization", doc="request header carrying the credential")
    scheme: str = field("Bearer", doc='text before the credential in that header ("" for none)')
    token: Secret | None = field(None, doc='the credential, by reference: { env = "NAME" }')
    timeout: float = field(30.0, doc="seconds to wait for the answer")


@dataclass(frozen=True)
class WireSettings:
    """Keys of a wire channel file."""

    formats: list[Format] = field(["txt", "newsml", "ninjs"], doc='documents sent: "txt", "newsml", "ninjs"')
    style: Literal["prnewswire", "businesswire", "globenewswire", "plain"] = field(
        "plain", doc="dateline house style: prnewswire, businesswire, globenewswire or plain"
    )
    width: int = field(
        72, doc="wrap the text copy at this many columns (a Hangul or Han character takes two; 0: no wrapping)"
    )
    ascii: bool = field(False, doc="transliterate the text copy to ASCII (quotes, dashes, accents)")
    end_mark: str = field("###", doc='end-of-release mark, "###" or "-30-"')
    byline: str = field("", doc="by-line (default: the organisation name)")
    credit: str = field("", doc="credit line (default: the organisation name)")
    transport: Literal["directory", "email", "http"] = field("directory", doc="how the documents travel")
    directory: Path = field(Path("wire"), doc="drop folder (transport directory)")
    http: WireHttp = field(WireHttp(), doc="the ingest API (transport http, [http])")
    email: WireEmail = field(WireEmail(), doc="the wire desk's inbox (transport email, [email])")

    def __post_init__(self) -> None:
        if not self.formats or len(set(self.formats)) != len(self.formats):
            raise ValueError('formats must list each of "txt", "newsml", "ninjs" at most once, and at least one')
        if self.width and self.width < 30:
            raise ValueError("width must be 0 (no wrapping) or at least 30")
        if not self.end_mark.strip():
            raise ValueError('end_mark must not be empty; use "###" or "-30-"')
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}")
        if self.transport == "http" and not self.http.url.startswith(("http://", "https://")):
            raise ValueError('transport "http" needs [http] url = "https://..."')
        if self.transport == "email" and "@" not in self.email.to:
            raise ValueError('transport "email" needs [email] to = "desk@wire.example"')


class WireAdapter(Adapter):
    """News-wire copy: plain text, NewsML-G2 2.35 and ninjs 3.1, by drop folder, e-mail or HTTP."""

    name: ClassVar[str] = "wire"
    Settings: ClassVar[type] = WireSettings
    default_template: ClassVar[str] = "wire/copy.txt.j2"
    public: ClassVar[bool] = True  # unless the channel has embargoed_copy: then it goes early, marked
    idempotent: ClassVar[bool] = False  # a desk may print a mail or POST twice; a doubt is reported

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self._smtp: dict[str, SmtpConnection] = {}

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Delivery]:
        from .newsml import newsml
        from .ninjs import ninjs_bytes
        from .story import build_story, is_translation
        from .text import body_text, render_copy

        settings: WireSettings = channel.settings
        story = build_story(release, channel, self.workspace, context.due, context.original)
        # A translation's files carry its language (`<id>.ko.txt`): a channel with `languages` drops
        # every language into one folder, and a desk sees at a glance which copy it holds.
        stem = f"{release.id}.{release.language}" if is_translation(release, context.original) else release.id
        where = self._where(channel)
        for fmt in settings.formats:
            lost: list[str] = []
            if fmt == "txt":
                text, lost = render_copy(story, channel, self.workspace)
                data = text.encode("utf-8")
            elif fmt == "newsml":
                data = newsml(story)
            else:
                data = ninjs_bytes(story, body_text(story, 0))
            yield Delivery(
                release.id,
                channel.name,
                self.name,
                in_language("desk", release),  # a translation's key carries its language: desk.ko
                fmt,
                files=(File(stem + SUFFIX[fmt], data),),
                meta={
                    "content_type": CONTENT_TYPE[fmt],
                    "lost": lost,
                    "embargoed": story.embargo is not None,
                    "title": release.title,
                    "language": release.language,
                },
                label=f"{fmt} to {where}",
            )

    def _where(self, channel: Channel) -> str:
        s: WireSettings = channel.settings
        if s.transport == "http":
            from .._transport.upload import origin

            return origin(s.http.url)
        if s.transport == "email":
            return s.email.to
        from .._transport.files import shown_folder

        return shown_folder(s.directory, self.workspace.root)

    def blocking(self, channel: Channel) -> list[str]:
        """Only the secrets of the chosen transport stop it (a drop folder needs none)."""
        from ...workspace.schema import secrets_of

        s: WireSettings = channel.settings
        chosen = {"http": s.http, "email": s.email}.get(s.transport)
        return [f"the environment variable {x.env}" for x in secrets_of(chosen) if not x.is_set()]

    def destination(self, channel: Channel) -> str:
        return self._where(channel)

    def check_account(self, channel: Channel) -> AccountCheck:
        """The drop folder is writable, the desk's SMTP login works, or the ingest API accepts the credential (HEAD)."""
        from ...errors import DeliveryError

        s: WireSettings = channel.settings
        if s.transport == "directory":
            from .._transport.files import check_writable

            ok, detail = check_writable(s.directory, "drop folder " + self._where(channel), self.workspace.root)
            return AccountCheck(ok, detail)
        if s.transport == "email":
            from email.utils import parseaddr

            from .._transport.smtp import try_login
            from .mail import sender_of

            smtp = s.email.smtp
            password = smtp.password.reveal(channel.name) if smtp.password is not None else ""
            try:
                helo = smtp.helo or parseaddr(sender_of(self.workspace, s.email))[1].rpartition("@")[2] or "localhost"
                return AccountCheck(True, f"SMTP {try_login(smtp, password, helo)}; desk {s.email.to}")
            except DeliveryError as exc:
                return AccountCheck(False, exc.message)
        return self._check_http(channel)

    def _check_http(self, channel: Channel) -> AccountCheck:
        """HEAD on the ingest URL with the credential: reachable, and the credential is not refused (nothing is posted)."""
        from ...errors import DeliveryError
        from .._transport.http import Client, endpoint, refusal

        h: WireHttp = channel.settings.http
        headers = {}
        if h.token is not None:
            value = h.token.reveal(channel.name)
            headers[h.header] = f"{h.scheme} {value}" if h.scheme else value
        client = Client("wire", timeout=h.timeout)
        where = endpoint(h.url, path=False)  # the path of an ingest URL may itself be a secret
        try:
            response = client.probe("HEAD", h.url, headers=headers)
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        finally:
            client.close()
        if response.ok or response.status_code in (405, 501):
            # 405/501: the endpoint is there but takes only its POST; the credential is then tried at sending.
            if response.ok:
                return AccountCheck(True, f"{where} accepts the credential (HTTP {response.status_code} to HEAD)")
            return AccountCheck(
                True,
                f"{where} is reachable (HTTP {response.status_code} to HEAD: it takes only {h.method}, "
                "so the credential is tried when sending)",
            )
        env = h.token.env if h.token is not None else ""
        fix = f"check the environment variable {env} and [http] header/scheme" if env else "add [http] token"
        return AccountCheck(False, refusal(response, h.url, on401=("the wire refused the credential", fix), path=False))

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        s: WireSettings = channel.settings
        (document,) = delivery.files
        if s.transport == "directory":
            return self._drop(document, s.directory)
        if s.transport == "http":
            return self._post(delivery, document, channel)
        return self._mail(delivery, document, channel)

    def _mail(self, delivery: Delivery, document: File, channel: Channel) -> Receipt:
        from .mail import connect, send_to_desk

        # One SMTP session per channel for the whole run (the three documents, several releases).
        if channel.name not in self._smtp:
            self._smtp[channel.name] = connect(self.workspace, channel)
        message_id, reply = send_to_desk(self._smtp[channel.name], self.workspace, delivery, document, channel)
        return Receipt(remote_id=message_id, detail=f"mailed to {channel.settings.email.to}: {reply}")

    def close(self) -> None:
        sessions, self._smtp = self._smtp, {}
        for session in sessions.values():
            session.close()

    def _drop(self, document: File, folder: Path) -> Receipt:
        from .._transport.files import delivery_error, write_atomic

        target = folder / document.name
        try:
            write_atomic(target, document.data)
        except OSError as exc:
            raise delivery_error(exc, f"wire drop folder {folder}") from None
        return Receipt(remote_id=document.name, url=target.resolve().as_uri(), detail=f"written to {target}")

    def _post(self, delivery: Delivery, document: File, channel: Channel) -> Receipt:
        from .._transport.upload import auth_header, send

        h: WireHttp = channel.settings.http
        headers = {
            "Content-Type": delivery.meta["content_type"],
            "Content-Disposition": f'attachment; filename="{document.name}"',
            # Lets an ingest API that honours it drop a repeat of the same delivery.
            "Idempotency-Key": hashlib.sha256(delivery.key.encode()).hexdigest()[:32],
        }
        headers.update(auth_header(h.token, h.header, h.scheme, channel.name))
        response = send(
            h.method,
            h.url,
            headers=headers,
            body=document.data,
            timeout=h.timeout,
            what=f"wire {delivery.part}",
            secret=h.token,
        )
        remote = response.headers.get("Location", "")
        try:
            answer = response.json()
            remote_id = str(answer.get("id", "")) if isinstance(answer, dict) else ""
        except ValueError:
            remote_id = ""
        return Receipt(remote_id=remote_id or remote, url=remote, detail=f"HTTP {response.status_code}")

    def warnings(self, release: Release, channel: Channel) -> list[str]:
        return no_media_contact(release)

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        s: WireSettings = channel.settings
        blocks = []
        for d in deliveries:
            (document,) = d.files
            text = document.data.decode("utf-8")
            checks: list[Check] = []
            if d.part == "txt":
                checks.append(_longest_line(text, s.width))
                if s.ascii:
                    lost = d.meta.get("lost", [])
                    checks.append(
                        Check("characters without an ASCII form", len(lost), 0, ok=not lost, note=" ".join(lost[:20]))
                    )
            notice = "embargoed copy" if d.meta.get("embargoed") else "for immediate release"
            checks.append(Check("notice", notice))
            blocks.append(PreviewBlock(title=f"{document.name} ({d.label})", text=text, checks=tuple(checks)))
        return blocks


def _longest_line(text: str, width: int) -> Check:
    """Longest line against the width; only a single unbreakable word (a long URL) may pass it."""
    lines = text.splitlines()
    longest = max((len(line) for line in lines), default=0)
    if not width:
        return Check("longest line", longest)
    over = [line for line in lines if len(line) > width and not _one_word(line)]
    return Check(
        "longest line",
        longest,
        width,
        ok=not over,
        note="a long URL may pass the width" if longest > width and not over else "",
    )


def _one_word(line: str) -> bool:
    # textwrap puts a word longer than the width alone on its line, after the indent or list marker.
    words = line.split()
    return len(words) == 1 or (len(words) == 2 and bool(_MARKER.match(words[0])))


_MARKER = re.compile(r"^(\d+\.|[-*])$")
