"""What a release will do: for each channel, its deliveries and when each is due."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from .adapters.base import RenderContext, render_in
from .errors import ConfigError, ReleaseError
from .times import parse_at

if TYPE_CHECKING:
    from .adapters.base import Adapter, Delivery, Entry
    from .release import Release
    from .workspace.config import Channel, Workspace


# Seqs per language in the ledger: a translation's deliveries are numbered from n * SEQ_BLOCK (the
# ledger's seq is a 32-bit integer: 21 languages of up to 100 million deliveries each).
SEQ_BLOCK = 100_000_000
KEYS_CHECKED = 1000  # per language: enough for every part of a post, feed or wire copy


class _HasKey(Protocol):
    @property
    def key(self) -> str: ...


_Keyed = TypeVar("_Keyed", bound=_HasKey)  # a Delivery or an Entry: numbered the same way


@dataclass
class ChannelPlan:
    """One channel's part of a release: its adapter, due time and (lazily rendered) deliveries.

    `release` is the original (its id and timing are every translation's); `variants` are the
    languages of it this channel sends (the original alone, by default), `untranslated` the
    languages the channel asks for that this release has no translation in.
    """

    channel: Channel
    adapter: Adapter
    due: dt.datetime
    release: Release
    variants: tuple[Release, ...] = ()
    untranslated: tuple[str, ...] = ()
    # Languages whose translation changed since it was scheduled: why each is held (dispatch sets it).
    held: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.variants and not self.untranslated:
            self.variants = (self.release,)

    @property
    def held_by_embargo(self) -> bool:
        """True when the embargo, not the channel's own time, decides when this goes out."""
        return self.release.embargo is not None and self.due == self.release.embargo and self.public

    @property
    def public(self) -> bool:
        """Public channels wait for the embargo; embargoed copies (press lists) may go before."""
        return self.adapter.public and not self.channel.common.embargoed_copy

    @property
    def languages(self) -> tuple[str, ...]:
        """The language tags this channel sends of the release, main first."""
        return tuple(v.language for v in self.variants)

    def context(self, due: dt.datetime | None = None) -> RenderContext:
        """What render is told: the due time (the plan's own unless the ledger's is given), public or not,
        the original release and the languages this channel sends of it."""
        return RenderContext(
            self.due if due is None else due, self.public, self.release.embargo, self.release, self.languages
        )

    def render(self, due: dt.datetime | None = None) -> Iterator[Delivery]:
        """The adapter's render of each language this channel sends, in turn, told its context (see `context`)."""
        for _, delivery in self.numbered(due):
            yield delivery

    def block(self, language: str) -> int:
        """The ledger's block of a language: 0 for the original, n for its n-th translation (file-name order)."""
        return list(self.release.variants()).index(language)

    def language_of(self, seq: int) -> str:
        """The language a ledger row renders, by its seq (see `numbered`)."""
        langs = list(self.release.variants())
        block = seq // SEQ_BLOCK
        return langs[block] if block < len(langs) else ""

    def numbered(self, due: dt.datetime | None = None, skip: Iterable[str] = ()) -> Iterator[tuple[int, Delivery]]:
        """(seq, delivery) of `render`: each language in its own block of seqs (the original's from 0, its
        n-th translation's from n * SEQ_BLOCK), so a held translation is skipped without rendering it and
        the others keep their places. `skip`: languages not to render."""
        return self._numbered(
            lambda variant, context: render_in(self.adapter, variant, self.channel, context), due, skip
        )

    def entries(self, due: dt.datetime | None = None) -> Iterator[tuple[int, Entry]]:
        """(seq, entry) of what `schedule` books (`Adapter.entries`), numbered as `numbered` numbers the deliveries."""
        return self._numbered(
            lambda variant, context: self.adapter.entries(variant, self.channel, context=context), due
        )

    def _numbered(
        self,
        made: Callable[[Release, RenderContext], Iterable[_Keyed]],
        due: dt.datetime | None,
        skip: Iterable[str] = (),
    ) -> Iterator[tuple[int, _Keyed]]:
        """What `made` gives for each language this channel sends (not in `skip`), numbered in its block of seqs."""
        context = self.context(due)
        skipped = set(skip)
        seen: dict[str, str] = {}  # the first keys of each language, to catch an adapter that reuses them
        for variant in self.variants:
            if variant.language in skipped:
                continue
            base = self.block(variant.language) * SEQ_BLOCK
            for n, item in enumerate(made(variant, context)):
                if len(self.variants) > 1 and n < KEYS_CHECKED:
                    other = seen.setdefault(item.key, variant.language)
                    if other != variant.language:
                        raise ConfigError(
                            f"channel {self.channel.name}: adapter {self.adapter.name!r} gives the {variant.language} "
                            f"and {other} versions the same delivery key {item.key}, so it cannot send several "
                            f'languages on one channel; use one channel per language (language = "{variant.language}")',
                            path=self.channel.path,
                        )
                yield base + n, item

    def untranslated_line(self) -> str:
        """One line for a channel that asks for a language this release lacks ("" when none is missing)."""
        if not self.untranslated:
            return ""
        missing = ", ".join(self.untranslated)
        stem = self.release.path.name.removesuffix(self.release.path.suffix)
        files = ", ".join(f"{stem}.{tag}{self.release.path.suffix}" for tag in self.untranslated)
        asked = "language" if self.channel.common.language else "languages"
        if not self.variants:
            return (
                f"channel {self.channel.name} sends {missing} only, and release {self.release.id} has no {missing} "
                f"translation ({files}): nothing goes out on it; add the translation, or change its {asked}"
            )
        return (
            f"channel {self.channel.name}: release {self.release.id} has no {missing} translation ({files}), so it "
            f"sends {', '.join(self.languages)} only"
        )

    def deliveries(self) -> Iterator[Delivery]:
        """Render now; every delivery carries the channel's due time."""
        for delivery in self.render():
            yield dataclasses.replace(delivery, due=self.due)


def select_channels(workspace: Workspace, release: Release, names: Sequence[str] = ()) -> list[Channel]:
    """The channels a command acts on: -c names, else the release's list, else every enabled one."""
    channels = workspace.channels
    if names:
        for name in names:
            if name not in channels:
                listed = ", ".join(channels) or "none"
                raise ConfigError(f"unknown channel {name!r} (-c); configured channels: {listed}")
        wanted = list(dict.fromkeys(names))
        if release.channels is not None:
            outside = [n for n in wanted if n not in release.channels]
            if outside:
                raise ReleaseError(
                    f"channel {outside[0]!r} is not in this release's channels list; add it there first",
                    path=release.path,
                    line=release.source.line_of((), "channels"),
                )
        return [channels[n] for n in wanted]
    if release.channels is not None:
        return [channels[n] for n in release.channels]
    return [c for c in channels.values() if c.enabled]


def due_time(workspace: Workspace, release: Release, channel: Channel, public: bool) -> dt.datetime:
    """publish_at moved by the channel's `at` (release override first), never before a public embargo."""
    override = release.override(channel.name).at
    if override is not None:
        at = parse_at(
            override,
            workspace.tz,
            path=release.path,
            line=release.source.line_of(("channel", channel.name), "at"),
            error=ReleaseError,
        )
    elif channel.common.at is not None:
        at = parse_at(channel.common.at, workspace.tz, path=channel.path, line=channel.source.line_of((), "at"))
    else:
        at = dt.timedelta(0)
    due = release.publish_at + at if isinstance(at, dt.timedelta) else at
    if public and release.embargo is not None and due < release.embargo:
        due = release.embargo
    return due


def route(release: Release, channel: Channel, per_reader: bool = False) -> tuple[tuple[Release, ...], tuple[str, ...]]:
    """The languages of `release` that `channel` sends (main first, then file-name order), and those it lacks.

    `language = "ko"`: that one; `languages = [...]`: each listed; neither: the main language.
    A tag matches exactly, then by its primary subtag ("ko-KR" finds the ko file). `per_reader`
    (an adapter that picks per recipient, `Adapter.per_reader_language`): with `languages`, the
    main language is sent too, to every reader whose language has no translation.
    """
    common = channel.common
    wanted = [common.language] if common.language else list(common.languages)
    if not wanted:
        return (release,), ()
    chosen: set[str] = {release.language} if per_reader and not common.language else set()
    missing: list[str] = []
    for tag in wanted:
        found = release.in_language(tag)
        if found is None:
            missing.append(tag)
        else:
            chosen.add(found.language)
    variants = tuple(v for tag, v in release.variants().items() if tag in chosen)
    return variants, tuple(missing)


def plan(workspace: Workspace, release: Release, names: Sequence[str] = ()) -> list[ChannelPlan]:
    """Every selected channel's plan, in channel order."""
    plans = []
    for channel in select_channels(workspace, release, names):
        adapter = workspace.adapter(channel)
        public = adapter.public and not channel.common.embargoed_copy
        variants, missing = route(release, channel, getattr(adapter, "per_reader_language", False))
        due = due_time(workspace, release, channel, public)
        plans.append(ChannelPlan(channel, adapter, due, release, variants, missing))
    return plans


def render_all(plans: Iterable[ChannelPlan]) -> list[tuple[ChannelPlan, list[Delivery]]]:
    """Render every channel fully (for validate and preview, where lists are small)."""
    return [(p, list(p.deliveries())) for p in plans]
