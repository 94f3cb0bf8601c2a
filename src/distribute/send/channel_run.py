"""Handing one channel's claimed deliveries to its adapter, lazily, recording each outcome.

Rows are claimed in small batches and marked `sending` (together with the outcomes that
arrived since the last mark) in one committed transaction just before the adapter pulls
them from the iterator: as many at once as the adapter has room for right now, which is
the most it has held at once so far minus what it holds. So at any instant the deliveries
whose fate a crash would leave unknown are at most as many as the adapter can hold, one per
open connection (see docs/architecture.md, "The ledger"). A gated adapter (`Adapter.gated`: SMTP)
is handed the rows as soon as their mark is added, each delivery carrying the mark as its
`Gate`: it transfers the message while the mark waits (written on the transport's own thread,
`InlineMarker`) and commits it (the final dot) only once the mark is durable, so the bound is kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .. import clock
from ..errors import DistributeError
from ..ledger.store import Claimed, LedgerReceipts, Result, new_token
from .retry import next_attempt

if TYPE_CHECKING:
    from ..adapters.base import Delivery, Gate, Outcome
    from ..ledger.store import Ledger
    from ..plan import ChannelPlan
    from ..workspace.config import Workspace
    from .dispatch import OnResult, Report


ROUNDS = 16  # a claim takes at least this many rounds of every connection: while it commits, no mark can


def idempotence(workspace: Workspace) -> Callable[[str], bool]:
    """Whether an adapter (by name) may safely repeat a delivery whose outcome is unknown."""

    def check(name: str) -> bool:
        try:
            return bool(workspace.registry.get(name).idempotent)
        except DistributeError:
            return False  # an adapter that cannot even be loaded gets no benefit of the doubt

    return check


class MarkGate:
    """A delivery's `Gate`: the transaction marking its row `sending` (the Future of the ids it marked).

    Gated runs write their marks on the transport's own thread (`InlineMarker`): the gate commits
    what waits when asked for a verdict that is not decided yet (an outcome before the gate, a
    refusal at RCPT), and `meanwhile` is the run's (`ChannelRun._ahead`: commit, or render ahead).
    """

    __slots__ = ("_marking", "_id", "_writer", "meanwhile")

    def __init__(self, marking: Future[set[int]], row_id: int, writer: InlineMarker, meanwhile: Callable[[], bool]):
        self._marking, self._id, self._writer, self.meanwhile = marking, row_id, writer, meanwhile

    def done(self) -> bool:
        return self._marking.done()

    def passed(self) -> bool:
        if not self._marking.done():
            self._writer.flush()
        return self._id in self._marking.result()

    def notify(self, callback: Callable[[], None]) -> None:
        self._marking.add_done_callback(lambda _: callback())


class Marker:
    """The `ledger` thread of a run that is not gated: writes the marks and outcomes given to it, all
    that wait, in one transaction (a group commit), while the main thread renders the next rows.

    `add` returns the Future of the transaction that will hold them (the ids it marked).
    """

    def __init__(self, ledger: Ledger, token: str):
        self.ledger, self.token = ledger, token
        self._cond = threading.Condition()
        self._rows: list[Claimed] = []
        self._results: list[Result] = []
        self._now: dt.datetime | None = None
        self._next: Future[set[int]] = Future()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    def add(self, rows: list[Claimed], results: list[Result], now: dt.datetime) -> Future[set[int]]:
        with self._cond:
            self._rows.extend(rows)
            self._results.extend(results)
            self._now = now
            self._cond.notify()
            return self._next

    def settled(self, results: int) -> None:
        """Outcomes written elsewhere (in a claim's transaction): nothing to do here."""

    def hurry(self) -> None:
        """The caller is about to wait for the commit: this thread commits at once anyway."""

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._rows or self._results or self._closing):
                    self._cond.wait()
                if not (self._rows or self._results):
                    return
                rows, results, now, future = self._rows, self._results, self._now, self._next
                self._rows, self._results, self._next = [], [], Future()
            assert now is not None
            try:
                future.set_result(self.ledger.hand_over(rows, self.token, results, now))
            except BaseException as exc:
                future.set_exception(exc)


