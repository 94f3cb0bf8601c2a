"""The adapter contract: `render` shows exactly what would leave the machine; `deliver` sends it.

This module, `distribute.testing` (the contract suite) and what `distribute/__init__.py` exports
are the whole public API an adapter needs; docs/plugins.md walks through writing one.

An adapter class is constructed with the workspace (``Adapter(workspace)``); one instance may
serve several channels, so every method is given the channel. For each channel that uses it:

- ``render(release, channel, *, context)`` is pure and deterministic. It returns the
  deliveries (a list, or an iterator for long recipient lists) holding the exact bytes that
  would leave the machine, each with a stable key ``release/channel/target/part`` and a
  content hash. It touches no network. `context` (a `RenderContext`) tells it what it cannot
  know by itself: `context.due`, the instant these deliveries are due (the ledger's, so the
  render at sending time is the one made at scheduling; `send RELEASE` makes it "now"), and
  `context.public`, whether the channel is held until the embargo (False for a channel with
  `embargoed_copy`). Dates that leave the machine (an email's Date, a wire story's version
  time) are `context.due`, and a copy with `context.embargoed` (due before the embargo) says
  EMBARGOED UNTIL. A release in several languages (issue 16) is rendered once per language the
  channel sends: `release` is that translation (or the original), `context.original` the original
  with all its translations (`original.variants()`, to link the other languages) and
  `context.languages` the tags the channel sends. A translation's delivery keys and file names
  carry its language (`in_language(target, release)`: "post" -> "post.ko"), so the languages never
  collide; the email adapter instead sends each recipient one language (its target is the recipient).
  An older adapter whose render takes ``(release, channel, *, due=None)``
  or only ``(release, channel)`` is still called, with what it takes (see `render_in`).
- A delivery whose bytes hold a value made with a secret (an unsubscribe token made with its
  key) names the secret's variables in `secrets` and sets `lock` to the hash of the files
  as they are without it, so the content lock does not depend on whether the secret is set
  where render runs; the ledger records the names, never a value. An adapter may instead lock
  by a cheaper hash of the pieces it builds the files from, giving `plain` (see `Delivery`).
- ``deliver(delivery, channel)`` performs the I/O for one delivery and returns a `Receipt`,
  or raises `DeliveryError(retryable=..., in_doubt=...)`. It never returns a bool and never
  swallows an error. A delivery with `after` set finds the receipt of that earlier delivery
  in ``self.receipts.get(key)``.
- ``deliver_many(deliveries, channel)`` may send several at once over shared connections; it
  yields one `Outcome` per delivery, each as soon as it is known, and pulls the next delivery
  from the iterator only when it is about to hand it over (so the ledger can mark it first).
  The default calls `deliver` for each. An adapter whose ``gated(channel)`` is True is handed
  deliveries before the ledger's mark of them is durable: each carries a `Gate`, and the
  transport may transfer everything but the committing step (SMTP's final dot) before
  ``gate.passed()``; refused (the row was taken over), it must drop the delivery unsent.
- ``count(release, channel, *, context) -> int`` says how many deliveries that render would give,
  for `preview`, which shows a few of them and the count. The default renders them and counts; an
  adapter whose render is long (the email adapter's list) counts what it would render without
  building each delivery, and must give exactly ``len(list(render(...)))`` (the contract suite checks it).
- ``preview(deliveries, channel) -> list[PreviewBlock]`` gives readable renditions (with
  `Check`s such as a post's length against its limit) for `preview` and `validate`;
  ``missing(channel) -> list[str]`` names what the channel still lacks to deliver (unset
  secrets by default); ``close()`` releases connections.
- ``check_account(channel) -> AccountCheck`` (for `distribute channels --check`) logs in to the
  channel's account or tries its folder *without delivering anything*: `ok` and one line saying
  whom it reached or exactly what is wrong and what to do. Secrets it needs are read with
  `Secret.reveal` (an unset one raises `SecretMissing`, reported as missing). The default says
  the adapter has no check (`checked=False`, which does not fail the command).

Class attributes describe the adapter: its `name`, its `Settings` dataclass (the channel file
schema; document each field with `distribute.field(default, doc=...)`), its
`default_template` (a template name such as ``"webhook/post.json.j2"``), `templates` (a
folder, relative to the module defining the class, holding its default templates: searched
after the workspace's templates/ and before the built-ins, and reachable with the `default:`
prefix), whether it is `public` (held until the embargo), and whether a retry of a delivery
whose outcome is unknown is safe (`idempotent`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol
from urllib.parse import quote

from ..errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    from ..release import Release
    from ..workspace.config import Channel, Workspace


_KEY_SAFE = re.compile(r"[A-Za-z0-9@.+\-_~:=,!*'()]*")  # what quote() leaves as it is (safe below)


def key_part(value: str) -> str:
    """One segment of a delivery key: '/' and '%' are escaped so the key splits back unambiguously."""
    if _KEY_SAFE.fullmatch(value):
        return value  # most segments (ids, channel names, addresses): nothing to quote
    return quote(value, safe="@.+-_~:=,!*'()")


@functools.lru_cache(maxsize=512)
def _key_part_of(value: str) -> str:
    """key_part of what many deliveries share (release, channel, part), remembered."""
    return key_part(value)


@dataclass(frozen=True)
class File:
    """One payload file: a path relative to the channel's outbox folder and its exact bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Delivery:
    """One unit of delivery, delivered at most once: a message, a post, a feed, a wire file."""

    release_id: str
    channel: str
    adapter: str
    target: str
    part: str
    files: tuple[File, ...]
    # What deliver() needs beyond the files (recipient, endpoint, thread position...).
    # Must be deterministic too; it is not part of the hash.
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)
    due: dt.datetime | None = None
    # A short human label for preview/status: "to Kim <k@x.org>", "post 2/3".
    label: str = ""
    # Key of a delivery that must be delivered first (the previous post of a thread);
    # deliver() finds its receipt in adapter.receipts.
    after: str | None = None
    # Environment variables whose values shaped the files (an unsubscribe key), by name, and
    # the hash of the files as rendered without them: the content lock must not depend on
    # whether a secret is set where render runs (a cron job may lack what the shell had).
    secrets: tuple[str, ...] = ()
    lock: str | None = dataclasses.field(default=None, compare=False)
    # Set by the dispatcher for an adapter that is `gated`: what must pass before it commits this one.
    gate: Gate | None = dataclasses.field(default=None, compare=False, repr=False)

    # An adapter may lock a delivery by a hash of its own pieces rather than of the files (email: the
    # prepared message's digest and each recipient's values, so booking never joins the message). Such a
    # lock must change whenever the files would, and never with a secret's value. `plain` then gives, when
    # asked, the hash of the files as they are without secrets, made as files_sha256 makes it: what rows
    # scheduled before that lock hold, what an approval covers and what the outbox manifest shows.
    plain: Callable[[], str] | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        key: str | None = self.__dict__.get("_key")  # asked for several times a delivery: made once
        if key is None:
            part = _key_part_of
            key = f"{part(self.release_id)}/{part(self.channel)}/{key_part(self.target)}/{part(self.part)}"
            self.__dict__["_key"] = key
        return key

    @property
    def sha256(self) -> str:
        """The content lock: what was scheduled is what is sent (the hash of the files, unless `lock` says otherwise)."""
        return self.lock if self.lock is not None else files_sha256(self.files)

    @property
    def files_hash(self) -> str:
        """The hash of every file's name and bytes, in order, as they are without secrets (files_sha256)."""
        return self.plain() if self.plain is not None else self.sha256

    def matches(self, recorded: str) -> bool:
        """Whether a content hash recorded at scheduling is this delivery's: its lock, or the hash of its
        files (what a schedule made before the adapter locked by its pieces recorded)."""
        return recorded == self.sha256 or (self.plain is not None and recorded == self.plain())


