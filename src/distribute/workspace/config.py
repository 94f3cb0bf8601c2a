"""The workspace: config.toml, channels/*.toml, and where everything lives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, UsageError
from . import schema as settings
from .paths import Bounds
from .schema import field
from .toml_lines import TomlSource, load_toml_file

if TYPE_CHECKING:
    from ..adapters.base import Adapter, Archive
    from ..adapters.registry import Registry
    from ..templating import Templates

CONFIG_ENV = "DISTRIBUTE_CONFIG"
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class OrganizationText:
    """[organization.translations.<lang>]: the organisation's own words in one language."""

    name: str = field("", doc="the organisation's name in this language (default: [organization] name)")
    boilerplate: str = field("", doc='the "About" paragraph in this language (default: [organization] boilerplate)')
    dateline: str = field("", doc="the default dateline city in this language (default: [organization] dateline)")


@dataclass(frozen=True)
class Organization:
    """[organization]: who sends releases."""

    name: str = field("Example Organisation", doc="organisation name, as it appears in every output")
    website: str = field("", doc="organisation website (absolute URL)")
    boilerplate: str = field("", doc='the "About <Org>" paragraph')
    sender: str = field("", doc='sender identity, "Name <address>"; default From of email channels')
    dateline: str = field("", doc='default dateline city, optionally ", Region"')
    logo: str = field("", doc="absolute URL of a logo (feeds, link cards)")
    provider: str = field("", doc="wire provider id used in NewsML-G2 / ninjs URIs (default: website host)")
    unsubscribe_url: str = field(
        "",
        doc="one-click unsubscribe URL of every email channel (https, with {list}, {email} "
        "and {token}); default for a channel with an unsubscribe_key: "
        "<website>/unsubscribe?list={list}&email={email}&token={token}",
    )
    unsubscribe_mailto: str = field("", doc="address for mailto: unsubscribe requests of every email channel")
    translations: dict[str, OrganizationText] = field(
        {},
        doc="the name, boilerplate and default dateline in other languages, by BCP 47 tag "
        '([organization.translations.ko] name = "..."): what every copy in that language says',
    )

    def in_language(self, tag: str) -> Organization:
        """The organisation as a copy in language `tag` shows it: its translated text where given (exact tag,
        then the primary subtag), the rest as configured."""
        if not self.translations:
            return self
        wanted = tag.lower()
        text = next((t for k, t in self.translations.items() if k.lower() == wanted), None)
        if text is None:
            text = next(
                (t for k, t in self.translations.items() if k.lower().split("-")[0] == wanted.split("-")[0]), None
            )
        if text is None:
            return self
        return dataclasses.replace(
            self,
            name=text.name or self.name,
            boilerplate=text.boilerplate or self.boilerplate,
            dateline=text.dateline or self.dateline,
        )

    def __post_init__(self) -> None:
        if self.unsubscribe_url and not self.unsubscribe_url.startswith(("https://", "http://127.0.0.1")):
            raise ValueError("unsubscribe_url must be an https:// URL (RFC 8058 one-click unsubscribe)")
        if self.unsubscribe_url and not all(p in self.unsubscribe_url for p in ("{email}", "{token}")):
            raise ValueError("unsubscribe_url must carry {email} and {token}, e.g. https://x.org/u?e={email}&t={token}")
        if self.unsubscribe_mailto and "@" not in self.unsubscribe_mailto:
            raise ValueError("unsubscribe_mailto must be an address")


