"""Who holds a claim on a delivery, and whether that holder is gone (stdlib only: cron imports it).

A claim records the host, the process id and the process's start time. On the same host a
claim is stale as soon as that process no longer exists (the start time guards against a
recycled pid); a claim from another host is stale only when its lease has run out.
"""

from __future__ import annotations

import os

_TICKS: dict[int, str] = {}


def _hostname() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - Windows
        import socket

        return socket.gethostname()


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot ("" where /proc is missing), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields and fields[0] in (b"Z", b"X"):  # a zombie has finished; only its exit status is left
        return None
    return fields[19].decode() if len(fields) > 19 else ""


def identity() -> str:
    """This process as a claim holder: "host pid start"."""
    pid = os.getpid()
    if pid not in _TICKS:
        _TICKS[pid] = _start_ticks(pid) or ""
    return f"{_hostname()} {pid} {_TICKS[pid]}"


def holder_gone(owner: str | None) -> bool | None:
    """True if the holder was a process on this host that has ended; False if it runs; None if unknown."""
    if not owner:
        return True
    parts = owner.split(" ")
    if len(parts) != 3 or parts[0] != _hostname():
        return None
    pid, ticks = int(parts[1]), parts[2]
    current = _start_ticks(pid)
    if current is None:
        return True
    if current == "":  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return bool(ticks) and current != ticks


def is_stale(owner: str | None, lease_until: str | None, now_stamp: str) -> bool:
    """Whether a claim may be taken over: its holder is gone, or (other host) its lease ran out."""
    gone = holder_gone(owner)
    if gone is None:
        return lease_until is None or lease_until < now_stamp
    return gone
