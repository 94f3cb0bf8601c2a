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
from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from ..base import AccountCheck, Check, Delivery, File, Receipt, RenderContext
from .base import Post, SocialAdapter, bearer_mask, recorded_request, request_file, reveal
from .http import Api, join
from .settings import LinkedInSettings

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel

POSTS = "/rest/posts"
# Roles that may post organic content on a page (learn.microsoft.com/linkedin/marketing/community-management/
# organizations/organization-access-control-by-role); DIRECT_SPONSORED_CONTENT_POSTER posts only sponsored content.
POSTING_ROLES = ("ADMINISTRATOR", "CONTENT_ADMINISTRATOR")


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

    def check_account(self, channel: Channel) -> AccountCheck:
        """Whom the token may post as: the member (OpenID userinfo) or its roles on the organisation (organizationAcls)."""
        from .._transport.http import refusal

        s: LinkedInSettings = channel.settings
        token = s.token.reveal(channel.name)
        api = Api(channel.name, "LinkedIn", [s.token.env], s.timeout)
        renew = (
            "token expired or revoked (LinkedIn tokens last 60 days)",
            "create a new access token for your app (developer portal > Auth > OAuth 2.0 tools) "
            f"and export it as {s.token.env}",
        )
        person = s.author.startswith("urn:li:person:")
        try:
            if person:
                # learn.microsoft.com/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2 (GET /v2/userinfo).
                url = join(s.api, "/v2/userinfo")
                response = api.probe("GET", url, headers={"Authorization": f"Bearer {token}"})
                scope = (
                    "the token may not read the member's profile",
                    f"create it with the openid and profile scopes too, and export it as {s.token.env}",
                )
            else:
                # learn.microsoft.com/linkedin/marketing/community-management/organizations/organization-access-control-by-role
                # ("Find a member's organization access control information": q=roleAssignee).
                url = join(s.api, "/rest/organizationAcls")
                response = api.probe(
                    "GET",
                    url,
                    params={"q": "roleAssignee", "state": "APPROVED"},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Linkedin-Version": s.version,
                        "X-Restli-Protocol-Version": "2.0.0",
                    },
                )
                scope = (
                    "the token may not read its page roles",
                    "create it with w_organization_social and r_organization_admin (Community Management API), "
                    f"and export it as {s.token.env}",
                )
            if not response.ok:
                return AccountCheck(False, refusal(response, url, on401=renew, on403=scope))
            data = response.json()
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        except ValueError:
            return AccountCheck(False, "LinkedIn did not answer with JSON; check api in the channel file")
        finally:
            api.close()
        if person:
            member = f"urn:li:person:{data.get('sub', '')}"
            name = str(data.get("name", "")).strip()
            if member != s.author:
                return AccountCheck(
                    False,
                    f"the token belongs to {member}{f' ({name})' if name else ''}, not author = {s.author}; "
                    "create a token as that member or correct author",
                )
            return AccountCheck(True, f"posts as {s.author}" + (f" ({name})" if name else ""))
        roles = [
            str(e.get("role", ""))
            for e in data.get("elements", [])
            if isinstance(e, dict) and e.get("organization") == s.author and e.get("state", "APPROVED") == "APPROVED"
        ]
        posting = [r for r in roles if r in POSTING_ROLES]
        if not posting:
            held = f" (its roles there: {', '.join(roles)})" if roles else ""
            return AccountCheck(
                False,
                f"the token's member may not post on {s.author}{held}; a page administrator must give them the "
                "Super admin or Content admin role (page > Settings > Manage admins)",
            )
        return AccountCheck(True, f"posts as {s.author} ({', '.join(posting)})")
