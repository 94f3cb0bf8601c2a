"""The one dispatch routine: cron mode, `send RELEASE` and the worker all deliver through `run`.

For each (release, channel) with something ready, the release is re-rendered from its file
and every delivery is checked against the hash recorded when it was scheduled, then handed
to the adapter one claimed row at a time (see channel_run.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import clock
from ..errors import DistributeError, ExitCode
from .approval import require_scheduled
from .channel_run import ChannelRun, idempotence
from .scheduled import load_scheduled_parts
from .tally import Tally

if TYPE_CHECKING:
    from ..ledger.store import Ledger
    from ..plan import ChannelPlan
    from ..release import Release
    from ..workspace.config import Workspace


@dataclass
class Report:
    """What one dispatch run did."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    in_doubt: int = 0
    requeued_after_crash: int = 0
    doubted_after_crash: int = 0
    refused: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    channels: Tally = field(default_factory=Tally)  # per channel: counts, where, the first reasons

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.retrying + self.in_doubt

    def exit_code(self) -> ExitCode:
        """0 all sent, 3 anything failed / waiting / in doubt, 1 refused with nothing sent, 4 nothing to do."""
        if self.failed or self.retrying or self.in_doubt or self.doubted_after_crash:
            return ExitCode.PARTIAL
        if self.refused:
            return ExitCode.PARTIAL if self.sent else ExitCode.ERROR
        return ExitCode.OK if self.sent else ExitCode.NOTHING


OnResult = Callable[[str, str], None]  # (channel, state) after each delivery


def missing_secrets(ledger: Ledger, release_id: str, channel: str) -> list[str]:
    """Variables the channel's render used when it was scheduled that are not set in this process."""
    return [name for name in ledger.scheduled_secrets(release_id, channel) if not os.environ.get(name)]


