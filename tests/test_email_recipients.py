"""Recipient lists: streamed CSV, addresses checked, bad rows reported and skipped, duplicates, suppression."""

from __future__ import annotations

import datetime as dt
import logging
import tracemalloc
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE
from distribute.adapters.email.recipients import ListReport, load_suppression, read_recipients
from distribute.adapters.email.seen import AddressSet
from distribute.errors import ConfigError
from email_support import KEY, distribute, parse, render, set_keys, write_list


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


MESSY = """\ufeffE-mail,Name,Organization
good@example.org,Good Person,Org A
not-an-address,Broken,Org B
,No Address,Org C
"multi@example.org","Multi
Line Name",Org D
ünïcode@example.org,Needs SMTPUTF8,
idn@bücher.example.com,IDN Domain,
GOOD@Example.ORG,Duplicate In Capitals,Org E
spaced@example.org ,  Trimmed  ,

last@example.org,Last,
"""


def test_bad_rows_are_reported_by_line_and_skipped_the_rest_goes_out(
    workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "messy.csv", MESSY)}"')
    with caplog.at_level(logging.WARNING, logger="distribute.email"):
        ws, channel, deliveries = render(workspace, "newsletter")
    assert [d.target for d in deliveries] == [
        "good@example.org",
        "multi@example.org",
        "idn@xn--bcher-kva.example.com",
        "spaced@example.org",
        "last@example.org",
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("lists/messy.csv:3: 'not-an-address' is not a valid address") for m in logged), logged
    assert any(m.startswith("lists/messy.csv:4: no email address") for m in logged)
    assert any(m.startswith("lists/messy.csv:7: 'ünïcode@example.org'") for m in logged), (
        "line numbers count the multi-line row"
    )
    names = {d.target: parse(d.files[0].data)["To"].addresses[0].display_name for d in deliveries}
    assert names["multi@example.org"] == "Multi Line Name", "a line break in a name never reaches a header"
    assert names["good@example.org"] == "Good Person", "the first of two duplicates wins"
    assert names["spaced@example.org"] == "Trimmed"


def test_every_render_reports_the_bad_rows_of_its_list(workspace: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Not once per process: a second render (another command in the same process, a test run after
    # another one) reads the list afresh and says what is wrong with it again.
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "messy.csv", MESSY)}"')
    for attempt in (1, 2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="distribute.email"):
            render(workspace, "newsletter")
        logged = [r.getMessage() for r in caplog.records]
        assert any(m.startswith("lists/messy.csv:3: 'not-an-address'") for m in logged), (attempt, logged)


def test_preview_counts_the_whole_list(workspace: Path) -> None:
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "messy.csv", MESSY)}"')
    ws, channel, deliveries = render(workspace, "newsletter")
    (block,) = ws.adapter(channel).preview(deliveries[:1], channel)
    check = next(c for c in block.checks if c.label == "recipients")
    assert check.value == 5 and check.ok
    assert "3 bad rows skipped, 1 duplicate sent once" in check.note and "messy.csv:3" in check.note


def test_duplicates_are_case_insensitive_and_suppression_is_honoured(workspace: Path) -> None:
    rows = "email,name\nA@example.org,A\nb@example.org,B\na@EXAMPLE.org,A again\nc@example.org,C\nd@example.org,D\n"
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "dups.csv", rows)}"')
    # One address a line (with a comment), compared without regard to case.
    suppression = write_list(workspace, "gone.txt", "# bounced or unsubscribed\nB@Example.org\nd@example.org\n")
    set_keys(workspace, "newsletter", f'suppression = "{suppression}"')
    _, _, deliveries = render(workspace, "newsletter")
    assert [d.target for d in deliveries] == ["a@example.org", "c@example.org"]
    report = ListReport()
    list(read_recipients(workspace / "lists" / "dups.csv", load_suppression(workspace / suppression), report))
    assert (report.rows, report.accepted, report.duplicates, report.suppressed, report.bad) == (5, 2, 1, 2, 0)


def test_suppression_as_csv_with_an_email_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("reason,email\nbounced,X@example.org\nunsubscribed,y@example.org\n", encoding="utf-8")
    found = load_suppression(path)
    assert "x@example.org" in found and "y@example.org" in found and "reason" not in found and len(found) == 2


def test_a_list_without_an_email_column_or_file_is_a_clear_error(workspace: Path) -> None:
    listed = write_list(workspace, "bad.csv", "name,address\nA,a@x.org\n")
    set_keys(workspace, "newsletter", f'recipients = "{listed}"')
    with pytest.raises(
        ConfigError, match=r"^lists/bad\.csv:1: the header line has no email column \(found: name, address\)"
    ):
        render(workspace, "newsletter")
    set_keys(workspace, "newsletter", 'recipients = "lists/nowhere.csv"')
    with pytest.raises(ConfigError, match="nowhere.csv does not exist"):
        render(workspace, "newsletter")
    ws, channel, _ = render(workspace, "press-list")
    newsletter = ws.channels["newsletter"]
    assert any("nowhere.csv (not found)" in n for n in ws.adapter(newsletter).missing(newsletter))


