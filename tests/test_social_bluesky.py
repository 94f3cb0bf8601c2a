"""The bluesky adapter against a loopback PDS that checks every record against the official lexicons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.social.bluesky_record import blob_cid, post_rkey, tid
from distribute.errors import DeliveryError, ReleaseError
from social_lexicon import TID, lexicons
from social_pds import PdsServer, raw_cid
from social_servers import Reply
from social_support import front, png, render, set_keys, wire

CREATE = "POST /xrpc/com.atproto.repo.createRecord"
SESSION = "POST /xrpc/com.atproto.server.createSession"
GET = "GET /xrpc/com.atproto.repo.getRecord"
NOW = dt.datetime(2025, 6, 30, 0, 10, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pds(workspace: Path, monkeypatch: pytest.MonkeyPatch, standards: Path) -> Iterator[PdsServer]:
    with PdsServer(standards / "bluesky-lexicons" / "lexicons") as s:
        wire(workspace, monkeypatch, "bluesky", s.url)
        yield s
    assert not s.problems, s.problems


def with_cover(workspace: Path, size_pad: int = 0, extra: str = "") -> Path:
    (workspace / "images").mkdir(exist_ok=True)
    (workspace / "images" / "cover.png").write_bytes(png(pad=size_pad))
    return write_release(
        workspace,
        "with-image",
        front(
            extra="""
