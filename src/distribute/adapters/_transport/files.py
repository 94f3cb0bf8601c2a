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


def shown_folder(path: Path, root: Path) -> str:
    """A folder as people read it in labels ("public/"): relative to the workspace when inside it."""
    try:
        return str(path.relative_to(root)) + "/"
    except ValueError:
        return str(path) + "/"
