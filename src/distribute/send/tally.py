"""What a run did per channel: counts, where the deliveries went, and the first few reasons verbatim.

The dispatcher adds every outcome here (channel_run); the command line says it (cli/reporting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..ledger.store import Result
    from ..plan import ChannelPlan

FIRST = 3  # reasons kept verbatim per channel and state; the rest are counted


@dataclass
class Problem:
    """One delivery that did not simply go: failed, waiting for a retry, or in doubt."""

    state: str  # "failed", "retrying", "in_doubt"
    key: str
    label: str
    error: str
    next_attempt: str | None = None  # UTC stamp, for a retry

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ChannelTally:
    """One channel of one release, in this run."""

    release_id: str
    channel: str
    adapter: str
    where: str = ""  # the adapter's destination ("maildir/newsletter"), else the first receipt's URL
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    in_doubt: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first FIRST of each state
    next_retry: str | None = None  # the earliest next attempt (UTC stamp)

    def count(self, state: str) -> int:
        return int(getattr(self, state))

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "problems"}
        out["problems"] = [p.as_dict() for p in self.problems]
        return out


@dataclass
class Tally:
    """Every channel a run touched, in the order they were first seen."""

    channels: dict[tuple[str, str], ChannelTally] = field(default_factory=dict)

    def add(self, plan: ChannelPlan, result: Result, label: str = "") -> None:
        key = (plan.release.id, plan.channel.name)
        tally = self.channels.get(key)
        if tally is None:
            try:
                where = plan.adapter.destination(plan.channel)
            except Exception:  # noqa: BLE001 - a plugin's summary hook must never break a send
                where = ""
            tally = self.channels[key] = ChannelTally(key[0], key[1], plan.channel.adapter, where)
        state = {"pending": "retrying"}.get(result.state, result.state)
        if state == "sent":
            tally.sent += 1
            if not tally.where and result.receipt is not None and result.receipt.url:
                tally.where = result.receipt.url
            return
        if state not in ("failed", "retrying", "in_doubt"):
            return
        setattr(tally, state, tally.count(state) + 1)
        if state == "retrying" and result.next_attempt:
            tally.next_retry = min(filter(None, (tally.next_retry, result.next_attempt)))
        if sum(1 for p in tally.problems if p.state == state) < FIRST:
            tally.problems.append(Problem(state, result.row.key, label, result.error or "", result.next_attempt))

    def __iter__(self) -> Any:
        return iter(self.channels.values())
