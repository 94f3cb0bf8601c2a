"""Every HTTP request distribute makes: the session, timeouts, User-Agent, and one failure policy.

Each failure becomes a DeliveryError that says whether another try may help (`retryable`),
whether the request may already have reached the server (`in_doubt`: then only idempotent
adapters repeat it; the others report it for a person to check), and how long the server asked
us to wait (`retry_after`). The table, with the reason for each row, is docs/transport.md; each
row has a test in tests/test_transport_http.py.

"Was anything sent" is observed, not guessed from exception types: the connection records the
moment it writes the first byte of the request. A failure before that (DNS, refused, connect
timeout, TLS handshake) certainly sent nothing; a failure after it may have been acted on.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ...errors import DeliveryError

if TYPE_CHECKING:
    import requests

USER_AGENT = "distribute (+https://pypi.org/project/distribute/)"
CONNECT_TIMEOUT = 10.0  # seconds to open a connection; the configured timeout bounds each read


@dataclass(frozen=True)
class Answer:
    """How the policy reads one HTTP status: may a retry help, may the request have been acted on."""

    retryable: bool
    in_doubt: bool
    label: str  # what happened, in a few words
    advice: str = ""  # what comes next, when the status says more than retryable does


# Statuses read one by one; the rest by class below. The reasons are in docs/transport.md.
STATUSES: dict[int, Answer] = {
    401: Answer(False, False, "refused the credentials"),
    403: Answer(False, False, "refused the request"),
    408: Answer(True, False, "did not receive the whole request in time", "nothing was acted on; will try again"),
    409: Answer(True, True, "reports a conflict", "an earlier attempt of this request may have arrived"),
    425: Answer(True, False, "asked for the request again later (too early)", "will try again"),
    429: Answer(True, False, "rate limited"),
    500: Answer(True, True, "server error", "it may have arrived"),
    501: Answer(False, False, "does not support this request", "check the URL in the channel file"),
    502: Answer(True, True, "bad gateway", "it may have arrived"),
    503: Answer(True, False, "unavailable", "nothing was acted on; will try again"),
    504: Answer(True, True, "gateway timeout", "it may have arrived"),
    505: Answer(False, False, "does not support this HTTP version", "check the URL in the channel file"),
}
REDIRECT = Answer(
    False, False, "answered with a redirect, which is not followed", "put the new URL in the channel file"
)
REFUSED = Answer(False, False, "refused")
OTHER_5XX = Answer(True, True, "server error", "it may have arrived")


def answer(status: int) -> Answer | None:
    """The policy's reading of an HTTP status; None for a success (2xx)."""
    if 200 <= status < 300:
        return None
    if status in STATUSES:
        return STATUSES[status]
    if status >= 500:
        return OTHER_5XX
    if status >= 400:
        return REFUSED
    return REDIRECT  # 1xx never reaches us; 3xx: a redirect would send the body somewhere else


@dataclass(frozen=True)
class Reset:
    """A platform's rate-limit reset header: when its window opens again.

    `unit`: "epoch" (Unix seconds; a number below 1e9 is read as seconds from now), "iso" (an
    ISO 8601 instant) or "delta" (seconds from now). `remaining`: the header counting the requests
    left in that window; a window with requests left is not the one that was exhausted.
    """

    header: str
    unit: Literal["epoch", "iso", "delta"]
    remaining: str = ""


def _now() -> dt.datetime:
    from ... import clock  # the ledger's clock, so DISTRIBUTE_NOW and time-machine agree

    return clock.now()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - _now()).total_seconds())


def _reset_seconds(value: str, unit: str) -> float | None:
    value = value.strip()
    if unit == "iso":
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, (when - _now()).total_seconds())
    try:
        number = float(value)
    except ValueError:
        return None
    if unit == "epoch" and number > 1e9:
        return max(0.0, number - _now().timestamp())
    return max(0.0, number)


