"""Release files: Markdown with TOML front matter between `+++` lines, validated into a Release."""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ReleaseError
from .text import addresses
from .times import example, localize, loose_datetime, parse_at
from .workspace import schema as settings
from .workspace.paths import Bounds
from .workspace.schema import field
from .workspace.toml_lines import TomlSource

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from .workspace.config import Workspace

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_FENCE = "+++"


@dataclass(frozen=True)
class Contact:
    """A media contact."""

    name: str = field(doc="full name")
    title: str = field("", doc="job title")
    email: str = field("", doc="email address")
    phone: str = field("", doc="phone number")
    organization: str = field("", doc="organisation, when not the sender")


@dataclass(frozen=True)
class Image:
    """An image; alt text is mandatory."""

    path: str = field(doc="file, relative to the workspace root (or the release's folder)")
    alt: str = field(doc="alternative text, read aloud to people who cannot see the image")
    url: str = field("", doc="where the image is hosted (absolute URL), for email, feeds and link cards")
    caption: str = field("", doc="visible caption")
    file: Path | None = field(None, init=False)


@dataclass(frozen=True)
class Attachment:
    """A file that goes with the release (a PDF brief, a photo pack)."""

    path: str = field(doc="file, relative to the workspace root (or the release's folder)")
    title: str = field("", doc="link text")
    url: str = field("", doc="where the file is hosted (absolute URL)")
    type: str = field("", doc="MIME type; guessed from the file name otherwise")
    file: Path | None = field(None, init=False)


@dataclass(frozen=True)
class ChannelOverride:
    """[channel.NAME] in a release: what this release changes for one channel."""

    text: str | None = field(None, doc="hand-written post text, replaces the template's")
    at: Any = field(None, doc='offset from publish_at ("+15m") or an absolute date-time')
    subject: str | None = field(None, doc="email subject, replaces the template's")
    thread: bool | None = field(None, doc="post a long text as a numbered thread")


@dataclass(frozen=True)
class FrontMatter:
    """The TOML front matter of a release, key by key (the contract of DESIGN §2)."""

    title: str = field(doc="headline (required)")
    publish_at: dt.datetime = field(doc="when public channels go out; a local time takes the config timezone")
    id: str = field("", doc="[a-z0-9-]; default: the file name without extension")
    subtitle: str = field("", doc="subhead")
    summary: str = field("", doc="one or two sentences for previews, feeds and social posts")
    dateline: str = field("", doc='city, optionally ", Region" (default: config)')
    language: str = field("", doc="BCP 47 language tag (default: config)")
    embargo: dt.datetime | None = field(None, doc="nothing public before this instant")
    url: str = field("", doc="canonical web page of the release (absolute URL)")
    tags: list[str] = field([], doc="subjects; hashtags and categories")
    channels: list[str] | None = field(None, doc="channels to use (default: every enabled channel)")
    contacts: list[Contact] = field([], doc="media contacts")
    images: list[Image] = field([], doc="images, each with alt text")
    attachments: list[Attachment] = field([], doc="attached files")
    channel: dict[str, ChannelOverride] = field({}, doc="per-channel overrides, [channel.NAME]")


