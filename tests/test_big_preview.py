"""`preview` of a big list: a few messages shown, the rest counted (Adapter.count), never all rendered."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.base import render_in
from distribute.plan import plan
from distribute.release import load_release
from distribute.workspace.config import Workspace
from email_support import KEY, set_keys, write_list
from test_startup import instrumented


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


# Everything render drops or routes: a duplicate in capitals, suppressed addresses (lists/suppressed.csv
# holds former.reader@example.com), rows without or with a broken address, readers of both languages
# the newsletter sends (en, ko; "ko-KR", "KO" and "ko_KR" read Korean), a language without a
# translation ("fr": the main language), an empty cell, the same address again in another language, and
# language cells that are no language tag (bad rows: "english", "xx_YY!").
TRICKY = """email,name,organization,language
kim.minji@example.org,김민지,Korea Defense Daily,ko
jane.smith@example.com,Jane Smith,Institute,en
JANE.SMITH@example.com,Jane Again,,ko
former.reader@example.com,Former,,ko
,No Address,,en
not-an-address,Bad,,ko
park@example.org,박지우,,ko-KR
pierre@example.fr,Pierre,,fr
reader@example.org,,,
kim.minji@example.org,Dup,,en
lee@example.kr,이서연,,KO
choi@example.kr,최현우,,ko_KR
word@example.org,Wanda,,english
junk@example.org,Jun,,xx_YY!
"""


def big_list(rows: int) -> str:
    """`rows` readers, one in ten Korean, every hundredth a duplicate of the row before."""
    lines = ["email,name,language"]
    for i in range(rows):
        n = i - 1 if i % 100 == 99 else i
        lines.append(f"reader{n}@example.org,Reader {n},{'ko' if n % 10 == 3 else 'en'}")
    return "\n".join(lines) + "\n"


def shown_total(output: str, channel: str = "newsletter") -> int:
    """The count in a channel's panel title ("newsletter — email — 2,970 deliveries — due ...")."""
    found = re.search(rf"{channel} — \w+ — ([\d,.\u00a0\u202f']+) deliver", output)
    assert found, output[-3000:]
    return int(re.sub(r"\D", "", found.group(1)))


def test_preview_of_a_big_list_builds_only_the_messages_it_shows(workspace: Path) -> None:
    """Preview rendered all 20,000 messages of a newsletter to count them (~1.8 s; far longer at 100,000)."""
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "big.csv", big_list(3000))}"')
    done = instrumented(
        workspace,
        "import distribute.adapters.email.prepared as prepared\n"
        "built = []\n"
        "make = prepared.Prepared.message\n"
        "def message(self, *args, **kwargs):\n"
        "    built.append(args[0].email)\n"
        "    return make(self, *args, **kwargs)\n"
        "prepared.Prepared.message = message\n"
        "atexit.register(lambda: print('BUILT', len(built), file=sys.stderr))\n",
        "preview",
        EXAMPLE_RELEASE,
        "-c",
        "newsletter",
    )
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("BUILT ")]
    assert int(line.split()[1]) == 6, "three English and three Korean messages are shown; none other is built"
    assert shown_total(done.stdout) == 2970  # 3,000 rows, 30 duplicates
    assert "… and 2964 more deliveries like these" in done.stdout.replace(",", "")


def test_the_count_of_a_tricky_list_is_what_render_gives(workspace: Path) -> None:
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "tricky.csv", TRICKY)}"')
    ws = Workspace(workspace / "config.toml")
    (p,) = plan(ws, load_release(workspace / EXAMPLE_RELEASE, ws), ["newsletter"])
    assert p.languages == ("en", "ko")
    context = p.context()
    for variant in p.variants:
        rendered = [d.target for d in render_in(p.adapter, variant, p.channel, context)]
        assert p.adapter.count(variant, p.channel, context=context) == len(rendered), variant.language
        assert rendered, variant.language
    english = [d.target for d in render_in(p.adapter, p.variants[0], p.channel, context)]
    korean = [d.target for d in render_in(p.adapter, p.variants[1], p.channel, context)]
    assert english == ["jane.smith@example.com", "pierre@example.fr", "reader@example.org"]
    assert korean == ["kim.minji@example.org", "park@example.org", "lee@example.kr", "choi@example.kr"]