def in_order(workspace: Workspace, ready: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """(release, channel) pairs in the order they go: journalists and wire desks before a long newsletter.

    Higher `priority` first; at equal priority embargoed copies (the press list), then the channel
    with fewer deliveries ready, so a few press messages never wait behind 20,000 newsletters.
    """
    try:
        channels = workspace.channels
    except DistributeError:
        channels = {}  # refused below, channel by channel, with the reason

    def key(item: tuple[int, tuple[str, str, int]]) -> tuple[int, int, int, int]:
        index, (_, name, count) = item
        channel = channels.get(name)
        priority = channel.common.priority if channel is not None else 0
        early = channel is not None and channel.common.embargoed_copy
        return (-priority, 0 if early else 1, count, index)

    return [(rid, name) for _, (rid, name, _) in sorted(enumerate(ready), key=key)]


LOOK_AGAIN = 2.0  # seconds between two looks, during a long channel, for a channel that should go first


def overtaken(
    workspace: Workspace,
    ledger: Ledger,
    current: tuple[str, str],
    release_id: str | None,
    refused: set[tuple[str, str]],
) -> Callable[[], bool]:
    """Whether another channel that goes before `current` became ready (a press list due while a newsletter runs)."""
    from .status import due_now

    last = time.monotonic()
    wait = LOOK_AGAIN

    def check() -> bool:
        nonlocal last, wait
        if time.monotonic() - last < wait:
            return False
        start = time.monotonic()
        ready = [r for r in due_now(ledger, clock.now()) if release_id is None or r[0] == release_id]
        first = next((p for p in in_order(workspace, ready) if p not in refused), current)
        # Counting what is ready walks every pending row: with 100,000 of them, looking every
        # 2 s would be a tenth of the run. At most 1/20 of the time goes to looking.
        last = time.monotonic()
        wait = max(LOOK_AGAIN, 20 * (last - start))
        return first != current

    return check


def _recover(workspace: Workspace, ledger: Ledger, release_id: str | None, resend_in_doubt: bool) -> Report:
    """A run's report, begun by putting back what an earlier crash left (and, if asked, what is in doubt)."""
    report = Report()
    idempotent = idempotence(workspace)
    report.requeued_after_crash, report.doubted_after_crash, report.failed = ledger.recover(
        clock.now(), idempotent, workspace.config.delivery.max_attempts
    )
    if resend_in_doubt:
        count = ledger.resend_in_doubt(clock.now(), release_id)
        if count:
            report.lines.append(f"{count} deliver{'y' if count == 1 else 'ies'} in doubt put back in line, as asked")
    return report


def _channel_plan(
    workspace: Workspace, ledger: Ledger, release: Release, rid: str, channel: str
) -> tuple[ChannelPlan | None, str]:
    """The channel's plan, or None and why it cannot send now (it is not planned, its preflight, a variable)."""
    from ..plan import plan
    from .preflight import refusal, waiting
    from .status import channel_states

    try:
        (channel_plan,) = plan(workspace, release, [channel])
    except DistributeError as exc:
        return None, f"release {rid}, channel {channel}: {exc}"
    # Before the first delivery of the channel: a channel that cannot send is refused whole.
    line = refusal(channel_plan)
    if line is not None:
        pending = channel_states(ledger, channel_plan.release.id).get(channel_plan.channel.name, {}).get("pending", 0)
        return None, waiting(f"{line} (release {channel_plan.release.id})", pending)
    unset = missing_secrets(ledger, rid, channel)
    if unset:
        return None, (
            f"release {rid}, channel {channel}: the environment variable {unset[0]} is not set here; it was "
            "when the release was scheduled — export it for the cron job or worker; nothing of this "
            "channel was sent"
        )
    return channel_plan, ""


def run(
    workspace: Workspace,
    *,
    release_id: str | None = None,
    stop: threading.Event | None = None,
    on_result: OnResult | None = None,
    resend_in_doubt: bool = False,
) -> Report:
    """Deliver everything ready now (of one release, or all), until nothing is left or `stop` is set."""
    from ..ledger.store import Ledger

    ledger = Ledger(workspace.database_url)
    try:
        return _run(workspace, ledger, release_id, stop, on_result, resend_in_doubt)
    finally:
        ledger.let_go()


def _run(
    workspace: Workspace,
    ledger: Ledger,
    release_id: str | None,
    stop: threading.Event | None,
    on_result: OnResult | None,
    resend_in_doubt: bool,
) -> Report:
    from .status import due_now

    report = _recover(workspace, ledger, release_id, resend_in_doubt)
    releases: dict[str, Release] = {}
    held: dict[str, dict[str, str]] = {}  # per release: its translations that changed since scheduling
    refused: set[tuple[str, str]] = set()
    while not (stop and stop.is_set()):
        ready = [r for r in due_now(ledger, clock.now()) if release_id is None or r[0] == release_id]
        pairs = [p for p in in_order(workspace, ready) if p not in refused]
        handed = 0
        for rid, channel in pairs:
            if stop and stop.is_set():
                break
            try:
                if rid not in releases:
                    scheduled, held[rid] = load_scheduled_parts(workspace, ledger, rid)
                    # Sign-off, per release before any of its deliveries: all of it goes, or none.
                    require_scheduled(workspace, ledger, rid)
                    releases[rid] = scheduled
            except DistributeError as exc:
                refused.update(p for p in pairs if p[0] == rid)
                report.refused.append(str(exc))
                continue
            channel_plan, cannot = _channel_plan(workspace, ledger, releases[rid], rid, channel)
            if channel_plan is None:
                refused.add((rid, channel))
                report.refused.append(cannot)
                continue
            channel_plan.held = {lang: why for lang, why in held[rid].items() if lang in channel_plan.languages}
            job = ChannelRun(
                workspace,
                ledger,
                channel_plan,
                report,
                stop=stop,
                on_result=on_result,
                yield_to=overtaken(workspace, ledger, (rid, channel), release_id, refused),
            )
            try:
                handed += job.run()
            except Exception as exc:  # noqa: BLE001 - one channel's failure must not stop the others
                # ChannelRun has already recorded it like a crash: whatever was in the adapter's
                # hands is retried (idempotent) or in doubt, never assumed unsent.
                refused.add((rid, channel))
                detail = str(exc) if isinstance(exc, DistributeError) else f"{type(exc).__name__}: {exc}"
                report.refused.append(f"release {rid}, channel {channel}: {detail}")
                continue
            if job.problem:
                refused.add((rid, channel))
                report.refused.append(job.problem)
            if job.held:
                refused.add((rid, channel))  # what is left of it waits for a new schedule
                report.refused.append(job.held)
            if job.yielded:
                break  # a channel that goes first became ready: order again
        if not handed:
            break
    from ..workspace.schema import redact

    report.refused = [redact(m) for m in dict.fromkeys(report.refused)]  # these reach logs and mail
    return report
