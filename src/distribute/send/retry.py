"""When to try a failed delivery again: exponential backoff with jitter, Retry-After, a cap on attempts."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from ..workspace.schema import field


@dataclass(frozen=True)
class DeliverySettings:
    """[delivery]: retries, claims and the worker."""

    max_attempts: int = field(5, doc="attempts per delivery before it is marked failed")
    backoff: float = field(30.0, doc="seconds before the first retry; doubles with each attempt, with jitter")
    backoff_max: float = field(
        3600.0, doc="longest wait between two attempts, in seconds (Retry-After may ask for more)"
    )
    batch: int = field(
        20, doc="deliveries claimed per database transaction (at most one per connection can end in doubt)"
    )
    lease: float = field(
        600.0, doc="seconds after which a claim held by a silent process on another host is taken over"
    )
    poll: float = field(10.0, doc="seconds between the worker's looks at the ledger for newly scheduled releases")
    past_limit: str = field(
        "1d",
        doc="how far publish_at may lie in the past before `schedule` and `send` refuse it "
        'unless confirmed with --late (or --at now): a duration like "1d", "12h", "30m"',
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff <= 0 or self.backoff_max < self.backoff:
            raise ValueError("backoff must be positive and backoff_max at least backoff")
        if self.batch < 1 or self.lease <= 0 or self.poll <= 0:
            raise ValueError("batch, lease and poll must be positive")
        from ..times import parse_duration

        if parse_duration(self.past_limit) is None:
            raise ValueError(f'past_limit = {self.past_limit!r} is not a duration like "1d", "12h" or "30m"')

    @property
    def past_limit_delta(self) -> dt.timedelta:
        """past_limit as a time span."""
        from ..times import parse_duration

        limit = parse_duration(self.past_limit)
        assert limit is not None
        return limit


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
    ceiling = min(settings.backoff_max, settings.backoff * 2 ** max(0, attempt - 1))
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
