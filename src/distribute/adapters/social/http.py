"""HTTP for the social adapters: one pooled session per channel and every failure mapped to a DeliveryError.

The mapping is the careful person's: 429 waits as long as the platform asks (Retry-After, or
its rate-limit reset header); 5xx and timeouts are worth another try; 401/403 stop and name the
credentials to check; other 4xx stop with the platform's own words. A failure after the request
may have reached the platform (a read timeout, a dropped connection, a gateway error) is marked
in doubt, so that only idempotent adapters retry it blindly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from .._transport.http import retry_after as header_retry_after

if TYPE_CHECKING:
    import requests

USER_AGENT = "distribute/0.1 (+press releases; https://pypi.org/project/distribute/)"
# Gateway errors: the platform may have created the post before its front end gave up.
_AMBIGUOUS = {500, 502, 504}
_RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")


def _now() -> dt.datetime:
    from ... import clock

    return clock.now()


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from Retry-After (delta or HTTP date), else a rate-limit reset header."""
    wait = header_retry_after(headers.get("Retry-After"))
    if wait is not None:
        return wait
    for name in _RESET_HEADERS:
        reset = headers.get(name)
        if not reset:
            continue
        reset = reset.strip()
        try:
            number = float(reset)
        except ValueError:
            try:  # Mastodon sends an ISO 8601 instant
                when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            return max(0.0, (when - _now()).total_seconds())
        # X and Bluesky send epoch seconds; a small number is a delta.
        return max(0.0, number - _now().timestamp()) if number > 1e9 else number
    return None


def platform_message(response: requests.Response) -> str:
    """The platform's own explanation of an error, from whichever field it uses."""
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    parts: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]  # Meta's Graph API: {"error": {"message", "type", "code", "fbtrace_id"}}
    if isinstance(data, dict):
        # X v2: {"title", "detail", "errors": [{"message"}]}; Bluesky: {"error", "message"};
        # Mastodon: {"error", "error_description"?}; LinkedIn: {"message", "serviceErrorCode"}.
        for key in ("detail", "message", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = data.get("errors")
        if isinstance(errors, list):
            for item in errors[:3]:
                if isinstance(item, dict) and isinstance(item.get("message"), str) and item["message"] not in parts:
                    parts.append(item["message"])
        if data.get("error") and isinstance(data.get("message"), str) and len(parts) >= 2:
            # "InvalidRequest: Record/text must not be longer than 300 graphemes"
            parts = [f"{data['error']}: {data['message']}"] + [
                p for p in parts if p not in (data["error"], data["message"])
            ]
    if not parts:
        text = " ".join(response.text.split())
        parts.append(text[:300] if text else response.reason or "no explanation given")
    return "; ".join(parts)


def _not_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before any byte of the request could reach the server."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(
        exc,
        (
            requests.exceptions.ConnectTimeout,
            requests.exceptions.SSLError,
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
        ),
    ):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        stack.extend(
            [
                getattr(item, "reason", None),
                item.__cause__,
                item.__context__,
                *[a for a in getattr(item, "args", ()) if isinstance(a, BaseException)],
            ]
        )
    return False


class Api:
    """A platform's HTTP API as one channel uses it."""

    def __init__(self, channel: str, platform: str, credentials: Sequence[str], timeout: float = 10.0, hint: str = ""):
        self.channel = channel
        self.platform = platform
        # Environment variables to name when the platform refuses the credentials, and what else to check.
        self.credentials = list(credentials)
        self.hint = hint
        self.timeout = timeout
        self._session: requests.Session | None = None
        self.requests_made = 0

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = USER_AGENT
            self._session.trust_env = False  # a proxy from the environment must not see our tokens
        return self._session

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Make the request; transport failures become DeliveryErrors, HTTP errors are returned."""
        import requests

        kwargs.setdefault("timeout", (min(self.timeout, 10.0), self.timeout))
        kwargs.setdefault("allow_redirects", False)  # a redirect would re-send the body somewhere else
        self.requests_made += 1
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise self.transport_error(exc, method, url) from None

    def transport_error(self, exc: BaseException, method: str, url: str) -> DeliveryError:
        """A DeliveryError for a request that got no HTTP answer."""
        import requests

        what = f"channel {self.channel!r}: {self.platform} {method} {_path(url)}"
        if isinstance(
            exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
        ):
            return DeliveryError(f"{what}: bad URL ({exc}); fix the channel file", retryable=False)
        if _not_sent(exc):
            return DeliveryError(f"{what}: could not connect ({type(exc).__name__}); will try again", retryable=True)
        kind = "no answer within the timeout" if isinstance(exc, requests.exceptions.Timeout) else "connection lost"
        return DeliveryError(
            f"{what}: {kind} after the request was sent; it may have arrived", retryable=True, in_doubt=True
        )

    def check(self, response: requests.Response, what: str = "") -> requests.Response:
        """The response when it is a success (2xx), else the matching DeliveryError."""
        status = response.status_code
        if 200 <= status < 300:
            return response
        raise self.http_error(response, what)

    def http_error(self, response: requests.Response, what: str = "", status: int | None = None) -> DeliveryError:
        """The DeliveryError for an HTTP error answer (`status`: how to read it, when the code misleads)."""
        status = status or response.status_code
        where = f"channel {self.channel!r}: {self.platform}{' ' + what if what else ''}"
        said = f"HTTP {response.status_code}: {platform_message(response)}"
        if status == 429:
            wait = retry_after(response.headers)
            later = f"; will try again in {wait:.0f} s" if wait is not None else "; will try again later"
            return DeliveryError(f"{where}: rate limited ({said}){later}", retryable=True, retry_after=wait)
        if status in (401, 403):
            names = ", ".join(self.credentials) or "the channel's credentials"
            variables = "environment variables" if len(self.credentials) > 1 else "environment variable"
            verb = "refused the credentials" if status == 401 else "refused the request"
            also = self.hint or " and the account's permissions"
            return DeliveryError(f"{where} {verb} ({said}); check the {variables} {names}{also}", retryable=False)
        if status >= 500 or status == 408:
            return DeliveryError(
                f"{where}: server error ({said}); will try again",
                retryable=True,
                retry_after=retry_after(response.headers),
                in_doubt=status in _AMBIGUOUS,
            )
        return DeliveryError(f"{where}: refused ({said})", retryable=False)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def join(base: str, path: str) -> str:
    """An API URL from a configured base (with or without a trailing slash) and an absolute path."""
    return base.rstrip("/") + path
