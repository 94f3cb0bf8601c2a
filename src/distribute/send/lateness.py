"""A publish time in the past: how long ago, in words; validate's warning; schedule's and send's refusal.

A release dated in the past is nearly always a mistake (last year's number in January, a
copied release whose date nobody changed); scheduled, it would go to everyone at once,
dated months back. `validate` warns a few hours after the time; `schedule` and `send` refuse
once it is more than `[delivery] past_limit` old, unless the user says so (`--late`) or
gives a new publish time (`--at now`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .. import clock
from ..errors import DistributeError, ReleaseError
from ..times import show

if TYPE_CHECKING:
    from ..release import Release
    from ..workspace.config import Workspace

WARN_AFTER = dt.timedelta(hours=3)  # validate warns once publish_at is this far past (or past_limit, if shorter)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def how_long(then: dt.datetime, now: dt.datetime) -> str:
    """How far `then` lies before `now`, in words a person says: "45 minutes", "5 hours", "13 months"."""
    delta = now - then
    if delta < dt.timedelta(hours=1):
        return _plural(max(1, int(delta.total_seconds() // 60)), "minute")
    if delta < dt.timedelta(days=2):
        return _plural(int(delta.total_seconds() // 3600), "hour")
    if delta < dt.timedelta(days=61):
        return _plural(delta.days, "day")
    # Calendar months in the release's own zone: 2025-11-01 to 2026-12-02 is 13 months.
    a, b = then, now.astimezone(then.tzinfo)
    months = (b.year - a.year) * 12 + b.month - a.month - ((b.day, b.time()) < (a.day, a.time()))
    if months < 24:
        return _plural(months, "month")
    return _plural(months // 12, "year")


def _past(what: str, then: dt.datetime, now: dt.datetime, workspace: Workspace) -> str:
    """ "publish_at 2025-11-01 09:00 KST (00:00 UTC) is 13 months in the past; a typo for 2026?" """
    text = f"{what} {show(then, workspace.tz)} is {how_long(then, now)} in the past"
    this_year = now.astimezone(then.tzinfo).year
    # Last year's number on this year's release is the commonest slip of all (January, copied files).
    return text + (f"; a typo for {this_year}?" if then.year == this_year - 1 else ".")


def _line(release: Release) -> int | None:
    return release.source.line_of((), "publish_at")


def warning(workspace: Workspace, release: Release, now: dt.datetime) -> str | None:
    """validate's warning for a publish time a few hours (or more) in the past, else None."""
    limit = min(WARN_AFTER, workspace.config.delivery.past_limit_delta)
    if now - release.publish_at <= limit:
        return None
    where = f"{release.path}:{_line(release)}" if _line(release) else str(release.path)
    return (
        f"{where}: warning: {_past('publish_at', release.publish_at, now, workspace)} "
        "`distribute schedule` and `send` will refuse it unless you add --at now (to date it now) "
        "or --late (to send it with this date)"
    )


def kept_at(workspace: Workspace, release: Release) -> tuple[dt.datetime | None, list[str]]:
    """The --at an earlier schedule of this release recorded (it stays in force), and a note saying so."""
    url = workspace.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None, []  # no ledger yet, so nothing was scheduled (and none is created here)
    from ..ledger.store import Ledger

    row = Ledger(url).release(release.id)
    at = clock.parse(row.publish_at) if row is not None else None
    if at is None or at == release.publish_at:
        return at, []
    return at, [
        f"publish time {show(at, workspace.tz)} kept from the earlier --at (the file says "
        f"{show(release.publish_at, workspace.tz)}); give --at WHEN to change it, "
        "or --at publish_at to use the file's"
    ]


def refuse_if_past(
    workspace: Workspace, release: Release, now: dt.datetime, *, source: str, send_now: bool, late: bool
) -> None:
    """Raise when the publish time in force is more than past_limit ago and the user did not confirm it.

    `source` says where that time came from: "file" (publish_at), "at" (this command's --at) or
    "kept" (an --at of an earlier schedule, kept).
    """
    limit = workspace.config.delivery.past_limit_delta
    when = release.publish_at
    if late or now - when <= limit:
        return
    nothing = "Nothing was sent" if send_now else "Nothing was scheduled"
    setting = f'the limit is [delivery] past_limit = "{workspace.config.delivery.past_limit}"'
    if source == "at":
        raise DistributeError(
            f"{_past('--at', when, now, workspace)} {nothing}: give a later --at (or --at now), "
            f"or add --late to confirm that time ({setting})"
        )
    if source == "kept":
        raise DistributeError(
            f"{_past('the publish time kept from an earlier --at,', when, now, workspace)} "
            f"{nothing}: give --at again (--at now dates it now), or add --late to confirm it "
            f"({setting})"
        )
    raise ReleaseError(
        f"{_past('publish_at', when, now, workspace)} {nothing}: correct publish_at, or add "
        f"--at now to date it now, or --late to {'send' if send_now else 'schedule'} it dated as written "
        f"({setting})",
        path=release.path,
        line=_line(release),
    )