@dataclass(frozen=True)
class DeliverySettings:
    """[delivery]: retries, claims and the worker."""

    max_attempts: int = field(5, doc="attempts per delivery before it is marked failed")
    backoff: float = field(30.0, doc="seconds before the first retry; doubles with each attempt, with jitter")
    backoff_max: float = field(
        3600.0, doc="longest wait between two attempts, in seconds (Retry-After may ask for more)"
    )
    batch: int = field(
        20,
        doc="deliveries claimed per database transaction, at least (a sender claims 16 rounds of its connections "
        "at once); claimed is not in doubt: at most one per connection can end in doubt",
    )
    lease: float = field(
        600.0, doc="seconds after which a claim held by a silent process on another host is taken over"
    )
    poll: float = field(10.0, doc="seconds between the worker's looks at the ledger for newly scheduled releases")
    past_limit: str = field(
        "1d",
        doc="how far publish_at may lie in the past before `schedule` and `send` refuse it "
        'unless confirmed with --late (or --at now): a duration like "1d", "12h", "30m"',
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff <= 0 or self.backoff_max < self.backoff:
            raise ValueError("backoff must be positive and backoff_max at least backoff")
        if self.batch < 1 or self.lease <= 0 or self.poll <= 0:
            raise ValueError("batch, lease and poll must be positive")
        from ..times import parse_duration

        if parse_duration(self.past_limit) is None:
            raise ValueError(f'past_limit = {self.past_limit!r} is not a duration like "1d", "12h" or "30m"')

    @property
    def past_limit_delta(self) -> dt.timedelta:
        """past_limit as a time span."""
        from ..times import parse_duration

        limit = parse_duration(self.past_limit)
        assert limit is not None
        return limit


@dataclass(frozen=True)
class Config:
    """config.toml."""

    organization: Organization = field(Organization(), doc="who sends")
    timezone: str = field("UTC", doc="IANA zone for local times in releases and output")
    language: str = field("en", doc="default release language (BCP 47)")
    database: str = field(".distribute/state.db", doc="SQLite file path or SQLAlchemy URL")
    outbox: Path = field(Path("outbox"), doc="default --dry-run output folder")
    public: Path = field(Path("public"), doc="default output folder of feeds")
    public_url: str = field("", doc="absolute URL where the public folder is served (feed self links, media)")
    channels: Path = field(Path("channels"), doc="folder of channel files")
    releases: Path = field(Path("releases"), doc="folder of release files")
    templates: Path = field(Path("templates"), doc="folder of workspace templates (override built-ins)")
    proof_channel: str = field(
        "",
        doc="email channel that mails proofs of the other channels (posts, feed item, wire copy) "
        "with `send RELEASE --proof ADDRESS`; `--via CHANNEL` overrides it",
    )
    allow_paths: list[Path] = field(
        [],
        anywhere=True,
        doc="folders outside the workspace that files and outputs may be in, "
        'e.g. ["/srv/www/press"]; every other path must stay inside the workspace',
    )
    delivery: DeliverySettings = field(DeliverySettings(), doc="retries, claims and the worker ([delivery])")
    approvals: int = field(
        0,
        doc="sign-off: how many people (distinct names) must `distribute approve` the exact version of a release "
        "before schedule, send and the worker let it go; an edit voids earlier approvals. 0: none needed",
    )

    def __post_init__(self) -> None:
        if self.approvals < 0:
            raise ValueError("approvals must be 0 (no sign-off) or the number of approvals a release needs")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'timezone {self.timezone!r} is not an IANA time zone, e.g. "Asia/Seoul"') from None


# Keys every channel file may have; the rest belong to the adapter's Settings.
@dataclass(frozen=True)
class ChannelCommon:
    """The keys every channel file has, whatever its adapter."""

    adapter: str = field(doc="which adapter renders and delivers this channel")
    template: str = field("", doc="template name; the adapter's default otherwise")
    enabled: bool = field(True, doc="false: skipped unless a release names it")
    at: Any = field(None, doc='default time: offset from publish_at ("+1h", "-30m") or a date-time')
    embargoed_copy: bool = field(False, doc="may receive the release before the embargo, marked as embargoed")
    priority: int = field(
        0,
        doc="order among channels ready at the same time: higher goes first; at equal priority "
        "embargoed copies (the press list) go first, then the channel with fewer deliveries (a wire desk, "
        "social posts before a long newsletter)",
    )
    language: str = field(
        "", doc='send only this language of a release (BCP 47, e.g. "ko": a Korean account or wire desk)'
    )
    languages: list[str] = field(
        [],
        doc="send these languages of a release (email: each recipient gets one, by the list's language column; "
        "default: the release's main language only)",
    )
    description: str = field("", doc="free text for humans")