def wait(headers: Mapping[str, str], resets: Iterable[Reset] = ()) -> float | None:
    """Seconds the server asked us to wait: Retry-After, else the latest reset of an exhausted window."""
    asked = retry_after(headers.get("Retry-After"))
    if asked is not None:
        return asked
    waits = []
    for reset in resets:
        value = headers.get(reset.header)
        left = headers.get(reset.remaining, "") if reset.remaining else ""
        if not value or (left.strip().isdigit() and int(left) > 0):
            continue
        seconds = _reset_seconds(value, reset.unit)
        if seconds is not None:
            waits.append(seconds)
    return max(waits) if waits else None


def said(response: requests.Response) -> str:
    """The server's own explanation of an error, from whichever field its API uses."""
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    parts: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]  # Meta's Graph API: {"error": {"message", "type", "code", "fbtrace_id"}}
    if isinstance(data, dict):
        # X v2: {"title", "detail", "errors": [{"message"}]}; Bluesky: {"error", "message"};
        # Mastodon: {"error", "error_description"?}; LinkedIn: {"message", "serviceErrorCode"};
        # SendGrid: {"errors": [{"message", "field"}]}; Postmark: {"ErrorCode", "Message"}; Mailgun: {"message"}.
        for key in ("detail", "message", "Message", "error_description", "error"):
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
    return "; ".join(parts)[:300]


