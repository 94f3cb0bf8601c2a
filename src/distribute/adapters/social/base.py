"""Shared code of the social adapters: posts that fit, threads as linked deliveries, outbox requests, preview.

A post is composed from the channel's template (title, summary, link, hashtags from tags) and
fitted to the platform's own count by `textfit.fit` (hashtags go first, then the summary is
shortened at a word boundary, or on Bluesky to whole sentences; the link always survives), or it is the release's own
`[channel.NAME] text`, which is never rewritten: if it does not fit, the release is refused at
that line, unless `thread = true` asks for a numbered thread. Each post is one delivery, target
"post", part "1", "2", ...; part n names part n-1 in `after`, so it is sent only once part n-1
is, and it replies to the remote id in part n-1's receipt. A translation's posts are target
"post.<lang>" with their files in a "<lang>/" folder (`in_language`), so a channel with
`languages` posts each language once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import DeliveryError, ReleaseError, SecretMissing
from ...text.entities import hashtag_for, hashtag_problem
from ...text.i18n import language
from ...workspace.schema import MASK, Secret
from ..base import Adapter, Check, Delivery, File, PreviewBlock, Receipt, http_request_file, in_language, key_part
from .http import Api, Reset
from .settings import PostSettings, check_url  # noqa: F401  (the settings live apart: settings.py)

if TYPE_CHECKING:
    from ...release import Release
    from ...text.fit import Measure
    from ...workspace.config import Channel, Workspace

# What a thread part's request shows for an id only known once the part before is sent.
LATER = "(set at sending: {what})"


@dataclass(frozen=True)
class Post:
    """One post's text and how it measures against its limit."""

    text: str
    length: int
    limit: int
    note: str = ""