@dataclass(frozen=True)
class Channel:
    """A configured outlet: its name, common keys and its adapter's typed settings."""

    name: str
    path: Path
    common: ChannelCommon
    settings: Any
    source: TomlSource

    @property
    def adapter(self) -> str:
        return self.common.adapter

    @property
    def enabled(self) -> bool:
        return self.common.enabled

    def secrets(self) -> list[settings.Secret]:
        """The secrets this channel refers to."""
        return settings.secrets_of(self.settings)

    def missing_secrets(self) -> list[str]:
        """Names of referenced environment variables that are not set."""
        return [s.env for s in self.secrets() if not s.is_set()]


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config, else $DISTRIBUTE_CONFIG, else ./config.toml; None means built-in defaults here."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")
        return path.resolve()
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise UsageError(f"${CONFIG_ENV}={env}: no such file")
        return path.resolve()
    local = Path("config.toml")
    return local.resolve() if local.is_file() else None


def load_config(path: Path | None, root: Path) -> Config:
    """Read config.toml (or the built-in defaults when there is none); its paths must stay in bounds."""
    if path is None:
        data: dict[str, Any] = {}
        ctx = settings.Context(TomlSource(root / "config.toml", ""), root=root)
    else:
        data, source = load_toml_file(path)
        ctx = settings.Context(source, root=root, what="config.toml")
    # allow_paths first: it says where every other path may lead.
    allowed = settings.load(Config, data, ctx).allow_paths
    ctx = dataclasses.replace(ctx, bounds=Bounds.of(root, allowed))
    config = settings.load(Config, data, ctx)
    if config.organization.translations:
        from ..release import is_language_tag

        for tag in config.organization.translations:
            if not is_language_tag(tag):
                ctx.child("organization").child("translations").child(tag).fail(
                    f"[organization.translations.{tag}]: {tag!r} is not a BCP 47 language tag; "
                    "name the table by one such as ko or pt-BR",
                )
    database = sqlite_file(config.database, root)
    if database is not None:
        assert ctx.bounds is not None
        refused = ctx.bounds.check(database, "database", config.database)
        if refused:
            ctx.fail(refused, "database" if "database" in data else None)
    return config


def sqlite_file(database: str, root: Path) -> Path | None:
    """The SQLite file a `database` setting names (a plain path or a sqlite:/// URL), else None."""
    if "://" in database:
        if not database.startswith("sqlite:///"):
            return None
        database = database.removeprefix("sqlite:///").partition("?")[0]
        if not database or database == ":memory:":
            return None
        root = Path.cwd()  # SQLAlchemy reads a relative file in a URL from the current folder
    path = Path(database).expanduser()
    return path if path.is_absolute() else root / path


def _check_languages(common: ChannelCommon, listed: bool, path: Path, source: TomlSource) -> None:
    """A channel's `language` / `languages`: BCP 47 tags CLDR knows, one of the two keys, no tag twice."""
    from ..release import is_language_tag

    if common.language and common.languages:
        raise ConfigError(
            'language and languages are both set; keep language = "ko" for a channel that sends one language, '
            'or languages = ["en", "ko"] for several',
            path=path,
            line=source.line_of((), "languages"),
        )
    tags = [common.language] if common.language else list(common.languages)
    key = "language" if common.language else "languages"
    if listed and not tags:
        raise ConfigError(
            'languages = [] sends nothing; list the languages, e.g. languages = ["en", "ko"], or remove the line',
            path=path,
            line=source.line_of((), key),
        )
    seen: set[str] = set()
    for tag in tags:
        if not is_language_tag(tag):
            raise ConfigError(
                f'{key}: {tag!r} is not a BCP 47 language tag; write one such as "en", "ko" or "pt-BR"',
                path=path,
                line=source.line_of((), key),
            )
        if tag.lower() in seen:
            raise ConfigError(
                f"{key}: {tag!r} is listed twice; list each language once", path=path, line=source.line_of((), key)
            )
        seen.add(tag.lower())


