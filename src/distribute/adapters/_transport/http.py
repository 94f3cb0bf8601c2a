"""What every HTTP transport shares: the User-Agent and reading a Retry-After header."""

from __future__ import annotations

import datetime as dt
import email.utils

USER_AGENT = "distribute (+https://pypi.org/project/distribute/)"


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    from ... import clock  # the ledger's clock, so DISTRIBUTE_NOW and time-machine agree

    return max(0.0, (when - clock.now()).total_seconds())
