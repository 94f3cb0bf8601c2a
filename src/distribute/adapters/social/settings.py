"""The settings of the social channels (a channel file's keys), apart from the adapters that use them.

A workspace checks every channel file against its adapter's settings, enabled or not; keeping the
classes here lets that check of a disabled channel import these alone (adapters/registry.SETTINGS),
without the posting, counting and HTTP code of its adapter (about 3% of a cold `preview`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from ...workspace.schema import Secret, field

_URN = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")


@dataclass(frozen=True, kw_only=True)
class PostSettings:
    """Keys every social channel has."""

    limit: int = field(500, doc="most characters a post may have, counted the platform's way")
    thread: bool = field(False, doc="post a text too long for one post as a numbered thread (a release may set it too)")
    timeout: float = field(15.0, doc="seconds to wait for the platform's answer")
    # The keys holding the platform's base URL (checked to be absolute http(s) URLs).
    url_keys: ClassVar[tuple[str, ...]] = ("api",)

    def __post_init__(self) -> None:
        if self.limit < 20:
            raise ValueError(f"limit = {self.limit} is too small for a post; the platform default is usually right")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        for key in self.url_keys:
            check_url(key, getattr(self, key))


def check_url(name: str, value: str) -> None:
    """Settings check: an absolute http(s) base URL."""
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{name} must be an absolute http(s) URL, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class MastodonSettings(PostSettings):
    """Keys of a mastodon channel file."""

    instance: str = field(doc="the instance's base URL, e.g. https://mastodon.social")
    token: Secret = field(
        doc='access token with the write:statuses and write:media scopes (and profile, for channels --check): { env = "NAME" }'
    )
    visibility: Literal["public", "unlisted", "private", "direct"] = field("public", doc="who sees the posts")
    replies_visibility: Literal["", "public", "unlisted", "private", "direct"] = field(
        "", doc='visibility of thread parts after the first ("" = same as visibility; "unlisted" keeps timelines calm)'
    )
    url_length: int = field(23, doc="characters a link counts for (the instance's characters_reserved_per_url)")
    media: bool = field(
        False,
        doc="attach the release's images (up to 4, alt text as description) to the first post; "
        "Mastodon then shows them instead of a link card",
    )
    media_wait: float = field(30.0, doc="seconds to wait for the instance to finish processing uploaded images")
    url_keys: ClassVar[tuple[str, ...]] = ("instance",)


@dataclass(frozen=True, kw_only=True)
class BlueskySettings(PostSettings):
    """Keys of a bluesky channel file."""

    limit: int = field(300, doc="most graphemes a post may have (Bluesky: 300, and 3000 UTF-8 bytes)")
    service: str = field("https://bsky.social", doc="the account's PDS (or the entryway, https://bsky.social)")
    handle: str = field(doc="the account's handle (or DID), e.g. press.example.org")
    app_password: Secret = field(
        doc='an app password (Settings > App passwords), never the account password: { env = "NAME" }'
    )
    embed: Literal["card", "images", "none"] = field(
        "card",
        doc='first post: "card" = link card from the release (title, summary, first image as thumbnail), '
        '"images" = the release images with alt text, "none"',
    )

    url_keys: ClassVar[tuple[str, ...]] = ("service",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.handle.strip() or self.handle.startswith("@"):
            raise ValueError(
                f"handle must be the account's handle without '@' (e.g. press.example.org), not {self.handle!r}"
            )


@dataclass(frozen=True, kw_only=True)
class LinkedInSettings(PostSettings):
    """Keys of a linkedin channel file."""

    limit: int = field(3000, doc="most characters of commentary (LinkedIn's limit; unconfirmed, hence a setting)")
    thread: bool = field(False, doc="not used: LinkedIn has no threads (a text too long is refused)")
    api: str = field("https://api.linkedin.com", doc="API base URL")
    token: Secret = field(
        doc="OAuth 2.0 access token with w_member_social (person) or w_organization_social "
        '(organisation): { env = "NAME" }'
    )
    author: str = field(doc='who posts: "urn:li:organization:<id>" or "urn:li:person:<id>"')
    version: str = field("202506", doc="Linkedin-Version header, YYYYMM; move it forward before LinkedIn retires it")
    visibility: Literal["PUBLIC", "CONNECTIONS", "LOGGED_IN"] = field("PUBLIC", doc="who sees the post")
    article: bool = field(True, doc="attach the release as an article (link, title, summary) when it has a url")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _URN.match(self.author):
            raise ValueError(f'author must be "urn:li:organization:<id>" or "urn:li:person:<id>", not {self.author!r}')
        if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", self.version):
            raise ValueError(f'version must be a LinkedIn API version "YYYYMM", e.g. "202506", not {self.version!r}')


@dataclass(frozen=True, kw_only=True)
class XSettings(PostSettings):
    """Keys of an x channel file."""

    limit: int = field(280, doc="most weighted characters a post may have (X: 280)")
    api: str = field("https://api.x.com", doc="API base URL")
    api_key: Secret = field(doc='the app\'s API key (OAuth 1.0a consumer key): { env = "NAME" }')
    api_secret: Secret = field(doc='the app\'s API key secret (consumer secret): { env = "NAME" }')
    access_token: Secret = field(doc='the posting account\'s access token (read and write): { env = "NAME" }')
    access_token_secret: Secret = field(doc='the access token\'s secret: { env = "NAME" }')


@dataclass(frozen=True, kw_only=True)
class ThreadsSettings(PostSettings):
    """Keys of a threads channel file."""

    api: str = field("https://graph.threads.net/v1.0", doc="Threads API base URL, with its version")
    user_id: str = field("me", doc='the Threads user id that posts ("me": the token\'s owner)')
    token: Secret = field(
        doc='a Threads user access token with threads_basic and threads_content_publish: { env = "NAME" }'
    )
    link_attachment: bool = field(True, doc="show the release's url as the link preview of the first post")
    publish_wait: float = field(60.0, doc="seconds to wait for a container to be ready before publishing it")