class Entry(NamedTuple):
    """What the ledger books of one delivery: its key and content lock, without its files.

    `schedule` needs no payload, only what a row holds; `Adapter.entries` gives these, each exactly
    what the delivery of `render` would give (`entry_of`). A named tuple: one is made per recipient.
    """

    key: str
    target: str
    part: str
    label: str
    after: str | None
    sha256: str  # the delivery's content lock (`Delivery.sha256`): what dispatch checks the render against
    secrets: tuple[str, ...] = ()


def entry_of(delivery: Delivery) -> Entry:
    """The booking record of a rendered delivery."""
    d = delivery
    return Entry(d.key, d.target, d.part, d.label, d.after, d.sha256, d.secrets)


def files_sha256(files: Iterable[File]) -> str:
    """The content hash of files: each name and its bytes, in order, length-prefixed."""
    digest = hashlib.sha256()
    for f in files:
        name = f.name.encode()
        digest.update(len(name).to_bytes(4, "big") + name)
        digest.update(len(f.data).to_bytes(8, "big") + f.data)
    return digest.hexdigest()


class Gate(Protocol):
    """The ledger's mark of a delivery as `sending`, on its way to the disk while the transfer starts.

    SMTP accepts a message only at the reply to the final "."; a session dropped before it
    delivers nothing. So a gated transport (`Adapter.gated`) may send MAIL, RCPT, DATA and the
    body at once, and writes the final dot only once `passed()`: so a message can only have left
    once its row is durably `sending`, and rows in doubt after a crash stay at most one per connection.

    The mark may be written on the transport's own thread (the dispatcher does so): it is written
    when the transport, with nothing else to do, calls `meanwhile()`, or asks `passed()`. A gated
    `deliver_many` that waits for a gate must do one of the two, from the thread that iterates it,
    never only wait for `notify`.
    """

    def done(self) -> bool:
        """Whether the mark is decided (committed, or refused)."""
        ...

    def passed(self) -> bool:
        """True: the delivery is this sender's to commit; False: taken over meanwhile, drop it unsent.

        Writes (or waits for) the mark when it is not decided yet; raises what the mark raised (treat
        it as False). Called from the thread that iterates `deliver_many`.
        """
        ...

    def notify(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from any thread, possibly at once) when the mark is decided."""
        ...

    def meanwhile(self) -> bool:
        """Let the gate's owner use a wait for it: the transport has nothing to do until a socket or a gate
        moves. The owner writes the marks that wait, or prepares a little of what comes next (a run
        renders its next delivery); True if it did something (the transport looks at its sockets and
        gates again, then may ask once more).
        Called from the thread that iterates `deliver_many`, between its pulls."""
        ...


@dataclass(frozen=True)
class RenderContext:
    """What render cannot know by itself: when the deliveries are due, and whether the channel is public."""

    due: dt.datetime  # when these deliveries are due (aware); the dates that leave the machine
    public: bool  # held until the embargo; False for a channel with embargoed_copy (a press list)
    embargo: dt.datetime | None = None  # the release's embargo, if it has one
    # The original release with all its translations (Release.variants()), when render is given one of
    # them: to link the other languages (hreflang, NewsML-G2 translation links) or pick per recipient.
    original: Release | None = None
    # The languages (tags, main first) this channel sends of the original: render is called once for each.
    languages: tuple[str, ...] = ()

    @property
    def embargoed(self) -> bool:
        """This copy leaves before the embargo: it must say EMBARGOED UNTIL (never true of a public channel)."""
        return self.embargo is not None and self.due < self.embargo


_RENDER_TAKES: dict[type, str] = {}


def render_in(adapter: Adapter, release: Release, channel: Channel, context: RenderContext) -> Iterable[Delivery]:
    """adapter.render told its context; an older render gets what it takes (`due=`, or nothing)."""
    cls = type(adapter)
    takes = _RENDER_TAKES.get(cls)
    if takes is None:
        params = {p.name: p for p in inspect.signature(adapter.render).parameters.values()}
        if "context" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
            takes = "context"
        else:
            takes = "due" if "due" in params else ""
        _RENDER_TAKES[cls] = takes
    if takes == "context":
        return adapter.render(release, channel, context=context)
    older: Callable[..., Iterable[Delivery]] = adapter.render  # a signature other than the one declared here
    if takes == "due":
        return older(release, channel, due=context.due)
    return older(release, channel)


def in_language(name: str, release: Release) -> str:
    """`name` marked with the language of a translation ("post" -> "post.ko"); the original's stays as it is.

    A translation's deliveries are other deliveries than the original's: their keys (the target) and
    file names carry its language, so both go out once each, and the main language's keys never
    change when a translation is added.
    """
    if release.translation_of is None:
        return name
    return f"{name}.{release.language}"


def no_media_contact(release: Release) -> list[str]:
    """validate's warning for copy meant for journalists (wire, press list) when the release names nobody to call."""
    if release.contacts:
        return []
    return [
        "the release has no media contact, so journalists get no one to call or mail; "
        "add a [[contacts]] table (name, email, phone) to its front matter"
    ]


