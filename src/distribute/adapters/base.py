"""The adapter contract: `render` shows exactly what would leave the machine; `deliver` sends it.

An adapter is constructed with the workspace. For each channel that uses it:

- ``render(release, channel, *, due=None)`` is pure and deterministic. It returns the
  deliveries (a list, or an iterator for long recipient lists) holding the exact bytes that
  would leave the machine, each with a stable key ``release/channel/target/part`` and a
  content hash. It touches no network. It is told what it cannot know by itself: `due`, the
  instant these deliveries are due (the ledger's, so the render at sending time is the one
  made at scheduling; `send RELEASE` makes it "now"). Dates that leave the machine (an
  email's Date, a wire story's version time) are `due`, and a channel with `embargoed_copy`
  whose `due` is before the embargo says EMBARGOED UNTIL. `due=None` (an adapter called by
  code that predates the keyword) means the channel's planned time, `plan.due_time`. An
  adapter whose render does not take `due` is called without it (see `render_due`).
- A delivery whose bytes hold a value made with a secret (an unsubscribe token made with its
  key) names the secret's variables in `secrets` and sets `lock` to the hash of the files
  as they are without it, so the content lock does not depend on whether the secret is set
  where render runs; the ledger records the names, never a value.
- ``deliver(delivery)`` performs the I/O for one delivery and returns a `Receipt`, or raises
  `DeliveryError(retryable=...)`. It never returns a bool and never swallows an error.
- ``deliver_many(deliveries)`` may send several at once over shared connections; it yields
  one `Outcome` per delivery, each as soon as it is known, and pulls the next delivery
  from the iterator only when it is about to hand it over (so the ledger can mark it first).

Class attributes describe the adapter: its `Settings` dataclass (the channel file schema),
its default template, whether it is `public` (held until the embargo), and whether a
retry of a delivery whose outcome is unknown is safe (`idempotent`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import inspect
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import quote

from ..errors import DeliveryError

if TYPE_CHECKING:
    from ..release import Release
    from ..workspace.config import Channel, Workspace


def key_part(value: str) -> str:
    """One segment of a delivery key: '/' and '%' are escaped so the key splits back unambiguously."""
    return quote(value, safe="@.+-_~:=,!*'()")


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

    @property
    def key(self) -> str:
        return "/".join(key_part(p) for p in (self.release_id, self.channel, self.target, self.part))

    @property
    def sha256(self) -> str:
        """Hash of every file's name and bytes, in order: what was scheduled is what is sent."""
        return self.lock if self.lock is not None else files_sha256(self.files)


def files_sha256(files: Iterable[File]) -> str:
    """The content hash of files: each name and its bytes, in order, length-prefixed."""
    digest = hashlib.sha256()
    for f in files:
        name = f.name.encode()
        digest.update(len(name).to_bytes(4, "big") + name)
        digest.update(len(f.data).to_bytes(8, "big") + f.data)
    return digest.hexdigest()


_TAKES_DUE: dict[type, bool] = {}


def render_due(adapter: Adapter, release: Release, channel: Channel, due: dt.datetime | None) -> Iterable[Delivery]:
    """adapter.render told when its deliveries are due; an adapter without the `due` keyword gets none."""
    cls = type(adapter)
    takes = _TAKES_DUE.get(cls)
    if takes is None:
        params = inspect.signature(adapter.render).parameters.values()
        takes = _TAKES_DUE[cls] = any(p.name == "due" or p.kind is p.VAR_KEYWORD for p in params)
    if takes and due is not None:
        return adapter.render(release, channel, due=due)
    return adapter.render(release, channel)


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


class ReceiptBook(Protocol):
    """Where an adapter looks up the receipt of an earlier delivery."""

    def get(self, key: str, /) -> Receipt | None: ...


class Adapter:
    """Base class of every adapter (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    Settings: ClassVar[type] = type("Settings", (), {"__dataclass_fields__": {}})
    default_template: ClassVar[str] = ""
    public: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        # Receipts of deliveries already made, by key (the dispatcher puts the ledger's here),
        # so a thread part can reply to the part before it, also after a restart.
        self.receipts: ReceiptBook = {}

    def template_name(self, channel: Channel) -> str:
        """The channel's template, else the adapter default."""
        return channel.common.template or self.default_template

    def render(self, release: Release, channel: Channel, *, due: dt.datetime | None = None) -> Iterable[Delivery]:
        raise NotImplementedError

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
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

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        """Readable renditions for `distribute preview`; by default each file as text."""
        blocks = []
        for d in deliveries:
            text = "\n".join(f"--- {f.name}\n{f.data.decode('utf-8', 'replace')}" for f in d.files)
            blocks.append(PreviewBlock(title=d.label or d.target, text=text))
        return blocks

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

    def close(self) -> None:
        """Release connections held between deliveries."""
