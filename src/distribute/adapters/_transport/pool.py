"""Feeding worker threads one delivery at a time (the ESP pool; smtp.SmtpPool drives its sessions from one thread)."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator

from ..base import Delivery, Outcome


def hand_out(
    deliveries: Iterable[Delivery],
    work: queue.Queue[Delivery | None],
    done: queue.Queue[Outcome],
    capacity: Callable[[], int],
) -> Iterator[Outcome]:
    """Put deliveries on `work` and yield each outcome from `done` as soon as it is known.

    The next delivery is pulled from `deliveries` only when a worker is free for it: the ledger
    marks a delivery as handed over when it is pulled, so pulling early would leave more than
    one delivery per open connection in doubt after a crash.
    """
    pending = 0
    source = iter(deliveries)
    while True:
        while pending >= max(1, capacity()):
            yield done.get()
            pending -= 1
        while True:  # report what has finished meanwhile before taking more
            try:
                outcome = done.get_nowait()
            except queue.Empty:
                break
            pending -= 1
            yield outcome
        delivery = next(source, None)
        if delivery is None:
            break
        work.put(delivery)
        pending += 1
    while pending:
        yield done.get()
        pending -= 1
