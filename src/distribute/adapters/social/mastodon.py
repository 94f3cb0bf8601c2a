"""The mastodon adapter: statuses on a Mastodon instance, with images, threads and an Idempotency-Key.

API (docs.joinmastodon.org): POST /api/v1/statuses with a bearer token, `visibility`,
`language`, `in_reply_to_id` for thread parts and `media_ids` from POST /api/v2/media (the alt
text goes in `description`). The `Idempotency-Key` header is derived from the delivery key, so
a retry of a post whose answer was lost returns the status already made (Mastodon keeps keys
for an hour) instead of posting twice. The instance's own limit (GET /api/v2/instance) is
checked before sending; at render time the channel's `limit` stands in for it.
"""

from __future__ import annotations

import mimetypes
import time
from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from ..base import AccountCheck, Check, Delivery, File, Receipt, RenderContext
from .base import (
    LATER,
    Post,
    SocialAdapter,
    bearer_mask,
    file_bytes,
    idempotency_key,
    language_code,
    recorded_request,
    request_file,
    reveal,
)
from .http import Api, Reset, join
from .settings import MastodonSettings

# docs.joinmastodon.org/api/rate-limits: X-RateLimit-Reset is an ISO 8601 instant.
RATE_LIMIT = (Reset("X-RateLimit-Reset", "iso", "X-RateLimit-Remaining"),)

if TYPE_CHECKING:
    from ...release import Release
    from ...text.fit import Measure
    from ...workspace.config import Channel, Workspace

STATUSES = "/api/v1/statuses"
MEDIA = "/api/v2/media"
MAX_MEDIA = 4


