"""One HTTP request with its credential header, through the shared transport: wire POST, feed PUT, hub ping.

The failure policy (what is retried, what is in doubt, how long to wait) is the transport's,
adapters/_transport/http.py, stated in docs/transport.md. The dispatcher retries with backoff and
knows whether the adapter may repeat a request of unknown outcome; nothing is retried here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...errors import DeliveryError
from .._transport.http import Client, origin

if TYPE_CHECKING:
    import requests

    from ...workspace.schema import Secret

__all__ = ["auth_header", "origin", "send"]


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes = b"",
    timeout: float = 30.0,
    what: str = "request",
    secret: Secret | None = None,
) -> requests.Response:
    """Send one request; a 2xx response is returned, anything else raises DeliveryError.

    `secret`: the credential sent, so that a refusal names its environment variable.
    """
    credentials = [secret.env] if secret is not None else []
    client = Client(f"{what} to {origin(url)}", timeout=timeout, credentials=credentials)
    try:
        return client.request(method, url, headers=dict(headers), data=body)
    finally:
        client.close()


def auth_header(secret: Secret | None, header: str, scheme: str, channel: str) -> dict[str, str]:
    """The credential header, read from the environment now; an unset variable fails the delivery."""
    from ...errors import SecretMissing

    if secret is None:
        return {}
    try:
        value = secret.reveal(channel)
    except SecretMissing as exc:
        # Not retryable: the variable has to be set by a person before this can work.
        raise DeliveryError(exc.message, retryable=False) from None
    return {header: f"{scheme} {value}" if scheme else value}
