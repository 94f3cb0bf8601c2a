"""An embargoed copy says EMBARGOED UNTIL whenever it leaves before the embargo (DESIGN §6).

Through the real command line (subprocesses with the clock pinned by $DISTRIBUTE_NOW): a
release whose embargo equals its publish time, sent at once 14 hours early, reaches the press
list and a wire desk marked as embargoed and dated the moment it was sent, never its future
publish time; after the embargo the same commands send it unmarked.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree

from conftest import copy_example_workspace
from email_support import distribute
from test_wire_standards import NAR, assert_valid_newsml, assert_valid_ninjs

PUBLISH = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)  # 09:00 KST, the embargo too
EARLY = PUBLISH - dt.timedelta(hours=14)
LATE = PUBLISH + dt.timedelta(hours=2)

RELEASE = """\
+++
title = "Embargo equals publish time"
summary = "The README's own example."
dateline = "SEOUL"
publish_at = 2025-06-30T09:00:00+09:00
embargo = 2025-06-30T09:00:00+09:00
channels = ["press-list", "press-html", "wire-desk"]

[[contacts]]
name = "Dr. Kim Saeme"
email = "s.kim@asaninst.org"
+++
Body of the release.
"""


def make_workspace(tmp_path: Path, press_at: str = "") -> Path:
    """The example workspace: press list (text), a press list with HTML, a wire desk taking embargoed copy."""
    ws = copy_example_workspace(tmp_path / "ws")
    press = ws / "channels" / "press-list.toml"
    if press_at:
        press.write_text(
            press.read_text().replace("embargoed_copy = true\n", f'embargoed_copy = true\nat = "{press_at}"\n')
        )
    html = press.read_text().replace('template = "email/press-list"', 'template = "email/newsletter"')
    (ws / "channels" / "press-html.toml").write_text(html.replace("maildir/press-list", "maildir/press-html"))
    wire = ws / "channels" / "wire-desk.toml"
    wire.write_text(wire.read_text().replace("# embargoed_copy = true", "embargoed_copy = true"))
    (ws / "releases" / "r.md").write_text(RELEASE)
    return ws


def mailed(ws: Path, channel: str) -> list[email.message.EmailMessage]:
    files = sorted((ws / "maildir" / channel / "new").iterdir())
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def bodies(message: email.message.EmailMessage) -> dict[str, str]:
    return {
        part.get_content_subtype(): part.get_content()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


def first_text(body: str) -> str:
    return next(line.strip() for line in body.splitlines() if line.strip())


def html_first_text(markup: str) -> str:
    tree = etree.fromstring(markup.encode(), etree.HTMLParser())
    (body,) = tree.xpath("//body")
    # The preheader (hidden preview text) is not shown; what the reader sees first is.
    for hidden in body.xpath(".//div[contains(@style, 'display:none')]"):
        hidden.getparent().remove(hidden)
    return " ".join("".join(body.itertext()).split())


def wire_documents(ws: Path) -> tuple[str, bytes, bytes]:
    folder = ws / "wire"
    return (
        (folder / "r.txt").read_text(),
        (folder / "r.newsml.xml").read_bytes(),
        (folder / "r.ninjs.json").read_bytes(),
    )


def test_send_before_an_embargo_equal_to_publish_time_marks_every_embargoed_copy_and_dates_it_now(
    tmp_path: Path, newsml_schema, ninjs_validator
) -> None:
    ws = make_workspace(tmp_path)
    result = distribute(ws, EARLY, "send", "releases/r.md")
    assert result.returncode == 0, result.stdout + result.stderr

    for channel in ("press-list", "press-html"):
        messages = mailed(ws, channel)
        assert len(messages) == 3, channel
        for message in messages:
            assert str(message["Subject"]).startswith("EMBARGOED UNTIL 2025-06-30 09:00 KST"), message["Subject"]
            # Dated when it left, not the publish time 14 hours later.
            assert parsedate_to_datetime(str(message["Date"])) == EARLY, message["Date"]
            texts = bodies(message)
            assert first_text(texts["plain"]).startswith("EMBARGOED UNTIL"), texts["plain"][:200]
            assert "FOR IMMEDIATE RELEASE" not in texts["plain"]
            if channel == "press-html":
                assert html_first_text(texts["html"]).startswith("EMBARGOED UNTIL"), html_first_text(texts["html"])[
                    :200
                ]

    text, newsml, ninjs = wire_documents(ws)
    assert first_text(text).startswith("EMBARGOED UNTIL") and "FOR IMMEDIATE RELEASE" not in text
    root = assert_valid_newsml(newsml_schema, newsml)
    meta = root.find(f"{NAR}itemMeta")
    assert dt.datetime.fromisoformat(meta.findtext(f"{NAR}embargoed")) == PUBLISH
    assert "EMBARGOED" in meta.findtext(f"{NAR}edNote")
    assert dt.datetime.fromisoformat(meta.findtext(f"{NAR}versionCreated")) == EARLY
    doc = assert_valid_ninjs(ninjs_validator, ninjs)
    assert dt.datetime.fromisoformat(doc["embargoedUntil"]) == PUBLISH
    assert dt.datetime.fromisoformat(doc["versionCreated"]) == EARLY


def test_send_after_the_embargo_carries_no_notice(tmp_path: Path, newsml_schema, ninjs_validator) -> None:
    ws = make_workspace(tmp_path)
    result = distribute(ws, LATE, "send", "releases/r.md")
    assert result.returncode == 0, result.stdout + result.stderr
    for channel in ("press-list", "press-html"):
        for message in mailed(ws, channel):
            assert "EMBARGO" not in str(message["Subject"])
            assert parsedate_to_datetime(str(message["Date"])) == LATE
            assert "EMBARGOED" not in "".join(bodies(message).values())
    text, newsml, ninjs = wire_documents(ws)
    assert first_text(text) == "FOR IMMEDIATE RELEASE"
    meta = assert_valid_newsml(newsml_schema, newsml).find(f"{NAR}itemMeta")
    assert meta.find(f"{NAR}embargoed") is None and meta.find(f"{NAR}edNote") is None
    assert "embargoedUntil" not in assert_valid_ninjs(ninjs_validator, ninjs)


@pytest.mark.slow  # a few seconds; CI runs it, the fast lane leaves it out
def test_a_scheduled_press_list_due_before_the_embargo_is_marked_and_dated_at_its_due_time(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, press_at="-2h")
    due = PUBLISH - dt.timedelta(hours=2)
    scheduled = distribute(ws, EARLY, "schedule", "releases/r.md")
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    status = json.loads(distribute(ws, EARLY, "status", "--json").stdout)
    (release,) = status["releases"]
    assert {c["channel"]: c["counts"] for c in release["channels"]}["press-list"] == {"pending": 3}

    sent = distribute(ws, due + dt.timedelta(minutes=1), "send", "--due")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    messages = mailed(ws, "press-list") + mailed(ws, "press-html")  # both at "-2h"
    assert len(messages) == 6
    for message in messages:
        assert str(message["Subject"]).startswith("EMBARGOED UNTIL")
        assert parsedate_to_datetime(str(message["Date"])) == due
        assert first_text(bodies(message)["plain"]).startswith("EMBARGOED UNTIL")
    assert not (ws / "wire").exists()  # the wire desk is due at the publish time, the embargo


def test_a_dry_run_before_the_embargo_says_what_sending_now_would_mark(tmp_path: Path) -> None:
    """The outbox shows each copy at its own due time; before the embargo it says how `send` now would differ."""
    ws = make_workspace(tmp_path)
    early = distribute(ws, EARLY, "send", "releases/r.md", "--dry-run")
    assert early.returncode == 0, early.stderr
    notes = [line for line in early.stderr.splitlines() if "EMBARGOED UNTIL" in line]
    assert sorted(line.split(":", 2)[1].strip() for line in notes) == ["press-html", "press-list", "wire-desk"]
    assert "2025-06-30 09:00 KST (00:00 UTC)" in notes[0] and "sent now with `distribute send`" in notes[0]

    late = distribute(ws, LATE, "send", "releases/r.md", "--dry-run")
    assert late.returncode == 0, late.stderr
    assert "EMBARGOED UNTIL" not in late.stderr