[[images]]
path = "images/cover.png"
alt = "Cover of the issue brief"
"""
            + extra
        ),
    ).relative_to(workspace)


def test_tid_and_blob_cid_follow_the_specs() -> None:
    assert tid(0, 0) == "2222222222222"  # the atproto spec's zero TID
    assert TID.match(tid(2**53 - 1, 1023))
    assert blob_cid(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # CIDv1 raw sha256 of nothing
    assert blob_cid(png()) == raw_cid(png())
    when = dt.datetime(2025, 6, 30, 0, 5, tzinfo=dt.timezone.utc)
    keys = [post_rkey("rel/bluesky", when, i) for i in (1, 2, 3)]
    assert all(TID.match(k) for k in keys) and keys == sorted(keys) and len(set(keys)) == 3
    assert post_rkey("rel/bluesky", when, 1) == keys[0]  # deterministic
    assert post_rkey("other/bluesky", when, 1) != keys[0]


def test_a_post_with_link_card_and_thumbnail(workspace: Path, pds: PdsServer, standards: Path) -> None:
    path = with_cover(workspace)
    r = render(workspace, path, "bluesky")
    (d,) = r.deliveries
    request = r.request()
    record = request["body"]["record"]
    # The outbox record itself validates against the lexicon (the thumb blob CID is computed locally).
    assert lexicons(str(standards / "bluesky-lexicons" / "lexicons")).errors("app.bsky.feed.post", record) == []
    assert request["headers"]["Authorization"] == "Bearer ********"
    assert TID.match(request["body"]["rkey"])
    card = record["embed"]["external"]
    assert card["uri"] == "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"
    assert card["title"].startswith("Managing Decline?") and card["description"].startswith("What the 2025")
    assert card["thumb"]["ref"]["$link"] == raw_cid(png()) and card["thumb"]["mimeType"] == "image/png"
    receipt = r.adapter.deliver(d, r.channel)
    assert pds.count(SESSION) == 1 and pds.count("POST /xrpc/com.atproto.repo.uploadBlob") == 1
    (stored,) = pds.records.values()
    assert receipt.remote_id == stored["uri"] and receipt.detail == stored["cid"]
    assert receipt.url == f"https://bsky.app/profile/{PdsServer.handle_name}/post/{request['body']['rkey']}"
    assert stored["value"]["text"] == d.meta["text"]
    link = next(f for f in stored["value"]["facets"] if f["features"][0]["$type"].endswith("#link"))
    data = stored["value"]["text"].encode()
    assert data[link["index"]["byteStart"] : link["index"]["byteEnd"]].decode() == card["uri"]


def test_facets_count_utf8_bytes_in_korean_japanese_and_emoji(workspace: Path, pds: PdsServer) -> None:
    text = "나토 정상회의 🇰🇷🤝🏽 について https://en.asaninst.org/press/nato #안보 #NATO"
    path = write_release(workspace, "korean", front(extra=f'[channel.bluesky]\ntext = "{text}"\n'))
    r = render(workspace, path.relative_to(workspace), "bluesky")
    record = r.request()["body"]["record"]
    data = text.encode("utf-8")
    spans = {data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0] for f in record["facets"]}
    assert spans["https://en.asaninst.org/press/nato"]["uri"] == "https://en.asaninst.org/press/nato"
    assert spans["#안보"] == {"$type": "app.bsky.richtext.facet#tag", "tag": "안보"}
    assert spans["#NATO"]["tag"] == "NATO"
    r.adapter.deliver(r.deliveries[0], r.channel)  # the PDS re-checks every offset
    assert len(pds.records) == 1


def test_images_embed_with_alt_text(workspace: Path, pds: PdsServer) -> None:
    path = with_cover(workspace)
    set_keys(workspace / "channels" / "bluesky.toml", embed="images")
    r = render(workspace, path, "bluesky")
    embed = r.request()["body"]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["Cover of the issue brief"]
    r.adapter.deliver(r.deliveries[0], r.channel)
    (stored,) = pds.records.values()
    assert stored["value"]["embed"]["images"][0]["image"]["ref"]["$link"] in pds.blobs


def test_an_image_over_two_megabytes_is_refused_at_its_line(workspace: Path, pds: PdsServer) -> None:
    path = with_cover(workspace, size_pad=2_000_100)
    set_keys(workspace / "channels" / "bluesky.toml", embed="images")
    with pytest.raises(ReleaseError) as info:
        render(workspace, path, "bluesky")
    lines = (workspace / path).read_text().splitlines()
    assert info.value.line is not None and lines[info.value.line - 1].startswith("path = ")
    assert "2,000,000" in str(info.value)


def test_the_session_is_made_once_and_refreshed_when_it_expires(workspace: Path, pds: PdsServer) -> None:
    long = " ".join(f"Point {i} of the brief." for i in range(40))
    path = write_release(workspace, "thread", front(extra=f'[channel.bluesky]\ntext = "{long}"\nthread = true\n'))
    r = render(workspace, path.relative_to(workspace), "bluesky")
    outcomes = list(r.adapter.deliver_many(r.deliveries[:1], r.channel))
    pds.expire_access()
    outcomes += list(r.adapter.deliver_many(r.deliveries[1:2], r.channel))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    assert pds.count(SESSION) == 1 and pds.count("POST /xrpc/com.atproto.server.refreshSession") == 1
    pds.expire_access()
    pds.expire_refresh()  # the refresh token is gone too: log in again
    outcomes = list(r.adapter.deliver_many(r.deliveries[2:3], r.channel))
    assert outcomes[0].error is None, outcomes[0].error
    assert pds.count(SESSION) == 2
    assert len(pds.records) == 3


def test_a_thread_replies_with_root_and_parent(workspace: Path, pds: PdsServer) -> None:
    long = " ".join(f"Point {i} of the brief, with the reasons why it matters." for i in range(20))
    path = write_release(workspace, "thread", front(extra=f'[channel.bluesky]\ntext = "{long}"\nthread = true\n'))
    r = render(workspace, path.relative_to(workspace), "bluesky")
    assert len(r.deliveries) >= 3
    assert [d.after for d in r.deliveries] == [None] + [d.key for d in r.deliveries[:-1]]
    outcomes = list(r.adapter.deliver_many(r.deliveries, r.channel))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    posts = sorted(pds.records.items())  # rkeys sort in thread order
    root = {"uri": posts[0][1]["uri"], "cid": posts[0][1]["cid"]}
    for (_, before), (_, after) in zip(posts, posts[1:], strict=False):
        assert after["value"]["reply"] == {"root": root, "parent": {"uri": before["uri"], "cid": before["cid"]}}


@pytest.mark.parametrize("duplicate", ["mst", "invalid"])
def test_a_retry_collides_with_the_post_already_made(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, standards: Path, duplicate: str
) -> None:
    with PdsServer(standards / "bluesky-lexicons" / "lexicons", duplicate=duplicate) as pds:
        wire(workspace, monkeypatch, "bluesky", pds.url)
        r = render(workspace, EXAMPLE_RELEASE, "bluesky")
        (d,) = r.deliveries
        pds.drop(CREATE)  # the record is made, the answer is lost ...
        pds.fail(GET, Reply(503, {"error": "Unavailable"}))  # ... and the check right after fails too
        with pytest.raises(DeliveryError) as info:
            r.adapter.deliver(d, r.channel)
        assert info.value.in_doubt and r.adapter.idempotent
        receipt = r.adapter.deliver(d, r.channel)  # the ledger's retry
        rkeys = {s.json()["rkey"] for s in pds.requests(CREATE)}
        assert pds.count(CREATE) == 2 and len(rkeys) == 1, "the retry must use the same record key"
        (stored,) = pds.records.values()
        assert receipt.remote_id == stored["uri"] and receipt.detail == stored["cid"]
        assert not pds.problems, pds.problems


def test_a_lost_answer_is_resolved_at_once_when_the_record_is_there(workspace: Path, pds: PdsServer) -> None:
    r = render(workspace, EXAMPLE_RELEASE, "bluesky")
    pds.fail_after(CREATE, Reply(502, b"Bad Gateway"))
    receipt = r.adapter.deliver(r.deliveries[0], r.channel)
    (stored,) = pds.records.values()
    assert receipt.remote_id == stored["uri"] and pds.count(GET) == 1


def test_a_wrong_app_password_names_the_variable_and_never_shows_it(
    workspace: Path, pds: PdsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wxyz-wxyz-wxyz-wxyz")
    r = render(workspace, EXAMPLE_RELEASE, "bluesky")
    with pytest.raises(DeliveryError) as info:
        r.adapter.deliver(r.deliveries[0], r.channel)
    text = str(info.value)
    assert not info.value.retryable and "BLUESKY_APP_PASSWORD" in text and "Invalid identifier or password" in text
    assert "wxyz-wxyz" not in text and pds.count(CREATE) == 0


def test_record_keys_and_outbox_are_stable(workspace: Path, pds: PdsServer) -> None:
    first = render(workspace, EXAMPLE_RELEASE, "bluesky")
    second = render(workspace, EXAMPLE_RELEASE, "bluesky")
    assert first.deliveries[0].files == second.deliveries[0].files
    body = first.request()["body"]
    assert body["repo"] == PdsServer.handle_name and body["collection"] == "app.bsky.feed.post"
    # createdAt is the channel's due time (publish_at + at), in UTC with milliseconds.
    assert body["record"]["createdAt"] == "2025-06-30T00:05:00.000Z"
