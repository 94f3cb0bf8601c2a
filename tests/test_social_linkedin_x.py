"""The linkedin and x adapters against loopback servers playing the LinkedIn Posts API and X API v2."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.social.linkedin import little_text
from distribute.errors import DeliveryError, ReleaseError
from social_servers import LinkedInServer, Reply, XServer, little_text_problem
from social_support import front, render, set_keys, wire

POSTS = "POST /rest/posts"
TWEETS = "POST /2/tweets"
NOW = dt.datetime(2025, 6, 30, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def linkedin(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LinkedInServer]:
    with LinkedInServer() as s:
        wire(workspace, monkeypatch, "linkedin", s.url)
        yield s
    assert not s.problems, s.problems


@pytest.fixture
def x(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    with XServer() as s:
        wire(workspace, monkeypatch, "x", s.url)
        yield s
    assert not s.problems, s.problems


# --- LinkedIn ------------------------------------------------------------------------------


def test_linkedin_post_with_versioned_headers_and_article(workspace: Path, linkedin: LinkedInServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "linkedin")
    (d,) = r.deliveries
    receipt = r.adapter.deliver(d, r.channel)
    (seen,) = linkedin.requests(POSTS)
    assert seen.headers["linkedin-version"] == "202506"
    assert seen.headers["x-restli-protocol-version"] == "2.0.0"
    assert seen.headers["authorization"] == f"Bearer {LinkedInServer.token}"
    body = seen.json()
    assert body["author"] == "urn:li:organization:2414183"
    assert body["content"] == {
        "article": {
            "source": "https://en.asaninst.org/press/2025-06-30-nato-summit-brief",
            "title": "Managing Decline? NATO's Uneasy Future After the 2025 Summit",
            "description": "What the 2025 NATO Summit reveals about the alliance's trajectory, and what it means for "
            "South Korea's burden-sharing with the United States and its ties with NATO.",
        }
    }
    assert "{hashtag|\\#|NATO}" in body["commentary"] and "{hashtag|\\#|SouthKorea}" in body["commentary"]
    (urn,) = linkedin.posts
    assert receipt.remote_id == urn and receipt.url == f"https://www.linkedin.com/feed/update/{urn}/"


def test_little_text_escapes_every_reserved_character() -> None:
    text = "A (brief) [note] <b> on *alliances* _and_ ~costs~ | {x} @someone \\ #NATO #South_Korea"
    escaped = little_text(text)
    assert little_text_problem(escaped) is None, escaped
    assert "\\(brief\\)" in escaped and "\\@someone" in escaped and "\\\\" in escaped
    assert "{hashtag|\\#|NATO}" in escaped


def test_linkedin_version_is_a_setting_and_a_retired_one_is_explained(
    workspace: Path, linkedin: LinkedInServer
) -> None:
    set_keys(workspace / "channels" / "linkedin.toml", version="202507")
    r = render(workspace, EXAMPLE_RELEASE, "linkedin")
    r.adapter.deliver(r.deliveries[0], r.channel)
    assert linkedin.requests(POSTS)[0].headers["linkedin-version"] == "202507"
    set_keys(workspace / "channels" / "linkedin.toml", version="202401")
    r = render(workspace, EXAMPLE_RELEASE, "linkedin")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert not info.value.retryable and "Requested version 202401 is not active" in str(info.value)


def test_linkedin_person_author_and_refused_token(
    workspace: Path, linkedin: LinkedInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_keys(workspace / "channels" / "linkedin.toml", author="urn:li:person:8675309")
    r = render(workspace, EXAMPLE_RELEASE, "linkedin")
    r.adapter.deliver(r.deliveries[0], r.channel)
    assert linkedin.requests(POSTS)[0].json()["author"] == "urn:li:person:8675309"
    monkeypatch.setenv("LINKEDIN_TOKEN", "expired-token-0000")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert "LINKEDIN_TOKEN" in str(info.value) and "Invalid access token" in str(info.value)
    assert "expired-token-0000" not in str(info.value) and len(linkedin.posts) == 1


def test_a_lost_linkedin_answer_is_in_doubt(workspace: Path, linkedin: LinkedInServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "linkedin")
    linkedin.drop(POSTS)
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert info.value.in_doubt and not r.adapter.idempotent  # the ledger marks it in doubt, never resends


def test_linkedin_hand_written_text_too_long_is_refused_at_its_line(workspace: Path, linkedin: LinkedInServer) -> None:
    long = "word " * 700
    path = write_release(workspace, "long", front(extra=f'[channel.linkedin]\ntext = "{long.strip()}"\n'))
    with pytest.raises(ReleaseError) as info:
        render(workspace, path.relative_to(workspace), "linkedin")
    lines = path.read_text().splitlines()
    assert lines[info.value.line - 1].startswith("text = ") and str(path) in str(info.value)


# --- X -------------------------------------------------------------------------------------


def test_x_post_is_signed_with_oauth1(workspace: Path, x: XServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "x")
    (d,) = r.deliveries
    receipt = r.adapter.deliver(d, r.channel)  # the server verifies the HMAC-SHA1 signature from the RFC
    (seen,) = x.requests(TWEETS)
    assert seen.json() == {"text": d.meta["text"]}
    assert x.weighted(d.meta["text"]) <= 280
    (tweet,) = x.tweets.values()
    assert receipt.remote_id == tweet["id"] and receipt.url == f"https://x.com/i/web/status/{tweet['id']}"
    header = r.request()["headers"]["Authorization"]
    assert "********" in header and XServer.consumer_key not in header


def test_x_wrong_secret_is_refused_and_names_every_variable(
    workspace: Path, x: XServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCESS_TOKEN_SECRET", "not-the-secret-9999")
    r = render(workspace, EXAMPLE_RELEASE, "x")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    text = str(info.value)
    assert not info.value.retryable and "X_ACCESS_TOKEN_SECRET" in text and "X_API_KEY" in text
    assert "not-the-secret-9999" not in text and x.tweets == {}


def test_x_thread_is_a_reply_chain(workspace: Path, x: XServer) -> None:
    long = " ".join(f"Finding {i}: the alliance must adapt." for i in range(25))
    path = write_release(workspace, "thread", front(extra=f'[channel.x]\ntext = "{long}"\nthread = true\n'))
    r = render(workspace, path.relative_to(workspace), "x")
    assert len(r.deliveries) >= 3
    outcomes = list(r.adapter.deliver_many(r.deliveries, r.channel))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    tweets = list(x.tweets.values())
    assert tweets[0]["in_reply_to"] is None
    assert [t["in_reply_to"] for t in tweets[1:]] == [t["id"] for t in tweets[:-1]]


def test_x_rate_limit_and_duplicate(workspace: Path, x: XServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "x")
    reset = int(NOW.timestamp()) + 600
    x.fail(
        TWEETS,
        Reply(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
            {"x-rate-limit-reset": str(reset)},
        ),
    )
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(DeliveryError) as limited:
            r.adapter.deliver(r.deliveries[0], r.channel)
    assert limited.value.retryable and limited.value.retry_after == pytest.approx(600)
    r.adapter.deliver(r.deliveries[0], r.channel)
    with pytest.raises(DeliveryError) as duplicate:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert not duplicate.value.retryable and "duplicate content" in str(duplicate.value)
    assert len(x.tweets) == 1


def test_x_fits_korean_by_weight(workspace: Path, x: XServer) -> None:
    path = write_release(
        workspace,
        "korean",
        front(
            title="나토의 불안한 미래: 2025 정상회의 이후 한국의 선택",
            summary="2025년 나토 정상회의가 동맹의 궤적에 대해 보여주는 것, 그리고 미국과의 방위비 분담과 나토와의 관계에 대해 "
            "한국에 주는 의미를 분석합니다. 유럽 동맹국들이 새 목표를 어떻게 달성할지에 대한 어려운 질문이 남아 있습니다.",
            tags=["나토", "한국", "방위비"],
        ),
    )
    r = render(workspace, path.relative_to(workspace), "x")
    (d,) = r.deliveries
    assert d.meta["length"] <= 280 and "https://en.asaninst.org/press/" in d.meta["text"]
    r.adapter.deliver(d, r.channel)
    assert x.weighted(next(iter(x.tweets.values()))["text"]) <= 280