def tidy(text: str) -> str:
    """Trailing spaces and runs of blank lines a template leaves behind, removed."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def thread_wanted(release: Release, channel: Channel) -> bool:
    """A release's `thread` override, else the channel's setting."""
    override = release.override(channel.name).thread
    return bool(getattr(channel.settings, "thread", False) if override is None else override)


def compose(
    adapter: Adapter,
    release: Release,
    channel: Channel,
    measure: Any,
    *,
    platform: str,
    extra: Mapping[str, Any] | None = None,
    threads: bool = True,
    tag_graphemes: int | None = None,
    whole_sentences: bool = False,
    max_tags: int | None = None,
) -> list[Post]:
    """The posts of a release on a channel: its own text or the fitted template, split into a thread if asked.

    `tag_graphemes` is the platform's longest hashtag; `whole_sentences` shortens the summary only
    to whole sentences (else it goes), never to a fragment with an ellipsis; `max_tags` is how many
    hashtags a post of the platform can carry (the release's first ones).
    """
    from ...text import fit as textfit

    limit = measure.limit
    thread = threads and thread_wanted(release, channel)
    own = release.override(channel.name).text
    if own is not None and own.strip():
        text = tidy(own)
        line = release.source.line_of(("channel", channel.name), "text")
        if measure.fits(text):
            return [Post(text, measure(text), limit)]
        if thread:
            return _split(text, measure, release, line)
        hint = "shorten it or set thread = true" if threads else f"shorten it ({platform} has no threads)"
        raise ReleaseError(
            f"[channel.{channel.name}] text is {measure.describe(text)}; {hint}", path=release.path, line=line
        )

    name = adapter.template_name(channel)
    lang = language(adapter.workspace, release.language)

    def render(summary: str, hashtags: Sequence[str]) -> str:
        context = {
            "release": release,
            "title": release.title,
            "subtitle": release.subtitle,
            "summary": summary,
            "link": release.url,
            "tags": list(hashtags),
            "language": release.language,
            "organization": adapter.workspace.config.organization.in_language(release.language),
            **(extra or {}),
        }
        return tidy(adapter.workspace.templates.render(name, lang=lang, **context))

    # A tag that cannot be a hashtag here ("2025", "🇰🇷", one too long) is left out; validate says so.
    tags = [t for t in release.tags if hashtag_problem(t, tag_graphemes) is None][:max_tags]
    if thread:
        full = render(release.summary, tags)
        if not measure.fits(full):
            return _split(full, measure, release, None)
    try:
        result = textfit.fit(
            render, summary=release.summary, hashtags=tags, measure=measure, whole_sentences=whole_sentences
        )
    except textfit.FitError:
        # Even title and link alone are too long: show it as it is; the length check fails validate.
        text = render("", [])
        return [Post(text, measure(text), limit, "too long even without summary and hashtags; shorten the title")]
    notes = []
    if result.dropped_hashtags:
        notes.append(
            f"left out {_plural(len(result.dropped_hashtags), 'hashtag')}: "
            + " ".join(textfit_hashtag(t) for t in result.dropped_hashtags)
        )
    if result.shortened:
        notes.append("summary shortened")
    return [Post(result.text, result.length, result.limit, "; ".join(notes))]


def textfit_hashtag(tag: str) -> str:
    return hashtag_for(tag) or tag


def social_warnings(release: Release, platform: str, tag_graphemes: int | None = None) -> list[str]:
    """validate's warnings for a social channel: no link to carry, tags that cannot be hashtags there."""
    out = []
    if not release.url:
        out.append(
            'the release has no url, so its posts will carry no link; add url = "https://..." '
            "(the release on your website) to its front matter"
        )
    for tag in release.tags:
        problem = hashtag_problem(tag, tag_graphemes)
        if problem:
            out.append(f'tag "{tag}" cannot be a {platform} hashtag ({problem}), so the posts leave it out')
    return out


def _split(text: str, measure: Any, release: Release, line: int | None) -> list[Post]:
    from ...text import fit as textfit

    try:
        parts = textfit.split_thread(text, measure)
    except textfit.FitError as exc:
        raise ReleaseError(f"cannot make a thread of it: {exc}", path=release.path, line=line) from None
    n = len(parts)
    return [Post(p, measure(p), measure.limit, f"thread part {i} of {n}") for i, p in enumerate(parts, 1)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def post_key(release: Release, channel: Channel, part: int) -> str:
    """The delivery key of post `part` (the same as Delivery.key)."""
    return "/".join(key_part(p) for p in (release.id, channel.name, in_language("post", release), str(part)))


def _folder(delivery: Delivery) -> str:
    """Where a post's files are: "" for the original's, "ko/" for the Korean translation's (target "post.ko")."""
    lang = delivery.target.partition(".")[2]
    return f"{lang}/" if lang else ""


def idempotency_key(key: str) -> str:
    """A stable, opaque idempotency key for a delivery key."""
    return hashlib.sha256(f"distribute:{key}".encode()).hexdigest()


Build = Callable[[int, int, Post, str], tuple[list[File], dict[str, Any]]]


def request_file(part: int, method: str, url: str, headers: Mapping[str, str], body: Any, suffix: str = "") -> File:
    """The outbox JSON of one API request of post `part`."""
    return http_request_file(f"post-{part}{suffix}.json", method, url, headers, body)


def recorded_request(delivery: Delivery, suffix: str = "") -> dict[str, Any]:
    """The request recorded at render time: what was scheduled is what is sent."""
    name = f"{_folder(delivery)}post-{delivery.part}{suffix}.json"
    for f in delivery.files:
        if f.name == name:
            return dict(json.loads(f.data.decode("utf-8")))
    raise DeliveryError(f"delivery {delivery.key} has no {name}; schedule the release again", retryable=False)


def file_bytes(delivery: Delivery, name: str) -> bytes:
    name = _folder(delivery) + name
    for f in delivery.files:
        if f.name == name:
            return f.data
    raise DeliveryError(f"delivery {delivery.key} has no {name}; schedule the release again", retryable=False)


def reveal(secret: Secret, channel: Channel) -> str:
    """A secret's value for sending; an unset variable fails this delivery with the variable's name."""
    try:
        return secret.reveal(channel.name)
    except SecretMissing as exc:
        raise DeliveryError(str(exc), retryable=False) from None


def bearer_mask() -> str:
    return f"Bearer {MASK}"


def preview_posts(
    deliveries: list[Delivery], unit: str, extra: Callable[[Delivery], tuple[list[str], list[Check]]] | None = None
) -> list[PreviewBlock]:
    """A block per post: its text, what goes with it, and its length against the limit."""
    blocks = []
    for d in deliveries:
        m = d.meta
        lines, checks = extra(d) if extra else ([], [])
        length_check = Check(
            "length",
            m["length"],
            m["limit"],
            m["length"] <= m["limit"],
            note="; ".join(x for x in (unit, m.get("note", "")) if x),
        )
        text = m["text"] + ("\n\n" + "\n".join(lines) if lines else "")
        blocks.append(PreviewBlock(title=d.label or "post", text=text, checks=(length_check, *checks)))
    return blocks


def language_code(tag: str) -> str:
    """ISO 639 primary language of a BCP 47 tag ("en-GB" -> "en")."""
    return tag.split("-")[0].lower()


class SocialAdapter(Adapter):
    """Base of the social adapters: the posts of a release on one platform, one delivery each.

    A subclass names its `name`, `Settings` (a `PostSettings`), `platform` (as people write it)
    and `idempotent`, and writes what is its own: `render` (its request bodies, built around
    `self.posts(...)` and `post_deliveries`) and `deliver`. The rest follows from the class
    attributes and may be overridden: the template (`social/<name>.txt.j2`), the count
    (`measure`), validate's warnings, the preview (`unit`, `preview_extra`), the platform's API
    for a channel (`api`: its credentials are the channel's secrets, `hint` says what to check
    when they are refused, `resets` are its rate-limit headers) and `close`.
    """

    public: ClassVar[bool] = True
    platform: ClassVar[str] = ""
    # How the preview counts a post ("characters, each link 23").
    unit: ClassVar[str] = "characters"
    # Whether a text too long for one post may become a thread (a release or channel asks for it).
    threads: ClassVar[bool] = True
    # The platform's longest hashtag in graphemes, if it has a limit.
    tag_graphemes: ClassVar[int | None] = None
    # Shorten the summary to whole sentences only, never to a fragment with an ellipsis.
    whole_sentences: ClassVar[bool] = False
    # How many hashtags a post can carry (None: no limit); the release's first tags are kept.
    max_tags: ClassVar[int | None] = None
    # The platform's rate-limit reset headers, read by the transport's 429 policy.
    resets: ClassVar[tuple[Reset, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and "default_template" not in cls.__dict__:
            cls.default_template = f"social/{cls.name}.txt.j2"

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self._api: Api | None = None

    def measure(self, settings: Any) -> Measure:
        """How the platform counts a post of a channel with these settings."""
        from ...text import fit as textfit

        return textfit.measure_for(self.name, limit=settings.limit)

    def posts(self, release: Release, channel: Channel, extra: Mapping[str, Any] | None = None) -> list[Post]:
        """The release's posts on the channel (`compose`), counted by `measure`; `extra` goes to the template."""
        return compose(
            self,
            release,
            channel,
            self.measure(channel.settings),
            platform=self.platform,
            extra=extra,
            threads=self.threads,
            tag_graphemes=self.tag_graphemes,
            whole_sentences=self.whole_sentences,
            max_tags=self.max_tags,
        )

    def deliveries(self, release: Release, channel: Channel, posts: list[Post], build: Build) -> list[Delivery]:
        """One delivery per post; part n waits for part n-1 (`after`) and replies to it."""
        out: list[Delivery] = []
        n = len(posts)
        first = post_key(release, channel, 1)
        translated = release.translation_of is not None
        folder = f"{release.language}/" if translated else ""  # a translation's files: ko/…
        for i, post in enumerate(posts, 1):
            key = post_key(release, channel, i)
            files, meta = build(i, n, post, key)
            meta = {
                "text": post.text,
                "length": post.length,
                "limit": post.limit,
                "note": post.note,
                "index": i,
                "count": n,
                "root": first,
                **meta,
            }
            label = f"post {i}/{n}" if n > 1 else "post"
            if translated:
                label += f" ({release.language})"
            out.append(
                Delivery(
                    release.id,
                    channel.name,
                    self.name,
                    in_language("post", release),
                    str(i),
                    tuple(File(folder + f.name, f.data) for f in files),
                    meta=meta,
                    label=label,
                    after=out[-1].key if out else None,
                )
            )
        return out

    def previous(self, delivery: Delivery, key: str | None = None) -> Receipt:
        """The receipt of the post this one replies to (part n-1, or the thread's first part)."""
        wanted = key or delivery.after
        assert wanted is not None
        receipt = self.receipts.get(wanted)
        if receipt is None or not receipt.remote_id:
            raise DeliveryError(
                f"{delivery.label or delivery.key} replies to {wanted}, which is not sent yet; it goes once that one is",
                retryable=True,
            )
        return receipt

    def warnings(self, release: Release, channel: Channel) -> list[str]:
        return social_warnings(release, self.platform, self.tag_graphemes)

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        return preview_posts(deliveries, self.unit, self.preview_extra)

    def preview_extra(self, delivery: Delivery) -> tuple[list[str], list[Check]]:
        """Lines shown under a post's text in the preview (its images, its card) and checks beside its length."""
        return [], []

    def hint(self, channel: Channel) -> str:
        """What to check besides the credentials when the platform refuses them (e.g. " (its scopes ...)")."""
        return ""

    def api(self, channel: Channel) -> Api:
        """The platform's API as this channel uses it, kept for the run."""
        if self._api is None:
            names = [secret.env for secret in channel.secrets()]
            timeout = channel.settings.timeout
            self._api = Api(channel.name, self.platform, names, timeout, hint=self.hint(channel), resets=self.resets)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
