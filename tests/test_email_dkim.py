"""DKIM at speed: RSA by OpenSSL (the `cryptography` package), the header dkimpy itself would write.

Every signature is checked with dkimpy's `dkim.verify`, and compared byte for byte with the one
dkimpy's own `dkim.sign` makes for the same message, key and t= (its clock pinned by time-machine).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tempfile
from pathlib import Path

import dkim
import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE_RELEASE
from distribute.adapters.email.dkim import Signer
from email_support import KEY, add_table, parse, rsa_key

WHEN = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "MIME-Version", "Content-Type"]


@functools.cache
def key() -> tuple[Path, str]:
    """One RSA-2048 key for the whole module (openssl, as a user makes it)."""
    return rsa_key(Path(tempfile.mkdtemp(prefix="dkim-test-")))


def dns_for(public: str):  # type: ignore[no-untyped-def]
    def dns(name: bytes, timeout: int = 5) -> bytes:  # the DNS edge: the selector's TXT record
        assert name == b"news2025._domainkey.asaninst.org."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    return dns


def dkimpy_signature(message: bytes, private: Path, present: list[str]) -> bytes:
    """dkimpy's own signature of the message, its clock at WHEN: what distribute signed with before."""
    with time_machine.travel(WHEN, tick=False):
        return dkim.sign(
            message,
            b"news2025",
            b"asaninst.org",
            private.read_bytes(),
            include_headers=[h.encode() for h in present],
            canonicalize=(b"relaxed", b"relaxed"),
        )


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=90)
_blanks = st.sampled_from(["", " ", "  ", "\t", " \t "])
_line = st.builds(lambda a, t, b: a + t + b, _blanks, _text, _blanks)


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A message of many shapes: folded and non-ASCII headers, odd blanks, long lines, an empty body."""
    subject = draw(_text)
    folded = draw(st.booleans())
    head = [
        "From: Asan Institute <news@asaninst.org>",
        "To: " + draw(st.sampled_from(["jane@example.org", '"김민지" <minji@example.kr>', "a@b.example"])),
        # Raw UTF-8 (RFC 6532) or folded at a blank, as a long encoded Subject is.
        "Subject: " + (subject.replace(" ", "\r\n ", 1) if folded and " " in subject else subject),
        "Date: Mon, 30 Jun 2025 09:00:00 +0900",
        "Message-ID: <" + draw(st.from_regex(r"[a-z0-9]{1,40}", fullmatch=True)) + "@asaninst.org>",
    ]
    if draw(st.booleans()):
        head.append("List-Unsubscribe:" + draw(_blanks) + " <https://asaninst.org/u?x=1>,\r\n\t<mailto:u@asaninst.org>")
    if draw(st.booleans()):
        head.append("X-Extra: not signed" + draw(_blanks))
    head += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"']
    lines = draw(st.lists(st.one_of(_line, st.just(""), st.text("x ", min_size=900, max_size=1200)), max_size=8))
    body = "\r\n".join(lines) + draw(st.sampled_from(["", "\r\n", "\r\n\r\n\r\n"]))
    if draw(st.booleans()):
        body = body.replace("\r\n", "\n", 1)  # a bare LF slipped in
    message = ("\r\n".join(head) + "\r\n\r\n" + body).encode("utf-8")
    present = [h for h in HEADERS if h != "List-Unsubscribe" or any(x.startswith("List-Unsubscribe:") for x in head)]
    return message, present


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_our_signature_verifies_and_is_byte_equal_to_dkimpys(case: tuple[bytes, list[str]]) -> None:
    message, present = case
    private, public = key()
    signed = Signer("news2025", "asaninst.org", private, HEADERS).sign(message, WHEN)
    assert signed.endswith(message)
    assert dkim.verify(signed, dnsfunc=dns_for(public)), signed[:800]
    assert signed == dkimpy_signature(message, private, present) + message


@pytest.fixture
def signed_newsletter(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    return workspace


def test_a_dkim_key_saved_with_windows_line_ends_signs_the_outbox(signed_newsletter: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """A PEM key edited on Windows (CRLF) is read by OpenSSL; dkimpy alone found no key in it."""
    workspace = signed_newsletter
    private, public = rsa_key(workspace / "keys")
    private.write_bytes(private.read_bytes().replace(b"\n", b"\r\n"))
    add_table(workspace, "newsletter", f'[dkim]\nselector = "news2025"\nprivate_key = "{private}"')
    result = cli("send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", "out")
    assert result.exit_code == 0, result.output + result.stderr
    emls = sorted((workspace / "out" / "newsletter").glob("*.eml"))
    assert len(emls) == 4
    unix_key = workspace / "keys" / "unix.pem"
    unix_key.write_bytes(private.read_bytes().replace(b"\r\n", b"\n"))
    for path in emls:
        eml = path.read_bytes()
        assert eml.startswith(b"DKIM-Signature: ") and dkim.verify(eml, dnsfunc=dns_for(public))
        assert re.search(rb"\bt=(\d+);", eml).group(1) == str(int(WHEN.timestamp())).encode(), "t= is the due time"
        message = eml.split(b"\r\n", 1)[1]
        while message.startswith((b" ", b"\t")):  # the rest of the folded DKIM-Signature
            message = message.split(b"\r\n", 1)[1]
        present = [h for h in HEADERS + ["Reply-To", "List-Id", "List-Unsubscribe-Post"] if parse(message)[h]]
        order = [h for h in _configured() if h in present]
        assert eml == dkimpy_signature(message, unix_key, order) + message


def _configured() -> list[str]:
    from distribute.adapters.email.settings import DkimSettings

    return list(DkimSettings().headers)
