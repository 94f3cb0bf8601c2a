"""Atomic file writes for feeds and wire drop directories: a reader sees the old file or the new one."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from ...errors import DeliveryError

# Errors a later attempt cannot fix without a human (wrong folder, no permission).
_PERMANENT = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EROFS, errno.ENAMETOOLONG}


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace.

    The temporary file is flushed and fsynced before the rename, so after a crash the path holds
    either the complete old content or the complete new one, never a torn file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; feeds and drop files are read by other users
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def delivery_error(exc: OSError, what: str) -> DeliveryError:
    """An OSError while writing, as a DeliveryError that says whether trying again may help."""
    retryable = exc.errno not in _PERMANENT
    reason = exc.strerror or str(exc)
    target = f" ({exc.filename})" if exc.filename else ""
    hint = "" if retryable else "; fix the folder or its permissions"
    return DeliveryError(f"{what}: {reason}{target}{hint}", retryable=retryable)


def check_writable(folder: Path, shown: str, root: Path | None = None) -> tuple[bool, str]:
    """Whether files can be written into `folder` (an account check): it is there or can be made, and takes a file.

    Nothing permanent is made: a temporary file is written in the folder (or, when the folder does
    not exist yet, in the nearest one above it that does) and removed at once. `root`: the workspace,
    so that folder is named as people know it.
    """
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return False, f"{shown}: {existing} is a file, not a folder; fix the path in the channel file"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".distribute-check-", suffix=".tmp", dir=existing)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return (
            False,
            f"{shown}: cannot write into {existing} ({exc.strerror or exc}); fix the folder or its permissions",
        )
    if existing != folder:
        where = str(existing)
        if root is not None and existing.resolve() == root.resolve():
            where = "the workspace folder"
        return True, f"{shown} does not exist yet; it can be made in {where} (writable)"
    return True, f"{shown} is writable"


def shown_folder(path: Path, root: Path) -> str:
    """A folder as people read it in labels ("public/"): relative to the workspace when inside it."""
    try:
        return str(path.relative_to(root)) + "/"
    except ValueError:
        return str(path) + "/"
