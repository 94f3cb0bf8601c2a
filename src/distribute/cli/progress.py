"""The progress display of `send`: one bar per channel, on a terminal only (rich is imported only then)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .common import is_terminal

Advance = Callable[[str, str], None]  # (channel, state) after each delivery, as dispatch.run reports it


@contextmanager
def progress(totals: dict[str, int]) -> Iterator[Advance | None]:
    """Per channel: done/total, messages per second, elapsed and remaining time. Nothing under cron or in a pipe."""
    if not is_terminal() or sum(totals.values()) <= 0:
        yield None
        return
    # Imported here, not at the top: cron runs `send --due` without a terminal and never pays for rich.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "–/s", style="progress.data.speed")

    class Trouble(ProgressColumn):
        def render(self, task: Any) -> Text:
            bad = task.fields.get("trouble", 0)
            return Text(f"{bad:,} not sent" if bad else "", style="red")

    # On stderr, the terminal is_terminal() looked at: stdout may be a pipe to a log.
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        Trouble(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        width = max(len(name) for name in totals)
        tasks = {
            name: bar.add_task(name.ljust(width), total=count, trouble=0) for name, count in totals.items() if count
        }

        def advance(channel: str, state: str) -> None:
            task = tasks.get(channel)
            if task is None:  # a channel that became ready during the run
                task = tasks[channel] = bar.add_task(channel, total=None, trouble=0)
            trouble = bar.tasks[task].fields.get("trouble", 0) + (state != "sent")
            bar.update(task, advance=1, trouble=trouble)

        yield advance
