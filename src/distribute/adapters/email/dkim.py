"""DKIM signatures (RFC 6376), added at delivery: the key is read then, never at render.

A signature is a function of the message, the key and its t= tag alone (RSA PKCS#1 v1.5 and
Ed25519 are deterministic), and t= is the message's due time (its Date), not the clock: so the
dry-run outbox carries the very signature a real send adds, byte for byte.

RSA keys sign through the `cryptography` package (OpenSSL): dkimpy's own RSA is pure Python
(about 8 ms a message with a 2048-bit key, 30 times OpenSSL's 0.25 ms). Everything else is
dkimpy's: message parsing, relaxed canonicalisation (its functions; the body's regex passes
run only where they change something), header selection and hashing, folding, in
the order its DKIM.sign does them, so the header is byte-equal to the one dkimpy writes for the
same key and t= (tests/test_email_dkim.py holds it to that and to dkim.verify). The key is
loaded once per channel and process. Ed25519 keys, and a key OpenSSL cannot read as RSA, keep
dkimpy's whole path (and its error message).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import dkim  # type: ignore[import-untyped]  # dkimpy ships no types (no stubs, no py.typed)
from dkim import canonicalization

from ...errors import DeliveryError

_NAME = b"DKIM-Signature"
_RELAXED = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")


class _DueDKIM(dkim.DKIM):  # type: ignore[misc]
    """dkimpy's signer with the t= tag given, not read from time.time()."""

    timestamp: bytes = b""

    def gen_header(self, fields: Any, *args: Any, **kwargs: Any) -> Any:
        # dkimpy builds the tag list (t= from the clock) and hands it here to fold, hash and sign.
        fields = [(k, self.timestamp) if k == b"t" else (k, v) for k, v in fields]
        return super().gen_header(fields, *args, **kwargs)


class Signer:
    """Signs messages for one channel: relaxed/relaxed, the configured headers (those present)."""

    def __init__(self, selector: str, domain: str, key_file: Path, headers: list[str]):
        try:
            self.key = key_file.read_bytes()
        except OSError as exc:
            raise DeliveryError(
                f"DKIM private key {key_file}: {exc.strerror}; fix [dkim] private_key", retryable=False
            ) from None
        self.selector, self.domain = selector.encode("ascii"), domain.encode("ascii")
        self.headers = [h.encode("ascii") for h in headers]
        self.algorithm = b"ed25519-sha256" if _raw_ed25519(self.key) else b"rsa-sha256"
        self._rsa = _rsa_key(self.key) if self.algorithm == b"rsa-sha256" else None
        if {h.lower() for h in self.headers} & set(dkim.DKIM.SHOULD_NOT):
            self._rsa = None  # dkimpy refuses to sign those, and says so

    def sign(self, message: bytes, when: dt.datetime) -> bytes:
        """The message with a DKIM-Signature header in front, timestamped (t=) `when`."""
        head = message.split(b"\r\n\r\n", 1)[0].lower()
        # Sign only headers the message has; an absent one signed would be "oversigned", on purpose or not.
        present = [h for h in self.headers if head.startswith(h.lower() + b":") or b"\r\n" + h.lower() + b":" in head]
        timestamp = str(int(when.timestamp())).encode("ascii")
        try:
            if self._rsa is not None:
                return self._sign_rsa(message, present, timestamp) + message
            signer = _DueDKIM(message, signature_algorithm=self.algorithm)
            signer.timestamp = timestamp
            signature: bytes = signer.sign(
                self.selector,
                self.domain,
                self.key,
                include_headers=present,
                canonicalize=(b"relaxed", b"relaxed"),
            )
        except dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing failed: {exc}; check [dkim] private_key", retryable=False) from None
        return signature + message

    def _sign_rsa(self, message: bytes, present: list[bytes], timestamp: bytes) -> bytes:
        """dkimpy's DKIM.sign + gen_header for rsa-sha256 relaxed/relaxed, with OpenSSL doing the RSA step."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, utils

        headers, body = _parse(message)
        include = tuple(h.lower() for h in present)
        if b"from" not in include:
            raise dkim.ParameterError("The From header field MUST be signed")
        body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", _RELAXED.to_c_value()),
            (b"d", self.domain),
            (b"i", b"@" + self.domain),
            (b"q", b"dns/txt"),
            (b"s", self.selector),
            (b"t", timestamp),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
            # dkimpy's placeholder: it makes b= fold onto a line of its own, so filling it in refolds nothing else.
            (b"b", b"0" * 60),
        ]
        value = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME), linesep=b"\r\n")
        value = dkim.RE_BTAG.sub(b"\\1", value)
        digest = hashlib.sha256()
        dkim.hash_headers(digest, _RELAXED, _RELAXED.canonicalize_headers(headers), include, (_NAME, b" " + value), {})
        assert self._rsa is not None
        signature = self._rsa.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        fields[-1] = (b"b", base64.b64encode(signature))
        value = b"; ".join(b"=".join(f) for f in fields) + b"\r\n"
        folded: bytes = dkim.fold(value, namelen=len(_NAME), linesep=b"\r\n")
        return _NAME + b": " + folded


def _parse(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """dkim.rfc822_parse(message): the same headers and body, without splitting and re-joining a CRLF body."""
    if message.count(b"\n") != message.count(b"\r\n"):
        parsed: tuple[list[list[bytes]], bytes] = dkim.rfc822_parse(message)  # bare LFs: dkimpy makes them CRLF
        return parsed
    head, _, body = message.partition(b"\r\n\r\n")
    headers: list[list[bytes]] = dkim.rfc822_parse(head)[0]
    return headers, body


def _relaxed_body(body: bytes) -> bytes:
    """dkimpy's relaxed body canonicalisation, byte for byte, skipping each regex pass that would change nothing.

    Its passes (trailing blanks, then runs of blanks to one space) rescan every space of the body;
    a newsletter rarely has a blank before a line break, a tab or two spaces in a row.
    """
    if b" \r\n" in body or b"\t\r\n" in body:
        body = canonicalization.strip_trailing_whitespace(body)
    if b"\t" in body or b"  " in body:
        body = canonicalization.compress_whitespace(body)
    done: bytes = canonicalization.correct_empty_body(canonicalization.strip_trailing_lines(body))
    return done


def _rsa_key(key: bytes) -> Any:
    """The PEM key as OpenSSL's RSA key, or None (then dkimpy reads it, and names what is wrong)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        loaded = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        return None
    return loaded if isinstance(loaded, rsa.RSAPrivateKey) else None


def _raw_ed25519(key: bytes) -> bool:
    # dkimpy takes an Ed25519 key as the base64 of its 32 raw bytes, not PEM.
    return b"-----BEGIN" not in key and len(key.strip()) == 44
