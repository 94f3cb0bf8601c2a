"""The crash and overlap tests again, with the built-in adapters against documented-shape loopback servers."""

from __future__ import annotations

import collections
import signal
from pathlib import Path

import pytest

from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import mail_sink, statuses_server, wait_for
from ledger_support import invoke, ledger_rows, run, start, states, subprocess_env, write_channel, write_release

pytestmark = pytest.mark.slow  # subprocesses, crashes or large lists: the full suite (CI) runs it

TOKEN = "mastodon-token-271828"
LONG = " ".join(f"Point {i}: the alliance has to decide what it is for, and who pays for it." for i in range(24))


@pytest.fixture
def sink():
    with mail_sink() as s:
        yield s


@pytest.fixture
def api():
    with statuses_server(token=TOKEN) as a:
        yield a


def mastodon_thread(ws: Path, api, monkeypatch: pytest.MonkeyPatch) -> int:
    """A Mastodon channel on the loopback server and a release long enough for a thread; returns its parts."""
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    write_channel(
        ws,
        "mastodon",
        f'adapter = "mastodon"\ninstance = "{api.url}"\n'
        'token = { env = "MASTODON_TOKEN" }\nthread = true\ntimeout = 10\n',
    )
    write_release(ws, "r1", extra=f'[channel.mastodon]\ntext = "{LONG}"\nthread = true')
    result = invoke(ws, "schedule", "releases/r1.md", "--late")  # dated in the past: due at once
    assert result.exit_code == 0, result.output
    parts = len([r for r in ledger_rows(ws) if r["channel"] == "mastodon"])
    assert parts >= 3, "the text should make a thread of several posts"
    return parts


def env(site: Path) -> dict[str, str]:
    return subprocess_env(site, MASTODON_TOKEN=TOKEN)


def check_thread(ws: Path, api, parts: int) -> None:
    """Each part posted exactly once, each replying to the one before, all as documented."""
    assert not api.problems, api.problems
    assert len(api.created) == parts
    assert max(collections.Counter(s["content"] for s in api.created).values()) == 1
    assert [s["in_reply_to_id"] for s in api.created] == [None] + [s["id"] for s in api.created[:-1]]
    rows = [r for r in ledger_rows(ws) if r["channel"] == "mastodon"]
    assert states(rows) == {"sent": parts}
    assert [r["remote_id"] for r in rows] == [s["id"] for s in api.created]
    assert all(TOKEN not in str(r) for r in rows)


