"""The preflight: can a channel send at all? Asked before its first delivery leaves.

`send`, `send --due` and the worker ask it of every channel with something ready, `schedule` of
every channel it records. A channel that cannot send (a secret its transport needs is not set,
its recipient list is not there, its template does not render) is refused as a whole with one
line naming the channel and what to do; the other channels go on, and the refused channel's
deliveries stay pending in the ledger, so the first run that has what was missing sends them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..errors import DistributeError

if TYPE_CHECKING:
    from ..plan import ChannelPlan


def needs(plan: ChannelPlan) -> list[str]:
    """What stops this channel from sending here and now (empty: it can send)."""
    return list(plan.adapter.blocking(plan.channel))


def refusal(plan: ChannelPlan, due: dt.datetime | None = None) -> str | None:
    """One line, `channel: needs ...`, when the channel cannot send; None when it can.

    Checks the adapter's blocking needs (secrets of its transport, files it reads), then renders
    the first delivery (templates render, the recipient list is readable), told `due`.
    """
    name = plan.channel.name
    missing = needs(plan)
    if missing:
        more = f" (and {', '.join(missing[1:])})" if len(missing) > 1 else ""
        return f"{name}: needs {missing[0]}{more}"
    try:
        next(iter(plan.render(due)), None)
    except DistributeError as exc:
        return f"{name}: cannot render: {exc}"
    return None


def waiting(line: str, count: int) -> str:
    """A refusal as the summary says it: what to do, and that nothing of the channel went out."""
    n = f"{count} deliver{'y' if count == 1 else 'ies'}" if count else "its deliveries"
    return f"{line} — nothing of it was sent; {n} {'stays' if count == 1 else 'stay'} pending: fix that, then run the same command again"
