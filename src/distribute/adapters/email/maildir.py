"""Maildir delivery: each message written to tmp/, then renamed into new/, as mailbox.Maildir and MTAs do.

A reader (a mail client, Dovecot, `mailbox.Maildir`) sees a complete message or none. Files use
the platform's line ends, as Maildir readers expect; names follow the Maildir convention
(time.M<microseconds>P<pid>Q<counter>.<host>), unique across processes and hosts.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from pathlib import Path

from ...errors import DeliveryError

_COUNTER = itertools.count(1)


def _host() -> str:
    # "/" and ":" would break the name (":" separates the info part, "/" the path).
    return socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"


def ensure(folder: Path) -> None:
    """Create the Maildir (cur, new, tmp) if it is not there."""
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True, exist_ok=True)


def write(folder: Path, message: bytes) -> str:
    """Deliver one message (CRLF line ends) into the Maildir; returns its file name in new/."""
    import errno

    now = time.time()
    name = f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_COUNTER)}.{_host()}"
    data = message.replace(b"\r\n", os.linesep.encode())
    tmp, new = folder / "tmp" / name, folder / "new" / name
    try:
        ensure(folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.rename(tmp, new)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    except OSError as exc:
        permanent = exc.errno in (errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EROFS)
        raise DeliveryError(
            f"Maildir {folder}: {exc.strerror}" + ("; fix the folder or its permissions" if permanent else ""),
            retryable=not permanent,
        ) from None
    return name
