"""Maildir delivery, DKIM, and the command line: dry-run outbox and a real `send` of the example."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
import re
from pathlib import Path

import dkim
import pytest
import time_machine

from conftest import EXAMPLE_RELEASE
from email_servers import smtp_server
from email_support import KEY, adapter_for, add_table, parse, rsa_key, set_keys, smtp_channel


@pytest.fixture(autouse=True)
def unsubscribe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)


def test_maildir_delivery_is_readable_by_mailbox(workspace: Path) -> None:
    adapter, channel, deliveries = adapter_for(workspace, "newsletter")
    outcomes = list(adapter.deliver_many(iter(deliveries), channel))
    assert all(o.receipt is not None for o in outcomes)
    folder = workspace / "maildir" / "newsletter"
    assert not any((folder / "tmp").iterdir()), "tmp/ is empty once every message is renamed into new/"
    box = mailbox.Maildir(folder, create=False)
    assert len(box) == 4
    stored = {box[key]["Message-ID"]: box.get_file(key).read() for key in box.iterkeys()}
    for o in outcomes:
        assert o.receipt.url.startswith("file://") and Path(o.receipt.url[7:]).is_file()
        # Maildir files use the local line end; otherwise byte for byte the rendered message.
        assert stored[o.delivery.meta["message_id"]].replace(b"\n", b"\r\n") == o.delivery.files[0].data


def test_the_readme_command_sends_the_example_with_no_credentials(
    workspace: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UNSUBSCRIBE_KEY")
    result = cli("send", EXAMPLE_RELEASE, "--late")  # as in the README: the example is dated 2025-06-30
    assert result.exit_code == 0, result.output + result.stderr
    assert len(mailbox.Maildir(workspace / "maildir" / "newsletter", create=False)) == 4
    assert len(mailbox.Maildir(workspace / "maildir" / "press-list", create=False)) == 3
    again = cli("send", EXAMPLE_RELEASE, "--late")
    assert again.exit_code in (0, 4)
    assert len(mailbox.Maildir(workspace / "maildir" / "newsletter", create=False)) == 4, "never twice"


def test_dry_run_writes_eml_files_and_manifest_byte_identical_twice(workspace: Path, cli) -> None:
    first = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out1")
    second = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out2")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + first.stderr
    one = {p.relative_to(workspace / "out1"): p.read_bytes() for p in (workspace / "out1").rglob("*") if p.is_file()}
    two = {p.relative_to(workspace / "out2"): p.read_bytes() for p in (workspace / "out2").rglob("*") if p.is_file()}
    assert one == two
    manifest = json.loads(one[Path("manifest.json")])
    mails = [d for d in manifest["deliveries"] if d["adapter"] == "email"]
    assert len(mails) == 7
    for entry in mails:
        (name,) = entry["files"]
        assert re.fullmatch(rf"{entry['channel']}/\d{{6}}-{re.escape(entry['target'])}\.eml", name)
        assert entry["key"] == f"2025-06-30-nato-summit-brief/{entry['channel']}/{entry['target']}/message"
        message = parse(one[Path(name)])
        assert message["To"].addresses[0].addr_spec == entry["target"]
    assert not list((workspace / "maildir").glob("*/new/*")) if (workspace / "maildir").exists() else True
    everything = b"".join(one.values())
    assert KEY.encode() not in everything, "the unsubscribe key never reaches a payload"


def test_dry_run_without_the_key_notes_it_and_uses_placeholders(
    workspace: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UNSUBSCRIBE_KEY")
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out", "-c", "newsletter")
    assert result.exit_code == 0
    assert "UNSUBSCRIBE_KEY" in result.stderr and "placeholder" in result.stderr
    eml = next((workspace / "out" / "newsletter").glob("*.eml")).read_bytes()
    assert b"token=KEY-NOT-SET-" in eml


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers(workspace: Path) -> None:
    private, public = rsa_key(workspace / "keys")
    with smtp_server(pipelining=True) as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        add_table(workspace, "newsletter", f'[dkim]\nselector = "news2025"\nprivate_key = "{private}"')
        adapter, channel, deliveries = adapter_for(workspace, "newsletter")
        assert all(o.error is None for o in adapter.deliver_many(iter(deliveries), channel))
        adapter.close()
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:  # the DNS edge: the selector's TXT record
        asked.append(name)
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert len(sink.messages) == 4
    for _, _, data in sink.messages:
        assert dkim.verify(data, dnsfunc=dns)
        signature = parse(data)["DKIM-Signature"]
        signed = re.search(r"h=([^;]+)", re.sub(r"\s+", "", str(signature))).group(1).lower().split(":")
        for header in (
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ):
            assert header in signed
        assert "d=asaninst.org" in str(signature) and "s=news2025" in str(signature)
        forged = data.replace(
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Nothing"
        )
        assert not dkim.verify(forged, dnsfunc=dns), "changing a signed unsubscribe header breaks the signature"
    assert set(asked) == {b"news2025._domainkey.asaninst.org."}


PUBLISH = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # the example's publish_at


def test_dry_run_eml_is_byte_for_byte_the_signed_message_a_real_send_transmits(workspace: Path, cli) -> None:
    private, public = rsa_key(workspace / "keys")
    with smtp_server() as sink:
        smtp_channel(workspace, "newsletter", sink.port)
        add_table(workspace, "newsletter", f'[dkim]\nselector = "news2025"\nprivate_key = "{private}"')
        # The dry-run and the schedule a day early, the send 7 minutes late: t= is the due time, not the clock.
        with time_machine.travel(PUBLISH - dt.timedelta(days=1), tick=False):
            dry = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", "out")
            assert dry.exit_code == 0, dry.output + dry.stderr
            booked = cli("schedule", EXAMPLE_RELEASE, "-c", "newsletter")
            assert booked.exit_code == 0, booked.output + booked.stderr
        with time_machine.travel(PUBLISH + dt.timedelta(minutes=7), tick=False):
            sent = cli("send", "--due")
            assert sent.exit_code == 0, sent.output + sent.stderr

            def dns(name: bytes, timeout: int = 5) -> bytes:
                assert name == b"news2025._domainkey.asaninst.org."
                return f"v=DKIM1; k=rsa; p={public}".encode()

            outbox = {
                parse(p.read_bytes())["To"].addresses[0].addr_spec: p.read_bytes()
                for p in (workspace / "out" / "newsletter").glob("*.eml")
            }
            assert len(outbox) == len(sink.messages) == 4
            for _, (rcpt,), data in sink.messages:
                eml = outbox[rcpt]
                assert eml.startswith(b"DKIM-Signature: "), "the outbox holds the message as signed"
                assert dkim.verify(eml, dnsfunc=dns)
                assert re.search(rb"\bt=(\d+);", eml).group(1) == str(int(PUBLISH.timestamp())).encode()
                received = data if eml.endswith(b"\r\n") else data.removesuffix(b"\r\n")  # SMTP ends DATA on a line
                assert received == eml, "a real send transmits exactly the dry-run's bytes"


def test_dry_run_for_a_json_esp_keeps_the_message_unsigned_as_the_esp_reads_it(workspace: Path, cli) -> None:
    private, _ = rsa_key(workspace / "keys")
    set_keys(workspace, "newsletter", 'transport = "postmark"')
    add_table(workspace, "newsletter", '[postmark]\ntoken = { env = "POSTMARK_TOKEN" }')
    add_table(workspace, "newsletter", f'[dkim]\nselector = "news2025"\nprivate_key = "{private}"')
    result = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", "out")
    assert result.exit_code == 0, result.output + result.stderr
    emls = list((workspace / "out" / "newsletter").glob("*.eml"))
    assert len(emls) == 4 and not any(b"DKIM-Signature" in p.read_bytes() for p in emls)


def test_dkim_key_that_is_missing_is_reported_and_blocks_sending(workspace: Path) -> None:
    add_table(workspace, "newsletter", '[dkim]\nselector = "news2025"\nprivate_key = "keys/none.pem"')
    adapter, channel, deliveries = adapter_for(workspace, "newsletter")
    assert any("keys/none.pem (not found)" in n for n in adapter.missing(channel))
    outcomes = list(adapter.deliver_many(iter(deliveries), channel))
    assert all(o.error is not None and not o.error.retryable and "DKIM private key" in str(o.error) for o in outcomes)


def test_preview_shows_headers_text_html_and_checks(workspace: Path) -> None:
    adapter, channel, deliveries = adapter_for(workspace, "newsletter")
    blocks = adapter.preview(deliveries[:2], channel)
    assert len(blocks) == 2
    block = blocks[0]
    assert block.title.startswith("to Jane Smith <jane.smith@example.com>")  # the English readers come first
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in block.text and "Dear Jane Smith," in block.text
    assert block.html.startswith("<!DOCTYPE html>")
    checks = {c.label: c for c in block.checks}
    assert all(c.ok for c in block.checks), [c for c in block.checks if not c.ok]
    assert checks["List-Unsubscribe (RFC 8058)"].value == "one-click"
    assert checks["unsubscribe link in every body"].value == "yes"
    assert checks["recipients"].value == 4 and "1 duplicate sent once, 1 suppressed" in checks["recipients"].note
