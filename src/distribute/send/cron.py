"""The cron fast path: answer "is anything due?" with the standard library only, in a few milliseconds.

cron runs `distribute send --due` every minute, and nearly always nothing is due. Before any
heavy import (click, sqlalchemy, jinja2, ...), `__main__` asks `nothing_due(argv)`: for
`[--config PATH] [-v] send --due [--dry-run]` on a SQLite ledger of a workspace with a config
file it reads the `database` setting, looks for a row ready now (or a claim left by a crashed process), and if there is
none the process exits 4 at once. In every other case it returns False and the full command
line runs, which checks the same things again properly.
"""

from __future__ import annotations

import os
import sys

from ..ledger.sql import ANY_READY, HOLDERS


def _global_option(args: list[str], i: int, config: str | None, verbose: int) -> tuple[int, str | None, int] | None:
    """When args[i] is a global option (--config PATH, --config=PATH, -v…, --verbose): (next index,
    config, verbosity) with it taken in; otherwise None."""
    arg = args[i]
    if arg == "--config" and i + 1 < len(args):
        return i + 2, args[i + 1], verbose
    if arg.startswith("--config="):
        return i + 1, arg.partition("=")[2], verbose
    if arg == "--verbose" or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
        return i + 1, config, verbose + (1 if arg == "--verbose" else len(arg) - 1)
    return None


def _parse_argv(argv: list[str]) -> tuple[str | None, int] | None:
    """(--config, verbosity) when argv is exactly cron mode, else None."""
    config, verbose, i = None, 0, 0
    while i < len(argv) and argv[i] != "send":
        taken = _global_option(argv, i, config, verbose)
        if taken is None:
            return None
        i, config, verbose = taken
    if i >= len(argv):
        return None
    # Global options may follow the command too (`send --due --config x.toml -v`).
    rest, left, j = argv[i + 1 :], [], 0
    while j < len(rest):
        taken = _global_option(rest, j, config, verbose)
        if taken is None:
            left.append(rest[j])
            j += 1
        else:
            j, config, verbose = taken
    if "--due" not in left or any(a not in ("--due", "--dry-run") for a in left):
        return None
    return config, verbose


def _database_setting(path: str) -> str | None:
    """The top-level `database` value of config.toml; "" when absent; None when unsure (use tomllib)."""
    with open(path, encoding="utf-8-sig") as f:  # -sig: a file saved by a Windows editor starts with a BOM
        text = f.read()
    value = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            header = line.partition("#")[0].strip().strip("[]").strip()
            if header and all(ch.isalnum() or ch in "-_. " for ch in header):
                break  # top-level keys end at the first table
            return None  # an array spread over lines, say: let the real parser read it
        if '"""' in line or "'''" in line:
            return None
        key, eq, rest = line.partition("=")
        if "database" not in key:
            continue
        if not eq or key.strip() != "database":
            return None  # a quoted or dotted key: the real parser knows
        rest = rest.strip()
        quote = rest[:1]
        end = rest.find(quote, 1) if quote in ('"', "'") else -1
        if end < 0 or (quote == '"' and "\\" in rest[:end]) or rest[end + 1 :].strip()[:1] not in ("", "#"):
            return None
        value = rest[1:end]
    return value


def _sqlite_path(argv_config: str | None) -> str | None:
    """The ledger's SQLite file, or None when this fast path cannot tell (PostgreSQL, odd config)."""
    config = argv_config or os.environ.get("DISTRIBUTE_CONFIG")
    if config is None and os.path.isfile("config.toml"):
        config = "config.toml"
    if config is None or not os.path.isfile(config):
        return None  # no configuration (a cron line in the wrong folder): the full command line refuses
    root = os.path.dirname(os.path.abspath(config))
    setting = _database_setting(config)
    if setting is None:
        import tomllib

        with open(config, "rb") as f:
            setting = str(tomllib.load(f).get("database", ""))
    setting = setting or ".distribute/state.db"
    if "://" in setting:
        if not setting.startswith("sqlite:///"):
            return None
        path = setting.removeprefix("sqlite:///")
    else:
        path = os.path.join(root, os.path.expanduser(setting))
    # A ledger outside the workspace is allowed only by allow_paths (workspace/paths.py); anything this
    # check is unsure of goes to the full program, which decides with the same rule.
    real = os.path.realpath(path)
    if _inside(real, root):
        return path
    import tomllib

    with open(config, "rb") as f:
        allowed = tomllib.load(f).get("allow_paths", [])
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        return None
    folders = (os.path.join(root, os.path.expanduser(a)) for a in allowed)
    return path if any(_inside(real, folder) for folder in folders) else None


def _inside(real: str, folder: str) -> bool:
    base = os.path.realpath(folder)
    return os.path.commonpath([real, base]) == base


def nothing_due(argv: list[str]) -> bool:
    """True when argv is cron mode and the ledger certainly has nothing to do right now."""
    parsed = _parse_argv(argv)
    if parsed is None:
        return False
    try:
        path = _sqlite_path(parsed[0])
        if path is None:
            return False
        if not os.path.exists(path):
            return _quiet(parsed[1])  # no ledger yet: nothing was ever scheduled
        import sqlite3

        from ..clock import now, stamp
        from ..ledger.claims import is_stale

        at = stamp(now())
        conn = sqlite3.connect(path, timeout=30)
        try:
            if conn.execute(ANY_READY, {"now": at}).fetchone():
                return False
            if any(is_stale(owner, lease, at) for owner, lease in conn.execute(HOLDERS)):
                return False
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - a missing table, a locked file...: let the full path decide
        if "no such table" in str(exc):
            return _quiet(parsed[1])
        return False
    return _quiet(parsed[1])


def _quiet(verbose: int) -> bool:
    if verbose:
        sys.stderr.write("nothing due\n")
    return True
