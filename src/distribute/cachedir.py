"""The user's cache folder for what distribute keeps between runs (compiled catalogs and templates, known mail domains)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_path(kind: str, code: Path, *versions: bytes) -> Path | None:
    """`$XDG_CACHE_HOME/distribute/<kind>-<stamp>` (else ~/.cache), or None without a home folder.

    The stamp is the hash of the module that writes there (`code`) and of the `versions` its
    contents depend on (a library's, Python's): a new release of any of them starts afresh.
    Nothing is created here; the caller makes the folder or file when it writes.
    """
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        stamp = hashlib.sha256(code.read_bytes() + b"".join(versions)).hexdigest()[:16]
    except (OSError, RuntimeError):  # no home folder
        return None
    return base / "distribute" / f"{kind}-{stamp}"
