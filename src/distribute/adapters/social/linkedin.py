"""The linkedin adapter: a post on a person's or organisation's page through the versioned Posts API.

POST /rest/posts (learn.microsoft.com, "Posts API") with `Linkedin-Version: YYYYMM` (versions
are retired after about a year, so it is a setting) and `X-Restli-Protocol-Version: 2.0.0`;
`commentary` in LinkedIn's "little text" format (reserved characters backslash-escaped,
hashtags as `{hashtag|\\#|Tag}`), and an article built from the release (its URL, title and
summary) rather than scraped. The new post's URN comes back in the `x-restli-id` header.
LinkedIn has no idempotency key, so an answer lost in transit leaves the post in doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ...workspace.schema import Secret, field
from ..base import Check, Delivery, File, Receipt, RenderContext
from .base import Post, PostSettings, SocialAdapter, bearer_mask, recorded_request, request_file, reveal
from .http import join

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel

POSTS = "/rest/posts"
_URN = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")


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


def little_text(text: str) -> str:
    """The post text in LinkedIn's little-text format: hashtags as templates, reserved characters escaped."""
    from ...text import fit as textfit

    out, last = [], 0
    for start, end in _hashtag_spans(text):
        out.append(textfit.linkedin_escape(text[last:start]))
        out.append("{hashtag|\\#|" + text[start + 1 : end] + "}")
        last = end
    out.append(textfit.linkedin_escape(text[last:]))
    return "".join(out)


def _hashtag_spans(text: str) -> list[tuple[int, int]]:
    from ...text import fit as textfit

    # A tag word must not hold a character little text reserves; such a "#x" is escaped as text.
    return [
        (s, e)
        for s, e in textfit.find_hashtags(text)
        if text[s] == "#" and re.fullmatch(r"#[^\s|{}@\[\]()<>#\\*_~]+", text[s:e])
    ]


class LinkedInAdapter(SocialAdapter):
    """Posts on LinkedIn (organisation pages or members)."""

    name = "linkedin"
    Settings = LinkedInSettings
    platform = "LinkedIn"
    threads = False
    idempotent = False

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> list[Delivery]:
        s: LinkedInSettings = channel.settings
        article = s.article and bool(release.url)
        posts = self.posts(release, channel, extra={"article": article})
        headers = {
            "Authorization": bearer_mask(),
            "Content-Type": "application/json",
            "Linkedin-Version": s.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

        def build(i: int, n: int, post: Post, key: str) -> tuple[list[File], dict[str, Any]]:
            body: dict[str, Any] = {
                "author": s.author,
                "commentary": little_text(post.text),
                "visibility": s.visibility,
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            }
            if article:
                body["content"] = {
                    "article": {
                        "source": release.url,
                        "title": release.title,
                        "description": release.summary or release.subtitle,
                    }
                }
            return [request_file(i, "POST", join(s.api, POSTS), headers, body)], {"article": article}

        return self.deliveries(release, channel, posts, build)

    def preview_extra(self, delivery: Delivery) -> tuple[list[str], list[Check]]:
        body = recorded_request(delivery)["body"]
        lines = []
        if "content" in body:
            a = body["content"]["article"]
            lines.append(f"[article: {a['title']} — {a['source']}]")
        return lines, []

    def hint(self, channel: Channel) -> str:
        return f" (its scopes must allow posting as {channel.settings.author})"

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        s: LinkedInSettings = channel.settings
        request = recorded_request(delivery)
        headers = {**request["headers"], "Authorization": f"Bearer {reveal(s.token, channel)}"}
        api = self.api(channel)
        response = api.check(api.send("POST", request["url"], json=request["body"], headers=headers), "post")
        urn = response.headers.get("x-restli-id", "")
        return Receipt(remote_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/" if urn else "")
