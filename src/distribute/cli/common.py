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


def is_terminal() -> bool:
    """Whether output goes to a person (progress bars) rather than cron or a pipe."""
    import sys

    return sys.stderr.isatty()