@dataclass(frozen=True)
class Release:
    """A validated release: every field typed, times aware, the body in Markdown."""

    id: str
    title: str
    subtitle: str
    summary: str
    dateline: str
    language: str
    publish_at: dt.datetime
    embargo: dt.datetime | None
    url: str
    tags: tuple[str, ...]
    channels: tuple[str, ...] | None
    contacts: tuple[Contact, ...]
    images: tuple[Image, ...]
    attachments: tuple[Attachment, ...]
    overrides: dict[str, ChannelOverride]
    body: str
    path: Path
    sha256: str
    source: TomlSource = dataclasses.field(repr=False)
    # Translations (issue 16): on the original, its sibling files `<stem>.<lang>.md`, in file-name
    # order; on a translation, the original's path. Timing, id and channels are the original's.
    translations: tuple[Release, ...] = ()
    translation_of: Path | None = None

    def variants(self) -> dict[str, Release]:
        """Every language of the release, the original's (main) first: {tag: release}."""
        return {self.language: self, **{t.language: t for t in self.translations}}

    def in_language(self, tag: str) -> Release | None:
        """This release in `tag` (exact BCP 47 match, case-insensitive, then the primary subtag), or None."""
        variants = self.variants()
        wanted = tag.lower()
        for lang, rel in variants.items():
            if lang.lower() == wanted:
                return rel
        primary = wanted.split("-")[0]
        for lang, rel in variants.items():
            if lang.lower().split("-")[0] == primary:
                return rel
        return None

    @cached_property
    def body_html(self) -> str:
        """The body as safe HTML."""
        from .text.markdown import to_html

        return to_html(self.body)

    @cached_property
    def body_text(self) -> str:
        """The body as plain text, unwrapped."""
        from .text.markdown import to_text

        return to_text(self.body)

    def public_at(self) -> dt.datetime:
        """The earliest instant a public channel may deliver: the embargo, else publish time."""
        return max(self.publish_at, self.embargo) if self.embargo else self.publish_at

    def is_embargoed(self, now: dt.datetime) -> bool:
        """Whether the embargo is still in force at `now`."""
        return self.embargo is not None and now < self.embargo

    def override(self, channel: str) -> ChannelOverride:
        """This release's overrides for a channel (empty if none)."""
        return self.overrides.get(channel, ChannelOverride())


def split_front_matter(text: str, path: Path) -> tuple[str, int, str]:
    """(TOML text, line where it starts, Markdown body)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FENCE:
        raise ReleaseError(
            "a release starts with a line '+++', then TOML front matter, then '+++' and the body",
            path=path,
            line=1,
        )
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == _FENCE:
            return "".join(lines[1 : number - 1]), 2, "".join(lines[number:])
    raise ReleaseError("the front matter has no closing '+++' line", path=path, line=len(lines))


def _check_time(value: Any, key: str, source: TomlSource, tz: Any) -> None:
    if isinstance(value, dt.datetime):
        return
    line = source.line_of((), key)
    if isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time(9))
        message = f"{key} = {value} has no time of day; write e.g. {key} = {example(when, tz)}"
    elif isinstance(value, str):
        message = f"{key} must be a TOML date-time without quotes, e.g. {key} = {example(loose_datetime(value), tz)}"
    else:
        message = f"{key} must be a date-time, e.g. {key} = {example(None, tz)}"
    raise ReleaseError(message, path=source.path, line=line)


def _resolve_file(rel: str, release_path: Path, bounds: Bounds, source: TomlSource, table: str, index: int) -> Path:
    candidates = list(dict.fromkeys([bounds.root / rel, release_path.parent / rel]))
    line = source.line_of((table, index), "path")
    found = next((c for c in candidates if c.is_file()), None)
    # The file is inlined into newsletters and copied to the public folder: it must not come
    # from outside the workspace (workspace/paths.py), whichever way it was named.
    outside = [c for c in candidates if not bounds.contains(c)]
    if (found is not None and found in outside) or (found is None and len(outside) == len(candidates)):
        raise ReleaseError(
            bounds.refusal(f"{table}[{index}] path", rel, found or candidates[0]), path=source.path, line=line
        )
    if found is not None:
        return found
    tried = " or ".join(str(c) for c in candidates)
    raise ReleaseError(
        f"{table}[{index}] path {rel!r} does not exist (looked for {tried}); fix the path or add the file",
        path=source.path,
        line=line,
    )


def _check_email(value: str) -> str | None:
    """Why a contact's address is not one, or None when it is (email-validator, no DNS lookups)."""
    try:
        addresses.check(value)
    except ValueError as exc:
        return str(exc)
    return None