def test_preview_counts_what_a_dry_run_writes(workspace: Path, cli) -> None:
    """The count preview prints (Adapter.count) is the number of messages the render writes."""
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "tricky.csv", TRICKY)}"')
    shown = cli("preview", EXAMPLE_RELEASE, "-c", "newsletter")
    assert shown.exit_code == 0, shown.output
    written = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", "out")
    assert written.exit_code == 0, written.output
    manifest = json.loads((workspace / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert shown_total(shown.output) == len(manifest["deliveries"]) == 7


def _german_bulletin(workspace: Path, rows: int) -> str:
    """A German release to an email channel of `rows` readers; its path."""
    write_list(
        workspace, "bulletin.csv", "email,name\n" + "".join(f"leser{i}@example.org,Leser {i}\n" for i in range(rows))
    )
    (workspace / "channels" / "bulletin.toml").write_text(
        'adapter = "email"\nrecipients = "lists/bulletin.csv"\ntransport = "maildir"\n', encoding="utf-8"
    )
    write_release(
        workspace,
        "bericht",
        'title = "Neuer Bericht zur Allianz"\nlanguage = "de"\npublish_at = 2025-06-30T09:00:00+09:00\n'
        'channels = ["bulletin"]',
        "Der Bericht erscheint heute.\n",
    )
    return "releases/bericht.md"


def test_counts_are_written_as_the_release_language_writes_numbers(workspace: Path, cli) -> None:
    """`20000 deliveries` is 20,000 in English and 20.000 in German: preview (terminal and page), validate,
    send --dry-run, schedule and status."""
    release = _german_bulletin(workspace, 1500)
    with time_machine.travel(dt.datetime(2025, 6, 29, 12, tzinfo=dt.timezone.utc), tick=False):
        shown = cli("preview", release)
        assert shown.exit_code == 0, shown.output
        assert "bulletin — email — 1.500 deliveries — due" in shown.output, shown.output
        assert "… and 1.497 more deliveries like these" in shown.output
        assert "recipients: 1.500" in shown.output
        page = cli("preview", release, "--html", "page.html")
        assert page.exit_code == 0, page.output
        html = (workspace / "page.html").read_text(encoding="utf-8")
        assert '<span class="total">1.500 deliveries</span>' in html and "… and 1.497 more deliveries" in html
        checked = cli("validate", release)
        assert "bulletin (email): ok, 1.500 deliveries, due" in checked.output, checked.output
        assert "checked: all 1.500 rendered" in checked.output
        written = cli("send", release, "--dry-run", "--outbox", "out")
        assert written.exit_code == 0, written.output
        assert "dry run: 1.500 deliveries for 1 channels written to" in written.output
        booked = cli("schedule", release)
        assert booked.exit_code == 0, booked.output
        assert "  bulletin (email): 1.500 deliveries scheduled for 2025-06-30 09:00 KST (00:00 UTC)" in booked.output
        status = cli("status", "bericht")
        assert status.exit_code == 0, status.output
        assert "bulletin (email), due 2025-06-30 09:00 KST (00:00 UTC): 1.500 pending" in status.output, status.output
        # The English original: English grouping (as status always wrote it), wherever it is printed.
        set_keys(workspace, "newsletter", 'recipients = "lists/bulletin.csv"')
        english = cli("preview", EXAMPLE_RELEASE, "-c", "newsletter")
        assert "newsletter — email — 1,500 deliveries — due" in english.output, english.output
        assert "… and 1,497 more deliveries like these" in english.output
