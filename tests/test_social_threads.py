"""The threads adapter against a loopback Threads API: container, status, publish, and lost answers settled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, write_release
from distribute.errors import DeliveryError, ReleaseError
from social_servers import Reply, ThreadsServer
from social_support import front, render, wire

CREATE = f"POST /v1.0/{ThreadsServer.user}/threads"
PUBLISH = f"POST /v1.0/{ThreadsServer.user}/threads_publish"


@pytest.fixture
def server(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadsServer]:
    with ThreadsServer() as s:
        wire(workspace, monkeypatch, "threads", f"{s.url}/v1.0", user_id=ThreadsServer.user)
        yield s
    assert not s.problems, s.problems


def test_a_post_in_two_steps_with_its_link_preview(workspace: Path, server: ThreadsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    (d,) = r.deliveries
    assert [f.name for f in d.files] == ["post-1.json", "post-1.publish.json"]
    assert r.request()["body"]["access_token"] == "********"
    receipt = r.adapter.deliver(d, r.channel)
    (create,) = server.requests(CREATE)
    assert "access_token" not in create.query, "the token goes in the form body, never in the URL"
    ((post_id, post),) = server.posts.items()
    assert post == {
        "text": d.meta["text"],
        "reply_to": None,
        "link": "https://en.asaninst.org/press/2025-06-30-nato-summit-brief",
    }
    assert receipt.remote_id == post_id and receipt.url.startswith("https://www.threads.net/@press/post/")


def test_a_thread_is_a_reply_chain(workspace: Path, server: ThreadsServer) -> None:
    long = " ".join(f"Finding {i}: the alliance must adapt to a new era." for i in range(30))
    path = write_release(workspace, "thread", front(extra=f'[channel.threads]\ntext = "{long}"\nthread = true\n'))
    r = render(workspace, path.relative_to(workspace), "threads")
    assert len(r.deliveries) >= 3
    outcomes = list(r.adapter.deliver_many(r.deliveries, r.channel))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    ids = list(server.posts)
    assert [p["reply_to"] for p in server.posts.values()] == [None, *ids[:-1]]


def test_a_lost_container_answer_is_safe_to_retry(workspace: Path, server: ThreadsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    server.drop(CREATE)
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert info.value.retryable and not info.value.in_doubt  # a container alone is never public
    r.adapter.deliver(r.deliveries[0], r.channel)
    assert len(server.posts) == 1 and server.count(PUBLISH) == 1


def test_a_lost_publish_answer_is_settled_by_asking(workspace: Path, server: ThreadsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    server.drop(PUBLISH)  # published, answer lost
    receipt = r.adapter.deliver(r.deliveries[0], r.channel)
    (post_id,) = server.posts
    assert receipt.remote_id == post_id and server.count(PUBLISH) == 1


def test_a_publish_refused_before_it_happened_is_safe_to_retry(workspace: Path, server: ThreadsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    server.fail(PUBLISH, Reply(502, b"Bad Gateway"))  # the gateway failed before Threads published
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert info.value.retryable and not info.value.in_doubt and "safe to try again" in str(info.value)
    assert server.posts == {}


def test_a_publish_outcome_that_cannot_be_asked_is_in_doubt(workspace: Path, server: ThreadsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    server.drop(PUBLISH)
    container_status = f"GET /v1.0/{18000000000000000 + 1}"
    server.fail(container_status, Reply(200, {"status": "FINISHED"}), Reply(503, {"error": {"message": "down"}}))
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    assert info.value.in_doubt and not r.adapter.idempotent
    assert len(server.posts) == 1  # it did go out: the ledger must not resend it blindly


def test_waits_for_the_container_to_be_ready(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ThreadsServer(in_progress=2) as s:
        wire(workspace, monkeypatch, "threads", f"{s.url}/v1.0", user_id=ThreadsServer.user)
        r = render(workspace, EXAMPLE_RELEASE, "threads")
        waits: list[float] = []
        r.adapter.sleep = waits.append  # type: ignore[attr-defined]
        r.adapter.deliver(r.deliveries[0], r.channel)
        assert waits == [0.5, 1.0] and len(s.posts) == 1
        assert not s.problems, s.problems


def test_a_bad_token_names_the_variable(
    workspace: Path, server: ThreadsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADS_TOKEN", "stale-token-31337")
    r = render(workspace, EXAMPLE_RELEASE, "threads")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    text = str(info.value)
    assert not info.value.retryable and "THREADS_TOKEN" in text and "Invalid OAuth access token" in text
    assert "stale-token-31337" not in text


def test_emoji_count_their_utf8_bytes(workspace: Path, server: ThreadsServer) -> None:
    text = "Brief 🇰🇷🤝🇪🇺 " * 30  # 30 × (6 + 8 + 8 + ... bytes): well over 500 by Threads' count
    path = write_release(workspace, "emoji", front(extra=f'[channel.threads]\ntext = "{text.strip()}"\n'))
    assert len(text) < 500
    with pytest.raises(ReleaseError, match="thread = true"):
        render(workspace, path.relative_to(workspace), "threads")


def test_a_threads_post_carries_one_topic_tag_the_release_s_first(workspace: Path) -> None:
    # Threads makes the first hashtag of a post its one topic tag; the others would be plain text.
    text = render(workspace, EXAMPLE_RELEASE, "threads").deliveries[0].meta["text"]
    assert text.endswith("\n\n#NATO")
    assert text.count("#") == 1
    # Mastodon, which has no such rule, keeps every tag.
    assert render(workspace, EXAMPLE_RELEASE, "mastodon").deliveries[0].meta["text"].count("#") == 4