def load_release(path: str | Path, workspace: Workspace) -> Release:
    """Read, parse and validate a release and its translations; nothing renders before this succeeds.

    A translation is a sibling file `<stem>.<lang>.md` (BCP 47 tag). Every command takes the
    original and acts on all its translations, so naming a translation is refused with the way out.
    """
    path = Path(path)
    original = original_of(path)
    if original is not None:
        raise ReleaseError(
            f"is the {path.stem.rsplit('.', 1)[1]} translation of {original}; name the original "
            "(every command acts on it and all its translations)",
            path=path,
        )
    release = _load_one(path, workspace)
    translations = []
    seen = {release.language.lower(): path}
    for _tag, sibling in translation_files(path):
        translation = _load_one(sibling, workspace, release)
        key = translation.language.lower()
        if key in seen:
            raise ReleaseError(
                f"language {translation.language!r} is already given by {seen[key]}; "
                "keep one file per language (rename or remove one of them)",
                path=sibling,
                line=translation.source.line_of((), "language") or 1,
            )
        seen[key] = sibling
        translations.append(translation)
    return dataclasses.replace(release, translations=tuple(translations)) if translations else release


def _default_dateline(workspace: Workspace, original: Release, language: str) -> str:
    org = workspace.config.organization
    return org.in_language(language).dateline if original.dateline == org.dateline else original.dateline


def is_language_tag(tag: str) -> bool:
    """Whether `tag` is a BCP 47 language tag CLDR knows ('ko', 'pt-BR', 'zh-Hant'); not 'old' or 'v2'."""
    if not _LANG.match(tag):
        return False
    from babel import Locale, UnknownLocaleError  # only when a file name has a tag-like suffix

    try:
        Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return False
    return True


def translation_files(path: Path) -> list[tuple[str, Path]]:
    """The sibling translations of release file `path`: [(tag, path)], in file-name order."""
    found = []
    for candidate in sorted(path.parent.glob(glob.escape(path.stem) + ".*" + path.suffix)):
        tag = candidate.name[len(path.stem) + 1 : -len(path.suffix) or None]
        if candidate.is_file() and is_language_tag(tag):
            found.append((tag, candidate))
    return found


def original_of(path: Path) -> Path | None:
    """The original release file when `path` is a translation of one (`x.ko.md` beside `x.md`)."""
    base, dot, tag = path.stem.rpartition(".")
    if not dot or not base:
        return None
    original = path.with_name(base + path.suffix)
    return original if original.is_file() and is_language_tag(tag) else None


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError("no such release file", path=path) from None
    except IsADirectoryError:
        raise ReleaseError("is a folder; name a release file (.md)", path=path) from None
    try:
        # -sig: Windows editors save UTF-8 with a BOM; CRLF (and lone CR) line ends become LF,
        # so no stray \r reaches an email body or a wire file.
        return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ReleaseError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", path=path) from None


# What a translation takes from its original: they go out together, so it may repeat these
# (with the same value) but never change them.
_INHERITED = ("publish_at", "embargo", "id", "channels")


