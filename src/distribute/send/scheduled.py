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
    return load_scheduled_parts(workspace, ledger, release_id)[0]


def load_scheduled_parts(workspace: Workspace, ledger: Ledger, release_id: str) -> tuple[Release, dict[str, str]]:
    """The release as scheduled, and {language: why} of each translation that changed since then.

    A changed original (or one gone) holds the whole release: ReleaseChanged. A changed translation
    holds only its own deliveries; a translation added since is left out until the release is
    scheduled again; one whose file is gone holds the whole release (its place in the ledger is lost).
    """
    import json

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
    held: dict[str, str] = {}
    scheduled = json.loads(row.translations) if row.translations else []
    now = {t.language: t for t in release.translations}
    for entry in scheduled:
        translation = now.get(entry["language"])
        if translation is None:
            raise ReleaseChanged(
                f"release {release_id}: its {entry['language']} translation {shown(entry['path'], workspace)} is "
                f"gone; restore it or {again}"
            )
        if translation.sha256 != entry["sha256"]:
            held[translation.language] = (
                f"release {release_id}: the {translation.language} translation {shown(entry['path'], workspace)} "
                f"changed since it was scheduled, so its deliveries are held (the other languages go); {again}"
            )
    kept = tuple(t for t in release.translations if t.language in {e["language"] for e in scheduled})
    if kept != release.translations:
        release = dataclasses.replace(release, translations=kept)
    if row.publish_at:
        when = clock.parse(row.publish_at)
        assert when is not None
        at = when.astimezone(workspace.tz)
        release = dataclasses.replace(
            release,
            publish_at=at,
            translations=tuple(dataclasses.replace(t, publish_at=at) for t in release.translations),
        )
    return release, held


def shown(path: str, workspace: Workspace) -> str:
    """A file as messages name it: relative to the workspace when it is inside it."""
    try:
        return str(Path(path).relative_to(workspace.root))
    except ValueError:
        return path


def added_translations(workspace: Workspace, ledger: Ledger, release_id: str) -> list[str]:
    """One line per translation written after the release was scheduled: it is not sent until scheduled again."""
    import json

    from ..release import translation_files

    row = ledger.release(release_id)
    if row is None or not Path(row.path).is_file():
        return []
    scheduled = {e["language"].lower() for e in json.loads(row.translations)} if row.translations else set()
    return [
        f"the {tag} translation {shown(str(path), workspace)} was added after the release was scheduled, so it is "
        f"not sent; run `distribute schedule {row.path}` again to send it too"
        for tag, path in translation_files(Path(row.path))
        if tag.lower() not in scheduled
    ]