def endpoint(url: str, *, path: bool = True) -> str:
    """host[:port]/path of a URL for a message ("api.x.com/2/users/me"): never the query or a user:password.

    `path=False` for a configured endpoint whose path may itself be a secret (a webhook URL).
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return host + (parts.path.rstrip("/") if path else "")


def refusal(
    response: requests.Response,
    url: str,
    *,
    on401: tuple[str, str],
    on403: tuple[str, str] | None = None,
    path: bool = True,
    status: int | None = None,
) -> str:
    """An account check's line for an answer that is not a success: what it means, the server's words, what to do.

    `on401` / `on403`: the platform's reading of a refused credential and its steps to fix it
    ("token expired or revoked", "create a new user token ..."). Other statuses are read by the
    one policy above (`answer`); a check changed nothing, so "try again" never means "it may have arrived".
    `status`: how to read the answer when its code misleads (Graph's 400 for an expired token).
    """
    heard = f"HTTP {response.status_code} from {endpoint(url, path=path)}: {said(response)}"
    status = status or response.status_code
    if status == 401 or (status == 403 and on403 is None):
        reason, advice = on401
        return f"{reason} ({heard}); {advice}"
    if status == 403 and on403 is not None:
        reason, advice = on403
        return f"{reason} ({heard}); {advice}"
    verdict = answer(status) or REFUSED
    if 300 <= status < 400:
        return f"{verdict.label} ({heard}); {verdict.advice}"
    if verdict.retryable:
        return f"{verdict.label} ({heard}); the service has a problem now: run the check again in a few minutes"
    return f"{verdict.label} ({heard}); check the URL and account settings in the channel file"


def origin(url: str) -> str:
    """scheme://host:port of a URL: never the path or query, where an endpoint may carry a token."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


# --- knowing whether the request was written --------------------------------------------------


class _Attempt:
    observed = False  # our connection classes saw this attempt (not some other pool's, e.g. SOCKS)
    written = False


_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar("distribute_http_attempt", default=None)


@functools.cache
def _connection_classes() -> tuple[type, type]:
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class Connection(HTTPConnection):
        """Marks the attempt as sent just before the first byte of the request is written."""

        _connecting = False

        def connect(self) -> None:
            attempt = _ATTEMPT.get()
            if attempt is not None:
                attempt.observed = True
            self._connecting = True  # a proxy's CONNECT is not our request
            try:
                super().connect()
            finally:
                self._connecting = False

        def send(self, data: Any) -> None:
            if getattr(self, "sock", None) is None:
                self.connect()
            attempt = _ATTEMPT.get()
            if attempt is not None and not self._connecting:
                attempt.observed = attempt.written = True
            super().send(data)

    class SecureConnection(Connection, HTTPSConnection):
        """The same over TLS (super() in Connection goes on to HTTPSConnection)."""

    return Connection, SecureConnection


@functools.cache
def _adapter_class() -> type:
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    plain, secure = _connection_classes()

    class Pool(HTTPConnectionPool):
        ConnectionCls = plain

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = secure

    pools = {"http": Pool, "https": SecurePool}

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS keeps its own connections (then: _sent_by_type)
                manager.pool_classes_by_scheme = pools
            return manager

    return Adapter


def _session(trust_env: bool) -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = trust_env
    adapter = _adapter_class()(max_retries=0)  # retries are the ledger's, with backoff: never hidden here
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the client -------------------------------------------------------------------------------


class Client:
    """HTTP as one channel (or transport) uses it: a pooled session per thread and every failure mapped.

    `who` starts every message ("channel 'mastodon': Mastodon", "SendGrid", "wire ninjs");
    `credentials` are the environment variables to name when the server refuses them;
    `resets` are the platform's rate-limit reset headers, read on a 429.
    """

    def __init__(
        self,
        who: str,
        *,
        timeout: float,
        credentials: Sequence[str] = (),
        hint: str = "",
        resets: Sequence[Reset] = (),
        trust_env: bool = True,
    ):
        self.who = who
        self.timeout = timeout
        self.credentials = list(credentials)
        self.hint = hint
        self.resets = tuple(resets)
        self.trust_env = trust_env
        self.requests_made = 0
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        # One per thread: connections are reused, and a requests session is not shared safely.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _session(self.trust_env)
            with self._lock:
                self._sessions.append(session)
        return session

    def send(self, method: str, url: str, *, what: str = "", **kwargs: Any) -> requests.Response:
        """Make the request: an HTTP answer of any status is returned; no answer raises DeliveryError."""
        import requests

        kwargs.setdefault("timeout", (min(self.timeout, CONNECT_TIMEOUT), self.timeout))
        kwargs.setdefault("allow_redirects", False)  # a redirect would send the body somewhere else
        self.requests_made += 1
        attempt = _Attempt()
        token = _ATTEMPT.set(attempt)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.RequestException as exc:
            written = attempt.written if attempt.observed else _sent_by_type(exc)
            raise self.transport_error(exc, url, what, written=written) from None
        finally:
            _ATTEMPT.reset(token)

    def probe(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A request that changes nothing (an account check): any HTTP answer is returned.

        No answer raises DeliveryError in a check's words: nothing was delivered, so nothing is in doubt.
        """
        import requests

        kwargs.setdefault("timeout", (min(self.timeout, CONNECT_TIMEOUT), self.timeout))
        kwargs.setdefault("allow_redirects", False)
        self.requests_made += 1
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.Timeout as exc:
            if isinstance(exc, requests.exceptions.ConnectTimeout) or not _sent_by_type(exc):
                message = f"no connection to {origin(url)} within {min(self.timeout, CONNECT_TIMEOUT):g} s"
            else:
                message = f"no answer from {origin(url)} within {self.timeout:g} s"
            raise DeliveryError(f"{message}; check the address, or run the check again later", retryable=True) from None
        except requests.exceptions.RequestException as exc:
            bad = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
            if isinstance(exc, bad):
                raise DeliveryError(f"bad URL ({type(exc).__name__}); fix the channel file", retryable=False) from None
            raise DeliveryError(
                f"cannot reach {origin(url)} ({_reason(exc)}); check the address in the channel file and the network",
                retryable=True,
            ) from None

    def request(self, method: str, url: str, *, what: str = "", **kwargs: Any) -> requests.Response:
        """Make the request; a 2xx answer is returned, anything else raises DeliveryError."""
        return self.check(self.send(method, url, what=what, **kwargs), what)

    def transport_error(self, exc: BaseException, url: str, what: str = "", *, written: bool) -> DeliveryError:
        """The DeliveryError for a request that got no HTTP answer."""
        import requests

        where = self._where(what)
        bad = (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        )
        if isinstance(exc, bad):
            # The exception's text may quote a header value, a token: only its kind is shown.
            return DeliveryError(
                f"{where}: bad URL or header ({type(exc).__name__}); fix the channel file", retryable=False
            )
        if not written:
            return DeliveryError(
                f"{where}: could not connect to {origin(url)} ({_reason(exc)}); nothing was sent, will try again",
                retryable=True,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return DeliveryError(
                f"{where}: no answer within the timeout ({self.timeout:g} s) from {origin(url)} after the "
                "request was sent; it may have arrived",
                retryable=True,
                in_doubt=True,
            )
        return DeliveryError(
            f"{where}: the connection to {origin(url)} was lost after the request was sent "
            f"({_reason(exc)}); it may have arrived",
            retryable=True,
            in_doubt=True,
        )

    def check(self, response: requests.Response, what: str = "") -> requests.Response:
        """The response when it is a success (2xx), else the matching DeliveryError."""
        if 200 <= response.status_code < 300:
            return response
        raise self.http_error(response, what)

    def http_error(self, response: requests.Response, what: str = "", status: int | None = None) -> DeliveryError:
        """The DeliveryError for an HTTP error answer (`status`: how to read it, when the code misleads)."""
        status = status or response.status_code
        verdict = answer(status) or REFUSED
        where = self._where(what)
        heard = f"HTTP {response.status_code}: {said(response)}"
        delay = wait(response.headers, self.resets if status == 429 else ()) if verdict.retryable else None
        if status in (401, 403):
            variables = "environment variables" if len(self.credentials) > 1 else "environment variable"
            names = (
                f"the {variables} {', '.join(self.credentials)}" if self.credentials else "the channel's credentials"
            )
            also = self.hint or " and the account's permissions"
            advice = f"check {names}{also}"
            return DeliveryError(f"{where} {verdict.label} ({heard}); {advice}", retryable=False)
        if 300 <= status < 400 and response.headers.get("Location"):
            heard += f"; to {origin(response.headers['Location'])}"
        advice = verdict.advice
        if status == 429 or (verdict.retryable and not verdict.in_doubt):
            later = f"will try again in {delay:.0f} s" if delay is not None else "will try again later"
            advice = advice.replace("will try again", later) if "will try again" in advice else later
        message = f"{where}: {verdict.label} ({heard})" + (f"; {advice}" if advice else "")
        return DeliveryError(message, retryable=verdict.retryable, retry_after=delay, in_doubt=verdict.in_doubt)

    def _where(self, what: str) -> str:
        return f"{self.who} {what}" if what else self.who

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()


def _sent_by_type(exc: BaseException) -> bool:
    """Whether the request may have been sent, read from the exception when no connection of ours saw it.

    Only a failure to connect proves nothing was sent; anything else counts as sent (the safe side).
    """
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (NewConnectionError, ConnectTimeoutError)):
            return False
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
        stack.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
    return True


def _reason(exc: BaseException) -> str:
    """What went wrong, in words: never the URL (urllib3 repeats it, query token included)."""
    import re

    text = str(exc.args[0] if exc.args else exc)
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("Failed to resolve", "host name not found"),
        ("Name or service not known", "host name not found"),
        ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate was not accepted"),
        ("SSL", "TLS handshake failed"),
        ("ConnectTimeout", "no connection in time"),
        ("timed out", "no connection in time"),
        ("RemoteDisconnected", "closed without an answer"),
        ("Connection reset", "connection reset"),
        ("Connection aborted", "connection aborted"),
    ):
        if needle in text or needle in type(exc).__name__:
            return words
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1].strip(" ()")
    elif "url:" in text:
        text = type(exc).__name__
    return re.sub(r"<[^<>]* object at 0x[0-9a-fA-F]+>: ", "", text)[:200]
