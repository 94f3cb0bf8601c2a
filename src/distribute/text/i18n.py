"""The release's language in every output: CLDR dates, times and zone names (Babel) and the message catalog.

Every fixed string of the built-in templates, and the ones Python writes into outputs (embargo
notices, wire labels), is a msgid of the gettext domain `distribute`. The built-in translations are
`.po` files shipped in the package (`distribute/locale/<lang>/LC_MESSAGES/distribute.po`) and
compiled in memory when first used, so neither a build step nor `pip install -e .` needs Babel's
command line. A workspace overrides any string with its own `locale/<lang>/LC_MESSAGES/distribute.po`
(the same layout; `pybabel init -i <the shipped distribute.pot> -d locale -l de -D distribute`
starts one): its entries win, the built-in ones fill the rest, and the msgid (English) is the last word.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates

if TYPE_CHECKING:
    from babel.support import Translations

    from ..workspace.config import Workspace

DOMAIN = "distribute"
_UTC = dt.timezone.utc


def builtin_locale_dir() -> Path:
    """The shipped catalogs: inside the package (a wheel and an editable install alike)."""
    return Path(str(resources.files("distribute") / "locale"))


def parse_tag(tag: str) -> Locale:
    """A BCP 47 tag ("de", "pt-BR", "zh-Hant-TW") as a Babel locale; an unknown one is English."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(tag.split("-")[0])
        except (UnknownLocaleError, ValueError):
            return Locale("en")


@lru_cache(maxsize=64)
def _number_locale(tag: str) -> Locale:
    return parse_tag(tag)


def format_count(n: int, tag: str) -> str:
    """A count as the language `tag` writes it (CLDR): 20,000 in English, 20.000 in German, 20 000 in French.

    For counts printed about a release (preview, schedule, send, status): `tag` is the release's
    language; an empty tag or one CLDR does not know writes it the English way."""
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_number_locale(tag or "en"))


def number(value: int | str, language: str) -> str:
    """A count (or a check's value) as the release's language writes numbers: 20,000, 20.000, 20 000."""
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    return format_count(value, language)


def _candidates(locale: Locale) -> list[str]:
    """Catalog folder names from the most to the least specific: zh_Hant_TW, zh_TW, zh_Hant, zh."""
    lang, script, territory = locale.language, locale.script, locale.territory
    names = []
    if script and territory:
        names.append(f"{lang}_{script}_{territory}")
    if territory:
        names.append(f"{lang}_{territory}")
    if script:
        names.append(f"{lang}_{script}")
    names.append(lang)
    return names


def _po_file(folder: Path, locale: Locale) -> Path | None:
    for name in _candidates(locale):
        path = folder / name / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            return path
    return None


