"""Who a workspace speaks for: values `init` left to fill in, and email sent From another domain.

`validate` refuses a channel (or config.toml) that still carries a CHANGE-ME placeholder, at its
line, so that nothing posts to an account nobody chose; and it warns when an email channel's From
is not on the organisation's own domain, which receivers treat as spoofing.
"""

from __future__ import annotations

import json
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .toml_lines import TomlSource, load_toml_file

if TYPE_CHECKING:
    from .config import Channel, Workspace

# The mark of every value a new workspace must still fill in (init writes it; matched in any case).
PLACEHOLDER = "CHANGE-ME"


def _walk(data: Any, table: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str, str]]:
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        if isinstance(value, str) and PLACEHOLDER.lower() in value.lower() and isinstance(key, str):
            found.append((table, key, value))
        elif isinstance(value, (dict, list)):
            found += _walk(value, (*table, key))
    return found


def placeholders(source: TomlSource, advice: str) -> list[str]:
    """`path:line: key = "..." is still a placeholder: <advice>` for every such value of a TOML file."""
    lines = []
    for table, key, value in _walk(source.parse(), ()):
        line = source.line_of(table, key)
        where = f"{source.path}:{line}" if line else str(source.path)
        names = [str(t) for t in table if isinstance(t, str)]
        shown = (f"[{'.'.join(names)}] " if names else "") + f"{key} = {json.dumps(value, ensure_ascii=False)}"
        lines.append(f"{where}: {shown} is still the placeholder `distribute init` wrote: {advice}")
    return lines


def channel_placeholders(channel: Channel) -> list[str]:
    """Placeholders left in a channel file (an account handle, page or instance nobody filled in)."""
    return placeholders(
        channel.source, f"put the account's own value there, or leave channel {channel.name} out of the release"
    )


def config_placeholders(workspace: Workspace) -> list[str]:
    """Placeholders left in config.toml (the organisation's name, website or sender)."""
    if workspace.config_path is None:
        return []
    return placeholders(load_toml_file(workspace.config_path)[1], "put your organisation's own value there")


def _related(domain: str, host: str) -> bool:
    """press@example.org for https://www.example.org or https://en.example.org: the same organisation."""
    a, b = domain.lower().removeprefix("www."), host.lower().removeprefix("www.")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def sender_domain_warning(workspace: Workspace, channel: Channel) -> str | None:
    """A warning when an email channel's From is not on the domain of [organization] website."""
    if channel.adapter != "email":
        return None
    org = workspace.config.organization
    host = urlsplit(org.website).hostname or ""
    own = getattr(channel.settings, "sender", "")
    address = parseaddr(own or org.sender)[1]
    domain = address.rpartition("@")[2]
    if not host or not domain or _related(domain, host):
        return None
    if own:
        line = channel.source.line_of((), "from")
        where = f"{channel.path}:{line}" if line else str(channel.path)
    else:
        config = load_toml_file(workspace.config_path)[1] if workspace.config_path else None
        line = config.line_of(("organization",), "sender") if config else None
        where = f"{workspace.config_path}:{line}" if line else str(workspace.config_path or "config.toml")
    return (
        f"{where}: channel {channel.name} sends From {address}, not on the organisation's domain {host} "
        f"([organization] website): mail from a domain that is not yours is taken for spoofing or spam; "
        f"send from an address at {host} unless {domain} is yours too"
    )
