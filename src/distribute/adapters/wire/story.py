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
class Related:
    """Another language of the same release, as a wire document links it."""

    guid: str
    language: str
    title: str
    rel: str  # "translationOf" (this copy is a translation of it) or "hasTranslation" (it translates this one)


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
    # The release's other languages: the original (from a translation), or each translation (from the original).
    related: tuple[Related, ...] = ()

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


def is_translation(release: Release, original: Release | None) -> bool:
    """Whether `release` is a translation of `original` rather than the original itself."""
    return original is not None and release is not original and release.language != original.language


def story_guid(workspace: Workspace, release: Release, original: Release | None = None) -> str:
    """The document guid: `urn:newsml:<provider>:<day>:<id>`, and `...:<id>.<lang>` for a translation."""
    name = f"{release.id}.{release.language}" if is_translation(release, original) else release.id
    return f"{GUID_PREFIX}:{provider_id(workspace)}:{release.publish_at.astimezone(dt.timezone.utc):%Y%m%d}:{name}"


def related(workspace: Workspace, release: Release, original: Release | None) -> tuple[Related, ...]:
    """A translation links its original; the original links each of its translations."""
    if original is None or not original.translations:
        return ()
    if is_translation(release, original):
        return (Related(story_guid(workspace, original), original.language, original.title, "translationOf"),)
    return tuple(
        Related(story_guid(workspace, t, original), t.language, t.title, "hasTranslation")
        for t in original.translations
    )


def is_embargoed_copy(release: Release, channel: Channel, due: dt.datetime) -> bool:
    """Whether this channel's copy leaves before the embargo: an embargoed_copy channel due before it."""
    return release.embargo is not None and channel.common.embargoed_copy and due < release.embargo


def build_story(
    release: Release, channel: Channel, workspace: Workspace, due: dt.datetime, original: Release | None = None
) -> Story:
    """The wire story of a release for one channel, due to go out at `due`.

    `release` may be a translation of `original`: its own guid, language, dateline and dates in its
    language, linked to the original (and the original to it).
    """
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
    guid = story_guid(workspace, release, original)
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
        related=related(workspace, release, original),
    )
