"""Email addresses checked the one way: email-validator (no DNS), with what it said of a domain kept between runs.

email-validator compiles five wide regular expressions when it is imported, about a tenth of a
cold `preview` or `validate`, and almost all of its work on an address is in the domain (IDNA).
A plain ASCII address (an RFC 5322 dot-atom before the @) on a domain it has already accepted
is therefore answered here, with exactly the checks and the result email-validator would give:
the lengths it measures, and the RFC 2142 mailbox names it lower-cases. The domains it accepted
are kept in the user's cache folder (`$XDG_CACHE_HOME/distribute/domains-*.json`, in a name that
carries this file's, email-validator's and Python's versions), so a run whose addresses are all on
known domains never imports it. Anything else, and every refusal, is email-validator's own answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# Before the @: the ASCII characters RFC 5322 §3.2.3 allows (email-validator's ATEXT), in dot-separated
# runs; after it, a name of ASCII letters, digits, dots and hyphens (its IDNA check decides the rest).
_PLAIN = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)")
# Mailbox names RFC 2142 makes case-insensitive: email-validator writes them lower-case.
ROLE_NAMES = frozenset(
    ["info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster"]
    + ["usenet", "news", "webmaster", "www", "uucp", "ftp"]
)
MAX_LENGTH = 254  # octets of a whole address (RFC 5321 §4.5.3.1.3, as email-validator checks it)
KEPT = 2_000  # domains kept between runs (a run learns more, up to MEMORY, but saves only these)
MEMORY = 10_000

# The domain as written -> (its ASCII form, its Unicode form), as email-validator gave them.
_domains: dict[str, tuple[str, str]] | None = None
_learned: dict[str, tuple[str, str]] = {}


def check(value: str, *, smtputf8: bool = True) -> str:
    """The address as it is sent (its ASCII form with `smtputf8=False`); ValueError says what is wrong with it."""
    plain = _PLAIN.fullmatch(value)
    if plain is not None:
        local, given = plain.groups()
        known = _known().get(given)
        if known is not None:
            sent = _plain(local, given, known, smtputf8)
            if sent is not None:
                return sent
    from email_validator import EmailNotValidError, validate_email  # only for an address not answered above

    try:
        # No DNS: lists and releases are checked offline, and deliverability is the server's call.
        result = validate_email(value, check_deliverability=False, allow_smtputf8=smtputf8)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    if plain is not None and result.ascii_domain and len(_known()) < MEMORY:
        forms = (str(result.ascii_domain), str(result.domain))
        _known()[plain.group(2)] = _learned[plain.group(2)] = forms
    return str(result.ascii_email or result.normalized) if not smtputf8 else str(result.normalized)


def _plain(local: str, given: str, domain: tuple[str, str], smtputf8: bool) -> str | None:
    """What email-validator makes of a dot-atom `local` on an accepted domain; None where it measures too long."""
    if local.lower() in ROLE_NAMES:
        local = local.lower()
    ascii_form, unicode_form = domain
    # It measures the address as written, as normalised (the Unicode domain, in UTF-8) and in ASCII.
    if len(local) + 1 + max(len(given), len(ascii_form), len(unicode_form.encode("utf-8"))) > MAX_LENGTH:
        return None
    return f"{local}@{unicode_form if smtputf8 else ascii_form}"


def _known() -> dict[str, tuple[str, str]]:
    global _domains
    if _domains is None:
        _domains = {}
        path = _kept()
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
            _domains.update(
                (k, (v[0], v[1]))
                for k, v in data.items()
                if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) and x for x in v)
            )
        except (OSError, ValueError, AttributeError, TypeError):  # none kept yet, or not ours: ask again
            pass
    return _domains


def keep() -> None:
    """Save the domains email-validator accepted in this run (whole or not at all; a cache: losing it costs time only)."""
    import os
    import threading

    path = _kept()
    if not _learned or path is None:
        return
    merged = {**_learned}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        merged.update((k, v) for k, v in old.items() if k not in merged and len(merged) < KEPT)
    except (OSError, ValueError, AttributeError):
        pass
    _learned.clear()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        part = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.part")
        part.write_text(json.dumps(dict(list(merged.items())[:KEPT])), encoding="utf-8")
        os.replace(part, path)
    except OSError:  # a full disk or a read-only home: email-validator answers again next time
        pass


def _kept() -> Path | None:
    """The file of domains accepted before (None: no cache folder to use)."""
    import sys
    from importlib.util import find_spec

    from ..cachedir import cache_path

    try:
        spec = find_spec("email_validator")  # found, not imported
        version = Path(spec.origin).with_name("version.py").read_bytes() if spec and spec.origin else b""
    except OSError:
        return None
    kept = cache_path("domains", Path(__file__), version, sys.version.encode())
    return kept.with_name(kept.name + ".json") if kept is not None else None
