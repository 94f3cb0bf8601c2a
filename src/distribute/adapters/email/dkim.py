"""DKIM signatures (RFC 6376) with dkimpy, added at delivery: the key is read then, never at render."""

from __future__ import annotations

from pathlib import Path

from ...errors import DeliveryError


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

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front."""
        import dkim

        head = message.split(b"\r\n\r\n", 1)[0].lower()
        # Sign only headers the message has; an absent one signed would be "oversigned", on purpose or not.
        present = [h for h in self.headers if head.startswith(h.lower() + b":") or b"\r\n" + h.lower() + b":" in head]
        try:
            signature = dkim.sign(
                message,
                self.selector,
                self.domain,
                self.key,
                include_headers=present,
                canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=self.algorithm,
            )
        except dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing failed: {exc}; check [dkim] private_key", retryable=False) from None
        return signature + message


def _raw_ed25519(key: bytes) -> bool:
    # dkimpy takes an Ed25519 key as the base64 of its 32 raw bytes, not PEM.
    return b"-----BEGIN" not in key and len(key.strip()) == 44
