"""Maildir delivery, DKIM, and the command line: dry-run outbox and a real `send` of the example."""

from __future__ import annotations

import json
import mailbox
import re
from pathlib import Path

import dkim
import pytest

from conftest import EXAMPLE_RELEASE
from email_servers import smtp_server
from email_support import KEY, adapter_for, add_table, parse, rsa_key, smtp_channel


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
    cli,  # type: ignore[no-untyped-def]
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


def test_dry_run_writes_eml_files_and_manifest_byte_identical_twice(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
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
    cli,  # type: ignore[no-untyped-def]
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
    assert block.title.startswith("to 김민지 <kim.minji@example.org>")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in block.text and "Dear 김민지," in block.text
    assert block.html.startswith("<!DOCTYPE html>")
    checks = {c.label: c for c in block.checks}
    assert all(c.ok for c in block.checks), [c for c in block.checks if not c.ok]
    assert checks["List-Unsubscribe (RFC 8058)"].value == "one-click"
    assert checks["unsubscribe link in every body"].value == "yes"
    assert checks["recipients"].value == 4 and "1 duplicates sent once, 1 suppressed" in checks["recipients"].note
