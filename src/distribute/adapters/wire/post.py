"""HTTP for the wire and feed adapters: one request, failures mapped to DeliveryError.

Only failures to connect are retried here (nothing was sent, so a repeat is always safe);
everything else goes back to the dispatcher as a DeliveryError, which retries with backoff,
honours Retry-After, and knows whether the adapter may repeat a request of unknown outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...errors import DeliveryError
from .._transport.http import USER_AGENT, retry_after

if TYPE_CHECKING:
    import requests

    from ...workspace.schema import Secret

CONNECT_RETRIES = 2


def _session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    # connect= only: a request that may have reached the server is never repeated here.
    retry = Retry(
        total=CONNECT_RETRIES,
        connect=CONNECT_RETRIES,
        read=0,
        status=0,
        other=0,
        backoff_factor=0.2,
        raise_on_status=False,
        allowed_methods=None,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes = b"",
    timeout: float = 30.0,
    what: str = "request",
) -> requests.Response:
    """Send one request; a 2xx response is returned, anything else raises DeliveryError."""
    import requests

    sent_headers = {"User-Agent": USER_AGENT, **headers}
    try:
        with _session() as session:
            response = session.request(
                method, url, headers=sent_headers, data=body, timeout=timeout, allow_redirects=False
            )
    except requests.exceptions.ConnectTimeout as exc:
        raise DeliveryError(
            f"{what}: could not connect to {origin(url)} in time ({_reason(exc)})", retryable=True
        ) from None
    except requests.exceptions.Timeout:
        # The request was sent; whether the server acted on it is unknown.
        raise DeliveryError(
            f"{what}: no answer from {origin(url)} within {timeout:g} s", retryable=True, in_doubt=True
        ) from None
    except requests.exceptions.ConnectionError as exc:
        in_doubt = not _refused(exc)
        raise DeliveryError(
            f"{what}: connection to {origin(url)} failed ({_reason(exc)})", retryable=True, in_doubt=in_doubt
        ) from None
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"{what}: {_reason(exc)}", retryable=False) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    snippet = " ".join(response.text.split())[:200]
    message = f"{what}: HTTP {status} {response.reason or ''} from {origin(url)}".rstrip()
    if snippet:
        message += f": {snippet}"
    if status in (408, 425, 429) or status >= 500:
        raise DeliveryError(message, retryable=True, retry_after=retry_after(response.headers.get("Retry-After")))
    raise DeliveryError(message, retryable=False)


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


def origin(url: str) -> str:
    # Never the path or query: an endpoint may carry a token there.
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _refused(exc: Exception) -> bool:
    """Whether the failure happened before anything was sent (no connection was made)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        if isinstance(current, MaxRetryError) and isinstance(current.reason, NewConnectionError):
            return True
        nxt = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nxt or current.__cause__ or current.__context__
    return False


def _reason(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    # urllib3 messages repeat the whole URL (with any query token); keep the cause only.
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1].strip(" ()")
    return text[:200]
