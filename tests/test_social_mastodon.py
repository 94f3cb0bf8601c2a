"""The mastodon adapter against a loopback Mastodon: statuses, Idempotency-Key, media, limits, failures."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.base import Receipt
from distribute.errors import DeliveryError
from social_servers import MastodonServer, Reply, multipart
from social_support import front, png, render, set_keys, wire

STATUSES = "POST /api/v1/statuses"


@pytest.fixture
def server(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MastodonServer]:
    with MastodonServer() as s:
        wire(workspace, monkeypatch, "mastodon", s.url)
        yield s
    assert not s.problems, s.problems


def test_a_post_goes_out_as_documented(workspace: Path, server: MastodonServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    (d,) = r.deliveries
    assert (d.target, d.part, d.after) == ("post", "1", None)
    receipt = r.adapter.deliver(d, r.channel)
    (seen,) = server.requests(STATUSES)
    assert seen.headers["authorization"] == f"Bearer {MastodonServer.token}"
    assert seen.headers["content-type"].startswith("application/json")
    # The key is derived from the delivery key: stable across renders and processes.
    assert seen.headers["idempotency-key"] == hashlib.sha256(f"distribute:{d.key}".encode()).hexdigest()
    assert seen.headers["idempotency-key"] == r.request()["headers"]["Idempotency-Key"]
    body = seen.json()
    assert body == {"status": d.meta["text"], "visibility": "public", "language": "en"}
    assert "https://en.asaninst.org/press/2025-06-30-nato-summit-brief" in body["status"]
    (status,) = server.statuses.values()
    assert receipt == Receipt(remote_id=status["id"], url=status["url"])
    assert server.count("GET /api/v2/instance") == 1


def test_a_retry_after_a_lost_answer_returns_the_first_status(workspace: Path, server: MastodonServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    (d,) = r.deliveries
    server.drop(STATUSES)  # the status is made, the answer never arrives
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(d, r.channel)
    assert info.value.in_doubt and info.value.retryable
    assert r.adapter.idempotent  # so the ledger retries it
    receipt = r.adapter.deliver(d, r.channel)
    assert server.count(STATUSES) == 2
    keys = {s.headers["idempotency-key"] for s in server.requests(STATUSES)}
    assert len(keys) == 1, "the retry must send the same Idempotency-Key"
    assert len(server.statuses) == 1, "posted twice"
    assert receipt.remote_id == next(iter(server.statuses))


def test_the_instance_limit_is_checked_before_sending(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MastodonServer(max_characters=120) as small:
        wire(workspace, monkeypatch, "mastodon", small.url)
        r = render(workspace, EXAMPLE_RELEASE, "mastodon")
        with pytest.raises(DeliveryError) as info:
            r.adapter.deliver(r.deliveries[0], r.channel)
        assert not info.value.retryable
        assert "instance allows 120" in str(info.value) and "limit = 120" in str(info.value)
        assert small.count(STATUSES) == 0


def test_the_configured_limit_is_used_at_render(workspace: Path, server: MastodonServer) -> None:
    set_keys(workspace / "channels" / "mastodon.toml", limit=200)
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    (d,) = r.deliveries
    assert d.meta["limit"] == 200 and d.meta["length"] <= 200
    r.adapter.deliver(d, r.channel)
    assert server.length(server.requests(STATUSES)[0].json()["status"]) <= 200


@pytest.mark.parametrize("media_async", [False, True])
def test_images_go_with_their_alt_text(workspace: Path, monkeypatch: pytest.MonkeyPatch, media_async: bool) -> None:
    (workspace / "images").mkdir()
    (workspace / "images" / "cover.png").write_bytes(png())
    path = write_release(
        workspace,
        "with-image",
        front(
            extra="""