def _load_one(path: Path, workspace: Workspace, original: Release | None = None) -> Release:
    text = _read(path)
    front, first_line, body = split_front_matter(text, path)
    source = TomlSource(path, front, first_line)
    tz = workspace.tz
    data = source.parse(ReleaseError, tz)
    fm = _front_matter(source, data, tz, original)
    release_id, language = _check_fields(fm, data, source, workspace, original)
    _check_channels(fm, source, workspace)
    images = []
    for i, image in enumerate(fm.images):
        if not image.alt.strip():
            raise _fail(source, 'image without alt text; describe the image in alt = "..."', ("images", i), "alt")
        file = _resolve_file(image.path, path, workspace.bounds, source, "images", i)
        images.append(_with_file(image, file))
    attachments = []
    for i, att in enumerate(fm.attachments):
        file = _resolve_file(att.path, path, workspace.bounds, source, "attachments", i)
        attachments.append(_with_file(att, file))
    _check_contacts(fm, source)

    digest = hashlib.sha256(text.encode("utf-8"))  # as read: a re-save with a BOM or CRLF changes nothing sent
    if original is not None:
        # Not given: the original's (the same people, pictures and files, unless translated).
        tags = tuple(fm.tags) if "tags" in data else original.tags
        contacts = tuple(fm.contacts) if "contacts" in data else original.contacts
        images_t = tuple(images) if "images" in data else original.images
        attachments_t = tuple(attachments) if "attachments" in data else original.attachments
        overrides = _inherit_at(dict(fm.channel), original)
        return Release(
            id=release_id,
            title=fm.title.strip(),
            subtitle=fm.subtitle.strip(),
            summary=fm.summary.strip(),
            # Not given: the original's, or the organisation's default dateline in this language when the
            # original has the default one ([organization.translations.<lang>] dateline).
            dateline=fm.dateline or _default_dateline(workspace, original, language),
            language=language,
            publish_at=original.publish_at,
            embargo=original.embargo,
            url=fm.url or original.url,
            tags=tags,
            channels=original.channels,
            contacts=contacts,
            images=images_t,
            attachments=attachments_t,
            overrides=overrides,
            body=body.strip("\n") + "\n",
            path=path,
            sha256=_digest(digest, [*images_t, *attachments_t]),
            source=source,
            translation_of=original.path,
        )
    return Release(
        id=release_id,
        title=fm.title.strip(),
        subtitle=fm.subtitle.strip(),
        summary=fm.summary.strip(),
        dateline=fm.dateline or workspace.config.organization.dateline,
        language=language,
        publish_at=localize(fm.publish_at, tz),
        embargo=localize(fm.embargo, tz) if fm.embargo else None,
        url=fm.url,
        tags=tuple(fm.tags),
        channels=tuple(fm.channels) if fm.channels is not None else None,
        contacts=tuple(fm.contacts),
        images=tuple(images),
        attachments=tuple(attachments),
        overrides=dict(fm.channel),
        body=body.strip("\n") + "\n",
        path=path,
        sha256=_digest(digest, [*images, *attachments]),
        source=source,
    )


def _digest(digest: Any, items: list[Any]) -> str:
    for item in items:
        assert item.file is not None
        digest.update(item.file.read_bytes())
    return str(digest.hexdigest())


def _check_inherited(fm: FrontMatter, data: dict[str, Any], source: TomlSource, original: Release, tz: Any) -> None:
    """A translation repeats the original's timing, id and channels or leaves them out; it never changes them."""
    theirs: dict[str, Any] = {
        "publish_at": original.publish_at,
        "embargo": original.embargo,
        "id": original.id,
        "channels": original.channels,
    }
    for key in _INHERITED:
        if key not in data:
            continue
        mine: Any = getattr(fm, key)
        if key in ("publish_at", "embargo") and mine is not None:
            mine = localize(mine, tz)
        if key == "channels" and mine is not None:
            mine = tuple(mine)
        if mine != theirs[key]:
            shown = theirs[key].isoformat() if isinstance(theirs[key], dt.datetime) else theirs[key]
            said = f"{key} = {shown}" if theirs[key] is not None else f"no {key}"
            raise _fail(
                source,
                f"{key} differs from the original's ({said} in {original.path}); a translation goes out "
                f"with its original: remove this line, or change the original",
                key=key,
            )
    for name, override in fm.channel.items():
        if override.at is None:
            continue
        mine = parse_at(override.at, tz, error=ReleaseError)
        ours = original.override(name).at
        if ours is None or parse_at(ours, tz, error=ReleaseError) != mine:
            said = f"at = {ours!r}" if ours is not None else "no at"
            raise _fail(
                source,
                f"[channel.{name}] at differs from the original's ({said} in {original.path}); "
                "a translation goes out with its original: remove this line",
                ("channel", name),
                "at",
            )


def _inherit_at(overrides: dict[str, ChannelOverride], original: Release) -> dict[str, ChannelOverride]:
    """The original's per-channel `at` in a translation's overrides (its text and subject stay its own)."""
    result = dict(overrides)
    for name, theirs in original.overrides.items():
        if theirs.at is None:
            continue
        mine = result.get(name, ChannelOverride())
        result[name] = dataclasses.replace(mine, at=theirs.at)
    return result


def _fail(source: TomlSource, message: str, table: tuple[str | int, ...] = (), key: str | None = None) -> ReleaseError:
    return ReleaseError(message, path=source.path, line=source.line_of(table, key))


