"""The release as it was scheduled: what dispatch sends and what `status` checks for changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from .. import clock
from ..errors import DistributeError, ReleaseChanged

if TYPE_CHECKING:
    from ..ledger.store import Ledger
    from ..release import Release
    from ..workspace.config import Workspace


def load_scheduled(workspace: Workspace, ledger: Ledger, release_id: str) -> Release:
    """The release as scheduled: its file re-read, its hash checked, a --at publish time re-applied."""
    from ..release import load_release

    row = ledger.release(release_id)
    if row is None:
        raise DistributeError(
            f"release {release_id} is not in the ledger; schedule it first with `distribute schedule RELEASE`"
        )
    path = Path(row.path)
    again = f"run `distribute schedule {row.path}` again"
    if not path.is_file():
        raise ReleaseChanged(f"release {release_id}: its file {row.path} is gone; restore it or {again}")
    release = load_release(path, workspace)
    if release.sha256 != row.sha256 or release.id != release_id:
        raise ReleaseChanged(f"release {release_id} changed since it was scheduled; {again}")
    if row.publish_at:
        when = clock.parse(row.publish_at)
        assert when is not None
        release = dataclasses.replace(release, publish_at=when.astimezone(workspace.tz))
    return release
