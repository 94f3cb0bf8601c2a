"""Exactly once through crashes and overlapping runs, with real processes and real loopback servers.

Kill points are exact: a server holds the Nth arrival until the test has SIGKILLed the
sender, so the kill lands with that delivery in the sender's hands. Free-running kills
(the sender killed as soon as the server has seen N) land wherever the sender happens to
be: between claim and hand-over, between the server's reply and the ledger's record, ...
"""

from __future__ import annotations

import collections
import signal
import subprocess
from pathlib import Path

import pytest

from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import Gate, mail_sink, statuses_server, wait_for
from ledger_support import invoke, ledger_rows, run, start, states, write_channel, write_release

pytestmark = pytest.mark.slow  # subprocesses, crashes or large lists: the full suite (CI) runs it

N = 2000


@pytest.fixture
def sink():
    with mail_sink() as s:
        yield s


@pytest.fixture
def api():
    with statuses_server() as a:
        yield a


def setup(ws: Path, sink, api, count: int = N) -> None:
    write_channel(ws, "newsletter", f'adapter = "loopmail"\nport = {sink.port}\ncount = {count}\n')
    write_channel(ws, "social", f'adapter = "looppost"\nurl = "{api.url}"\nparts = 3\n')
    write_release(ws, "r1")  # publish time long past: everything is due now
    result = invoke(ws, "schedule", "releases/r1.md", "--late")  # dated in the past: due at once
    assert result.exit_code == 0, result.output


def kill(proc: subprocess.Popen[str], gate: Gate | None = None) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)  # reaped: a zombie must not look like a live claim holder
    if gate is not None:
        gate.release.set()


def check_exactly_once(ws: Path, sink, api, count: int = N) -> dict[str, int]:
    """Nothing twice; nothing lost; what is unaccounted for is in doubt, at most one (one connection)."""
    rows = ledger_rows(ws)
    got = sink.per_recipient()
    assert max(got.values()) == 1, [r for r, n in got.items() if n > 1]
    doubt = {str(r["target"]) for r in rows if r["state"] == "in_doubt"}
    assert len(doubt) <= 1, doubt
    for r in rows:
        if r["channel"] == "newsletter" and r["state"] != "in_doubt":
            assert r["state"] == "sent" and got[str(r["target"])] == 1, r
    assert len(got) in (count, count - 1) and set(f"r{i}@example.org" for i in range(count)) - set(got) <= doubt
    posts = collections.Counter(s["content"] for s in api.created)
    assert sorted(posts) == ["Release r1 (1/3)", "Release r1 (2/3)", "Release r1 (3/3)"] and max(posts.values()) == 1
    assert [s["in_reply_to_id"] for s in api.created] == [None, api.created[0]["id"], api.created[1]["id"]]
    assert not api.problems
    return states(rows)


def test_four_send_due_processes_at_once_deliver_everything_exactly_once(
    lws: Path, plugin_site: Path, sink, api
) -> None:
    setup(lws, sink, api)
    procs = [start(lws, plugin_site, "send", "--due") for _ in range(4)]
    codes = [p.wait(120) for p in procs]
    assert all(c in (0, 4) for c in codes), [(c, p.stderr.read()) for c, p in zip(codes, procs, strict=True)]  # type: ignore[union-attr]
    assert check_exactly_once(lws, sink, api) == {"sent": N + 3}
    senders = {r["claimed_by"] for r in ledger_rows(lws)}
    assert len(senders) >= 2, "the four processes should have shared the work"


@pytest.mark.parametrize(
    "stage, at", [("data", 1), ("data", 2), ("data", 777), ("data", N), ("rcpt", 1), ("rcpt", 1500)]
)
def test_newsletter_killed_with_a_message_in_hand_resumes_and_reports_it_in_doubt(
    lws: Path, plugin_site: Path, sink, api, stage: str, at: int
) -> None:
    setup(lws, sink, api)
    gate = sink.gate if stage == "data" else sink.rcpt_gate
    gate.at = at
    proc = start(lws, plugin_site, "send", "--due")
    assert gate.held.wait(60), proc.communicate()
    kill(proc, gate)
    in_hand = f"r{at - 1}@example.org"
    assert {str(r["target"]) for r in ledger_rows(lws) if r["state"] == "sending"} == {in_hand}
    again = run(lws, plugin_site, "send", "--due")
    assert again.returncode == 3, again.stderr
    assert "1 deliveries interrupted by an earlier crash are IN DOUBT" in again.stderr
    result = check_exactly_once(lws, sink, api)
    assert result == {"sent": N + 2, "in_doubt": 1}
    doubt = [r for r in ledger_rows(lws) if r["state"] == "in_doubt"]
    assert doubt[0]["target"] == in_hand and in_hand in run(lws, plugin_site, "status").stdout
    assert sink.per_recipient()[in_hand] == (1 if stage == "data" else 0)
    assert run(lws, plugin_site, "send", "--due").returncode == 4  # in doubt is never resent silently


@pytest.mark.parametrize("part", [1, 2, 3])
def test_thread_killed_after_the_server_made_a_post_resumes_without_a_duplicate(
    lws: Path, plugin_site: Path, sink, api, part: int
) -> None:
    setup(lws, sink, api, count=2)
    api.gate.at = part
    proc = start(lws, plugin_site, "send", "--due")
    assert api.gate.held.wait(60), proc.communicate()
    kill(proc, api.gate)
    again = run(lws, plugin_site, "send", "--due")
    # The post adapter is idempotent: the post in hand is retried with the same Idempotency-Key.
    assert again.returncode == 0, again.stderr
    assert check_exactly_once(lws, sink, api, count=2) == {"sent": 5}
    assert api.requests == 4  # one repeat, answered with the post already made


@pytest.mark.parametrize("after", [1, 40, 333, 1200, 1999])
def test_newsletter_killed_anywhere_loses_nothing_and_doubles_nothing(
    lws: Path, plugin_site: Path, sink, api, after: int
) -> None:
    setup(lws, sink, api)
    proc = start(lws, plugin_site, "send", "--due")
    wait_for(lambda: len(sink) >= after or proc.poll() is not None, what=f"{after} messages")
    kill(proc)
    again = run(lws, plugin_site, "send", "--due")
    assert again.returncode in (0, 3, 4), again.stderr
    final = check_exactly_once(lws, sink, api)
    assert final in ({"sent": N + 3}, {"sent": N + 2, "in_doubt": 1})
    assert (again.returncode == 3) == ("in_doubt" in final)
    # The social thread (3 parts) goes before the 2,000 newsletters: killed at the 1,999th, the
    # first run may have recorded everything already, and the second has nothing to do.
    assert again.returncode != 4 or after == N - 1