@dataclass(frozen=True)
class Receipt:
    """What the remote side said: its id for the delivery and where it can be seen."""

    remote_id: str = ""
    url: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery in deliver_many: a receipt or an error."""

    delivery: Delivery
    receipt: Receipt | None = None
    error: DeliveryError | None = None


@dataclass(frozen=True)
class Check:
    """A platform check shown by validate and preview: e.g. post length against its limit."""

    label: str
    value: int | str
    limit: int | str | None = None
    ok: bool = True
    note: str = ""


@dataclass(frozen=True)
class AccountCheck:
    """What `check_account` found: whether the channel's account (or folder) works, in one line.

    `detail` names whom or what it reached ("@press@social.example (limit 500 characters)") or
    the exact reason and what to do; it never holds a secret. `checked` is False when the adapter
    has nothing to check (then `ok` is True and the command does not fail on it).
    """

    ok: bool
    detail: str
    checked: bool = True


@dataclass(frozen=True)
class PreviewBlock:
    """A readable rendition of one delivery (or one representative of many)."""

    title: str
    text: str
    html: str = ""  # set when the rendition is HTML (email body), for the --html page
    checks: tuple[Check, ...] = ()
    count: int = 1  # how many deliveries this block stands for


def http_request_file(name: str, method: str, url: str, headers: Mapping[str, str], body: Any) -> File:
    """An HTTP request as the outbox records it: method, URL, headers (secrets masked) and body."""
    document = {"method": method, "url": url, "headers": dict(headers), "body": body}
    data = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return File(name, data.encode("utf-8"))


@dataclass(frozen=True)
class ArchivedItem:
    """One published item of a channel (a feed entry): its fixed guid and date, and its fields."""

    release_id: str
    guid: str
    published: dt.datetime
    item: dict[str, Any]


class ArchiveWriter(Protocol):
    """The archive while its write lock is held: record an item, read the channel's items."""

    def record(
        self, channel: str, release_id: str, guid: str, published: dt.datetime, item: dict[str, Any]
    ) -> ArchivedItem: ...

    def items(self, channel: str, limit: int | None = None) -> list[ArchivedItem]: ...


