"""The rss adapter: RSS 2.0 and Atom feeds of the workspace's releases, with their archive.

render() reads the archive (feed_items) and returns one delivery, target "feed", part "feed",
holding feed.xml and atom.xml as they would be written now: the earlier releases plus this one
(unless its embargo is still in force at render time: a dry-run before the embargo shows the
feed without it, although the delivery is due at the embargo). deliver() records the item in
the archive and rewrites both files atomically under the archive's lock, then optionally
uploads them with HTTP PUT and pings a WebSub hub.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin

from ... import clock
from ...errors import ConfigError, DeliveryError
from ...workspace.schema import Secret, field
from .._transport.files import shown_folder
from ..base import AccountCheck, Adapter, Check, Delivery, File, PreviewBlock, Receipt, RenderContext, in_language
from .feed import FeedInfo, build, order, stamp_items, visible

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel, Workspace

RSS_FILE = "feed.xml"
ATOM_FILE = "atom.xml"


@dataclass(frozen=True)
class Upload:
    """[upload]: put the written files on a web server too (HTTP PUT)."""

    url: str = field("", doc="base URL; feed.xml and atom.xml are PUT beneath it (empty: no upload)")
    header: str = field("Authorization", doc="request header carrying the credential")
    scheme: str = field("Bearer", doc='text before the credential in that header ("" for none)')
    token: Secret | None = field(None, doc='the credential, by reference: { env = "NAME" }')


@dataclass(frozen=True)
class RssSettings:
    """Keys of an rss channel file."""

    directory: Path | None = field(None, doc="folder feed.xml and atom.xml are written to (default: config `public`)")
    rss_file: str = field(
        "",
        doc="file name of the RSS feed in that folder (default: feed.xml; feed.<language>.xml for a channel "
        "whose `language` is not config's, e.g. feed.ko.xml)",
    )
    atom_file: str = field(
        "", doc="file name of the Atom feed (default: atom.xml; atom.<language>.xml as for rss_file)"
    )
    title: str = field("", doc="feed title (default: the organisation name)")
    description: str = field("", doc='feed description (default: "News releases from <organisation>")')
    link: str = field("", doc="web site the feed belongs to (default: organisation website, else public_url)")
    feed_url: str = field(
        "",
        doc="absolute URL of feed.xml, its rel=self link (default: public_url + feed.xml); "
        "atom.xml is expected beside it",
    )
    language: str = field("", doc="feed language, BCP 47 (default: the channel's `language`, else config's)")
    logo: str = field("", doc="absolute URL of the feed image/logo (default: organisation logo)")
    copyright: str = field("", doc="copyright notice (RSS copyright, Atom rights)")
    max_items: int = field(20, doc="newest releases kept in the feed")
    media_path: str = field(
        "media", doc="folder under the feed directory (and public_url) for release files without a url of their own"
    )
    hub: str = field("", doc="WebSub hub URL: advertised in both feeds and pinged after each write")
    upload: Upload = field(Upload(), doc="HTTP PUT upload of both files after writing them ([upload])")
    timeout: float = field(20.0, doc="seconds to wait for the hub or the upload server")

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise ValueError("max_items must be at least 1")
        if ".." in self.media_path.replace("\\", "/").split("/"):
            # Release files are copied under the feed directory: "../" would write them elsewhere.
            raise ValueError(f"media_path {self.media_path!r} must be a folder under the feed directory, without '..'")
        for key in ("link", "feed_url", "logo", "hub"):
            value = getattr(self, key)
            if value and not value.startswith(("http://", "https://")):
                raise ValueError(f"{key} must be an absolute http(s) URL, not {value!r}")
        for key in ("rss_file", "atom_file"):
            value = getattr(self, key)
            if value and (not value.endswith(".xml") or "/" in value or "\\" in value or value.startswith(".")):
                raise ValueError(f"{key} must be a file name ending in .xml, such as 'feed.ko.xml', not {value!r}")
        if self.upload.url and not self.upload.url.startswith(("http://", "https://")):
            raise ValueError(f"upload.url must be an absolute http(s) URL, not {self.upload.url!r}")


@dataclass(frozen=True)
class FeedDelivery(Delivery):
    """A feed delivery whose hash covers this release's own item, not the feed around it.

    The rest of the feed changes as other releases are published and as this one's embargo
    lifts; what was scheduled must be what is sent only for this release's item.
    """

    basis: bytes = dataclasses.field(default=b"", compare=False, repr=False)

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256(b"feed-item\0")
        digest.update(self.basis)
        return digest.hexdigest()


class RssAdapter(Adapter):
    """RSS 2.0 and Atom feeds (feedgen) with the archive of earlier releases, written atomically."""

    name: ClassVar[str] = "rss"
    Settings: ClassVar[type] = RssSettings
    default_template: ClassVar[str] = "rss/item.html.j2"
    public: ClassVar[bool] = True
    idempotent: ClassVar[bool] = True  # rewriting a feed, re-PUTting it and re-pinging a hub are all safe

    def info(self, channel: Channel) -> FeedInfo:
        """The channel-level fields, with their defaults from config.toml."""
        return feed_info(self.workspace, channel)

    def directory(self, channel: Channel) -> Path:
        return channel.settings.directory or self.workspace.config.public

    def file_names(self, channel: Channel) -> tuple[str, str]:
        """The RSS and Atom file names of a channel (see `feed_files`)."""
        return feed_files(self.workspace, channel)

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Delivery]:
        """One delivery: this language's item, in the feed as it would be written now.

        `release` may be a translation (`context.original` is then the release in its main language):
        its item is its own (guid, archive id `<id>.<lang>`). On a channel with `languages` the feed
        holds each listed language of the release as its own item, so every language's delivery shows
        the same feed, and each records only its own item when delivered.
        """
        from .items import build_item, item_id, release_of

        settings: RssSettings = channel.settings
        info = self.info(channel)
        rss_name, atom_name = self.file_names(channel)
        archive = self.workspace.archive
        original = context.original
        variants = together(release, context)
        # One more per language than shown: this release may be among the newest and is replaced by its new version.
        archived = archive.items(channel.name, limit=settings.max_items + len(variants))
        now = clock.now()
        shown = [i for i in stamp_items(archived) if release_of(i["release_id"]) != release.id and visible(i, now)]
        item: dict[str, Any] = {}
        media: list[Any] = []
        for variant in variants:
            own = archive.find(channel.name, item_id(variant, original))
            this, files = build_item(variant, channel, self.workspace, info.link, own, original)
            if variant is release:
                item, media = this, files
            if visible(this, now):
                shown.append(this)
            elif own is not None and visible(own.item, now):
                shown.append(dict(own.item))  # an earlier, public version stays until the new one may show
        shown = order(shown, settings.max_items)
        basis = json.dumps(
            {"item": item, "media": [dataclasses.asdict(m) for m in media]}, sort_keys=True, ensure_ascii=False
        ).encode()
        yield FeedDelivery(
            release.id,
            channel.name,
            self.name,
            in_language("feed", release),  # a translation's key carries its language: feed.ko
            "feed",
            files=(
                File(rss_name, build(shown, info, "rss", now)),
                File(atom_name, build(shown, info, "atom", now)),
            ),
            meta={"item": item, "media": [dataclasses.asdict(m) for m in media]},
            label=f"feed in {shown_folder(self.directory(channel), self.workspace.root)}"
            + (f" ({release.language})" if original is not None and original.translations else ""),
            basis=basis,
        )

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        settings: RssSettings = channel.settings
        item: dict[str, Any] = dict(delivery.meta["item"])
        now = clock.now()
        if not visible(item, now):
            seconds = (clock.parse_seconds(item["embargo"]) - now).total_seconds()
            raise DeliveryError(
                f"release {delivery.release_id} is under embargo until {item['embargo']}",
                retryable=True,
                retry_after=seconds,
            )
        info = self.info(channel)
        folder = self.directory(channel)
        documents = self._write(delivery, channel, item, info, folder, now)
        rss_name, atom_name = self.file_names(channel)
        done = [f"wrote {rss_name} and {atom_name} in {folder}"]
        if settings.upload.url:
            self._upload(documents, channel)
            done.append(f"uploaded to {settings.upload.url}")
        if settings.hub:
            self._ping(info, settings)
            done.append(f"pinged {settings.hub}")
        return Receipt(remote_id=item["guid"], url=info.rss_url, detail="; ".join(done))

    def _write(
        self, delivery: Delivery, channel: Channel, item: dict[str, Any], info: FeedInfo, folder: Path, now: dt.datetime
    ) -> dict[str, bytes]:
        from .._transport.files import delivery_error, write_atomic

        settings: RssSettings = channel.settings
        try:
            with self.workspace.archive.writing() as archive:
                published = clock.parse_seconds(item["published"])
                # Each language of a release is an item of its own (`<id>.<lang>` for a translation).
                archive.record(channel.name, item.get("release_id", delivery.release_id), item["guid"], published, item)
                everything = stamp_items(archive.items(channel.name, limit=settings.max_items))
                shown = order([i for i in everything if visible(i, now)], settings.max_items)
                rss_name, atom_name = self.file_names(channel)
                documents = {rss_name: build(shown, info, "rss", now), atom_name: build(shown, info, "atom", now)}
                for m in delivery.meta.get("media", []):
                    target = folder / m["target"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(target, Path(m["source"]).read_bytes())
                # Written while the lock is held: two releases delivered at once never lose an item.
                for name, data in documents.items():
                    write_atomic(folder / name, data)
        except OSError as exc:
            raise delivery_error(exc, f"feed {folder}") from None
        return documents

    def _upload(self, documents: dict[str, bytes], channel: Channel) -> None:
        from .._transport.upload import auth_header, send

        up: Upload = channel.settings.upload
        base = up.url if up.url.endswith("/") else up.url + "/"
        rss_name, _ = self.file_names(channel)
        for name, data in documents.items():
            kind = "application/rss+xml" if name == rss_name else "application/atom+xml"
            headers = {
                "Content-Type": f"{kind}; charset=utf-8",
                **auth_header(up.token, up.header, up.scheme, channel.name),
            }
            send(
                "PUT",
                urljoin(base, name),
                headers=headers,
                body=data,
                timeout=channel.settings.timeout,
                what=f"upload of {name}",
                secret=up.token,
            )

    def _ping(self, info: FeedInfo, settings: RssSettings) -> None:
        from urllib.parse import urlencode

        from .._transport.upload import send

        # WebSub publishers notify the hub with hub.mode=publish and the topic URL(s), form-encoded.
        body = urlencode([("hub.mode", "publish"), ("hub.url", info.rss_url), ("hub.url", info.atom_url)])
        send(
            "POST",
            settings.hub,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=body.encode(),
            timeout=settings.timeout,
            what="WebSub hub ping",
        )

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        blocks = []
        for d in deliveries:
            item = d.meta.get("item", {})
            rss = d.files[0]  # the RSS document, then the Atom one
            included = item.get("guid", "\0").encode() in rss.data
            count = rss.data.count(b"<item>")
            checks = (
                Check("items in feed", count, channel.settings.max_items),
                Check(
                    "this release in the feed now",
                    "yes" if included else "no (embargo)",
                    ok=True,
                    note="" if included else "the feed written at the embargo will contain it",
                ),
            )
            text = "\n".join(f"--- {f.name}\n{f.data.decode('utf-8', 'replace')}" for f in d.files)
            blocks.append(PreviewBlock(title=d.label or "feed", text=text, checks=checks))
        return blocks

    def destination(self, channel: Channel) -> str:
        folder = shown_folder(self.directory(channel), self.workspace.root)
        rss_name, atom_name = self.file_names(channel)
        return f"{folder}{rss_name}, {folder}{atom_name}"

    def check_account(self, channel: Channel) -> AccountCheck:
        """The feed folder is writable; with [upload], the web server takes the credential (HEAD on feed.xml)."""
        from .._transport.files import check_writable

        folder = self.directory(channel)
        ok, detail = check_writable(
            folder, "feed folder " + shown_folder(folder, self.workspace.root), self.workspace.root
        )
        up: Upload = channel.settings.upload
        if not ok or not up.url:
            return AccountCheck(ok, detail)
        from .._transport.http import Client, endpoint, refusal

        headers = {}
        if up.token is not None:
            value = up.token.reveal(channel.name)
            headers[up.header] = f"{up.scheme} {value}" if up.scheme else value
        url = urljoin(up.url if up.url.endswith("/") else up.url + "/", RSS_FILE)
        client = Client("feed upload", timeout=channel.settings.timeout)
        try:
            response = client.probe("HEAD", url, headers=headers)
        except DeliveryError as exc:
            return AccountCheck(False, f"{detail}; upload: {exc.message}")
        finally:
            client.close()
        # 404: nothing uploaded yet; 405: the server takes PUT but not HEAD. Only a refusal or a fault fails.
        if response.ok or response.status_code in (404, 405):
            return AccountCheck(True, f"{detail}; upload to {endpoint(up.url, path=False)} answers")
        env = up.token.env if up.token is not None else ""
        fix = f"check the environment variable {env} and [upload] header/scheme" if env else "add [upload] token"
        return AccountCheck(
            False, f"{detail}; upload: " + refusal(response, url, on401=("credential refused", fix), path=False)
        )

    def missing(self, channel: Channel) -> list[str]:
        needs = super().missing(channel)
        try:
            self.info(channel)
        except ConfigError as exc:
            needs.append(exc.message)
        return needs


def together(release: Release, context: RenderContext) -> list[Release]:
    """The languages of a release this channel's feed holds: each it sends (`context.languages`,
    main first), one item each; the one being rendered when the plan names none."""
    if context.original is None or len(context.languages) < 2:
        return [release]
    variants = context.original.variants()
    chosen = [variants[tag] for tag in context.languages if tag in variants]
    return chosen if any(v is release for v in chosen) else [release]


def feed_files(workspace: Workspace, channel: Channel) -> tuple[str, str]:
    """The channel's RSS and Atom file names: its settings, else feed.xml and atom.xml, with the
    channel's `language` in them (feed.ko.xml) when it is not the workspace's main language."""
    s: RssSettings = channel.settings
    lang = channel.common.language
    suffix = f".{lang}" if lang and lang.lower() != workspace.config.language.lower() else ""
    return s.rss_file or f"feed{suffix}.xml", s.atom_file or f"atom{suffix}.xml"


def feed_info(workspace: Workspace, channel: Channel) -> FeedInfo:
    """Channel-level feed fields: channel settings first, then config.toml; refuses relative URLs."""
    s: RssSettings = channel.settings
    config, org = workspace.config, workspace.config.organization
    public = config.public_url
    if public and not public.endswith("/"):
        public += "/"
    rss_name, atom_name = feed_files(workspace, channel)
    rss_url = s.feed_url or (urljoin(public, rss_name) if public else "")
    if not rss_url:
        raise ConfigError(
            "the feed needs its own absolute URL (atom:link rel=self): set public_url in "
            "config.toml or feed_url in this channel file",
            path=channel.path,
        )
    link = s.link or org.website or public
    if not link.startswith(("http://", "https://")):
        raise ConfigError(
            "the feed needs an absolute site link: set [organization] website in config.toml "
            "or link in this channel file",
            path=channel.path,
        )
    return FeedInfo(
        title=s.title or org.name,
        link=link,
        description=s.description or f"News releases from {org.name}",
        language=s.language or channel.common.language or config.language,
        rss_url=rss_url,
        atom_url=urljoin(rss_url, atom_name),
        author_name=org.name,
        author_uri=org.website,
        logo=s.logo or org.logo,
        hub=s.hub,
        copyright=s.copyright,
    )
