"""Options and steps several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..release import Release
    from ..workspace.config import Workspace

channel_option = click.option(
    "-c", "--channel", "channels", multiple=True, metavar="CHANNEL", help="only this channel (repeatable)"
)


def load_release(workspace: Workspace, path: str) -> Release:
    """Parse and validate a release against the workspace."""
    from ..release import load_release as _load

    return _load(Path(path), workspace)


def few_collections() -> None:
    """For a command that reads, renders, prints and exits (`validate`, `preview`): collect less often.

    A cold run makes some 100,000 objects that live to the end (modules, classes, templates, parsed
    messages); the collector's passes over them freed next to nothing and were ~10% of a cold
    `preview` (measured). Young collections still run, every 200,000 net allocations, so a long
    recipient list cannot grow without bound; the thresholds are put back when the command ends
    (the tests run many commands in one process).
    """
    import gc

    before = gc.get_threshold()
    gc.set_threshold(200_000, 50, 50)

    def restore() -> None:
        # Handed to the oldest generation first (freeze, unfreeze: no pass over them), else the first
        # allocation after the restore would collect the whole run's objects as young ones.
        gc.freeze()
        gc.set_threshold(*before)
        gc.unfreeze()

    click.get_current_context().call_on_close(restore)


def is_terminal() -> bool:
    """Whether output goes to a person (progress bars) rather than cron or a pipe."""
    import sys

    return sys.stderr.isatty()


EXIT_CODES = {
    0: "ok",
    1: "error (nothing sent; also no configuration)",
    2: "usage (the command line is wrong)",
    3: "partial delivery (something failed, waits for a retry, is in doubt or was refused)",
    4: "nothing to do",
    130: "interrupted (Ctrl-C or SIGTERM): what was in hand was finished and recorded; run the same command to continue",
}


def epilog(*examples: str, codes: tuple[int, ...] = (0, 1, 2)) -> str:
    """The end of a command's --help: examples, then its exit codes (the README's table)."""
    lines = ["\b", "Examples:", *(f"  {e}" for e in examples), "", "\b", "Exit codes:"]
    lines += [f"  {c}  {EXIT_CODES[c]}" for c in codes]
    return "\n".join(lines)


json_option = click.option("--json", "as_json", is_flag=True, help="machine-readable output on stdout (docs/json.md)")


def print_json(document: object) -> None:
    """One JSON document on stdout, secrets masked."""
    import json

    from ..workspace.schema import redact

    click.echo(redact(json.dumps(document, indent=2, ensure_ascii=False, default=str)))
