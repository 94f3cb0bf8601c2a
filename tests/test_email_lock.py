"""The email content lock: taken of the prepared pieces, checked at sending, and upgrades that keep their schedule.

`schedule` records, per message, a hash of the variant's pieces and the recipient's values as they
are without the unsubscribe key (adapters/email/prepared.content_lock), not of the joined message.
It must change with anything that changes the bytes (a list row, a template, config, the channel),
never with the key; and a release scheduled by an earlier version, whose rows hold the hash of the
whole message (files_sha256 of the file as rendered without the key), still sends as it is.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, ROOT, copy_example_workspace
from distribute.adapters.email.unsubscribe import PLACEHOLDER, verify
from email_support import bodies, parse, render, set_keys, write_list
from email_support import distribute as run_distribute

KEY = "k3y-for-the-lock-tests-0123456789"
PUBLISH = dt.datetime(2025, 6, 30, 0, 0, tzinfo=dt.timezone.utc)
BEFORE, AFTER = PUBLISH - dt.timedelta(days=1), PUBLISH + dt.timedelta(hours=2)
LIST_ID = "newsletter.asaninst.org"
GOLDEN = ROOT / "tests" / "golden" / "email" / "tricky-list.sha256"

# Names and columns that take every encoding path: RFC 2047 words, quoted phrases, quoted-printable
# soft breaks inside a value, "=" and a lone "." (which quoted-printable escapes), trailing spaces,
# HTML escapes in text and in attributes, no-break spaces, tabs, line breaks in a cell, an IDN domain.
TRICKY = '''\
e-mail,Name,Organization,language,notes
kim.minji@example.org,김민지,Korea Defense Daily,ko,
pat@example.org,"O'Brien, Pat",A & B <Co>,,
quote@example.org,"Dr. ""Quoted"" Name",=3D,en,n&a
nbsp@example.org,José\u00a0Núñez,. ,,"line1
line2"
long@example.org,{long_name},{long_org},,
dot@example.org,.,.,,
emoji@example.org,😀 Emoji ,trailing space ,,
tab@example.org,Tab\there,tab\t,,
encoded@example.org,=?utf-8?b?eA==?=,,,
UPPER@Example.ORG,Upper Case,,,
idn@bücher.example,Umlaut Domain,"x&y ""z""",ko-KR,
pat@EXAMPLE.org,Pat Again,,,
'''.format(long_name="Ἀριστοτέλης " * 9 + "x" * 40, long_org="Institute " * 9 + "=" * 5)


def distribute(ws: Path, now: dt.datetime, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    return run_distribute(ws, now, *args, key=key)  # with this file's key unless told otherwise


def whole_message_hash(name: str, data: bytes) -> str:
    """The hash an earlier version recorded: files_sha256 of the one file, written out here."""
    digest = hashlib.sha256()
    digest.update(len(name.encode()).to_bytes(4, "big") + name.encode())
    digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def make_workspace(tmp_path: Path) -> Path:
    ws = copy_example_workspace(tmp_path / "ws")
    set_keys(ws, "newsletter", f'recipients = "{write_list(ws, "tricky.csv", TRICKY)}"')
    return ws


def keyless_outbox(ws: Path) -> dict[str, tuple[str, bytes, str]]:
    """{key: (file name, bytes, manifest sha256)} of the newsletter as a dry-run writes it without the key."""
    out = ws / "outbox-keyless"
    done = distribute(
        ws, BEFORE, "send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", str(out), key=None
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    found = {}
    for entry in manifest["deliveries"]:
        (rel,) = entry["files"]
        found[entry["key"]] = (Path(rel).name, (out / rel).read_bytes(), entry["sha256"])
    return found


def rows(ws: Path) -> dict[str, str]:
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        return dict(db.execute("SELECT key, sha256 FROM deliveries WHERE channel = 'newsletter'").fetchall())


def set_hashes(ws: Path, hashes: dict[str, str]) -> None:
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        db.executemany("UPDATE deliveries SET sha256 = ? WHERE key = ?", [(h, k) for k, h in hashes.items()])


def states(ws: Path) -> dict[str, int]:
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())


def sent(ws: Path) -> list[email.message.EmailMessage]:
    folder = ws / "maildir" / "newsletter" / "new"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def test_schedule_records_the_pieces_lock_and_the_manifest_the_hash_of_the_files(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    outbox = keyless_outbox(ws)
    for name, data, shown in outbox.values():  # the manifest keeps its meaning: the file, unsigned, keyless
        assert shown == whole_message_hash(name, data)
        assert PLACEHOLDER.encode() in data
    done = distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter")
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = rows(ws)
    assert set(recorded) == set(outbox) and len(recorded) == 11  # 12 rows, one a duplicate
    # Booking hashed the pieces, not the whole message: no row holds the hash of its file.
    assert all(recorded[k] != whole_message_hash(n, d) for k, (n, d, _) in outbox.items())
    assert len(set(recorded.values())) == len(recorded)

    cron = distribute(ws, AFTER, "send", "--due")
    assert cron.returncode == 0, cron.stdout + cron.stderr
    messages = sent(ws)
    assert len(messages) == 11 and states(ws) == {"sent": 11}
    for message in messages:
        (link,) = [u for u in str(message["List-Unsubscribe"]).split(", ") if "token=" in u]
        token = link.rsplit("token=", 1)[1].rstrip(">")
        assert token != PLACEHOLDER and verify(KEY.encode(), LIST_ID, message["To"].addresses[0].addr_spec, token)


def test_a_release_scheduled_before_the_upgrade_sends_without_being_scheduled_again(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    outbox = keyless_outbox(ws)
    assert distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").returncode == 0
    # What the ledger of an earlier version holds: the hash of each whole message as rendered without the key.
    set_hashes(ws, {k: whole_message_hash(n, d) for k, (n, d, _) in outbox.items()})

    cron = distribute(ws, AFTER, "send", "--due")
    assert cron.returncode == 0, cron.stdout + cron.stderr
    assert "changed" not in cron.stdout + cron.stderr
    assert len(sent(ws)) == 11 and states(ws) == {"sent": 11}


def test_a_row_holding_neither_hash_is_refused_as_changed(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    outbox = keyless_outbox(ws)
    assert distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").returncode == 0
    first, other = list(outbox)[:2]  # the first to go (manifest order is the ledger's), and the next
    # Another message's whole hash is not this one's.
    set_hashes(ws, {first: whole_message_hash(*outbox[other][:2])})

    cron = distribute(ws, AFTER, "send", "--due")
    assert cron.returncode == 1, cron.stdout + cron.stderr
    assert f"changed since it was scheduled (channel newsletter, delivery {first})" in cron.stderr
    assert sent(ws) == [] and states(ws) == {"pending": 11}


EDITS = {
    "a list row's name": lambda ws: (ws / "lists" / "tricky.csv").write_text(
        TRICKY.replace("Upper Case", "Upper Cased"), encoding="utf-8"
    ),
    "a template": lambda ws: _template(ws),
    "config.toml": lambda ws: (ws / "config.toml").write_text(
        (ws / "config.toml").read_text(encoding="utf-8").replace("non-partisan", "nonpartisan", 1),
        encoding="utf-8",
    ),
    "the channel's subject": lambda ws: set_keys(ws, "newsletter", 'subject = "News: {{ release.title }}"'),
}


def _template(ws: Path) -> None:
    folder = ws / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "newsletter.txt.j2").write_text(
        '{% include "default:email/newsletter.txt.j2" %}\nP.S.\n', encoding="utf-8"
    )


@pytest.mark.parametrize("what", list(EDITS))
def test_what_changes_the_bytes_changes_the_lock(tmp_path: Path, what: str) -> None:
    ws = make_workspace(tmp_path)
    assert distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").returncode == 0
    EDITS[what](ws)
    cron = distribute(ws, AFTER, "send", "--due")
    assert "changed since it was scheduled" in cron.stderr, cron.stdout + cron.stderr
    if what == "a list row's name":  # caught at that row: the rows before it went, it did not
        assert (
            cron.returncode == 3
            and "delivery 2025-06-30-nato-summit-brief/newsletter/upper@example.org/" in cron.stderr
        )
        assert "upper@example.org" not in [m["To"].addresses[0].addr_spec.lower() for m in sent(ws)]
    else:
        assert cron.returncode == 1 and sent(ws) == []


def test_a_column_no_template_shows_changes_nothing_sent(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    assert distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter").returncode == 0
    # The notes column is in no template: filled in, emptied or edited, the messages stay the same.
    edited = TRICKY.replace(",=3D,en,n&a", ",=3D,en,").replace(
        'Umlaut Domain,"x&y ""z""",ko-KR,', 'Umlaut Domain,"x&y ""z""",ko-KR,new'
    )
    assert edited.count("\n") == TRICKY.count("\n") and edited != TRICKY
    (ws / "lists" / "tricky.csv").write_text(edited, encoding="utf-8")
    cron = distribute(ws, AFTER, "send", "--due")
    assert cron.returncode == 0, cron.stdout + cron.stderr
    assert len(sent(ws)) == 11


def test_the_lock_does_not_depend_on_the_key_or_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace(tmp_path)
    monkeypatch.chdir(ws)
    locks = []
    for key in (None, KEY, "another-key-entirely-0000000000000"):
        if key is None:
            monkeypatch.delenv("UNSUBSCRIBE_KEY", raising=False)
        else:
            monkeypatch.setenv("UNSUBSCRIBE_KEY", key)
        _, _, deliveries = render(ws, "newsletter")
        locks.append([(d.key, d.sha256) for d in deliveries])
    assert locks[0] == locks[1] == locks[2]


def test_every_message_of_a_tricky_list_is_the_one_an_earlier_version_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte, with and without the key, on both email channels: the digests were recorded by
    97c0820 (before the lock changed) with DISTRIBUTE_REGEN_GOLDEN=1."""
    ws = make_workspace(tmp_path)
    set_keys(ws, "press-list", 'recipients = "lists/tricky.csv"')
    monkeypatch.chdir(ws)
    lines = []
    for key in (None, KEY):
        if key is None:
            monkeypatch.delenv("UNSUBSCRIBE_KEY", raising=False)
        else:
            monkeypatch.setenv("UNSUBSCRIBE_KEY", key)
        for channel in ("newsletter", "press-list"):
            _, _, deliveries = render(ws, channel)
            for d in deliveries:
                digest = hashlib.sha256(d.files[0].data).hexdigest()
                lines.append(f"{channel} {'key' if key else 'keyless'} {d.files[0].name} {digest}")
    if os.environ.get("DISTRIBUTE_REGEN_GOLDEN") == "1":
        GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8").splitlines() == lines


def test_the_fill_in_of_a_tricky_list_reads_as_a_full_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace(tmp_path)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    _, _, fast = render(ws, "newsletter")
    folder = ws / "templates" / "email"
    folder.mkdir(parents=True)
    for kind in ("txt", "html"):  # comparing a value forces the full render of every message
        (folder / f"newsletter.{kind}.j2").write_text(
            '{% set probe = recipient.email == "" %}{% include "default:email/newsletter.' + kind + '.j2" %}',
            encoding="utf-8",
        )
    _, _, slow = render(ws, "newsletter")
    assert len(fast) == len(slow) == 11
    for a, b in zip(fast, slow, strict=True):
        ma, mb = parse(a.files[0].data), parse(b.files[0].data)
        assert bodies(ma) == bodies(mb)
        assert [(k, str(v)) for k, v in ma.items()] == [(k, str(v)) for k, v in mb.items()]


@pytest.mark.parametrize("languages", ['["en", "ko"]', '["ko", "en"]'])
def test_a_list_without_a_language_column_sends_each_reader_once_in_the_main_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, languages: str
) -> None:
    # Such a list is read only for the language an empty cell gives (and, when another language comes
    # first, once more for the bad-row report): either way every reader gets one message, in English.
    ws = make_workspace(tmp_path)
    plain = (
        "\n".join(
            ",".join(line.split(",")[:3])
            for line in ["email,name,organization"] + [f"reader{i}@example.org,Reader {i},Org {i}" for i in range(30)]
        )
        + "\n"
    )
    set_keys(ws, "newsletter", f'recipients = "{write_list(ws, "plain.csv", plain)}"\nlanguages = {languages}')
    monkeypatch.chdir(ws)
    _, _, deliveries = render(ws, "newsletter")
    assert sorted(d.target for d in deliveries) == sorted(f"reader{i}@example.org" for i in range(30))
    subjects = {str(parse(d.files[0].data)["Subject"]) for d in deliveries}
    assert subjects == {"Managing Decline? NATO's Uneasy Future After the 2025 Summit"}


def test_a_list_that_breaks_after_the_sample_is_refused_and_nothing_is_scheduled(tmp_path: Path) -> None:
    # schedule checks a sample of messages first, then reads the whole list as it books: a list that
    # is not UTF-8 further down is refused saying so (and after which line), and no row of it is live.
    ws = make_workspace(tmp_path)
    rows = "".join(f"reader{i}@example.org,Reader {i}\n" for i in range(3000))
    data = ("email,name\n" + rows).encode() + "late@example.org,Ren\xe9e\n".encode("latin-1")
    (ws / "lists" / "broken.csv").write_bytes(data)
    set_keys(ws, "newsletter", 'recipients = "lists/broken.csv"')
    done = distribute(ws, BEFORE, "schedule", EXAMPLE_RELEASE, "-c", "newsletter")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.fullmatch(
        r"error: lists/broken.csv: the recipient list is not UTF-8 text after line \d+; save it as UTF-8\n", done.stderr
    ), done.stderr
    with sqlite3.connect(ws / ".distribute" / "state.db") as db:
        assert db.execute("SELECT generation FROM ledger_releases").fetchall() == [(0,)]  # never made live
    assert distribute(ws, AFTER, "send", "--due").returncode == 4 and sent(ws) == []


def test_rows_staged_as_one_json_document_equal_those_staged_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite a batch of rows goes in as one JSON document (one statement, run without the GIL); an
    # SQLite without JSON gets them row by row (executemany). Both write the same rows, sent ones kept.
    import time_machine

    from distribute.ledger import store
    from ledger_support import invoke, ledger_rows

    def scheduled(json_stage: bool) -> list[dict[str, object]]:
        ws = make_workspace(tmp_path / ("json" if json_stage else "rows"))
        monkeypatch.setattr(store, "_JSON_STAGE", json_stage)
        monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
        with time_machine.travel(BEFORE, tick=False):
            assert invoke(ws, "schedule", EXAMPLE_RELEASE).exit_code == 0
            with sqlite3.connect(ws / ".distribute" / "state.db") as db:  # one sent before scheduling again
                db.execute("UPDATE deliveries SET state = 'sent', sha256 = 'x' WHERE seq = 0")
            assert invoke(ws, "schedule", EXAMPLE_RELEASE).exit_code == 0
        return [{k: v for k, v in row.items() if k != "id"} for row in ledger_rows(ws)]

    by_json, by_rows = scheduled(True), scheduled(False)
    assert by_json == by_rows and len(by_json) > 11
    kept = [r for r in by_json if r["seq"] == 0]
    assert kept and all(r["state"] == "sent" and r["sha256"] == "x" for r in kept)
    assert all(r["state"] == "pending" and r["sha256"] != "x" for r in by_json if r["seq"] != 0)
