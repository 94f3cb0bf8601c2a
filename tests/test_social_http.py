"""How the social adapters read HTTP failures: retry, wait, stop, or say the outcome is unknown."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest
import time_machine

from distribute.adapters._transport.http import Reset, wait
from distribute.adapters.social import bluesky, mastodon, x
from distribute.adapters.social.http import Api
from distribute.errors import DeliveryError
from social_servers import ApiServer, Reply, Seen

NOW = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)


class Echo(ApiServer):
    """Answers 200 to anything unless a failure is scripted."""

    def handle(self, seen: Seen) -> Reply:
        return Reply(200, {"ok": True})


@pytest.fixture
def server() -> Iterator[Echo]:
    with Echo() as s:
        yield s
    assert not s.problems


def call(server: Echo, timeout: float = 5.0, resets: tuple[Reset, ...] = ()) -> DeliveryError:
    api = Api("social-test", "Example", ["EXAMPLE_TOKEN"], timeout, resets=resets)
    try:
        api.check(api.send("POST", f"{server.url}/post", json={"text": "hi"}))
    except DeliveryError as exc:
        return exc
    finally:
        api.close()
    raise AssertionError("no DeliveryError")


def test_success_passes_through(server: Echo) -> None:
    api = Api("social-test", "Example", ["EXAMPLE_TOKEN"])
    assert api.check(api.send("POST", f"{server.url}/post", json={})).json() == {"ok": True}


@pytest.mark.parametrize(
    "resets, headers, expected",
    [
        ((), {"Retry-After": "120"}, 120.0),
        ((), {"Retry-After": "Mon, 30 Jun 2025 00:05:00 GMT"}, 300.0),  # an HTTP date
        (x.RATE_LIMIT, {"x-rate-limit-reset": str(int(NOW.timestamp()) + 900)}, 900.0),  # X: epoch seconds
        (  # X: the 24-hour posting cap is the exhausted window, so its reset is the one to wait for
            x.RATE_LIMIT,
            {
                "x-rate-limit-reset": str(int(NOW.timestamp()) + 60),
                "x-rate-limit-remaining": "12",
                "x-user-limit-24hour-reset": str(int(NOW.timestamp()) + 7200),
                "x-user-limit-24hour-remaining": "0",
            },
            7200.0,
        ),
        (mastodon.RATE_LIMIT, {"X-RateLimit-Reset": "2025-06-30T00:02:00.000Z"}, 120.0),  # Mastodon: an ISO instant
        (bluesky.RATE_LIMIT, {"ratelimit-reset": str(int(NOW.timestamp()) + 60)}, 60.0),  # Bluesky: epoch seconds
    ],
)
def test_429_waits_as_long_as_the_platform_asks(
    server: Echo, resets: tuple[Reset, ...], headers: dict[str, str], expected: float
) -> None:
    # Each platform's reset headers are declared by its adapter (x.RATE_LIMIT, ...) and read by the transport.
    server.fail("POST /post", Reply(429, {"error": "Too many requests"}, headers))
    with time_machine.travel(NOW, tick=False):
        exc = call(server, resets=resets)
    assert exc.retryable and not exc.in_doubt
    assert exc.retry_after == pytest.approx(expected)
    assert "rate limited" in str(exc) and "Too many requests" in str(exc)


def test_retry_after_is_none_when_not_said() -> None:
    assert wait({}) is None
    assert wait({"X-RateLimit-Reset": "2025-06-30T00:02:00Z"}) is None  # a header no platform declared is not read


def test_503_is_retried_and_was_not_processed(server: Echo) -> None:
    server.fail("POST /post", Reply(503, {"error": "Service Unavailable"}, {"Retry-After": "7"}))
    exc = call(server)
    assert exc.retryable and not exc.in_doubt and exc.retry_after == 7


@pytest.mark.parametrize("status", [500, 502, 504])
def test_gateway_errors_are_retried_but_in_doubt(server: Echo, status: int) -> None:
    # The platform may have made the post before its gateway gave up: only idempotent adapters retry blindly.
    server.fail_after("POST /post", Reply(status, b"<html>Bad gateway</html>"))
    exc = call(server)
    assert exc.retryable and exc.in_doubt
    assert f"HTTP {status}" in str(exc) and "Bad gateway" in str(exc)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_and_name_the_variable(server: Echo, status: int) -> None:
    server.fail("POST /post", Reply(status, {"error": "The access token is invalid"}))
    exc = call(server)
    assert not exc.retryable
    text = str(exc)
    assert "channel 'social-test'" in text and "EXAMPLE_TOKEN" in text and "The access token is invalid" in text


@pytest.mark.parametrize(
    "body, said",
    [
        ({"error": "Validation failed: Text character limit of 500 exceeded"}, "Text character limit of 500 exceeded"),
        (
            {"error": "InvalidRequest", "message": "Record/text must not be longer than 300 graphemes"},
            "InvalidRequest: Record/text must not be longer than 300 graphemes",
        ),
        (
            {
                "errors": [{"message": "Your Tweet text is too long."}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
            },
            "Your Tweet text is too long.",
        ),
        ({"status": 422, "message": "commentary: length must be at most 3000"}, "length must be at most 3000"),
    ],
)
def test_other_4xx_stop_with_the_platforms_own_words(server: Echo, body: dict, said: str) -> None:
    server.fail("POST /post", Reply(422 if "status" in body or "error" in body else 400, body))
    exc = call(server)
    assert not exc.retryable and not exc.in_doubt
    assert said in str(exc)


def test_connection_refused_is_retried_and_certainly_not_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = Api("social-test", "Example", ["EXAMPLE_TOKEN"], 2.0)
    with pytest.raises(DeliveryError) as info:
        api.send("POST", f"http://127.0.0.1:{port}/post", json={})
    assert info.value.retryable and not info.value.in_doubt
    assert "could not connect" in str(info.value)


def test_a_dropped_connection_after_sending_is_in_doubt(server: Echo) -> None:
    server.drop("POST /post")
    exc = call(server)
    assert exc.retryable and exc.in_doubt and "may have arrived" in str(exc)
    assert server.count("POST /post") == 1


def test_a_read_timeout_is_in_doubt(server: Echo) -> None:
    server.stall("POST /post")
    exc = call(server, timeout=0.3)
    assert exc.retryable and exc.in_doubt and "no answer within the timeout" in str(exc)
