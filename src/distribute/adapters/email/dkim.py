"""DKIM signatures (RFC 6376) with dkimpy, added at delivery: the key is read then, never at render.

A signature is a function of the message, the key and its t= tag alone (RSA PKCS#1 v1.5 and
Ed25519 are deterministic), and t= is the message's due time (its Date), not the clock: so the
dry-run outbox carries the very signature a real send adds, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dkim  # type: ignore[import-untyped]  # dkimpy ships no types (no stubs, no py.typed)

from ...errors import DeliveryError


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

    def sign(self, message: bytes, when: dt.datetime) -> bytes:
        """The message with a DKIM-Signature header in front, timestamped (t=) `when`."""
        head = message.split(b"\r\n\r\n", 1)[0].lower()
        # Sign only headers the message has; an absent one signed would be "oversigned", on purpose or not.
        present = [h for h in self.headers if head.startswith(h.lower() + b":") or b"\r\n" + h.lower() + b":" in head]
        try:
            signer = _DueDKIM(message, signature_algorithm=self.algorithm)
            signer.timestamp = str(int(when.timestamp())).encode("ascii")
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


def _raw_ed25519(key: bytes) -> bool:
    # dkimpy takes an Ed25519 key as the base64 of its 32 raw bytes, not PEM.
    return b"-----BEGIN" not in key and len(key.strip()) == 44
