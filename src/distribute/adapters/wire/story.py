"""What every wire format says about a release: identity, embargo, dateline, credits, body."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from .datelines import dateline_text, lead_in, long_date

if TYPE_CHECKING:
    from ...release import Contact, Release
    from ...text.i18n import Lang
    from ...workspace.config import Channel, Organization, Workspace

GUID_PREFIX = "urn:newsml"


@dataclass(frozen=True)
class Story:
    """One release as wire copy: the shared fields of the text, NewsML-G2 and ninjs documents."""

    release: Release
    organization: Organization
    guid: str
    provider_id: str
    created: dt.datetime  # when the copy is due to go out, local: versionCreated / firstCreated
    embargo: dt.datetime | None  # set only when this copy goes out before the embargo
    notice: str
    ed_note: str
    dateline: str  # "SEOUL, June 30, 2025"
    lead: str  # "SEOUL, June 30, 2025 /PRNewswire/ -- "
    located: str
    byline: str
    credit: str
    body_html: str  # safe HTML, links absolute
    lang: Lang | None = None  # the release's language: catalog and CLDR formats

    @property
    def contacts(self) -> tuple[Contact, ...]:
        return self.release.contacts


def utc_clock(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%H:%M UTC")


def embargo_time(value: dt.datetime, tz: ZoneInfo) -> str:
    """ "June 30, 2025, 09:00 KST (00:00 UTC)": local date, time and zone, then UTC."""
    local = value.astimezone(tz)
    utc = value.astimezone(dt.timezone.utc)
    text = f"{long_date(local.date())}, {local.strftime('%H:%M')} {local.tzname()}"
    if local.utcoffset() == dt.timedelta(0):
        return text if local.tzname() == "UTC" else f"{text} ({utc_clock(value)})"
    when = utc_clock(value) if utc.date() == local.date() else f"{long_date(utc.date())}, {utc_clock(value)}"
    return f"{text} ({when})"


def provider_id(workspace: Workspace) -> str:
    """The provider id in URIs: [organization] provider, else the website's host, else a slug of the name."""
    org = workspace.config.organization
    if org.provider:
        return org.provider
    host = urlsplit(org.website or workspace.config.public_url).hostname
    if host:
        return host
    return "".join(c if c.isalnum() else "-" for c in org.name.lower()).strip("-") or "distribute"


def is_embargoed_copy(release: Release, channel: Channel, due: dt.datetime) -> bool:
    """Whether this channel's copy leaves before the embargo: an embargoed_copy channel due before it."""
    return release.embargo is not None and channel.common.embargoed_copy and due < release.embargo


def build_story(release: Release, channel: Channel, workspace: Workspace, due: dt.datetime) -> Story:
    """The wire story of a release for one channel, due to go out at `due`."""
    from ...text.i18n import language
    from ...text.markdown import absolutize

    settings, org, tz = channel.settings, workspace.config.organization.in_language(release.language), workspace.tz
    # The version is made when it goes out (never a time still to come when it arrives); the
    # dateline keeps the release's own day.
    created = due.astimezone(tz)
    # The dateline is the day the news may be printed: an embargo later than publish_at moves it
    # (an embargoed copy sent the day before is datelined the day the embargo lifts).
    public = max(release.publish_at, release.embargo) if release.embargo is not None else release.publish_at
    day = public.astimezone(tz).date()
    embargo = release.embargo if is_embargoed_copy(release, channel, due) else None
    lang = language(workspace, release.language)
    _ = lang.gettext
    if embargo is not None:
        when = embargo_time(embargo, tz) if lang.english else lang.moment(embargo)
        notice = _("EMBARGOED UNTIL %(when)s", when=when)
        ed_note = _("STRICTLY EMBARGOED: not for publication or broadcast before %(when)s.", when=when)
    else:
        notice, ed_note = _("FOR IMMEDIATE RELEASE"), ""
    pid = provider_id(workspace)
    guid = f"{GUID_PREFIX}:{pid}:{release.publish_at.astimezone(dt.timezone.utc):%Y%m%d}:{release.id}"
    base = release.url or org.website or workspace.config.public_url
    body_html = absolutize(release.body_html, base) if base else release.body_html
    return Story(
        release=release,
        organization=org,
        guid=guid,
        provider_id=pid,
        created=created,
        embargo=embargo,
        notice=notice,
        ed_note=ed_note,
        dateline=dateline_text(release.dateline, day, lang),
        lead=lead_in(settings.style, release.dateline, day, lang),
        located=release.dateline,
        byline=settings.byline or org.name,
        credit=settings.credit or org.name,
        body_html=body_html,
        lang=lang,
    )
