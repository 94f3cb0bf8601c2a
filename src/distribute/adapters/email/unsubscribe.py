"""One-click unsubscribe (RFC 8058): per-recipient URLs carrying an HMAC token, and their check.

The token is HMAC-SHA256(key, "<list id>\\n<address lower-cased>"), cut to 128 bits and written
in base64url (22 characters): unguessable without the key, and checkable by the web endpoint
that receives the one-click POST with `verify()` and nothing but the key, the list and the address.
"""

from __future__ import annotations

import base64
import hmac
import re
from urllib.parse import quote

# Stands in for the token when the key is not set (dry-run, preview): same length and alphabet,
# so everything else about the message is exactly what would be sent.
PLACEHOLDER = "KEY-NOT-SET-0000000000"
TOKEN_LENGTH = 22
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~@-]*")  # what quote(address, safe="@") leaves as it is


def token(key: bytes, list_id: str, address: str) -> str:
    """The unsubscribe token of one address on one list."""
    mac = hmac.digest(key, f"{list_id}\n{address.lower()}".encode(), "sha256")[:16]  # one-shot: OpenSSL's, quick
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def verify(key: bytes, list_id: str, address: str, candidate: str) -> bool:
    """Whether `candidate` is the token of that address on that list (constant time)."""
    return hmac.compare_digest(token(key, list_id, address), candidate)


def url(template: str, list_id: str, address: str, value: str) -> str:
    """The unsubscribe URL from the channel's template: {email}, {token} and {list} filled in."""
    if "{list}" in template:
        template = template.replace("{list}", quote(list_id, safe=""))
    # Most addresses hold nothing quote() would escape: asked once a message, it is worth the look.
    email = address if _URL_SAFE.fullmatch(address) else quote(address, safe="@")
    return template.replace("{email}", email).replace("{token}", value)


def mailto(address: str, list_id: str) -> str:
    """A mailto: unsubscribe URI (RFC 2369); the address itself belongs to the list."""
    return f"mailto:{address}?subject=unsubscribe"
