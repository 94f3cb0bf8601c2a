"""The one HTTP failure policy (docs/transport.md), row by row, against real servers on 127.0.0.1.

Each row of the table in docs/transport.md has a test here, driven through the shared client
(adapters/_transport/http.py) that every HTTP adapter uses. The expected verdicts are written out
here, not read from the module, so a change of policy has to change both.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from distribute.adapters._transport.http import USER_AGENT, Client, Reset
from distribute.errors import DeliveryError
from social_servers import ApiServer, Reply, Seen

NOW = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
TOKEN = "tok-27182818"


class Echo(ApiServer):
    def handle(self, seen: Seen) -> Reply:
        return Reply(201, {"id": "42"})


@pytest.fixture
def server() -> Iterator[Echo]:
    with Echo() as s:
        yield s
    assert not s.problems


def post(url: str, timeout: float = 5.0, resets: tuple[Reset, ...] = (), **kwargs: Any) -> DeliveryError:
    client = Client("channel 'desk': Example", timeout=timeout, credentials=["EXAMPLE_TOKEN"], resets=resets)
    try:
        client.request("POST", url, json={"text": "hi"}, **kwargs)
    except DeliveryError as exc:
        return exc
    finally:
        client.close()
    raise AssertionError("no DeliveryError")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- no answer: was the request written? -----------------------------------------------------


def test_a_success_is_returned_with_our_user_agent(server: Echo) -> None:
    client = Client("x", timeout=5)
    response = client.request("POST", f"{server.url}/post", json={})
    client.close()
    assert response.status_code == 201 and response.json() == {"id": "42"}
    assert server.requests("POST /post")[0].headers["user-agent"] == USER_AGENT


def test_connection_refused_sent_nothing_so_it_is_retried_and_not_in_doubt() -> None:
    exc = post(f"http://127.0.0.1:{free_port()}/post?token={TOKEN}")
    assert (exc.retryable, exc.in_doubt) == (True, False)
    assert "could not connect" in str(exc) and "connection refused" in str(exc) and "nothing was sent" in str(exc)
    assert TOKEN not in str(exc)


def test_an_unknown_host_sent_nothing() -> None:
    exc = post("http://no-such-host.invalid/post")
    assert (exc.retryable, exc.in_doubt) == (True, False) and "could not connect" in str(exc)


def test_a_failed_tls_handshake_sent_nothing(server: Echo) -> None:
    # https:// to a plain-HTTP port: the handshake fails before any byte of the request is written.
    exc = post(server.url.replace("http://", "https://") + "/post")
    assert (exc.retryable, exc.in_doubt) == (True, False)
    assert "TLS handshake failed" in str(exc)
    assert server.count("POST /post") == 0


def test_a_connect_timeout_sent_nothing() -> None:
    # A listener that never accepts, its backlog full: the next connection cannot be opened.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        try:
            exc = post(f"http://127.0.0.1:{port}/post", timeout=0.3)
        finally:
            for s in fillers:
                s.close()
    assert (exc.retryable, exc.in_doubt) == (True, False) and "could not connect" in str(exc)


def test_a_connection_dropped_after_the_request_is_in_doubt(server: Echo) -> None:
    server.drop("POST /post")
    exc = post(f"{server.url}/post")
    assert (exc.retryable, exc.in_doubt) == (True, True) and "may have arrived" in str(exc)
    assert server.count("POST /post") == 1  # received once, never repeated by the transport


def test_no_answer_within_the_timeout_is_in_doubt(server: Echo) -> None:
    server.stall("POST /post")
    exc = post(f"{server.url}/post", timeout=0.3)
    assert (exc.retryable, exc.in_doubt) == (True, True)
    assert "no answer within the timeout (0.3 s)" in str(exc) and "may have arrived" in str(exc)


def test_a_bad_url_is_permanent_and_shows_no_secret() -> None:
    exc = post(f"htp://127.0.0.1/post?token={TOKEN}")
    assert (exc.retryable, exc.in_doubt) == (False, False) and "fix the channel file" in str(exc)
    assert TOKEN not in str(exc)


# --- an answer: the status decides --------------------------------------------------------------


@pytest.mark.parametrize(
    "status, retryable, in_doubt, words",
    [
        (301, False, False, "redirect, which is not followed"),
        (308, False, False, "redirect, which is not followed"),
        (400, False, False, "refused"),
        (404, False, False, "refused"),
        (422, False, False, "refused"),
        (408, True, False, "did not receive the whole request"),
        (409, True, True, "conflict"),
        (425, True, False, "too early"),
        (500, True, True, "server error"),
        (501, False, False, "does not support this request"),
        (502, True, True, "bad gateway"),
        (503, True, False, "unavailable"),
        (504, True, True, "gateway timeout"),
        (505, False, False, "does not support this HTTP version"),
        (507, True, True, "server error"),  # any other 5xx: the safe side
        (599, True, True, "server error"),
    ],
)
def test_each_status_is_read_by_the_policy(
    server: Echo, status: int, retryable: bool, in_doubt: bool, words: str
) -> None:
    server.fail(
        "POST /post",
        Reply(status, {"message": "the server's own words"}, {"Location": f"https://moved.example/in?t={TOKEN}"}),
    )
    exc = post(f"{server.url}/post")
    assert (exc.retryable, exc.in_doubt) == (retryable, in_doubt)
    assert words in str(exc) and f"HTTP {status}" in str(exc) and "the server's own words" in str(exc)
    assert TOKEN not in str(exc)
    assert server.count("POST /post") == 1  # nothing followed, nothing repeated


def test_a_redirect_names_where_to_but_is_not_followed(server: Echo) -> None:
    server.fail("POST /post", Reply(301, b"", {"Location": f"{server.url}/elsewhere"}))
    exc = post(f"{server.url}/post")
    assert f"to {server.url}" in str(exc) and "put the new URL in the channel file" in str(exc)
    assert server.count("POST /elsewhere") == 0


@pytest.mark.parametrize("status, verb", [(401, "refused the credentials"), (403, "refused the request")])
def test_refused_credentials_are_permanent_and_name_the_variable(server: Echo, status: int, verb: str) -> None:
    server.fail("POST /post", Reply(status, {"error": "The access token is invalid"}))
    exc = post(f"{server.url}/post")
    assert (exc.retryable, exc.in_doubt) == (False, False)
    assert verb in str(exc) and "EXAMPLE_TOKEN" in str(exc) and "The access token is invalid" in str(exc)


def test_503_waits_for_its_retry_after(server: Echo) -> None:
    server.fail("POST /post", Reply(503, b"maintenance", {"Retry-After": "90"}))
    exc = post(f"{server.url}/post")
    assert (exc.retryable, exc.in_doubt, exc.retry_after) == (True, False, 90.0)
    assert "will try again in 90 s" in str(exc)


def test_429_waits_for_retry_after_first(server: Echo) -> None:
    headers = {"Retry-After": "30", "X-RateLimit-Reset": str(int(NOW.timestamp()) + 600)}
    server.fail("POST /post", Reply(429, {"message": "slow down"}, headers))
    with time_machine.travel(NOW, tick=False):
        exc = post(f"{server.url}/post", resets=(Reset("X-RateLimit-Reset", "epoch"),))
    assert (exc.retryable, exc.in_doubt, exc.retry_after) == (True, False, 30.0)


@pytest.mark.parametrize(
    "reset, value, expected",
    [
        (Reset("X-RateLimit-Reset", "epoch", "X-RateLimit-Remaining"), str(int(NOW.timestamp()) + 600), 600.0),
        (Reset("X-RateLimit-Reset", "iso", "X-RateLimit-Remaining"), "2025-06-30T00:05:00.000Z", 300.0),
        (Reset("X-RateLimit-Reset", "delta"), "45", 45.0),
        (Reset("X-RateLimit-Reset", "epoch"), "45", 45.0),  # a small "epoch" is seconds from now
    ],
)
def test_429_without_retry_after_waits_for_the_platforms_reset(
    server: Echo, reset: Reset, value: str, expected: float
) -> None:
    server.fail(
        "POST /post", Reply(429, {"message": "slow down"}, {"X-RateLimit-Reset": value, "X-RateLimit-Remaining": "0"})
    )
    with time_machine.travel(NOW, tick=False):
        exc = post(f"{server.url}/post", resets=(reset,))
    assert (exc.retryable, exc.in_doubt) == (True, False)
    assert exc.retry_after == pytest.approx(expected)
    assert f"will try again in {expected:.0f} s" in str(exc)


def test_429_without_any_wait_is_left_to_the_backoff(server: Echo) -> None:
    server.fail("POST /post", Reply(429, {"message": "slow down"}))
    exc = post(f"{server.url}/post")
    assert (exc.retryable, exc.in_doubt, exc.retry_after) == (True, False, None)
    assert "will try again later" in str(exc)


def test_a_window_with_requests_left_is_not_the_one_to_wait_for(server: Echo) -> None:
    headers = {"X-RateLimit-Reset": str(int(NOW.timestamp()) + 600), "X-RateLimit-Remaining": "5"}
    server.fail("POST /post", Reply(429, {"message": "slow down"}, headers))
    with time_machine.travel(NOW, tick=False):
        exc = post(f"{server.url}/post", resets=(Reset("X-RateLimit-Reset", "epoch", "X-RateLimit-Remaining"),))
    assert exc.retry_after is None


@pytest.mark.parametrize("trust_env, reached", [(False, True), (True, False)])
def test_proxy_settings_from_the_environment_only_where_the_client_trusts_them(
    server: Echo, monkeypatch: pytest.MonkeyPatch, trust_env: bool, reached: bool
) -> None:
    # Social adapters never trust the environment (a proxy must not see their tokens); the others do.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    client = Client("x", timeout=5, trust_env=trust_env)
    try:
        client.request("POST", f"{server.url}/post", json={})
        outcome = "reached"
    except DeliveryError as exc:
        outcome = "not sent" if (exc.retryable and not exc.in_doubt) else str(exc)
    finally:
        client.close()
    assert outcome == ("reached" if reached else "not sent")
    assert server.count("POST /post") == (1 if reached else 0)
