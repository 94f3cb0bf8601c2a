"""When to try a failed delivery again: exponential backoff with jitter, Retry-After, a cap on attempts."""

from __future__ import annotations

import datetime as dt
import random

# The [delivery] table is part of config.toml's schema (workspace/config.py); named here too, where it is used.
from ..workspace.config import DeliverySettings

__all__ = ["DeliverySettings", "backoff_delay", "next_attempt"]


def backoff_delay(
    settings: DeliverySettings, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Retry-After, when the remote side sent one, is obeyed as given. Otherwise the wait doubles
    per attempt up to backoff_max, and half of it is random ("equal jitter") so that many
    deliveries failing together do not all come back at the same instant.
    """
    if retry_after is not None and retry_after >= 0:
        return float(retry_after)
    ceiling: float = min(settings.backoff_max, settings.backoff * 2 ** max(0, attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def next_attempt(
    settings: DeliverySettings,
    now: dt.datetime,
    attempt: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> dt.datetime | None:
    """When to try again after failed attempt `attempt`, or None once max_attempts is used up."""
    if attempt >= settings.max_attempts:
        return None
    return now + dt.timedelta(seconds=backoff_delay(settings, attempt, retry_after, rng))
