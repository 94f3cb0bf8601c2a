"""The x adapter: posts (and reply chains) through the X API v2, signed with OAuth 1.0a user context.

POST /2/tweets with `{"text": ...}` and, for thread parts, `reply.in_reply_to_tweet_id`; the
request is signed with the app's consumer key and secret and the account's access token and
secret (HMAC-SHA1, in the Authorization header; a JSON body is not part of the signature).
Text is fitted to X's weighted count (NFC; CJK and most symbols weigh 2, every URL 23, each
emoji 2). X has no idempotency key, so an answer lost in transit leaves the post in doubt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from ...workspace.schema import MASK
from ..base import AccountCheck, Delivery, File, Receipt, RenderContext
from .base import LATER, Post, SocialAdapter, recorded_request, request_file, reveal
from .http import Api, Reset, join
from .settings import XSettings

# docs.x.com/x-api/fundamentals/rate-limits: Unix seconds; the 15-minute window and the 24-hour caps
# on posting each have their own reset (the exhausted one, remaining 0, is the one to wait for).
RATE_LIMIT = (
    Reset("x-rate-limit-reset", "epoch", "x-rate-limit-remaining"),
    Reset("x-user-limit-24hour-reset", "epoch", "x-user-limit-24hour-remaining"),
    Reset("x-app-limit-24hour-reset", "epoch", "x-app-limit-24hour-remaining"),
)

if TYPE_CHECKING:
    from ...release import Release
    from ...workspace.config import Channel

TWEETS = "/2/tweets"
# What the outbox shows for the header computed at sending (fresh nonce and timestamp each time).
_OAUTH_SHOWN = (
    f'OAuth oauth_consumer_key="{MASK}", oauth_token="{MASK}", oauth_signature_method="HMAC-SHA1", '
    'oauth_timestamp="(set at sending)", oauth_nonce="(set at sending)", oauth_version="1.0", '
    f'oauth_signature="{MASK}"'
)


class XAdapter(SocialAdapter):
    """Posts (and reply chains) on X."""

    name = "x"
    Settings = XSettings
    platform = "X"
    unit = "weighted: CJK and emoji 2, each link 23"
    resets = RATE_LIMIT
    idempotent = False

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> list[Delivery]:
        s: XSettings = channel.settings
        posts = self.posts(release, channel)
        headers = {"Authorization": _OAUTH_SHOWN, "Content-Type": "application/json"}

        def build(i: int, n: int, post: Post, key: str) -> tuple[list[File], dict[str, Any]]:
            body: dict[str, Any] = {"text": post.text}
            if i > 1:
                body["reply"] = {"in_reply_to_tweet_id": LATER.format(what=f"id of post {i - 1}")}
            return [request_file(i, "POST", join(s.api, TWEETS), headers, body)], {}

        return self.deliveries(release, channel, posts, build)

    def hint(self, channel: Channel) -> str:
        return " and that the app has read and write permission (regenerate the access token after changing it)"

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        from requests_oauthlib import OAuth1

        s: XSettings = channel.settings
        request = recorded_request(delivery)
        body = dict(request["body"])
        if delivery.after:
            body["reply"] = {"in_reply_to_tweet_id": self.previous(delivery).remote_id}
        auth = OAuth1(
            reveal(s.api_key, channel),
            reveal(s.api_secret, channel),
            reveal(s.access_token, channel),
            reveal(s.access_token_secret, channel),
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
        )
        api = self.api(channel)
        response = api.check(api.send("POST", request["url"], json=body, auth=auth), "post")
        data = response.json()["data"]
        return Receipt(remote_id=str(data["id"]), url=f"https://x.com/i/web/status/{data['id']}")

    def check_account(self, channel: Channel) -> AccountCheck:
        """The account of the user token (GET /2/users/me, signed as a post would be) and whether it may write."""
        from requests_oauthlib import OAuth1

        from .._transport.http import refusal

        # docs.x.com/x-api/users/user-lookup-me; developer.x.com/en/docs/apps/app-permissions: OAuth 1.0a
        # answers carry x-access-level ("read", "read-write", "read-write-directmessages").
        s: XSettings = channel.settings
        auth = OAuth1(
            s.api_key.reveal(channel.name),
            s.api_secret.reveal(channel.name),
            s.access_token.reveal(channel.name),
            s.access_token_secret.reveal(channel.name),
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
        )
        api = Api(channel.name, "X", [s.access_token.env], s.timeout)
        url = join(s.api, "/2/users/me")
        renew = (
            "token expired or revoked",
            "create a new user token (developer portal > your app > Keys and tokens > Access Token and Secret) "
            f"and export it as {s.access_token.env} and {s.access_token_secret.env}; "
            f"check {s.api_key.env} and {s.api_secret.env} too",
        )
        try:
            response = api.probe("GET", url, auth=auth)
            if not response.ok:
                scope = ("the app may not read the account", "check the app's access level in the developer portal")
                return AccountCheck(False, refusal(response, url, on401=renew, on403=scope))
            user = response.json()["data"]
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        except (ValueError, KeyError, TypeError):
            return AccountCheck(False, "X did not answer with the account; check api in the channel file")
        finally:
            api.close()
        handle = f"@{user.get('username', '')}"
        level = response.headers.get("x-access-level", "")
        if level and "write" not in level:
            return AccountCheck(
                False,
                f"{handle}: the user token is read-only (x-access-level: {level}); set the app's permissions to "
                f"Read and write, then regenerate the access token and secret ({s.access_token.env}, "
                f"{s.access_token_secret.env})",
            )
        return AccountCheck(True, handle + (f" ({level})" if level else ""))
