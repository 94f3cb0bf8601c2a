"""HTTP for the social adapters: the shared transport (adapters/_transport/http.py), named for a channel.

Every failure is read by the one policy in the transport (docs/transport.md): 429 waits as long
as the platform asks (Retry-After, or the platform's rate-limit reset headers, which each adapter
declares); 401/403 stop and name the credentials to check; other 4xx stop with the platform's own
words; a failure after the request may have reached the platform is marked in doubt, so that only
idempotent adapters retry it blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._transport.http import Client, Reset

if TYPE_CHECKING:
    import requests

__all__ = ["Api", "Reset", "join"]


class Api(Client):
    """A platform's HTTP API as one channel uses it."""

    def __init__(
        self,
        channel: str,
        platform: str,
        credentials: Sequence[str],
        timeout: float = 10.0,
        hint: str = "",
        resets: Sequence[Reset] = (),
    ):
        # trust_env off: a proxy or .netrc from the environment must not see or replace our tokens.
        super().__init__(
            f"channel {channel!r}: {platform}",
            timeout=timeout,
            credentials=credentials,
            hint=hint,
            resets=resets,
            trust_env=False,
        )
        self.channel = channel
        self.platform = platform

    def send(self, method: str, url: str, *, what: str = "", **kwargs: Any) -> requests.Response:
        # A platform's API paths carry no secrets (tokens go in headers and bodies): name the call.
        return super().send(method, url, what=what or f"{method} {urlsplit(url).path or '/'}", **kwargs)


def join(base: str, path: str) -> str:
    """An API URL from a configured base (with or without a trailing slash) and an absolute path."""
    return base.rstrip("/") + path
