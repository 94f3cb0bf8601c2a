"""`distribute channels --check`: every channel's account tried before release day, nothing delivered.

Each channel's adapter logs in or tries its folder (`Adapter.check_account`); a channel that lacks
what its transport needs (an unset secret, a missing list) is reported with the same "missing ..."
reasons as `distribute channels`, without contacting anyone. Every line passes the redactor, so a
server that echoes a token back in its error does not put it on the screen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DistributeError, SecretMissing, UsageError
from ..workspace.schema import redact

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..workspace.config import Channel, Workspace


@dataclass(frozen=True)
class AccountResult:
    """One channel's account check, as `channels --check` shows it."""

    channel: str
    adapter: str
    ok: bool
    detail: str
    checked: bool = True


def chosen(workspace: Workspace, names: Sequence[str]) -> list[Channel]:
    """The channels named with -c (enabled or not), else every enabled one; an unknown name is a usage error."""
    if not names:
        return [ch for ch in workspace.channels.values() if ch.enabled]
    unknown = [n for n in names if n not in workspace.channels]
    if unknown:
        listed = ", ".join(workspace.channels) or "none"
        raise UsageError(f"unknown channel {unknown[0]!r} (-c); configured channels: {listed}")
    return [workspace.channels[n] for n in dict.fromkeys(names)]


def check_channel(workspace: Workspace, channel: Channel) -> AccountResult:
    """Log in to one channel's account (or try its folder) without sending anything; `detail` is not yet masked."""
    adapter = workspace.adapter(channel)
    try:
        blocked = adapter.blocking(channel)
        if blocked:
            return _result(channel, False, missing(blocked))
        found = adapter.check_account(channel)
    except SecretMissing as exc:
        return _result(channel, False, exc.message)
    except DistributeError as exc:
        return _result(channel, False, str(exc))
    except Exception as exc:  # a plugin's bug must not hide the other channels' results
        return _result(channel, False, f"the {channel.adapter} adapter's check broke ({type(exc).__name__}: {exc})")
    finally:
        adapter.close()
    return _result(channel, found.ok, found.detail, found.checked)


def check_accounts(workspace: Workspace, names: Sequence[str] = ()) -> list[AccountResult]:
    """Every chosen channel checked, a few at once (each waits on a remote server), in the order of the channel files."""
    from concurrent.futures import ThreadPoolExecutor

    channels = chosen(workspace, names)
    # Imported before any thread starts: two threads importing a package with import cycles (requests
    # has them) at the same moment can each meet the other's half-made module.
    import requests  # noqa: F401
    import requests_oauthlib  # noqa: F401

    for ch in channels:
        workspace.adapter(ch)  # each adapter's module, imported here once
    if len(channels) <= 1:
        found = [check_channel(workspace, ch) for ch in channels]
    else:
        with ThreadPoolExecutor(max_workers=min(8, len(channels)), thread_name_prefix="check") as pool:
            found = list(pool.map(lambda ch: check_channel(workspace, ch), channels))
    # Masked once all are done: a check in another thread may still be reading (and registering) a secret.
    return [dataclasses.replace(r, detail=redact(r.detail)) for r in found]


def missing(blocked: Sequence[str]) -> str:
    """The blocking() reasons as one line: the unset variables together, then the rest, and what to do."""
    prefix = "the environment variable "
    names = [b[len(prefix) :] for b in blocked if b.startswith(prefix)]
    rest = [b for b in blocked if not b.startswith(prefix)]
    parts = []
    if names:
        plural = "s" if len(names) > 1 else ""
        parts.append(f"the environment variable{plural} {', '.join(names)}")
    line = "missing " + ", ".join(parts + rest)
    if names:
        line += f"; set {'them' if len(names) > 1 else 'it'} where distribute runs (shell, cron, systemd unit)"
    return line


def _result(channel: Channel, ok: bool, detail: str, checked: bool = True) -> AccountResult:
    return AccountResult(channel.name, channel.adapter, ok, " ".join(detail.split()), checked)
