"""Who an email channel speaks for: From, List-Id and unsubscribe, from the channel or else from [organization].

A channel file only says what differs from the organisation, so a new workspace whose config.toml
names its organisation sends in that name without touching a single channel file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...text.i18n import Lang
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


def list_identity(workspace: Workspace, channel: Channel, lang: Lang | None = None) -> ListIdentity:
    """The channel's own values, else [organization]'s, else what follows from its name and website.

    With `lang` (a copy in that language), the default list name is in it: the organisation's name
    there ([organization.translations]) and the catalog's words for a newsletter or a press list.
    """
    s: EmailSettings = channel.settings
    org = workspace.config.organization
    return ListIdentity(
        sender=s.sender or org.sender,
        list_name=s.list_name or default_list_name(org, channel.name, lang),
        unsubscribe_url=s.unsubscribe_url or default_unsubscribe_url(org, signed=s.unsubscribe_key is not None),
        unsubscribe_mailto=s.unsubscribe_mailto or org.unsubscribe_mailto,
    )


def default_list_name(org: Organization, channel: str, lang: Lang | None) -> str:
    """ "<organisation> newsletter" / "<organisation> press list" (in `lang`), else the organisation and the channel's name."""
    if lang is None:
        return f"{org.name} {channel.replace('-', ' ').replace('_', ' ')}"
    name = org.in_language(lang.tag).name
    if channel == "newsletter":
        return lang.gettext("%(organization)s newsletter", organization=name)
    if channel == "press-list":
        return lang.gettext("%(organization)s press list", organization=name)
    return f"{name} {channel.replace('-', ' ').replace('_', ' ')}"


def default_unsubscribe_url(org: Organization, *, signed: bool) -> str:
    """[organization] unsubscribe_url; else, for a channel that signs its links, one under the website."""
    if org.unsubscribe_url:
        return org.unsubscribe_url
    if signed and org.website.startswith("https://"):
        return org.website.rstrip("/") + "/" + UNSUBSCRIBE_PATH
    return ""