def test_address_sets_are_exact() -> None:
    with AddressSet() as found:
        assert all(found.add(f"user{i}@example.org") for i in range(20_000))
        assert not any(found.add(f"user{i}@example.org") for i in range(0, 20_000, 7))
        assert len(found) == 20_000 and "user19999@example.org" in found and "user7@example.org" in found
        assert "nobody@example.org" not in found


def test_two_addresses_are_never_taken_for_one_even_if_they_hash_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 64-bit fingerprint collision (forced here: a real one takes ~2^32 addresses to find) used
    # to drop the second recipient silently. The set compares whole addresses, so it cannot.
    from distribute.adapters.email import seen

    monkeypatch.setattr(seen, "fingerprint", lambda key: 42, raising=False)
    with AddressSet() as found:
        assert found.add("alice@example.org") and found.add("bob@example.org")
        assert not found.add("alice@example.org")
        assert "bob@example.org" in found and "carol@example.org" not in found and len(found) == 2


@pytest.mark.parametrize("bits", [64, 1 << 16, 1 << 24])
def test_address_sets_stay_exact_whatever_their_filter_says(bits: int) -> None:
    # The Bloom filter in front of the table only says "certainly new" or "maybe": a tiny one says
    # "maybe" for nearly every address, and every answer must still be exact, across the batches
    # written to the table (a few thousand at a time) and those still in memory.
    import random

    rng = random.Random(bits)
    pool = [f"user{i}@example.org" for i in range(12_000)]
    expected: set[str] = set()
    with AddressSet(bits) as found:
        for i in range(30_000):
            key = rng.choice(pool)
            assert found.add(key) == (key not in expected), (i, key)
            expected.add(key)
            probe = rng.choice(pool) if i % 3 else f"other{i}@example.org"
            assert (probe in found) == (probe in expected), (i, probe)
        assert len(found) == len(expected)
        assert all(key in found for key in expected)


@pytest.mark.slow
def test_memory_stays_flat_in_the_length_of_the_list(workspace: Path) -> None:
    """Streaming 20,000 recipients costs about what streaming 2,000 does (no list, no messages kept)."""

    def peak(count: int) -> int:
        rows = "".join(f"reader{i}@example.org,Reader {i}\n" for i in range(count))
        listed = write_list(workspace, f"n{count}.csv", "email,name\n" + rows)
        set_keys(workspace, "newsletter", f'recipients = "{listed}"')
        from distribute.plan import plan
        from distribute.release import load_release
        from distribute.workspace.config import Workspace

        ws = Workspace(workspace / "config.toml")
        (p,) = plan(ws, load_release(workspace / "releases/2025-06-30-nato-summit-brief.md", ws), ["newsletter"])
        stream = p.deliveries()
        next(stream)  # templates compiled, message prepared: the fixed cost
        tracemalloc.start()
        seen = sum(1 for _ in stream)
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seen == count - 1
        return top

    small, large = peak(2_000), peak(20_000)
    # Duplicate checks live in a temporary SQLite file with a bounded cache: flat.
    assert large - small < 1_000_000, (small, large)


# Two labels of forty Hangul syllables: 98 characters in ASCII (IDNA), 244 bytes in UTF-8.
LONG_DOMAIN = ".".join(["xn--o39a" + "a" * 39] * 2) + ".kr"
SAME_DOMAINS = f"""email,name
reader@Example.org,First On The Domain
Info@Example.org,A Role Name
Sales.Desk@example.org,Not A Role Name
a@{LONG_DOMAIN},Short Enough
{"x" * 64}@{LONG_DOMAIN},Too Long In UTF-8
"""


def test_addresses_on_a_domain_met_before_are_what_email_validator_makes_of_them(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A domain email-validator accepted is kept (in-process and in the cache folder) to spare it the next
    address there: that address must still come out as email-validator writes it, or be refused as it is."""
    from email_validator import EmailNotValidError, validate_email

    expected, refused = [], []
    for line, row in enumerate(SAME_DOMAINS.splitlines()[1:], start=2):
        address = row.split(",")[0]
        try:
            expected.append(validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email)
        except EmailNotValidError as exc:
            refused.append(f"lists/same.csv:{line}: {address!r} is not a valid address ({exc}); skipped")
    assert "info@example.org" in expected and "Sales.Desk@example.org" in expected and len(refused) == 1
    set_keys(workspace, "newsletter", f'recipients = "{write_list(workspace, "same.csv", SAME_DOMAINS)}"')
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    now = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    for run in ("cold", "warm"):  # domains learned from the list itself, then from the cache folder
        out = workspace / f"out-{run}"
        done = distribute(
            workspace, now, "send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", str(out)
        )
        assert done.returncode == 0, done.stderr[-2000:]
        sent = sorted(parse(p.read_bytes())["To"].addresses[0].addr_spec for p in (out / "newsletter").glob("*.eml"))
        assert sent == sorted(expected), run
        assert refused[0] in done.stderr, (run, done.stderr[-2000:])
    assert list((tmp_path / "cache" / "distribute").glob("domains-*.json")), "the accepted domains were kept"


def test_the_mailbox_names_written_lower_case_are_email_validators() -> None:
    """text/addresses answers for email-validator on known domains; its copy of RFC 2142's names must be the same."""
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    from distribute.text.addresses import ROLE_NAMES

    assert set(CASE_INSENSITIVE_MAILBOX_NAMES) == ROLE_NAMES