_MO_MAGIC = (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # a .mo file's first four bytes (either byte order)


@lru_cache(maxsize=64)
def _mo(path: str, mtime_ns: int, locale: str) -> bytes:
    """One .po file compiled (fuzzy entries are left out, as msgfmt does), kept compiled between runs.

    Babel's .po reader and its catalog classes ran on every cold run of a release with a
    translation (about 1% of a cold `preview`), for the same compiled bytes every time: they are
    kept in the user's cache folder, named by a hash of the .po file's bytes (an edited catalog is
    compiled afresh) in a folder whose name carries this file's, Babel's and Python's versions.
    Only compiled catalogs go there.
    """
    with open(path, "rb") as fp:
        source = fp.read()
    cached = _compiled_catalog(source, locale)
    if cached is not None:
        try:
            kept = cached.read_bytes()
        except OSError:  # not compiled yet (or unreadable): compile it below
            kept = b""
        if kept[:4] in _MO_MAGIC:
            return kept
    # Imported here: an English release reads no catalog, so a cold validate of one never loads babel.messages.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(source), locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    data = buffer.getvalue()
    if cached is not None:
        _keep(cached, data)
    return data


def _compiled_catalog(source: bytes, locale: str) -> Path | None:
    """Where the compiled form of a .po file with these bytes is kept (None: no cache folder to use)."""
    import hashlib
    import sys

    import babel

    from ..cachedir import cache_path

    folder = cache_path("catalogs", Path(__file__), babel.__version__.encode(), sys.version.encode())
    if folder is None:
        return None
    return folder / f"{hashlib.sha256(source + locale.encode()).hexdigest()[:32]}.mo"


def _keep(path: Path, data: bytes) -> None:
    """Write a compiled catalog whole or not at all (a parallel run reads either none or all of it)."""
    import os
    import threading

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        part = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.part")  # one per writer
        part.write_bytes(data)
        os.replace(part, path)
    except OSError:  # a full disk or a read-only home: compile again next time
        pass


def _load(path: Path, locale: Locale) -> Translations:
    from babel.support import Translations

    return Translations(fp=io.BytesIO(_mo(str(path), path.stat().st_mtime_ns, str(locale))), domain=DOMAIN)


def catalog_files(locale: Locale, workspace_locale: Path | None) -> tuple[Path, ...]:
    """The .po files that speak for `locale`: the built-in one, then the workspace's own."""
    builtin = _po_file(builtin_locale_dir(), locale)
    own = _po_file(workspace_locale, locale) if workspace_locale is not None and workspace_locale.is_dir() else None
    return tuple(p for p in (builtin, own) if p is not None)


def translations(files: tuple[Path, ...], locale: Locale) -> gettext.NullTranslations:
    """The catalogs merged, later files winning; English msgids where none has a string."""
    if not files:
        return gettext.NullTranslations()
    merged = _load(files[0], locale)
    for path in files[1:]:
        merged.merge(_load(path, locale))
    return merged


@dataclass(frozen=True)
class Lang:
    """One language as the outputs speak it: its tag, CLDR locale, catalog, writing direction and zone."""

    tag: str
    locale: Locale
    catalog: gettext.NullTranslations
    tz: ZoneInfo | dt.tzinfo
    key: tuple[tuple[str, int], ...] = ()  # the catalog files and their times: templates cache by it

    @property
    def direction(self) -> str:
        """ "rtl" for Arabic, Hebrew, Persian, Urdu, ...; "ltr" otherwise (CLDR's character order)."""
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    @property
    def english(self) -> bool:
        return self.locale.language == "en"

    def gettext(self, message: str, **values: Any) -> str:
        """The translation of `message`, with %(name)s values filled in."""
        text = self.catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self.catalog.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def local(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(self.tz) if value.tzinfo else value

    def format_date(self, value: dt.date | dt.datetime, format: str = "long") -> str:
        """A date in the release's language ("2. Dezember 2026", "2026년 12월 2일"); CLDR widths or a pattern."""
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return babel_dates.format_date(value, format=format, locale=self.locale)

    def format_time(self, value: dt.datetime | dt.time, format: str = "short") -> str:
        """A time of day in the workspace zone, as the language writes it ("10:00", "오전 10:00")."""
        if isinstance(value, dt.datetime):
            value = self.local(value)
        return babel_dates.format_time(value, format=format, locale=self.locale)

    def format_datetime(self, value: dt.datetime, format: str = "medium") -> str:
        """Date and time in the workspace zone, joined the way the language joins them."""
        return babel_dates.format_datetime(self.local(value), format=format, tzinfo=None, locale=self.locale)

    def format_zone(self, value: dt.datetime) -> str:
        """The zone's name at that instant: CLDR's short name where the language has one (MEZ, CET),
        else its long name ("한국 표준시"); UTC stays UTC."""
        local = self.local(value)
        if local.utcoffset() == dt.timedelta(0) and local.tzname() in ("UTC", "GMT", None):
            return "UTC"
        short = babel_dates.get_timezone_name(local, width="short", locale=self.locale)
        if short and not short.startswith(("+", "-", "GMT", "UTC")):
            return short
        return babel_dates.get_timezone_name(local, width="long", locale=self.locale)

    def moment(self, value: dt.datetime) -> str:
        """An instant for people in two places: local date, time and zone, then UTC.

        "2. Dezember 2026, 10:00 MEZ (09:00 UTC)", "2026년 3월 12일 오전 9:00 한국 표준시 (00:00 UTC)"."""
        local = self.local(value)
        utc = value.astimezone(_UTC)
        pattern = str(self.locale.datetime_formats["medium"])
        text = pattern.replace("{1}", self.format_date(local.date())).replace("{0}", self.format_time(local.time()))
        if local.utcoffset() == dt.timedelta(0) and self.format_zone(local) == "UTC":
            return f"{text} UTC"
        clock = utc.strftime("%H:%M UTC")
        if utc.date() != local.date():
            clock = pattern.replace("{1}", self.format_date(utc.date())).replace("{0}", clock)
        return f"{text} {self.format_zone(local)} ({clock})"

    def template_globals(self) -> dict[str, Any]:
        """What templates get: the locale and the formatting helpers (see docs/templates.md)."""
        return {
            "language": self.tag,
            "locale": self.locale,
            "text_direction": self.direction,
            "format_date": self.format_date,
            "format_time": self.format_time,
            "format_datetime": self.format_datetime,
            "format_zone": self.format_zone,
            "format_moment": self.moment,
        }


def language_name(tag: str) -> str:
    """ "한국어 · ko", "English · en": the language in its own words (CLDR), then its tag."""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(tag.replace("-", "_")) or ""
    except (UnknownLocaleError, ValueError):
        name = ""
    return f"{name} · {tag}" if name else tag


def language(workspace: Workspace, tag: str) -> Lang:
    """The language `tag` as this workspace writes it (its own catalog over the built-in one)."""
    locale = parse_tag(tag or workspace.config.language or "en")
    files = catalog_files(locale, workspace.root / "locale")
    key = tuple((str(p), p.stat().st_mtime_ns) for p in files)
    return Lang(tag or str(locale), locale, translations(files, locale), workspace.tz, key)


def english() -> Lang:
    """English with the built-in strings only (for callers that know no workspace)."""
    return Lang("en", Locale("en"), gettext.NullTranslations(), _UTC)


def language_warning(workspace: Workspace, release: Any) -> str | None:
    """validate's warning for a release language with no catalog (its fixed words would be English)."""
    tag = release.language or workspace.config.language or "en"
    try:
        locale = Locale.parse(tag.replace("-", "_"))
        known = True
    except (UnknownLocaleError, ValueError):
        locale, known = parse_tag(tag), False
    if locale.language == "en" and known:
        return None
    if known and catalog_files(locale, workspace.root / "locale"):
        return None
    line = release.source.line_of((), "language")
    where = f"{release.path}:{line}" if line else str(release.path)
    if not known:
        return (
            f"{where}: warning: language {tag!r} is not one CLDR knows, so dates and fixed words "
            "will be English; check the tag (BCP 47, e.g. de, ko, pt-BR)"
        )
    return (
        f"{where}: warning: language {tag!r} has no message catalog, so the fixed words "
        f"(FOR IMMEDIATE RELEASE, Media contact, About …) stay English (dates are {locale.english_name}); "
        f"add locale/{locale}/LC_MESSAGES/distribute.po to the workspace to translate them (see docs/languages.md)"
    )