class InlineMarker:
    """The marks of a gated run (SMTP), written on the transport's thread when it has nothing else to do.

    Each row marked comes back as an outcome, with its connection's next mark, one reply later;
    all that wait go in one transaction (a group commit), so the connections fall into step: at
    4 connections, four marks a commit. `flush` commits: the run calls it from `Gate.meanwhile`
    once every row it marked is back (`ready`), or when nothing is left to render ahead (a slow
    connection is not waited for), and before any other ledger statement of its own (`hurry`:
    claim, renew, the end). A gate asked for a verdict not decided yet commits first.

    Why not a thread, as `Marker`: sqlite3 gives up the GIL for the statement and must take it back
    after, from a main thread busy rendering and driving sockets. Measured at 4 connections, a
    commit took 0.55–0.7 ms beside the busy thread against 0.36–0.4 ms inline, and the hand-offs
    (a wake-up per connection) cost the main thread as much again.
    """

    def __init__(self, ledger: Ledger, token: str):
        self.ledger, self.token = ledger, token
        self._rows: list[Claimed] = []
        self._results: list[Result] = []
        self._now: dt.datetime | None = None
        self._next: Future[set[int]] = Future()
        self._owed = 0  # rows marked whose outcome has not come back (in `add` or `settled`)

    def add(self, rows: list[Claimed], results: list[Result], now: dt.datetime) -> Future[set[int]]:
        self._rows.extend(rows)
        self._results.extend(results)
        self._owed -= len(results)
        self._now = now
        return self._next

    def pending(self) -> bool:
        return bool(self._rows or self._results)

    def ready(self) -> bool:
        """Something waits and every row marked is back: nothing more will join this commit."""
        return self.pending() and self._owed <= 0

    def settled(self, results: int) -> None:
        """Outcomes of rows marked here that were written elsewhere (in a claim's transaction): owed no more."""
        self._owed -= results

    def flush(self) -> None:
        """Commit what waits; its Future gets the ids marked, or what the hand-over raised."""
        if not self.pending():
            return
        rows, results, now, future = self._rows, self._results, self._now, self._next
        self._rows, self._results, self._next = [], [], Future()
        assert now is not None
        try:
            marked = self.ledger.hand_over(rows, self.token, results, now)
        except BaseException as exc:
            future.set_exception(exc)  # its gates refuse: none of these messages is committed
            if not isinstance(exc, Exception):
                raise  # a second Ctrl-C during the commit stops the run here, as anywhere else on this thread
            return
        self._owed += len(marked)
        future.set_result(marked)

    hurry = flush

    def close(self) -> None:
        self.flush()


class RenderCursor:
    """Walks a channel's render in order; claims come in order, so one pass serves a whole run."""

    def __init__(self, plan: ChannelPlan):
        self.plan = plan
        self._it: Iterator[tuple[int, Delivery]] | None = None
        self._pos = -1
        self._current: Delivery | None = None
        self._due = ""

    def at(self, seq: int, due: str = "") -> Delivery | None:
        """The delivery rendered at position `seq`, told the row's due time, or None when the render has none there now."""
        if self._it is None or seq < self._pos or due != self._due:
            # Told the due time recorded at scheduling, the render is the one that was hashed then
            # (an email's Date, an embargoed copy's notice follow it). Held translations are not rendered.
            self._it = iter(self.plan.numbered(clock.parse(due), skip=self.plan.held))
            self._pos, self._current, self._due = -1, None, due
        while self._pos < seq:
            try:
                self._pos, self._current = next(self._it)
            except StopIteration:
                self._it = None
                return None
        return self._current if self._pos == seq else None