class Archive(Protocol):
    """What each channel published before (the feed archive), kept in the workspace database.

    An adapter reaches it as `self.workspace.archive`. Reading never creates the database; an
    item once recorded keeps its guid and publication date; `writing()` serialises every writer.
    """

    def items(self, channel: str, limit: int | None = None) -> list[ArchivedItem]: ...

    def find(self, channel: str, release_id: str) -> ArchivedItem | None: ...

    def writing(self) -> AbstractContextManager[ArchiveWriter]: ...


class ReceiptBook(Protocol):
    """Where an adapter looks up the receipt of an earlier delivery."""

    def get(self, key: str, /) -> Receipt | None: ...


class Adapter:
    """Base class of every adapter (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    Settings: ClassVar[type] = type("Settings", (), {"__dataclass_fields__": {}})
    default_template: ClassVar[str] = ""
    # A folder of default templates shipped with the adapter, relative to its module's folder
    # (e.g. "templates"); "" when its templates are among the built-ins.
    templates: ClassVar[str] = ""
    public: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    # True: on a channel with `languages`, render sends each recipient one language (the email adapter),
    # and the main language is always among them, for readers whose language has no translation.
    per_reader_language: ClassVar[bool] = False

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        # Receipts of deliveries already made, by key (the dispatcher puts the ledger's here),
        # so a thread part can reply to the part before it, also after a restart.
        self.receipts: ReceiptBook = {}

    def template_name(self, channel: Channel) -> str:
        """The channel's template, else the adapter default."""
        return channel.common.template or self.default_template

    @classmethod
    def template_folder(cls) -> Path | None:
        """The folder named by `templates`, found beside the module that defines the class."""
        if not cls.templates:
            return None
        module = sys.modules[cls.__module__]
        return Path(str(module.__file__)).resolve().parent / cls.templates

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterable[Delivery]:
        """The deliveries of a release to a channel, exactly as they would leave (see the module docstring)."""
        raise NotImplementedError

    def entries(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Entry]:
        """What `schedule` books of each delivery `render` gives, in the same order (default: render them).

        An adapter overrides it where it can make the key and content lock without the payload (the
        email adapter builds no message); each entry must equal `entry_of` of the delivery render gives
        in its place (the contract suite checks it). A delivery must be of this release, channel and
        adapter, as the ledger books it under them."""
        for d in render_in(self, release, channel, context):
            if (d.release_id, d.channel, d.adapter) != (release.id, channel.name, self.name):
                raise ConfigError(
                    f"channel {channel.name}: adapter {self.name!r} rendered delivery {d.key} as of release "
                    f"{d.release_id!r}, channel {d.channel!r}, adapter {d.adapter!r}; a delivery must be of the "
                    f"release, channel and adapter it is rendered for ({release.id!r}, {channel.name!r}, {self.name!r})",
                    path=channel.path,
                )
            yield entry_of(d)

    def count(self, release: Release, channel: Channel, *, context: RenderContext) -> int:
        """How many deliveries `render` gives for this release and channel (default: it renders them all).

        An adapter overrides it where it can count without building each delivery; the count must be
        exactly that of its render (same rows skipped, same languages)."""
        return sum(1 for _ in render_in(self, release, channel, context))

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        """Hand one delivery over; a Receipt, or a DeliveryError that says whether a retry may help."""
        raise NotImplementedError

    def deliver_many(self, deliveries: Iterable[Delivery], channel: Channel) -> Iterator[Outcome]:
        """Deliver one after another; adapters with connection pools override this."""
        for delivery in deliveries:
            try:
                receipt = self.deliver(delivery, channel)
            except DeliveryError as exc:
                yield Outcome(delivery, error=exc)
            else:
                if isinstance(self.receipts, dict):
                    self.receipts[delivery.key] = receipt
                yield Outcome(delivery, receipt=receipt)

    def as_sent(self, delivery: Delivery, channel: Channel) -> Delivery:
        """The delivery as deliver() hands it over, for the dry-run outbox (default: as rendered).

        An adapter that changes the bytes on the way out (the email adapter's DKIM signature)
        overrides this, so the outbox holds what a real send transmits; the hash stays the scheduled one.
        """
        return delivery

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        """Readable renditions for `distribute preview`; by default each file as text."""
        blocks = []
        for d in deliveries:
            text = "\n".join(f"--- {f.name}\n{f.data.decode('utf-8', 'replace')}" for f in d.files)
            blocks.append(PreviewBlock(title=d.label or d.target, text=text))
        return blocks

    def schedule_checks(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        """The blocks whose failed checks `schedule` refuses a sample of deliveries on, before writing a
        row (default: `preview`'s). An adapter may leave out what is slow and cannot fail there."""
        return self.preview(deliveries, channel)

    def warnings(self, release: Release, channel: Channel) -> list[str]:
        """What `validate` warns about this release on this channel: it can go out, but reads short of what it should."""
        return []

    def missing(self, channel: Channel) -> list[str]:
        """What this channel still needs before it can deliver (unset secrets, unreachable paths)."""
        return [f"environment variable {name}" for name in channel.missing_secrets()]

    def blocking(self, channel: Channel) -> list[str]:
        """What stops this channel from delivering at all, each as "the environment variable X", "...".

        The preflight of send, send --due and the worker refuses a channel with any of these before
        its first delivery (its deliveries stay pending). What only degrades a delivery belongs in
        `missing` alone. By default every secret the channel refers to is needed.
        """
        return [f"the environment variable {name}" for name in channel.missing_secrets()]

    def destination(self, channel: Channel) -> str:
        """Where this channel's deliveries go, briefly, for the summary of a send ("maildir/newsletter")."""
        return ""

    def check_account(self, channel: Channel) -> AccountCheck:
        """Log in (or try the folder) without delivering anything; by default there is nothing to check."""
        what = f"the {self.name} adapter" if self.name else "this adapter"
        return AccountCheck(True, f"nothing to check: {what} has no account check", checked=False)

    def gated(self, channel: Channel) -> bool:
        """Whether deliver_many honours `Delivery.gate` (see `Gate`); otherwise it gets marked deliveries only."""
        return False

    def close(self) -> None:
        """Release connections held between deliveries."""