class Workspace:
    """A comms team's folder: config, channels, templates, releases, state."""

    def __init__(self, config_path: Path | None = None, root: Path | None = None, registry: Registry | None = None):
        self.config_path = config_path
        self.root = (config_path.parent if config_path else (root or Path.cwd())).resolve()
        self.config = load_config(config_path, self.root)
        if registry is None:
            from ..adapters.registry import Registry

            registry = Registry()
        self.registry = registry

    @classmethod
    def discover(cls, explicit: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace named by --config / $DISTRIBUTE_CONFIG / ./config.toml."""
        return cls(find_config(explicit))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @cached_property
    def bounds(self) -> Bounds:
        """Where files named in releases, channel files and config.toml may be (workspace/paths.py)."""
        return Bounds.of(self.root, self.config.allow_paths)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the ledger; a plain path is a SQLite file under the root."""
        db = self.config.database
        if "://" in db:
            return db
        path = Path(db).expanduser()
        if not path.is_absolute():
            path = self.root / path
        return f"sqlite:///{path}"

    @cached_property
    def channels(self) -> dict[str, Channel]:
        """Every channel file, by name (the file stem), in name order."""
        folder = self.config.channels
        found: dict[str, Channel] = {}
        if not folder.is_dir():
            return found
        for path in sorted(folder.glob("*.toml")):
            channel = self.load_channel(path)
            found[channel.name] = channel
        return found

    def load_channel(self, path: Path) -> Channel:
        """Read one channel file and check it against its adapter's settings."""
        name = path.stem
        data, source = load_toml_file(path, tz=self.tz)
        if not _CHANNEL_NAME.match(name):
            raise ConfigError("a channel file name must be lower-case letters, digits, '-' or '_'", path=path)
        ctx = settings.Context(source, root=self.root, what=f"channel {name!r}", bounds=self.bounds)
        common_keys = {settings.toml_key(f) for f in dataclasses.fields(ChannelCommon)}
        if "adapter" not in data:
            known = ", ".join(self.registry.names())
            raise ConfigError(f'missing adapter = "..."; one of: {known}', path=path, line=1)
        common = settings.load(ChannelCommon, {k: v for k, v in data.items() if k in common_keys}, ctx)
        schema = self.registry.settings(common.adapter, path=path, line=source.line_of((), "adapter"))
        rest = {k: v for k, v in data.items() if k not in common_keys}
        ctx = dataclasses.replace(ctx, what=f"channel {name!r} (adapter {common.adapter!r})")
        adapter_settings: Any = settings.load(schema, rest, ctx)
        _check_languages(common, "languages" in data, path, source)
        if common.at is not None:
            from ..times import parse_at

            parse_at(common.at, self.tz, path=path, line=source.line_of((), "at"))
        return Channel(name, path, common, adapter_settings, source)

    @cached_property
    def templates(self) -> Templates:
        """Workspace templates/, then the template folders of the plugins its channels use, then the built-ins."""
        from ..templating import Templates

        plugins = sorted({c.adapter for c in self.channels.values()})
        folders = [f for name in plugins if (f := self.registry.template_folder(name)) is not None]
        return Templates(self.config.templates, folders)

    @cached_property
    def archive(self) -> Archive:
        """What each channel published before (the feed archive), for adapters (adapters.base.Archive)."""
        from ..ledger.archive import FeedArchive

        return FeedArchive(self.database_url)

    def adapter(self, channel: Channel) -> Adapter:
        """A ready adapter instance for a channel."""
        return self.registry.get(channel.adapter)(self)