[[images]]
path = "images/cover.png"
alt = "Cover of the issue brief: a map of Europe and Korea"
"""
        ),
    )
    with MastodonServer(media_async=media_async) as s:
        wire(workspace, monkeypatch, "mastodon", s.url, media=True)
        r = render(workspace, path.relative_to(workspace), "mastodon")
        (d,) = r.deliveries
        assert {f.name for f in d.files} == {"post-1.json", "post-1.media-1.json", "post-1.media-1.png"}
        r.adapter.deliver(d, r.channel)
        (upload,) = s.requests("POST /api/v2/media")
        fields = multipart(upload)
        assert fields["file"][2] == png() and fields["file"][1] == "image/png"
        assert fields["description"][2].decode() == "Cover of the issue brief: a map of Europe and Korea"
        (status,) = s.statuses.values()
        assert [m["description"] for m in status["media_attachments"]] == [fields["description"][2].decode()]
        assert s.count("GET /api/v1/media/" + status["media_attachments"][0]["id"]) == (1 if media_async else 0)
        assert not s.problems, s.problems


def test_refused_token_names_the_variable(
    workspace: Path, server: MastodonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTODON_TOKEN", "a-revoked-token-1234")
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    text = str(info.value)
    assert not info.value.retryable
    assert "channel 'mastodon'" in text and "MASTODON_TOKEN" in text and "The access token is invalid" in text
    assert "a-revoked-token-1234" not in text


def test_an_unset_token_fails_the_delivery_by_name(
    workspace: Path, server: MastodonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASTODON_TOKEN")
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    with pytest.raises(DeliveryError, match="MASTODON_TOKEN"):
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert server.count(STATUSES) == 0


def test_rate_limit_and_validation_errors(workspace: Path, server: MastodonServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    server.fail(
        STATUSES,
        Reply(429, {"error": "Too many requests"}, {"Retry-After": "42"}),
        Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
    )
    with pytest.raises(DeliveryError) as first:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert first.value.retryable and first.value.retry_after == 42
    with pytest.raises(DeliveryError) as second:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert not second.value.retryable and "Text character limit of 500 exceeded" in str(second.value)
    assert server.statuses == {}


def test_rate_limit_without_retry_after_waits_for_the_instances_reset(workspace: Path, server: MastodonServer) -> None:
    # Mastodon says when the window opens again in X-RateLimit-Reset, an ISO 8601 instant.
    import datetime as dt

    import time_machine

    now = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
    r = render(workspace, EXAMPLE_RELEASE, "mastodon")
    limited = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2025-06-30T00:04:00.000Z",
    }
    server.fail(STATUSES, Reply(429, {"error": "Too many requests"}, limited))
    with time_machine.travel(now, tick=False), pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert info.value.retryable and not info.value.in_doubt and info.value.retry_after == pytest.approx(240)
    assert "will try again in 240 s" in str(info.value)


def test_thread_parts_reply_to_the_part_before(workspace: Path, server: MastodonServer) -> None:
    long = " ".join(f"Sentence {i} of a long hand-written post about the summit." for i in range(30))
    path = write_release(
        workspace,
        "long",
        front(
            extra=f'''
[channel.mastodon]
text = "{long} https://en.asaninst.org/press/long"
thread = true
'''
        ),
    )
    r = render(workspace, path.relative_to(workspace), "mastodon")
    assert len(r.deliveries) >= 3
    # Part 2 fails; part 1 is already out; the retry sends part 2 only, replying to part 1.
    first = r.adapter.deliver(r.deliveries[0], r.channel)
    receipts = {r.deliveries[0].key: first}
    r.adapter.receipts = receipts
    server.fail(STATUSES, Reply(503, {"error": "Service Unavailable"}))
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[1], r.channel)
    assert info.value.retryable
    for d in r.deliveries[1:]:
        receipts[d.key] = r.adapter.deliver(d, r.channel)
    statuses = list(server.statuses.values())
    assert len(statuses) == len(r.deliveries)
    assert statuses[0]["in_reply_to_id"] is None
    for before, after in zip(statuses, statuses[1:], strict=False):
        assert after["in_reply_to_id"] == before["id"]
    assert [s["text"] for s in statuses] == [d.meta["text"] for d in r.deliveries]
