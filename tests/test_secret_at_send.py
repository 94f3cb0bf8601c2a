"""A secret missing where the release is sent is named as such, never taken for a changed release.

The content lock (the hash recorded at `schedule` and checked at sending) covers the messages
as they are without the unsubscribe key, so a cron job or worker that lacks UNSUBSCRIBE_KEY is
told to export it, and one that has it while the shell that scheduled did not sends real tokens.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import copy_example_workspace
from distribute.adapters.email.unsubscribe import PLACEHOLDER, verify
from email_support import distribute

KEY = "k3y-for-unsubscribe-tokens-0123456789"
PUBLISH = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
BEFORE, AFTER = PUBLISH - dt.timedelta(days=1), PUBLISH + dt.timedelta(minutes=5)
LIST_ID = "newsletter.asaninst.org"

RELEASE = """\
+++
title = "Newsletter with one-click unsubscribe"
publish_at = 2025-06-30T09:00:00+09:00
channels = ["newsletter"]
+++
Body of the release.
"""


def make_workspace(tmp_path: Path) -> Path:
    ws = copy_example_workspace(tmp_path / "ws")
    (ws / "releases" / "r.md").write_text(RELEASE)
    return ws


def newsletter(ws: Path) -> list[email.message.EmailMessage]:
    folder = ws / "maildir" / "newsletter" / "new"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def tokens(message: email.message.EmailMessage) -> list[tuple[str, str]]:
    """(address, token) of every https unsubscribe link in the List-Unsubscribe header."""
    found = []
    for link in re.findall(r"<(https://[^>]+)>", str(message["List-Unsubscribe"])):
        query = parse_qs(urlsplit(link).query)
        found.append((query["email"][0], query["token"][0]))
    return found


def states(ws: Path) -> dict[str, int]:
    db = sqlite3.connect(ws / ".distribute" / "state.db")
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())
    finally:
        db.close()


def database_bytes(ws: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (ws / ".distribute").iterdir() if p.is_file())


def test_scheduled_with_the_key_sent_without_it_is_refused_naming_the_variable(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    scheduled = distribute(ws, BEFORE, "schedule", "releases/r.md", key=KEY)
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    count = states(ws)["pending"]

    cron = distribute(ws, AFTER, "send", "--due")  # a cron job without UNSUBSCRIBE_KEY
    assert cron.returncode == 1, cron.stdout + cron.stderr
    assert (
        "the environment variable UNSUBSCRIBE_KEY is not set here; it was when the release was scheduled" in cron.stderr
    )
    assert "— export it for the cron job or worker; nothing of this channel was sent" in cron.stderr
    assert "changed" not in cron.stdout + cron.stderr
    assert newsletter(ws) == [] and states(ws) == {"pending": count}  # nothing of the channel left

    fixed = distribute(ws, AFTER, "send", "--due", key=KEY)  # the key exported for the cron job
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    messages = newsletter(ws)
    assert len(messages) == count and states(ws) == {"sent": count}
    for message in messages:
        ((address, token),) = tokens(message)
        assert verify(KEY.encode(), LIST_ID, address, token)
    assert KEY.encode() not in database_bytes(ws)  # the ledger knows the variable's name only
    assert KEY not in "".join(r.stdout + r.stderr for r in (scheduled, cron, fixed))


@pytest.mark.slow
def test_scheduled_without_the_key_sent_with_it_carries_real_tokens(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    scheduled = distribute(ws, BEFORE, "schedule", "releases/r.md")
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    sent = distribute(ws, AFTER, "send", "--due", key=KEY)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    messages = newsletter(ws)
    assert messages and states(ws) == {"sent": len(messages)}
    for message in messages:
        ((address, token),) = tokens(message)
        assert token != PLACEHOLDER and verify(KEY.encode(), LIST_ID, address, token)
    assert KEY.encode() not in database_bytes(ws)


@pytest.mark.slow
def test_an_edited_release_is_still_refused_as_changed_whatever_the_key(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    assert distribute(ws, BEFORE, "schedule", "releases/r.md", key=KEY).returncode == 0
    count = states(ws)["pending"]
    path = ws / "releases" / "r.md"
    path.write_text(path.read_text().replace("Body of the release.", "Body of the release, edited."))
    for key in (KEY, None):
        cron = distribute(ws, AFTER, "send", "--due", key=key)
        assert cron.returncode == 1, cron.stdout + cron.stderr
        assert "changed since it was scheduled" in cron.stderr
        assert newsletter(ws) == [] and states(ws) == {"pending": count}