def test_four_processes_post_a_mastodon_thread_once(
    lws: Path, plugin_site: Path, api, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = mastodon_thread(lws, api, monkeypatch)
    procs = [start(lws, plugin_site, "send", "--due", env=env(plugin_site)) for _ in range(4)]
    codes = [p.wait(120) for p in procs]
    assert all(c in (0, 4) for c in codes), [p.stderr.read() for p in procs]  # type: ignore[union-attr]
    check_thread(lws, api, parts)


@pytest.mark.parametrize("at", [1, 2, 3])
def test_mastodon_thread_killed_after_a_post_was_made_resumes_without_a_duplicate(
    lws: Path, plugin_site: Path, api, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    parts = mastodon_thread(lws, api, monkeypatch)
    api.gate.at = at  # the server made post `at` and holds its answer
    proc = start(lws, plugin_site, "send", "--due", env=env(plugin_site))
    assert api.gate.held.wait(60), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    api.gate.release.set()
    assert [r["state"] for r in ledger_rows(lws)][at - 1] == "sending"
    again = run(lws, plugin_site, "send", "--due", env=env(plugin_site))
    # Mastodon is idempotent (Idempotency-Key): the post in hand is retried, answered with the first.
    assert again.returncode == 0, again.stderr
    assert "put back in line" in again.stderr
    check_thread(lws, api, parts)
    assert api.requests == parts + 1


N = 2000
CONNECTIONS = 2


def newsletter(ws: Path, sink, count: int = N, connections: int = CONNECTIONS) -> None:
    """The built-in email adapter mailing `count` subscribers through the loopback SMTP server."""
    (ws / "lists").mkdir(exist_ok=True)
    (ws / "lists" / "big.csv").write_text(
        "email,name\n" + "".join(f"r{i}@example.org,Reader {i}\n" for i in range(count))
    )
    write_channel(
        ws,
        "newsletter",
        f"""\
        adapter = "email"
        from = "Press Office <press@example.org>"
        recipients = "lists/big.csv"
        unsubscribe_mailto = "unsubscribe@example.org"
        transport = "smtp"
        [smtp]
        host = "127.0.0.1"
        port = {sink.port}
        security = "none"
        connections = {connections}
        timeout = 10
        """,
    )


def check_mail(ws: Path, sink, count: int = N, connections: int = CONNECTIONS) -> dict[str, int]:
    """Nobody mailed twice; everyone not in doubt mailed once; in doubt at most one per connection."""
    got = sink.per_recipient()
    assert max(got.values()) == 1, [r for r, n in got.items() if n > 1]
    rows = [r for r in ledger_rows(ws) if r["channel"] == "newsletter"]
    assert len(rows) == count
    doubt = {str(r["target"]) for r in rows if r["state"] == "in_doubt"}
    assert len(doubt) <= connections, doubt
    for r in rows:
        if r["state"] != "in_doubt":
            assert r["state"] == "sent" and got[str(r["target"])] == 1, r
    assert {f"r{i}@example.org" for i in range(count)} - set(got) <= doubt
    return states(rows)


def test_four_processes_mail_a_newsletter_and_post_a_thread_once(
    lws: Path, plugin_site: Path, sink, api, monkeypatch: pytest.MonkeyPatch
) -> None:
    newsletter(lws, sink)
    parts = mastodon_thread(lws, api, monkeypatch)
    procs = [start(lws, plugin_site, "send", "--due", env=env(plugin_site)) for _ in range(4)]
    codes = [p.wait(180) for p in procs]
    assert all(c in (0, 4) for c in codes), [p.stderr.read() for p in procs]  # type: ignore[union-attr]
    assert check_mail(lws, sink) == {"sent": N}
    check_thread(lws, api, parts)


@pytest.mark.parametrize("at", [1, 2, 999])
def test_newsletter_killed_with_messages_in_hand_resumes_with_at_most_one_in_doubt_per_connection(
    lws: Path, plugin_site: Path, sink, at: int
) -> None:
    newsletter(lws, sink)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    sink.gate.at = at
    proc = start(lws, plugin_site, "send", "--due")
    assert sink.gate.held.wait(60), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    sink.gate.release.set()
    again = run(lws, plugin_site, "send", "--due")
    assert again.returncode == 3, again.stderr
    final = check_mail(lws, sink)
    assert 1 <= final.get("in_doubt", 0) <= CONNECTIONS and final["sent"] + final["in_doubt"] == N
    assert "IN DOUBT" in run(lws, plugin_site, "status").stdout
    assert run(lws, plugin_site, "send", "--due").returncode == 4


@pytest.mark.parametrize("connections", [1, 4])  # the sink holds each message in a thread of its own (6 at most)
def test_newsletter_killed_with_every_connection_holding_a_message_has_exactly_those_in_doubt(
    lws: Path, plugin_site: Path, sink, connections: int
) -> None:  # type: ignore[no-untyped-def]
    # The hand-over marks several rows `sending` in one transaction: never more than the adapter
    # holds at once, so with every connection stuck after DATA exactly those are in doubt.
    newsletter(lws, sink, connections=connections)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    sink.gate.at, sink.gate.every, sink.gate.want = 300, True, connections
    proc = start(lws, plugin_site, "send", "--due")
    try:
        assert sink.gate.held.wait(120), "the sender never reached the 300th message"
        wait_for(lambda: len(sink) == 299 + connections, what="every connection holding a message")
        held = {r for r, _ in sink.messages[299:]}
        sending = {str(r["target"]) for r in ledger_rows(lws) if r["state"] == "sending"}
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        sink.gate.release.set()
    assert sending == held and len(held) == connections
    again = run(lws, plugin_site, "send", "--due")
    assert again.returncode == 3, again.stderr
    assert f"{connections} deliveries interrupted by an earlier crash are IN DOUBT" in again.stderr
    final = check_mail(lws, sink, connections=connections)
    assert final == {"sent": N - connections, "in_doubt": connections}
    assert {str(r["target"]) for r in ledger_rows(lws) if r["state"] == "in_doubt"} == held


@pytest.mark.parametrize("after", [1, 500, 1500])
def test_newsletter_killed_anywhere_loses_and_doubles_nothing(lws: Path, plugin_site: Path, sink, after: int) -> None:
    newsletter(lws, sink)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    proc = start(lws, plugin_site, "send", "--due")
    wait_for(lambda: len(sink) >= after or proc.poll() is not None, what=f"{after} messages")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    again = run(lws, plugin_site, "send", "--due")
    assert again.returncode in (0, 3), again.stderr
    final = check_mail(lws, sink)
    assert final.get("sent", 0) + final.get("in_doubt", 0) == N


def test_newsletter_killed_again_and_again_mails_nobody_twice(lws: Path, plugin_site: Path, sink) -> None:
    # Free-running kills, one every 150 messages: with the transfer overlapping the mark's commit
    # (the final dot waits for it), some land while a mark is on its way to the disk and a body
    # waits for its dot. Whatever the moment, nobody is mailed twice, nobody is lost, and each kill
    # leaves at most one delivery per connection in doubt.
    newsletter(lws, sink)
    write_release(lws, "r1")
    assert invoke(lws, "schedule", "releases/r1.md", "--late").exit_code == 0
    kills = 0
    for after in range(100, N, 150):
        proc = start(lws, plugin_site, "send", "--due")
        wait_for(lambda p=proc, n=after: len(sink) >= n or p.poll() is not None, what=f"{after} messages")
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
    last = run(lws, plugin_site, "send", "--due")
    assert last.returncode in (0, 3), last.stderr
    assert kills >= 9, "the sender finished before most kills: make the list longer"
    final = check_mail(lws, sink, connections=kills * CONNECTIONS)
    assert final.get("sent", 0) + final.get("in_doubt", 0) == N