def _front_matter(source: TomlSource, data: dict[str, Any], tz: ZoneInfo, original: Release | None) -> FrontMatter:
    """The front matter checked against the schema: the required keys first, the times in a form TOML reads.

    A translation needs only its title: its publish time is the original's.
    """
    for key in ("title",) if original is not None else ("title", "publish_at"):
        if key not in data:
            sample = 'title = "Headline"' if key == "title" else f"publish_at = {example(None, tz)}"
            raise ReleaseError(f"missing {key}; add a line such as {sample}", path=source.path, line=1)
    for key in ("publish_at", "embargo"):
        if key in data:
            _check_time(data[key], key, source, tz)
    if original is not None and "publish_at" not in data:
        data = {**data, "publish_at": original.publish_at}
    ctx = settings.Context(source, error=ReleaseError, what="the release front matter")
    return settings.load(FrontMatter, data, ctx)


def _check_fields(
    fm: FrontMatter, data: dict[str, Any], source: TomlSource, workspace: Workspace, original: Release | None
) -> tuple[str, str]:
    """The title, the id (default: the file stem), the language (default: config's) and the url; (id, language).

    A translation's id is the original's and its language its file name's tag.
    """
    if not fm.title.strip():
        raise _fail(source, "title is empty; give the release a headline", key="title")
    if original is None:
        release_id = fm.id or re.sub(r"[^a-z0-9]+", "-", source.path.stem.lower()).strip("-")
        language = fm.language or workspace.config.language
    else:
        release_id, language = original.id, _translation_language(fm, source)
        _check_inherited(fm, data, source, original, workspace.tz)
    if not _ID.match(release_id):
        raise _fail(source, f"id {release_id!r} may hold only a-z, 0-9 and '-'", key="id")
    if not _LANG.match(language):
        raise _fail(source, f"language {language!r} is not a BCP 47 tag such as 'en' or 'ko-KR'", key="language")
    for key in ("url",):
        value = getattr(fm, key)
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise _fail(source, f"{key} must be an absolute http(s) URL, not {value!r}", key=key)
    return release_id, language


def _translation_language(fm: FrontMatter, source: TomlSource) -> str:
    """A translation's language: its file name's tag; a `language` line may only repeat it."""
    tag = source.path.stem.rpartition(".")[2]
    if fm.language and fm.language.lower() != tag.lower():
        raise _fail(
            source,
            f"language = {fm.language!r} but the file name says {tag!r}; "
            "a translation's language is its file name's (remove the line or rename the file)",
            key="language",
        )
    return fm.language or tag


def _check_channels(fm: FrontMatter, source: TomlSource, workspace: Workspace) -> None:
    """Every channel the release names (in `channels` and `[channel.NAME]`) is configured; each `at` reads."""
    known = workspace.channels
    for name in fm.channels or []:
        if name not in known:
            listed = ", ".join(known) or "none (add files to channels/)"
            raise _fail(source, f"unknown channel {name!r}; configured channels: {listed}", key="channels")
    for name, override in fm.channel.items():
        if name not in known:
            listed = ", ".join(known) or "none"
            message = f"[channel.{name}] names an unknown channel; configured channels: {listed}"
            raise _fail(source, message, ("channel", name))
        if override.at is not None:
            line = source.line_of(("channel", name), "at")
            parse_at(override.at, workspace.tz, path=source.path, line=line, error=ReleaseError)


def _check_contacts(fm: FrontMatter, source: TomlSource) -> None:
    for i, contact in enumerate(fm.contacts):
        if not contact.name.strip():
            raise _fail(source, "contact without a name", ("contacts", i), "name")
        wrong = _check_email(contact.email) if contact.email else None
        if wrong:
            raise _fail(
                source,
                f"contacts[{i}] email {contact.email!r} is not a valid address ({wrong}); write it as name@example.org",
                ("contacts", i),
                "email",
            )
    addresses.keep()


def _with_file(item: Any, file: Path) -> Any:
    # `file` is init=False (not a TOML key), so it is set after construction.
    object.__setattr__(item, "file", file)
    return item