class MastodonAdapter(SocialAdapter):
    """Posts (and threads) on a Mastodon instance."""

    name = "mastodon"
    Settings = MastodonSettings
    platform = "Mastodon"
    unit = "characters, each link 23"
    resets = RATE_LIMIT
    idempotent = True  # Idempotency-Key: a repeated request returns the first status

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self._instance: dict[str, int] | None = None

    def measure(self, settings: MastodonSettings, limit: int | None = None, url_length: int | None = None) -> Measure:
        from ...text import fit as textfit

        return textfit.measure_for(
            "mastodon", limit=limit or settings.limit, url_length=url_length or settings.url_length
        )

    # --- render -----------------------------------------------------------------------------

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> list[Delivery]:
        s: MastodonSettings = channel.settings
        posts = self.posts(release, channel)
        images = list(release.images[:MAX_MEDIA]) if s.media else []
        url = join(s.instance, STATUSES)

        def build(i: int, n: int, post: Post, key: str) -> tuple[list[File], dict[str, Any]]:
            body: dict[str, Any] = {"status": post.text}
            files: list[File] = []
            media: list[dict[str, str]] = []
            if i == 1:
                for j, image in enumerate(images, 1):
                    assert image.file is not None
                    suffix = image.file.suffix.lower() or ".bin"
                    name = f"post-{i}.media-{j}{suffix}"
                    mime = mimetypes.guess_type(image.file.name)[0] or "application/octet-stream"
                    files.append(
                        request_file(
                            i,
                            "POST",
                            join(s.instance, MEDIA),
                            {"Authorization": bearer_mask()},
                            {"file": f"(multipart: {name}, {mime})", "description": image.alt},
                            suffix=f".media-{j}",
                        )
                    )
                    files.append(File(name, image.file.read_bytes()))
                    media.append({"file": name, "mime": mime, "alt": image.alt})
                if media:
                    body["media_ids"] = [
                        LATER.format(what=f"id of uploaded image {j}") for j in range(1, len(media) + 1)
                    ]
            else:
                body["in_reply_to_id"] = LATER.format(what=f"id of post {i - 1}")
            visibility = s.visibility if i == 1 else (s.replies_visibility or s.visibility)
            body["visibility"] = visibility
            body["language"] = language_code(release.language)
            headers = {
                "Authorization": bearer_mask(),
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key(key),
            }
            files.insert(0, request_file(i, "POST", url, headers, body))
            return files, {"media": media}

        return self.deliveries(release, channel, posts, build)

    def preview_extra(self, delivery: Delivery) -> tuple[list[str], list[Check]]:
        return [f"[image: {m['alt']}]" for m in delivery.meta.get("media", [])], []

    # --- deliver ----------------------------------------------------------------------------

    def instance_limits(self, channel: Channel) -> dict[str, int] | None:
        """The instance's own limit and link length, when it says them (read once per run)."""
        if self._instance is None:
            s: MastodonSettings = channel.settings
            self._instance = {}  # unknown until the instance says: then the status endpoint judges
            try:
                response = self.api(channel).send("GET", join(s.instance, "/api/v2/instance"))
                if response.ok:
                    statuses = response.json()["configuration"]["statuses"]
                    self._instance = {
                        "limit": int(statuses["max_characters"]),
                        "url_length": int(statuses.get("characters_reserved_per_url", s.url_length)),
                    }
            except (DeliveryError, ValueError, KeyError, TypeError):
                pass
        return self._instance or None

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        s: MastodonSettings = channel.settings
        request = recorded_request(delivery)
        body = dict(request["body"])
        limits = self.instance_limits(channel)
        if limits:
            measure = self.measure(s, limits["limit"], limits["url_length"])
            length = measure(body["status"])
            if length > limits["limit"]:
                raise DeliveryError(
                    f"channel {channel.name!r}: {delivery.label} is {length} characters, but the "
                    f"instance allows {limits['limit']}; set limit = {limits['limit']} in "
                    f"{channel.path.name} and shorten the text",
                    retryable=False,
                )
        token = reveal(s.token, channel)
        auth = {"Authorization": f"Bearer {token}"}
        api = self.api(channel)
        if delivery.meta.get("media"):
            body["media_ids"] = [self._upload(api, s, delivery, m, auth) for m in delivery.meta["media"]]
        if delivery.after:
            body["in_reply_to_id"] = self.previous(delivery).remote_id
        headers = {**auth, "Idempotency-Key": request["headers"]["Idempotency-Key"]}
        response = api.send("POST", request["url"], json=body, headers=headers)
        if response.status_code == 422 and "processing" in response.text:
            raise DeliveryError(
                f"channel {channel.name!r}: Mastodon is still processing the images; will try again", retryable=True
            )
        data = api.check(response, "status").json()
        return Receipt(remote_id=str(data["id"]), url=data.get("url") or data.get("uri") or "")

    def _upload(
        self, api: Api, s: MastodonSettings, delivery: Delivery, media: dict[str, str], auth: dict[str, str]
    ) -> str:
        data = file_bytes(delivery, media["file"])
        response = api.send(
            "POST",
            join(s.instance, MEDIA),
            headers=auth,
            files={"file": (media["file"], data, media["mime"])},
            data={"description": media["alt"]},
        )
        attachment = api.check(response, "media upload").json()
        # 202: accepted, still processing; the status may only use it once it has a URL.
        deadline = time.monotonic() + s.media_wait
        pause = 0.0
        while attachment.get("url") is None:
            if time.monotonic() + pause > deadline:
                raise DeliveryError(
                    f"channel {api.channel!r}: Mastodon did not finish processing "
                    f"{media['file']} within {s.media_wait:.0f} s; will try again",
                    retryable=True,
                )
            time.sleep(pause)
            pause = min(2.0, pause * 2 or 0.25)
            response = api.send("GET", join(s.instance, f"/api/v1/media/{attachment['id']}"), headers=auth)
            if response.status_code == 206:
                continue
            attachment = api.check(response, "media").json()
        return str(attachment["id"])

    def check_account(self, channel: Channel) -> AccountCheck:
        """The account the token belongs to (verify_credentials) and the instance's own limit (v2/instance)."""
        from .._transport.http import refusal

        # docs.joinmastodon.org/methods/accounts/#verify_credentials (needs the profile or read:accounts scope)
        # and docs.joinmastodon.org/methods/instance/#v2 (configuration.statuses.max_characters; public).
        s: MastodonSettings = channel.settings
        token = s.token.reveal(channel.name)
        api = Api(channel.name, "Mastodon", [s.token.env], s.timeout)
        try:
            url = join(s.instance, "/api/v1/accounts/verify_credentials")
            response = api.probe("GET", url, headers={"Authorization": f"Bearer {token}"})
            if not response.ok:
                return AccountCheck(
                    False,
                    refusal(
                        response,
                        url,
                        on401=(
                            "token expired or revoked",
                            "create a new access token (Preferences > Development > your application) "
                            f"and export it as {s.token.env}",
                        ),
                        on403=(
                            "the token lacks the profile scope, so its account cannot be confirmed",
                            "give the application the profile scope (or read:accounts) besides write:statuses "
                            f"and write:media, then export its new token as {s.token.env}",
                        ),
                    ),
                )
            acct = str(response.json().get("acct", ""))
            url = join(s.instance, "/api/v2/instance")
            instance = api.probe("GET", url)
            if not instance.ok:
                return AccountCheck(False, refusal(instance, url, on401=("the instance refused", "check instance")))
            data = instance.json()
            domain = str(data.get("domain", "")) or _host(s.instance)
            limit = int(data["configuration"]["statuses"]["max_characters"])
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        except (ValueError, KeyError, TypeError):
            return AccountCheck(False, f"{_host(s.instance)} does not answer like a Mastodon instance; check instance")
        finally:
            api.close()
        handle = f"@{acct}" if "@" in acct else f"@{acct}@{domain}"
        if limit < s.limit:
            return AccountCheck(
                False,
                f"{handle}: the instance allows {limit} characters, the channel limit is {s.limit}; "
                f"set limit = {limit} in {channel.path.name}",
            )
        return AccountCheck(True, f"{handle} (limit {limit} characters)")

    def close(self) -> None:
        super().close()
        self._instance = None


def _host(url: str) -> str:
    from .._transport.http import endpoint

    return endpoint(url, path=False)
