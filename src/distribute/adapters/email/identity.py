"""Who an email channel speaks for: From, List-Id and unsubscribe, from the channel or else from [organization].

A channel file only says what differs from the organisation, so a new workspace whose config.toml
names its organisation sends in that name without touching a single channel file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...workspace.config import Channel, Organization, Workspace
    from .settings import EmailSettings

# The one-click endpoint under the website when nothing names one (the site must answer there).
UNSUBSCRIBE_PATH = "unsubscribe?list={list}&email={email}&token={token}"


@dataclass(frozen=True)
class ListIdentity:
    """The sender and list headers of one email channel, defaults filled in."""

    sender: str  # "Name <address>" as configured; "" when neither the channel nor config has one
    list_name: str
    unsubscribe_url: str
    unsubscribe_mailto: str


def list_identity(workspace: Workspace, channel: Channel) -> ListIdentity:
    """The channel's own values, else [organization]'s, else what follows from its name and website."""
    s: EmailSettings = channel.settings
    org = workspace.config.organization
    words = channel.name.replace("-", " ").replace("_", " ")
    return ListIdentity(
        sender=s.sender or org.sender,
        list_name=s.list_name or f"{org.name} {words}",
        unsubscribe_url=s.unsubscribe_url or default_unsubscribe_url(org, signed=s.unsubscribe_key is not None),
        unsubscribe_mailto=s.unsubscribe_mailto or org.unsubscribe_mailto,
    )


def default_unsubscribe_url(org: Organization, *, signed: bool) -> str:
    """[organization] unsubscribe_url; else, for a channel that signs its links, one under the website."""
    if org.unsubscribe_url:
        return org.unsubscribe_url
    if signed and org.website.startswith("https://"):
        return org.website.rstrip("/") + "/" + UNSUBSCRIBE_PATH
    return ""
