"""The threads adapter: text posts (and reply chains) on Meta's Threads, in its two steps.

Threads API: POST /{user}/threads makes a media container (media_type=TEXT, text, for thread
parts reply_to_id, for the first post link_attachment = the release URL); once the container's
status is FINISHED, POST /{user}/threads_publish with its creation_id makes the post. A lost
answer to the first step is harmless (an unpublished container expires after 24 hours); a lost
answer to the second is settled by asking the container: PUBLISHED means the post exists (its id
is found among the account's latest posts), FINISHED means it does not. Only when even that
cannot be asked is the post in doubt. Text counts to 500, emoji by their UTF-8 bytes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from ...workspace.schema import MASK
from ..base import AccountCheck, Delivery, File, Receipt, RenderContext
from .base import LATER, Post, SocialAdapter, recorded_request, request_file, reveal
from .http import Api, join
from .settings import ThreadsSettings

if TYPE_CHECKING:
    import requests

    from ...release import Release
    from ...workspace.config import Channel, Workspace

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Graph API error codes that mean the token is bad or lacks a permission.
_CREDENTIAL_CODES = {10, 102, 190, 200}


class ThreadsAdapter(SocialAdapter):
    """Posts (and reply chains) on Threads."""

    name = "threads"
    Settings = ThreadsSettings
    platform = "Threads"
    unit = "characters, emoji by UTF-8 bytes"
    idempotent = False
    # A Threads post carries one topic tag: the first hashtag of its text becomes it, and more are
    # plain text (developers.facebook.com/docs/threads/posts: "topic_tag" and tags in text, one per post).
    max_tags = 1

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self.sleep = time.sleep  # waits between container status checks (tests pass a recorder)

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> list[Delivery]:
        s: ThreadsSettings = channel.settings
        posts = self.posts(release, channel)

        def build(i: int, n: int, post: Post, key: str) -> tuple[list[File], dict[str, Any]]:
            body: dict[str, Any] = {"media_type": "TEXT", "text": post.text}
            if i == 1 and s.link_attachment and release.url:
                body["link_attachment"] = release.url
            if i > 1:
                body["reply_to_id"] = LATER.format(what=f"id of post {i - 1}")
            body["access_token"] = MASK
            publish = {
                "creation_id": LATER.format(what="id of the container made by the request before"),
                "access_token": MASK,
            }
            return [
                request_file(i, "POST", join(s.api, f"/{s.user_id}/threads"), FORM, body),
                request_file(i, "POST", join(s.api, f"/{s.user_id}/threads_publish"), FORM, publish, suffix=".publish"),
            ], {}

        return self.deliveries(release, channel, posts, build)

    def hint(self, channel: Channel) -> str:
        return " (a Threads user token with threads_content_publish)"

    def _check(self, api: Api, response: requests.Response, what: str) -> dict[str, Any]:
        """The JSON of a success; Graph's OAuthException (a 400) is a credential error, like a 401."""
        if response.ok:
            return dict(response.json())
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        status = None
        if isinstance(error, dict) and (
            error.get("type") == "OAuthException" or error.get("code") in _CREDENTIAL_CODES
        ):
            status = 401 if error.get("code") in (102, 190) else 403
        raise api.http_error(response, what, status)

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        s: ThreadsSettings = channel.settings
        api = self.api(channel)
        token = reveal(s.token, channel)
        create, publish = recorded_request(delivery), recorded_request(delivery, ".publish")
        body = {**create["body"], "access_token": token}
        if delivery.after:
            body["reply_to_id"] = self.previous(delivery).remote_id
        try:
            container = self._check(api, api.send("POST", create["url"], data=body), "create container")["id"]
        except DeliveryError as exc:
            # Nothing is public until publish: a container whose answer was lost just expires.
            raise DeliveryError(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from None
        self._wait_until_finished(api, s, token, container)
        try:
            response = api.send("POST", publish["url"], data={"creation_id": container, "access_token": token})
            media = self._check(api, response, "publish")["id"]
        except DeliveryError as exc:
            if not exc.in_doubt:
                raise
            found = self._settle(api, s, token, container, delivery.meta["text"])
            if found is None:
                raise
            if found == "":
                raise DeliveryError(
                    f"{exc}; the container is not published, so it is safe to try again", retryable=True
                ) from None
            media = found
        return Receipt(remote_id=str(media), url=self._permalink(api, s, token, str(media)))

    def _status(self, api: Api, s: ThreadsSettings, token: str, container: str) -> dict[str, Any]:
        response = api.send(
            "GET", join(s.api, f"/{container}"), params={"fields": "status,error_message", "access_token": token}
        )
        return self._check(api, response, "container status")

    def _wait_until_finished(self, api: Api, s: ThreadsSettings, token: str, container: str) -> None:
        deadline = time.monotonic() + s.publish_wait
        pause = 0.5
        while True:
            status = self._status(api, s, token, container)
            state = status.get("status")
            if state == "FINISHED":
                return
            if state == "ERROR":
                raise DeliveryError(
                    f"channel {api.channel!r}: Threads could not prepare the post: "
                    f"{status.get('error_message') or 'no reason given'}",
                    retryable=False,
                )
            if state not in ("IN_PROGRESS", None) or time.monotonic() + pause > deadline:
                raise DeliveryError(
                    f"channel {api.channel!r}: Threads container {container} is {state}, not "
                    "ready to publish; will try again",
                    retryable=True,
                )
            self.sleep(pause)
            pause = min(5.0, pause * 2)

    def _settle(self, api: Api, s: ThreadsSettings, token: str, container: str, text: str) -> str | None:
        """After a lost publish answer: the post's id if it exists, "" if it surely does not, None if unknown."""
        try:
            state = self._status(api, s, token, container).get("status")
            if state != "PUBLISHED":
                return "" if state == "FINISHED" else None
            response = api.send(
                "GET",
                join(s.api, f"/{s.user_id}/threads"),
                params={"fields": "id,text", "limit": "25", "access_token": token},
            )
            for item in self._check(api, response, "latest posts").get("data", []):
                if item.get("text") == text:
                    return str(item["id"])
        except DeliveryError:
            return None
        return None

    def _permalink(self, api: Api, s: ThreadsSettings, token: str, media: str) -> str:
        try:
            response = api.send("GET", join(s.api, f"/{media}"), params={"fields": "permalink", "access_token": token})
            return str(response.json().get("permalink", "")) if response.ok else ""
        except (DeliveryError, ValueError):
            return ""  # the post is out; a missing link to it is no reason to fail

    def check_account(self, channel: Channel) -> AccountCheck:
        """The user the token belongs to (GET /me?fields=id,username)."""
        # developers.facebook.com/docs/threads/threads-profiles (GET /me, fields id, username; threads_basic).
        s: ThreadsSettings = channel.settings
        token = s.token.reveal(channel.name)
        api = Api(channel.name, "Threads", [s.token.env], s.timeout)
        url = join(s.api, "/me")
        try:
            response = api.probe("GET", url, params={"fields": "id,username", "access_token": token})
            if not response.ok:
                return AccountCheck(False, self._refusal(response, url, s))
            user = response.json()
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        except ValueError:
            return AccountCheck(False, "Threads did not answer with JSON; check api in the channel file")
        finally:
            api.close()
        uid, name = str(user.get("id", "")), str(user.get("username", ""))
        if s.user_id not in ("me", uid):
            return AccountCheck(
                False,
                f"the token belongs to @{name} (user {uid}), not user_id = {s.user_id}; correct user_id or the token",
            )
        return AccountCheck(True, f"@{name} (user {uid})")

    def _refusal(self, response: requests.Response, url: str, s: ThreadsSettings) -> str:
        """Graph's errors: 190/102 a token expired or revoked, 10/200 a missing permission (both answered as 400)."""
        from .._transport.http import refusal

        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code = error.get("code") if isinstance(error, dict) else None
        renew = (
            "token expired or revoked (long-lived Threads tokens last 60 days)",
            f"create a new Threads user token with threads_basic and threads_content_publish and export it as {s.token.env}",
        )
        scope = (
            "the token lacks a permission",
            f"create it with threads_basic and threads_content_publish and export it as {s.token.env}",
        )
        status = 401 if code in (102, 190) else 403 if code in _CREDENTIAL_CODES else None
        return refusal(response, url, on401=renew, on403=scope, status=status)
