"""The bluesky adapter: app.bsky.feed.post records with facets, a link card or images, threads, fixed record keys.

XRPC on the account's PDS: com.atproto.server.createSession with an app password (the session
is kept for the run; an expired access token is refreshed with refreshSession, or the session
made again), com.atproto.repo.uploadBlob for images, com.atproto.repo.createRecord with an
`rkey` derived from the delivery, so a retry collides with the post already made instead of
duplicating it; the collision is recognised (getRecord finds our record at that key) and
counted as success. The createSession call is an authentication step, not a delivery: the
outbox holds the createRecord request (and the image bytes to upload), never the password.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

from ... import clock
from ...errors import DeliveryError, ReleaseError
from ..base import AccountCheck, Check, Delivery, File, Receipt, RenderContext
from .base import (
    LATER,
    Post,
    SocialAdapter,
    bearer_mask,
    file_bytes,
    recorded_request,
    request_file,
    reveal,
)
from .bluesky_record import (
    COLLECTION,
    IMAGE_MAX,
    IMAGES_MAX,
    TAG_MAX_GRAPHEMES,
    THUMB_MAX,
    blob_ref,
    created_at,
    external_embed,
    facets,
    image_mime,
    images_embed,
    post_rkey,
    replace_blob,
)
from .http import Api, Reset, join
from .settings import BlueskySettings

# The PDS (atproto xrpc-server) sends RateLimit-Reset as Unix seconds, not the IETF draft's delta.
RATE_LIMIT = (Reset("ratelimit-reset", "epoch", "ratelimit-remaining"),)

if TYPE_CHECKING:
    import requests

    from ...release import Release
    from ...workspace.config import Channel, Workspace

MAX_BYTES = 3000  # app.bsky.feed.post text maxLength (UTF-8 bytes), beside 300 graphemes


class BlueskyAdapter(SocialAdapter):
    """Posts (and threads) on Bluesky."""

    name = "bluesky"
    Settings = BlueskySettings
    platform = "Bluesky"
    unit = "graphemes"
    tag_graphemes = TAG_MAX_GRAPHEMES
    # A summary too long for the post goes by whole sentences, never as a stub ending in "…".
    whole_sentences = True
    resets = RATE_LIMIT
    idempotent = True  # the record key is fixed: a repeat collides instead of duplicating

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self._session: dict[str, str] | None = None

    # --- render -----------------------------------------------------------------------------

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> list[Delivery]:
        s: BlueskySettings = channel.settings
        embed, uploads, notes = self._embed(release, channel, s)
        # With a link card the card shows the headline: the post text does not repeat it.
        card = embed is not None and embed.get("$type") == "app.bsky.embed.external"
        posts = self.posts(release, channel, extra={"card": card})
        when = context.due  # the posts' createdAt and the time inside their record keys
        thread_key = f"{release.id}/{channel.name}"
        url = join(s.service, "/xrpc/com.atproto.repo.createRecord")

        def build(i: int, n: int, post: Post, key: str) -> tuple[list[File], dict[str, Any]]:
            record: dict[str, Any] = {
                "$type": COLLECTION,
                "text": post.text,
                "createdAt": created_at(when + dt.timedelta(milliseconds=i - 1)),
            }
            found = facets(post.text)
            if found:
                record["facets"] = found
            record["langs"] = [release.language]
            files: list[File] = []
            meta: dict[str, Any] = {"uploads": [], "notes": notes if i == 1 else [], "planned": record["createdAt"]}
            if i == 1 and embed is not None:
                record["embed"] = embed
                meta["uploads"] = [{k: v for k, v in u.items() if k != "data"} for u in uploads]
                files.extend(File(u["file"], u["data"]) for u in uploads)
            if i > 1:
                first = {"uri": LATER.format(what="at:// uri of post 1"), "cid": LATER.format(what="cid of post 1")}
                parent = {
                    "uri": LATER.format(what=f"at:// uri of post {i - 1}"),
                    "cid": LATER.format(what=f"cid of post {i - 1}"),
                }
                record["reply"] = {"root": first, "parent": parent}
            body = {
                "repo": s.handle,
                "collection": COLLECTION,
                "rkey": post_rkey(thread_key, when, i),
                "record": record,
            }
            headers = {"Authorization": bearer_mask(), "Content-Type": "application/json"}
            files.insert(0, request_file(i, "POST", url, headers, body))
            return files, meta

        return self.deliveries(release, channel, posts, build)

    def _embed(
        self, release: Release, channel: Channel, s: BlueskySettings
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[str]]:
        """The first post's embed, the images to upload for it, and notes for the preview."""
        notes: list[str] = []
        uploads: list[dict[str, Any]] = []
        mode = s.embed
        if mode == "images" and not release.images:
            mode = "card"
        if mode == "images":
            chosen = []
            for i, image in enumerate(release.images[:IMAGES_MAX]):
                assert image.file is not None
                data = image.file.read_bytes()
                if len(data) > IMAGE_MAX:
                    raise ReleaseError(
                        f"image {image.path} is {len(data):,} bytes; Bluesky takes at most "
                        f'{IMAGE_MAX:,}; make it smaller or set embed = "card" in '
                        f"{channel.path.name}",
                        path=release.path,
                        line=release.source.line_of(("images", i), "path"),
                    )
                blob = blob_ref(data, image_mime(image.file))
                uploads.append(
                    {
                        "file": f"post-1.image-{i + 1}{image.file.suffix.lower()}",
                        "data": data,
                        "mime": blob["mimeType"],
                        "cid": blob["ref"]["$link"],
                    }
                )
                chosen.append((blob, image.alt))
                notes.append(f"[image {i + 1}: {image.alt}]")
            if len(release.images) > IMAGES_MAX:
                notes.append(f"only the first {IMAGES_MAX} of {len(release.images)} images go out")
            return images_embed(chosen), uploads, notes
        if mode == "card" and release.url:
            thumb = None
            if release.images:
                image = release.images[0]
                assert image.file is not None
                data = image.file.read_bytes()
                if len(data) <= THUMB_MAX:
                    thumb = blob_ref(data, image_mime(image.file))
                    uploads.append(
                        {
                            "file": f"post-1.thumb{image.file.suffix.lower()}",
                            "data": data,
                            "mime": thumb["mimeType"],
                            "cid": thumb["ref"]["$link"],
                        }
                    )
                else:
                    notes.append(f"card without thumbnail: {image.path} is over {THUMB_MAX:,} bytes")
            description = release.summary or release.subtitle
            notes.insert(0, f"[link card: {release.title} — {release.url}]")
            return external_embed(release.url, release.title, description, thumb), uploads, notes
        return None, [], notes

    def preview_extra(self, delivery: Delivery) -> tuple[list[str], list[Check]]:
        size = len(delivery.meta["text"].encode("utf-8"))
        return list(delivery.meta.get("notes", [])), [Check("bytes", size, MAX_BYTES, size <= MAX_BYTES, note="UTF-8")]

    # --- deliver ----------------------------------------------------------------------------

    def hint(self, channel: Channel) -> str:
        handle = channel.settings.handle
        return f" (an app password of {handle}) and handle = {handle!r} in {channel.path.name}"

    def _xrpc_url(self, channel: Channel, nsid: str) -> str:
        return join(channel.settings.service, f"/xrpc/{nsid}")

    def session(self, channel: Channel) -> dict[str, str]:
        """The account's session, made once per run with the app password."""
        if self._session is None:
            s: BlueskySettings = channel.settings
            api = self.api(channel)
            response = api.send(
                "POST",
                self._xrpc_url(channel, "com.atproto.server.createSession"),
                json={"identifier": s.handle, "password": reveal(s.app_password, channel)},
            )
            self._session = dict(api.check(response, "createSession").json())
        return self._session

    def _refresh(self, channel: Channel) -> None:
        """A new access token from the refresh token; failing that, a new session next time."""
        api = self.api(channel)
        assert self._session is not None
        response = api.send(
            "POST",
            self._xrpc_url(channel, "com.atproto.server.refreshSession"),
            headers={"Authorization": f"Bearer {self._session['refreshJwt']}"},
        )
        if response.ok:
            self._session.update(response.json())
        elif response.status_code in (400, 401):
            self._session = None  # the refresh token expired or was revoked: log in again
        else:
            raise api.http_error(response, "refreshSession")

    def call(self, channel: Channel, method: str, nsid: str, **kwargs: Any) -> requests.Response:
        """An authenticated XRPC call; an expired access token is renewed once."""
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            token = self.session(channel)["accessJwt"]
            response = self.api(channel).send(
                method, self._xrpc_url(channel, nsid), headers={**extra, "Authorization": f"Bearer {token}"}, **kwargs
            )
            if attempt == 1 and _error_name(response) == "ExpiredToken":
                self._refresh(channel)
                continue
            return response
        raise AssertionError("unreachable")

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        api = self.api(channel)
        body = copy.deepcopy(recorded_request(delivery)["body"])
        record = body["record"]
        for upload in delivery.meta.get("uploads", []):
            response = self.call(
                channel,
                "POST",
                "com.atproto.repo.uploadBlob",
                data=file_bytes(delivery, upload["file"]),
                headers={"Content-Type": upload["mime"]},
            )
            blob = api.check(response, "uploadBlob").json()["blob"]
            if blob.get("ref", {}).get("$link") != upload["cid"]:  # the PDS's word for the blob wins
                record = replace_blob(record, upload["cid"], blob)
        if delivery.after:
            parent, root = self.previous(delivery), self.previous(delivery, delivery.meta["root"])
            record["reply"] = {
                "root": {"uri": root.remote_id, "cid": root.detail},
                "parent": {"uri": parent.remote_id, "cid": parent.detail},
            }
        # Sent late (a retry, a catch-up run)? Then the post says when it was really made.
        now = created_at(clock.now())
        record["createdAt"] = max(record["createdAt"], now)
        body["record"] = record
        try:
            response = self.call(channel, "POST", "com.atproto.repo.createRecord", json=body)
        except DeliveryError as exc:
            if exc.in_doubt:
                found = self._already_made(channel, body)
                if found is not None:
                    return found
            raise
        if not response.ok:
            if _error_name(response) == "ExpiredToken":  # expired again right after renewal: clock skew
                raise DeliveryError(
                    f"channel {channel.name!r}: Bluesky says the new session token expired "
                    "already; check the clock of this machine; will try again",
                    retryable=True,
                )
            error = api.http_error(response, "createRecord")
            # A retry of a post that did arrive collides with it at the same rkey: the reference PDS
            # answers 500 (its MST refuses the key), others 400/409. Our record there means success.
            if response.status_code in (400, 409) or response.status_code >= 500:
                found = self._already_made(channel, body)
                if found is not None:
                    return found
            raise error
        data = response.json()
        return self._receipt(channel, data["uri"], data["cid"])

    def _already_made(self, channel: Channel, body: dict[str, Any]) -> Receipt | None:
        """Our record at the delivery's rkey, if an earlier attempt made it."""
        try:
            response = self.api(channel).send(
                "GET",
                self._xrpc_url(channel, "com.atproto.repo.getRecord"),
                params={"repo": body["repo"], "collection": COLLECTION, "rkey": body["rkey"]},
            )
        except DeliveryError:
            return None
        if not response.ok:
            return None
        data = response.json()
        if data.get("value", {}).get("text") != body["record"]["text"]:
            return None  # someone else's record at that key: not ours to claim
        return self._receipt(channel, data["uri"], data["cid"])

    def _receipt(self, channel: Channel, uri: str, cid: str) -> Receipt:
        handle = (self._session or {}).get("handle") or channel.settings.handle
        return Receipt(
            remote_id=uri, url=f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}", detail=cid
        )

    def check_account(self, channel: Channel) -> AccountCheck:
        """A session made with the app password (com.atproto.server.createSession): the account's handle and DID."""
        from .._transport.http import refusal

        # docs.bsky.app/docs/api/com-atproto-server-create-session: {accessJwt, refreshJwt, handle, did,
        # active?, status?}; the session is only read, never used to write.
        s: BlueskySettings = channel.settings
        password = s.app_password.reveal(channel.name)
        api = Api(channel.name, "Bluesky", [s.app_password.env], s.timeout)
        url = self._xrpc_url(channel, "com.atproto.server.createSession")
        fix = (
            f"check handle = {s.handle!r} in {channel.path.name}, create a new app password (Settings > Privacy "
            f"and security > App passwords) and export it as {s.app_password.env}"
        )
        try:
            response = api.probe("POST", url, json={"identifier": s.handle, "password": password})
            if response.status_code == 401 and _error_name(response) == "AuthFactorTokenRequired":
                return AccountCheck(
                    False,
                    f"{s.app_password.env} holds the account password, which asks for an email code; "
                    f"use an app password instead (Settings > Privacy and security > App passwords)",
                )
            if not response.ok:
                return AccountCheck(False, refusal(response, url, on401=("app password or handle refused", fix)))
            session = response.json()
        except DeliveryError as exc:
            return AccountCheck(False, exc.message)
        except ValueError:
            return AccountCheck(False, f"{s.service} does not answer like a Bluesky PDS; check service")
        finally:
            api.close()
        handle, did = str(session.get("handle", s.handle)), str(session.get("did", ""))
        if session.get("active") is False:
            status = session.get("status") or "inactive"
            return AccountCheck(
                False, f"@{handle} ({did}) is {status}: it cannot post until the account is active again"
            )
        return AccountCheck(True, f"@{handle} ({did})")

    def close(self) -> None:
        super().close()
        self._session = None


def _error_name(response: requests.Response) -> str:
    if response.status_code not in (400, 401):
        return ""
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""
