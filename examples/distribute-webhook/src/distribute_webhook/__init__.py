"""A distribute adapter that POSTs each release as one JSON document to a URL.

The example plugin of docs/plugins.md: a settings dataclass, a default template shipped in the
package (templates/webhook/post.json.j2, which a workspace may override or extend with
`{% extends "default:webhook/post.json.j2" %}`), a pure render and a deliver that says whether
a retry may help. It imports only the public API of distribute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import requests

from distribute import MASK, Channel, ConfigError, DeliveryError, Release, Secret, field
from distribute.adapters.base import Adapter, Check, Delivery, PreviewBlock, Receipt, RenderContext, http_request_file

REQUEST_FILE = "webhook.json"


@dataclasses.dataclass(frozen=True)
class WebhookSettings:
    """A channel file of adapter "webhook"."""

    url: str = field(doc="where the JSON document is POSTed (http:// or https://)")
    token: Secret | None = field(None, doc='bearer token sent as Authorization, by reference: { env = "NAME" }')
    timeout: float = field(10.0, doc="seconds to wait for the remote side")
    limit: int = field(2000, doc="largest document, in bytes, the remote side accepts (validate checks it)")


class WebhookAdapter(Adapter):
    """POSTs each release as JSON to a URL; the body comes from the template webhook/post.json.j2."""

    name = "webhook"
    Settings = WebhookSettings
    default_template = "webhook/post.json.j2"
    templates = "templates"  # beside this module: distribute_webhook/templates/webhook/post.json.j2
    public = True  # held until the embargo, unless the channel has embargoed_copy = true
    idempotent = False  # a plain webhook cannot tell a repeat from a new post

    def render(self, release: Release, channel: Channel, *, context: RenderContext) -> Iterator[Delivery]:
        settings: WebhookSettings = channel.settings
        name = self.template_name(channel)
        text = self.workspace.templates.render(name, release=release, due=context.due, embargoed=context.embargoed)
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"template {name!r} did not give JSON ({exc}); fix the template") from None
        headers = {"Content-Type": "application/json", "Idempotency-Key": _key(release, channel)}
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {MASK}"  # the real token is added only when sending
        yield Delivery(
            release.id,
            channel.name,
            self.name,
            target="webhook",
            part="1",
            files=(http_request_file(REQUEST_FILE, "POST", settings.url, headers, body),),
            meta={"embargoed": context.embargoed},
            label=f"POST {settings.url}",
        )

    def deliver(self, delivery: Delivery, channel: Channel) -> Receipt:
        settings: WebhookSettings = channel.settings
        request: dict[str, Any] = json.loads(delivery.files[0].data)
        headers = dict(request["headers"])
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token.reveal(channel.name)}"
        data = json.dumps(request["body"], ensure_ascii=False).encode("utf-8")
        try:
            response = requests.post(request["url"], data=data, headers=headers, timeout=settings.timeout)
        except requests.ConnectionError as exc:
            raise DeliveryError(f"webhook {request['url']}: cannot connect ({exc})", retryable=True) from None
        except requests.Timeout:
            # The document was written; it may have arrived.
            raise DeliveryError(
                f"webhook {request['url']}: no answer in {settings.timeout:g} s", retryable=True, in_doubt=True
            ) from None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After", "")
            raise DeliveryError(
                f"webhook {request['url']} answered {response.status_code}; it will be tried again",
                retryable=True,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if response.status_code >= 400:
            raise DeliveryError(
                f"webhook {request['url']} refused the document ({response.status_code}): {response.text[:200]}",
                retryable=False,
            )
        remote_id = ""
        try:
            answer = response.json()
            remote_id = str(answer.get("id", "")) if isinstance(answer, dict) else ""
        except ValueError:
            pass
        return Receipt(remote_id=remote_id, url=request["url"], detail=f"HTTP {response.status_code}")

    def preview(self, deliveries: list[Delivery], channel: Channel) -> list[PreviewBlock]:
        settings: WebhookSettings = channel.settings
        blocks = []
        for d in deliveries:
            size = len(json.dumps(json.loads(d.files[0].data)["body"]).encode())
            check = Check("size", size, settings.limit, size <= settings.limit, note="bytes of JSON")
            blocks.append(PreviewBlock(d.label, d.files[0].data.decode(), checks=(check,)))
        return blocks


def _key(release: Release, channel: Channel) -> str:
    """The same for every attempt of one delivery, so a receiver that keeps them can drop repeats."""
    return hashlib.sha256(f"{release.id}/{channel.name}".encode()).hexdigest()[:32]
