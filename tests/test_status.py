"""`distribute status` of a big release: a summary a press officer reads at a glance; `--json --all` has every row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
import time_machine

from conftest import ROOT
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_support import invoke, write_channel, write_release

NOW = "2025-06-29T00:00:00+00:00"  # the day before the release's publish time
ROWS = 3_000
SCHEMA = json.loads((ROOT / "docs" / "json-schemas.json").read_text(encoding="utf-8"))["status"]


@pytest.fixture
def big(lws: Path) -> Path:
    """r1 scheduled to 3,000 recipients (the real `schedule`), then half sent, 1% failed, 12 in doubt, 40 retrying."""
    write_channel(lws, "newsletter", f'adapter = "loopmail"\nport = 9\ncount = {ROWS}\n')
    write_channel(lws, "social", 'adapter = "looppost"\nurl = "http://127.0.0.1:9"\n')
    write_release(lws, "r1")
    with time_machine.travel(NOW, tick=False):
        assert invoke(lws, "schedule", "releases/r1.md").exit_code == 0
    db = sqlite3.connect(lws / ".distribute" / "state.db")
    with db:  # as a send leaves it (the outcomes of a run, written as the ledger writes them)
        news = "channel = 'newsletter' AND"
        db.execute(f"UPDATE deliveries SET state = 'sent', sent_at = due WHERE {news} seq % 2 = 0")
        db.execute(
            "UPDATE deliveries SET state = 'failed', attempts = 3, last_error = CASE WHEN seq % 200 = 1 "
            f"THEN '550 5.1.1 mailbox unavailable' ELSE '552 5.2.2 mailbox full' END WHERE {news} seq % 100 = 1"
        )
        db.execute(
            "UPDATE deliveries SET state = 'in_doubt', attempts = 1, last_error = 'connection lost after DATA' "
            f"WHERE {news} seq % 100 = 3 AND seq < 1200"
        )
        db.execute(
            "UPDATE deliveries SET attempts = 1, last_error = '421 try again later', "
            f"next_attempt = '2025-06-30T01:00:00.000000Z' WHERE {news} state = 'pending'"
        )
    db.close()
    return lws


def test_status_of_a_big_release_prints_a_summary_not_every_delivery(big: Path) -> None:
    out = invoke(big, "status", "r1").stdout
    lines = out.splitlines()
    assert len(lines) < 40, out
    news = [line for line in lines if line.startswith("  newsletter (loopmail)")]
    # Counts by state, and when the next one goes (the retries, an hour after the due time).
    assert news == [
        "  newsletter (loopmail), due 2025-06-30 09:00 KST (00:00 UTC): 1,500 sent, 1,458 pending, 30 failed, "
        "12 in doubt; next 2025-06-30 10:00 KST (01:00 UTC)"
    ]
    failed = [line for line in lines if ": FAILED after 3 attempt(s): 55" in line]
    assert len(failed) == 5 and "r1@example.org" in failed[0]  # the first few, in schedule order
    assert (
        "      … 25 more failed; most common: 550 5.1.1 mailbox unavailable (15), 552 5.2.2 mailbox full (15)" in lines
    )
    doubt = [line for line in lines if ": IN DOUBT: connection lost after DATA" in line]
    assert len(doubt) == 5
    assert "      … 7 more in doubt; most common: connection lost after DATA (12)" in lines
    assert sum("distribute resolve r1 --sent" in line for line in lines) == 1, "what to do, said once"
    assert (
        sum(
            "retry at 2025-06-30 10:00 KST (01:00 UTC) (attempt 2; last error: 421 try again later)" in x for x in lines
        )
        == 5
    )
    assert "      (`distribute status r1 --json --all` lists every delivery)" in lines
    # A small channel is still listed whole.
    assert [x for x in lines if x.startswith("      post ")] == [f"      post {i}/3: pending" for i in (1, 2, 3)]


def test_status_json_lists_fifty_and_with_all_every_delivery(big: Path) -> None:
    first = json.loads(invoke(big, "status", "r1", "--json").stdout)
    jsonschema.validate(first, SCHEMA)
    (release,) = first["releases"]
    assert release["in_doubt"] == 12
    news = next(c for c in release["channels"] if c["channel"] == "newsletter")
    assert len(news["items"]) == 50 and news["more"] == ROWS - 50
    assert [i["state"] for i in news["items"]] == ["in_doubt"] * 12 + ["failed"] * 30 + ["pending"] * 8
    assert news["next_due"] == "2025-06-30T01:00:00.000000Z"
    assert news["reasons"] == {
        "failed": [
            {"error": "550 5.1.1 mailbox unavailable", "count": 15},
            {"error": "552 5.2.2 mailbox full", "count": 15},
        ],
        "in_doubt": [{"error": "connection lost after DATA", "count": 12}],
    }
    every = json.loads(invoke(big, "status", "r1", "--json", "--all").stdout)
    jsonschema.validate(every, SCHEMA)
    news = next(c for c in every["releases"][0]["channels"] if c["channel"] == "newsletter")
    assert len(news["items"]) == ROWS and news["more"] == 0
    assert len({i["key"] for i in news["items"]}) == ROWS
    assert sum(i["state"] == "sent" for i in news["items"]) == 1_500


def test_all_without_json_is_a_usage_error(big: Path) -> None:
    result = invoke(big, "status", "r1", "--all")
    assert result.exit_code == 2 and "--all lists every delivery in the JSON document: add --json" in result.output
