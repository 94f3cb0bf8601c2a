"""Social posts through the real ledger and CLI: threads resume where they failed, doubt is honoured."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from conftest import write_release
from ledger_support import ledger_rows, states
from social_pds import PdsServer
from social_servers import MastodonServer, Reply, XServer
from social_support import front, wire

UTC = dt.timezone.utc
START = dt.datetime(2025, 6, 30, 1, 0, tzinfo=UTC)  # after the test releases' publish time
LONG = " ".join(f"Point {i}: the alliance has to decide what it is for, and who pays." for i in range(25))


def thread_release(ws: Path, channel: str) -> str:
    write_release(ws, "thread", front(extra=f'[channel.{channel}]\ntext = "{LONG}"\nthread = true\n'))
    return "releases/thread.md"


@pytest.fixture
def traveller() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as t:
        yield t


def by_part(ws: Path, channel: str) -> dict[str, dict[str, object]]:
    return {str(r["part"]): r for r in ledger_rows(ws, "thread") if r["channel"] == channel}


def test_a_thread_that_fails_half_way_resumes_without_reposting(workspace: Path, cli, monkeypatch, traveller) -> None:
    with MastodonServer() as server:
        wire(workspace, monkeypatch, "mastodon", server.url)
        release = thread_release(workspace, "mastodon")
        # Part 1 goes out; part 2 meets a 503; part 3 waits for part 2.
        server.fail("GET /api/v2/instance", Reply(503, {"error": "down"}))
        statuses = "POST /api/v1/statuses"
        server.fail_nth(statuses, 2, Reply(503, {"error": "Service Unavailable"}, {"Retry-After": "60"}))
        result = cli("send", release, "-c", "mastodon")
        assert result.exit_code == 3, result.output
        rows = by_part(workspace, "mastodon")
        count = len(rows)
        assert count >= 3 and rows["1"]["state"] == "sent" and rows["2"]["state"] == "pending"
        assert len(server.statuses) == 1
        first_id = next(iter(server.statuses))
        assert rows["1"]["remote_id"] == first_id

        traveller.shift(dt.timedelta(seconds=30))  # Retry-After honoured: nothing before it
        assert cli("send", "--due").exit_code == 4 and len(server.statuses) == 1
        traveller.shift(dt.timedelta(seconds=31))
        result = cli("send", "--due")
        assert result.exit_code == 0, result.output + result.stderr
        assert states(ledger_rows(workspace, "thread")) == {"sent": count}
        posted = list(server.statuses.values())
        assert len(posted) == count, "a part was posted twice or not at all"
        assert posted[1]["in_reply_to_id"] == first_id
        for before, after in zip(posted, posted[1:], strict=False):
            assert after["in_reply_to_id"] == before["id"]
        # Part 1 was sent once; part 2 twice (one 503); the rest once.
        texts = [s.json()["status"] for s in server.requests(statuses)]
        assert texts.count(posted[0]["text"]) == 1 and texts.count(posted[1]["text"]) == 2
        assert not server.problems, server.problems


def test_a_bluesky_thread_resumes_with_root_and_parent_from_the_ledger(
    workspace: Path, cli, monkeypatch, traveller, standards: Path
) -> None:
    with PdsServer(standards / "bluesky-lexicons" / "lexicons") as pds:
        wire(workspace, monkeypatch, "bluesky", pds.url)
        release = thread_release(workspace, "bluesky")
        create = "POST /xrpc/com.atproto.repo.createRecord"
        pds.fail_nth(create, 3, Reply(503, {"error": "UpstreamFailure", "message": "try later"}))
        assert cli("send", release, "-c", "bluesky").exit_code == 3
        rows = by_part(workspace, "bluesky")
        assert [rows[p]["state"] for p in ("1", "2", "3")] == ["sent", "sent", "pending"]
        assert len(pds.records) == 2
        traveller.shift(dt.timedelta(hours=1))
        result = cli("send", "--due")
        assert result.exit_code == 0, result.output + result.stderr
        posts = [v for _, v in sorted(pds.records.items())]
        assert len(posts) == len(rows) and pds.count(create) == len(rows) + 1
        root = {"uri": posts[0]["uri"], "cid": posts[0]["cid"]}
        for before, after in zip(posts, posts[1:], strict=False):
            assert after["value"]["reply"] == {"root": root, "parent": {"uri": before["uri"], "cid": before["cid"]}}
        assert not pds.problems, pds.problems


def test_a_lost_x_answer_is_in_doubt_and_never_resent(workspace: Path, cli, monkeypatch, traveller) -> None:
    with XServer() as server:
        wire(workspace, monkeypatch, "x", server.url)
        server.drop("POST /2/tweets")
        result = cli("send", "releases/2025-06-30-nato-summit-brief.md", "-c", "x")
        assert result.exit_code == 3
        (row,) = [r for r in ledger_rows(workspace) if r["channel"] == "x"]
        assert row["state"] == "in_doubt"
        traveller.shift(dt.timedelta(hours=2))
        cli("send", "--due")
        assert server.count("POST /2/tweets") == 1 and len(server.tweets) == 1
        assert not server.problems, server.problems


def test_a_lost_bluesky_answer_is_retried_and_collides(
    workspace: Path, cli, monkeypatch, traveller, standards: Path
) -> None:
    with PdsServer(standards / "bluesky-lexicons" / "lexicons") as pds:
        wire(workspace, monkeypatch, "bluesky", pds.url)
        pds.drop("POST /xrpc/com.atproto.repo.createRecord")
        pds.fail("GET /xrpc/com.atproto.repo.getRecord", Reply(503, {"error": "Unavailable"}))
        result = cli("send", "releases/2025-06-30-nato-summit-brief.md", "-c", "bluesky")
        assert result.exit_code == 3
        (row,) = [r for r in ledger_rows(workspace) if r["channel"] == "bluesky"]
        assert row["state"] == "pending", "an idempotent adapter's doubt is retried"
        traveller.shift(dt.timedelta(hours=2))
        result = cli("send", "--due")
        assert result.exit_code == 0, result.output + result.stderr
        (row,) = [r for r in ledger_rows(workspace) if r["channel"] == "bluesky"]
        assert row["state"] == "sent" and len(pds.records) == 1
        assert pds.count("POST /xrpc/com.atproto.repo.createRecord") == 2
        assert row["remote_id"] == next(iter(pds.records.values()))["uri"]
        assert not pds.problems, pds.problems
