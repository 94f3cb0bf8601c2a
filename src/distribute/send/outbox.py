"""The dry-run outbox (DESIGN §5): manifest.json plus the exact payloads, byte-identical run to run."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..adapters.base import Delivery
from ..errors import DistributeError, UsageError
from ..plan import plan

if TYPE_CHECKING:
    from ..release import Release
    from ..workspace.config import Workspace


def iso_utc(value: dt.datetime | None) -> str | None:
    """A time in the manifest: UTC, RFC 3339, seconds."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DistributeError(f"adapter produced an unsafe outbox file name {name!r}")
    return path


def write_outbox(
    directory: Path,
    release_id: str,
    deliveries: Iterable[Delivery],
    progress: Callable[[Delivery], None] | None = None,
) -> int:
    """Write every delivery's files and the manifest into `directory`, replacing an earlier outbox.

    The new outbox is built beside the old one and swapped in at the end, so an interrupted
    dry-run never leaves a half-written outbox behind. Returns the number of deliveries.
    """
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--outbox {directory}: is a file, not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / "manifest.json").is_file():
        raise UsageError(f"--outbox {directory}: folder is not empty and holds no manifest.json; choose another folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    count = 0
    seen: set[str] = set()
    try:
        with open(staging / "manifest.json.part", "w", encoding="utf-8") as manifest:
            manifest.write(f'{{\n  "release": {json.dumps(release_id)},\n  "deliveries": [')
            for delivery in deliveries:
                files = []
                for f in delivery.files:
                    rel = PurePosixPath(delivery.channel) / _safe_name(f.name)
                    if str(rel) in seen:
                        raise DistributeError(f"two deliveries write the same outbox file {rel}")
                    seen.add(str(rel))
                    target = staging / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(f.data)
                    files.append(str(rel))
                entry = {
                    "key": delivery.key,
                    "channel": delivery.channel,
                    "adapter": delivery.adapter,
                    "target": delivery.target,
                    "part": delivery.part,
                    "due": iso_utc(delivery.due),
                    "files": files,
                    "sha256": delivery.files_hash,  # of the files (unsigned, without secrets), not an adapter's own lock
                }
                manifest.write(("\n    " if count == 0 else ",\n    ") + json.dumps(entry, ensure_ascii=False))
                count += 1
                if progress:
                    progress(delivery)
            manifest.write("\n  ]\n}\n" if count else "]\n}\n")
        os.replace(staging / "manifest.json.part", staging / "manifest.json")
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, old / "outbox")
            os.replace(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


@dataclass
class DryRun:
    """What a dry-run wrote: how many deliveries, of how many channels."""

    count: int
    channels: int
    # Per channel, in channel order: {"channel", "adapter", "deliveries", "missing"} (the --json shape).
    per_channel: list[dict[str, Any]] = field(default_factory=list)
    # What a reader of the outbox should know: e.g. a copy shown as due at its time would say
    # EMBARGOED UNTIL if `send` ran it now, before the embargo.
    notes: list[str] = field(default_factory=list)


def dry_run(
    workspace: Workspace,
    release: Release,
    channels: Sequence[str],
    directory: Path,
    progress: Callable[[Delivery], None] | None = None,
    needs: Callable[[str, Sequence[str]], None] | None = None,
) -> DryRun:
    """Render every selected channel of a release into the outbox `directory`; nothing is sent.

    `needs(channel, missing)` hears, before anything renders, what a channel would lack to send for real.
    """
    from .. import clock
    from ..times import show

    now = clock.now()
    plans = plan(workspace, release, channels)
    result = DryRun(0, len(plans))
    for p in plans:
        missing = p.adapter.missing(p.channel)
        result.per_channel.append(
            {"channel": p.channel.name, "adapter": p.channel.adapter, "deliveries": 0, "missing": list(missing)}
        )
        if missing and needs is not None:
            needs(p.channel.name, missing)
        if p.untranslated:
            result.notes.append(p.untranslated_line())
        embargo = release.embargo
        if p.channel.common.embargoed_copy and embargo is not None and release.is_embargoed(now) and p.due >= embargo:
            result.notes.append(
                f"{p.channel.name}: the outbox shows it as due {show(p.due, workspace.tz)}, when the embargo has "
                f"lifted; sent now with `distribute send`, before the embargo, it says EMBARGOED UNTIL "
                f"{show(embargo, workspace.tz)} and is dated when it goes"
            )
    counts = {entry["channel"]: entry for entry in result.per_channel}

    def counted(d: Delivery) -> None:
        counts[d.channel]["deliveries"] += 1
        if progress is not None:
            progress(d)

    def everything() -> Iterator[Delivery]:
        for p in plans:
            # As sent: a DKIM-signed message carries the signature a real send would add.
            yield from (p.adapter.as_sent(d, p.channel) for d in p.deliveries())

    result.count = write_outbox(directory, release.id, everything(), progress=counted)
    return result