class ChannelRun:
    """One channel of one release, delivered until nothing of it is ready (or `stop` is set)."""

    def __init__(
        self,
        workspace: Workspace,
        ledger: Ledger,
        plan: ChannelPlan,
        report: Report,
        stop: threading.Event | None = None,
        on_result: OnResult | None = None,
        yield_to: Callable[[], bool] | None = None,
    ):
        self.ws, self.ledger, self.plan, self.report = workspace, ledger, plan, report
        self.settings = workspace.config.delivery
        self.stop, self.on_result = stop, on_result
        self.yield_to = yield_to  # asked between batches: should another channel go first now?
        self.yielded = False
        self.token = new_token()
        self.cursor = RenderCursor(plan)
        self.done: list[Result] = []
        self.inflight: dict[str, tuple[Claimed, str, Gate | None]] = {}
        self.claimed: deque[Claimed] = deque()  # claimed, not yet marked `sending`
        self.rendered: deque[tuple[Claimed, Delivery | None]] = deque()  # claimed and rendered ahead, not checked
        self.ready: deque[tuple[Claimed, Delivery, str]] = deque()  # marked `sending` (gated: being marked), not pulled
        self._writer: Marker | InlineMarker | None = None  # writes the marks (a thread of its own unless gated)
        self._marking: Future[set[int]] | None = None  # the last mark submitted to it, not yet waited for
        self.gated = False  # the adapter takes deliveries before their mark is durable (Adapter.gated)
        self.most = 1  # the most deliveries the adapter has asked for while holding the others, so far
        self.problem: str | None = None
        self.held: str | None = None  # why some of it stays pending: a translation changed since scheduling
        self.handed = 0
        self._renewed = time.monotonic()

    def _stopping(self) -> bool:
        return bool(self.stop and self.stop.is_set()) or self.problem is not None

    def _check(self, row: Claimed, delivery: Delivery | None) -> bool:
        release, name = self.plan.release, self.plan.channel.name
        again = f"run `distribute schedule {release.path}` again"
        # matches(): the lock, else the hash of the files (a row scheduled before the adapter locked by its pieces).
        if delivery is None or delivery.key != row.key or not delivery.matches(row.sha256):
            self.problem = (
                f"release {release.id} changed since it was scheduled (channel {name}, delivery {row.key}); {again}"
            )
            return False
        if self.plan.public and release.is_embargoed(clock.now()):
            self.problem = f"release {release.id}: channel {name} is held by the embargo until {release.embargo}"
            return False
        # The bytes, made here if the adapter joins them when read (email): a failure to make them then
        # leaves the row pending, not `sending`, and the transport threads only send.
        for f in delivery.files:
            f.data  # noqa: B018 (read for its effect)
        return True

    def handover(self) -> Iterator[Delivery]:
        """The deliveries for deliver_many, each claimed and marked `sending` just before it goes."""
        while not self._stopping():
            if not self.ready and not self._mark():
                return
            if not self.ready:
                continue  # those rows were taken over meanwhile: they are someone else's now
            row, delivery, started = self.ready.popleft()
            gate = delivery.gate if self.gated else None
            self.inflight[row.key] = (row, started, gate)
            self.handed += 1
            yield delivery

    def _mark(self) -> bool:
        """Mark as many rows `sending` as the adapter has room for now, in one transaction; False when done.

        The adapter asks for a delivery only when it has room for one; when it does, it holds
        len(inflight) (each outcome is recorded before it asks again). The most it ever asked
        for while holding others, `most`, is at most its capacity (connections), so marking
        most - len(inflight) rows keeps `sending` rows (handed + ready) within that capacity.
        """
        self.most = max(self.most, len(self.inflight) + 1)
        room = self.most - len(self.inflight)
        picked: list[tuple[Claimed, Delivery]] = []
        while len(picked) < room and not self._stopping():
            if not self.rendered:
                if not self.claimed:
                    if picked:
                        break  # hand these first; claim more on the next call
                    if not self._claim():
                        return False
                self._render_one()
                continue  # a held translation's row renders nothing
            row, delivery = self.rendered.popleft()
            if not self._check(row, delivery):
                break
            assert delivery is not None
            picked.append((row, delivery))
        if not picked:
            return False
        self._renew()
        now = clock.now()
        finished, self.done = self.done, []
        if self._writer is None:
            self._writer = InlineMarker(self.ledger, self.token) if self.gated else Marker(self.ledger, self.token)
        marking = self._writer.add([r for r, _ in picked], finished, now)
        if isinstance(self._writer, InlineMarker):
            # Handed at once, each with the mark as its gate: the transfer goes while the mark waits (see MarkGate).
            self._marking = marking
            started = clock.stamp(now)
            writer = self._writer
            self.ready.extend(
                (r, dataclasses.replace(d, gate=MarkGate(marking, r.id, writer, self._ahead)), started)
                for r, d in picked
            )
            return True
        # While the marks reach the disk (SQLite flushes each commit), the next rows render: the two overlap.
        while not marking.done() and self.claimed and len(self.rendered) < self.most:
            self._render_one()
        marked = marking.result()
        started = clock.stamp(now)
        self.ready.extend((r, d, started) for r, d in picked if r.id in marked)
        return True

    def _claim(self) -> bool:
        """Claim the next rows (False: none left, or this channel yields to another for now)."""
        self._settle()  # the ledger thread's last mark first: one writer at a time
        # Only between batches: before the first, the order is fresh, and a run that yielded
        # with nothing handed would end the dispatch as "nothing due" (seen on PostgreSQL:
        # a slow start, a thread part ready meanwhile, five senders gone with 580 pending).
        if self.handed and self.yield_to is not None and self.yield_to():
            self.yielded = True  # the rest of this channel stays pending; dispatch comes back to it
            return False
        # The outcomes go first, in the claim's transaction: the next part of a thread becomes
        # claimable once this one is sent.
        finished, self.done = self.done, []
        if self._writer is not None:
            self._writer.settled(len(finished))
        self.claimed.extend(
            self.ledger.claim(
                self.plan.release.id,
                self.plan.channel.name,
                max(self.settings.batch, ROUNDS * self.most),
                clock.now(),
                self.token,
                self.settings.lease,
                results=finished,
            )
        )
        return bool(self.claimed)

    def _ahead(self) -> bool:
        """The transport has nothing to do until a socket moves (gated runs, `Gate.meanwhile`).

        Every row marked is back: commit the marks that wait. Otherwise render the next claimed
        row and join its bytes, so the rows the next connections come back for are ready; with
        nothing left to render, commit what waits rather than wait for a slow connection.
        """
        writer = self._writer
        assert isinstance(writer, InlineMarker)
        if writer.ready():
            writer.flush()
            return True
        if not self.claimed or len(self.rendered) >= self.most or self._stopping():
            if writer.pending():
                writer.flush()
                return True
            return False
        before = len(self.rendered)
        self._render_one()
        delivery = self.rendered[-1][1] if len(self.rendered) > before else None
        try:
            for f in delivery.files if delivery is not None else ():
                f.data  # noqa: B018 (joined now; a failure is left for _check, which reads them again)
        except Exception:  # noqa: BLE001, S110
            pass
        return True

    def _render_one(self) -> None:
        row = self.claimed.popleft()
        held = self.plan.held.get(self.plan.language_of(row.seq)) if self.plan.held else None
        if held is not None:
            self.held = held  # this row stays pending (unclaimed at the end); the other languages go
            return
        self.rendered.append((row, self.cursor.at(row.seq, row.due)))

    def _settle(self, quiet: bool = False) -> None:
        """Wait for the mark still being written (gated runs); its failure is raised unless `quiet`."""
        marking, self._marking = self._marking, None
        if marking is not None:
            if self._writer is not None:
                self._writer.hurry()
            if quiet:
                marking.exception()
            else:
                marking.result()

    def _renew(self) -> None:
        # Claims on other hosts are judged by their lease: keep ours fresh on long channels.
        if time.monotonic() - self._renewed > self.settings.lease / 4:
            self._settle()
            self.ledger.renew(self.token, clock.now(), self.settings.lease)
            self._renewed = time.monotonic()

    def result(self, outcome: Outcome) -> Result | None:
        """Turn an adapter outcome into the ledger's verdict: sent, retry later, failed or in doubt.

        None for a gated delivery whose mark was refused (its row was taken over): not ours to record.
        """
        from ..adapters.base import Receipt
        from ..workspace.schema import redact

        row, started, gate = self.inflight.pop(outcome.delivery.key)
        if gate is not None and not gate.passed():
            return None  # the transport dropped it before the final dot: nothing left
        if outcome.error is None:
            return Result(row, "sent", started, receipt=outcome.receipt or Receipt())
        err, now, attempt = outcome.error, clock.now(), row.attempts + 1
        message = redact(str(err))
        if err.in_doubt and not self.plan.adapter.idempotent:
            return Result(row, "in_doubt", started, error=f"outcome unknown: {message}")
        if err.retryable or err.in_doubt:
            when = next_attempt(self.settings, now, attempt, err.retry_after)
            if when is not None:
                return Result(row, "pending", started, error=message, next_attempt=clock.stamp(when))
            return Result(row, "failed", started, error=f"gave up after {attempt} attempts: {message}")
        return Result(row, "failed", started, error=message)

    def run(self) -> int:
        """Deliver; returns how many deliveries were handed to the adapter."""
        adapter, channel = self.plan.adapter, self.plan.channel
        adapter.receipts = LedgerReceipts(self.ledger)
        self.gated = adapter.gated(channel)
        try:
            for outcome in adapter.deliver_many(self.handover(), channel):
                result = self.result(outcome)
                if result is None:
                    continue
                self.done.append(result)
                self._count(result)
                self.report.channels.add(self.plan, result, outcome.delivery.label)
        except BaseException:
            # The adapter broke or we were interrupted: record what is known, treat the rest
            # exactly like a crash (never guess that a handed delivery did not arrive).
            self._finish()
            raise
        finally:
            adapter.close()
        self._finish()
        return self.handed

    def _finish(self) -> None:
        self._settle(quiet=True)  # a failed mark was raised where it was met
        finished, self.done = self.done, []
        self.ledger.hand_over((), self.token, finished, clock.now())
        # Marked `sending` but never pulled by the adapter (it stopped first): back in line, not in doubt.
        unpulled = [row.id for row, _, _ in self.ready]
        self.ready.clear()
        self.rendered.clear()
        self.claimed.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.ledger.unclaim(self.token, unhanded=unpulled)
        if self.inflight:
            # The adapter stopped (or broke) without an outcome for these: handled like a crash,
            # and this channel is left alone for the rest of the run so it cannot spin.
            _, doubted, given_up = self.ledger.recover(
                clock.now(), idempotence(self.ws), self.settings.max_attempts, only_token=self.token
            )
            self.report.in_doubt += doubted
            self.report.failed += given_up
            if self.problem is None:
                self.problem = (
                    f"release {self.plan.release.id}, channel {self.plan.channel.name}: the adapter "
                    f"gave no outcome for {len(self.inflight)} deliveries handed to it"
                )
            self.inflight.clear()

    def _count(self, result: Result) -> None:
        report = self.report
        if result.state == "sent":
            report.sent += 1
        elif result.state == "pending":
            report.retrying += 1
        elif result.state == "in_doubt":
            report.in_doubt += 1
        else:
            report.failed += 1
        if self.on_result:
            self.on_result(self.plan.channel.name, result.state)
