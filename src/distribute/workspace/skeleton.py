"""Create a new workspace for an organisation: its config.toml, the channel files, an example release.

Nothing of the repository's example organisation goes into it: config.toml is written from the
identity given to `init`, the channel files take sender, lists and unsubscribe from that config,
and their account settings are CHANGE-ME placeholders that `validate` refuses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import UsageError
from .identity import PLACEHOLDER

# What init writes for an identity nobody gave (no terminal to ask on).
PLACEHOLDERS = {
    "name": f"{PLACEHOLDER} Organisation",
    "website": "https://change-me.example/",
    "sender": f"{PLACEHOLDER} Press Office <press@change-me.example>",
    "timezone": "UTC",
    "language": "en",
}

# State and outputs: made by distribute, not written by people.
GITIGNORE = [".distribute/", "outbox/", "public/", "maildir/", "wire/"]

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_ADDRESS = re.compile(r"^[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+$")


@dataclass(frozen=True)
class Identity:
    """Who the new workspace speaks for."""

    name: str
    website: str
    sender: str
    timezone: str
    language: str

    @property
    def zone(self) -> ZoneInfo:
        self.check()
        return ZoneInfo(self.timezone)

    def check(self) -> None:
        """UsageError naming the option that is wrong, before anything is written."""
        if not self.name.strip():
            raise UsageError("--name: give the organisation's name, as it should appear in every release")
        if not re.match(r"^https?://[^\s/]+\.[^\s/]+", self.website):
            raise UsageError(
                f"--website {self.website!r}: give the organisation's web address, e.g. https://example.org"
            )
        display, address = parseaddr(self.sender)
        if not _ADDRESS.match(address) or ("<" in self.sender) != bool(display):
            raise UsageError(
                f'--sender {self.sender!r}: give "Name <address>", e.g. "Press Office <press@example.org>"'
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"--timezone {self.timezone!r}: give an IANA time zone, e.g. Europe/Berlin") from None
        if not _LANGUAGE.match(self.language):
            raise UsageError(f"--language {self.language!r}: give a language tag (BCP 47), e.g. en, de, pt-BR")


def skeleton() -> Path:
    """The shipped channel files and lists: inside the wheel, or the repository root in a checkout."""
    packaged = resources.files("distribute") / "skeleton"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3]


# The example organisation's own languages: its Korean channel (language = "ko") stays out of a new
# workspace, and the newsletter's languages = [...] is left there as a comment to start from.
_ONE_LANGUAGE = re.compile(r'^language\s*=\s*"', re.M)
_LANGUAGES = re.compile(r"^(languages\s*=)", re.M)


def _own_languages(text: str) -> str:
    return _LANGUAGES.sub(r"# \1", text)


def create_workspace(directory: Path, identity: Identity, today: dt.date) -> list[Path]:
    """Write config.toml, channels/, lists/, an example release and .gitignore into `directory`; never overwrite."""
    identity.check()
    src = skeleton()
    copies = []
    for folder in ("channels", "lists"):
        for item in sorted((src / folder).rglob("*")) if (src / folder).is_dir() else []:
            if item.is_file() and not (folder == "channels" and _ONE_LANGUAGE.search(item.read_text(encoding="utf-8"))):
                copies.append((item, directory / folder / item.relative_to(src / folder)))
    written = {
        directory / "config.toml": config_text(identity),
        directory / "releases" / "first-release.md": example_release(identity, today),
    }
    existing = [p for p in [*written, *(dst for _, dst in copies)] if p.exists()]
    if existing:
        raise UsageError(f"{existing[0]} already exists; init makes a new workspace and overwrites nothing")
    directory.mkdir(parents=True, exist_ok=True)
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".toml":
            target.write_text(_own_languages(source.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copyfile(source, target)
    for target, text in written.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    ignore = directory / ".gitignore"
    _add_lines(ignore, GITIGNORE)
    (directory / "templates").mkdir(exist_ok=True)
    readme = directory / "templates" / "README.md"
    if not readme.exists():
        readme.write_text(TEMPLATES_README, encoding="utf-8")
    return [*written, *(dst for _, dst in copies), ignore, readme]


TEMPLATES_README = """\
# Templates of this workspace

A file here overrides the built-in template of the same name, e.g. `email/newsletter.html.j2`,
`email/newsletter.txt.j2`, `email/press-list.txt.j2`, `rss/item.html.j2`, `wire/copy.txt.j2`,
`social/mastodon.txt.j2`. Start from a copy of the built-in one, or extend it:

    {% extends "default:email/newsletter.html.j2" %}

Every template speaks the release's language: `{{ _("About %(name)s", name=org.name) }}` is
translated by the catalog (German "Über …", Korean "… 소개"), and the helpers
`format_date(value, "long")`, `format_time`, `format_datetime`, `format_zone` and
`format_moment` write dates and times as that language does, in the workspace timezone.
`language` is the release's BCP 47 tag and `text_direction` "ltr" or "rtl".

To change a fixed string without touching a template, put a catalog in
`locale/<language>/LC_MESSAGES/distribute.po` at the workspace root (its entries win over the
built-in ones; `locale/en/...` changes the English wording).

Every variable and helper, per template: docs/templates.md of distribute.
"""


def _add_lines(path: Path, lines: list[str]) -> None:
    """Append to a file the lines it does not have yet (an existing .gitignore is kept)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    have = set(text.splitlines())
    missing = [line for line in lines if line not in have]
    if not missing:
        return
    if text and not text.endswith("\n"):
        text += "\n"
    header = "# distribute: the ledger and what it writes (made by distribute, not by people)\n"
    path.write_text(text + ("\n" if text else "") + header + "".join(f"{line}\n" for line in missing), encoding="utf-8")


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def config_text(who: Identity) -> str:
    """config.toml of a new workspace, commented as config.example.toml is."""
    website = who.website if who.website.endswith("/") else who.website + "/"
    return f"""\
# distribute workspace configuration, written by `distribute init`.
# Paths are relative to the folder of this file. Secrets are never written here:
# channel files refer to them by environment variable, e.g. password = {{ env = "SMTP_PASSWORD" }}.
# Every value reading {PLACEHOLDER} is still to be filled in: `distribute validate` refuses it.

timezone = {_s(who.timezone)}  # IANA zone; local times in releases take this zone
language = {_s(who.language)}  # default release language (BCP 47)
database = ".distribute/state.db"  # SQLite file, or an SQLAlchemy URL (postgresql+psycopg://...)
outbox = "outbox"                  # where --dry-run writes
public = "public"                  # where the rss channel writes feed.xml and atom.xml
public_url = {_s(website + "press/")}  # where you serve public/ (the feeds' own links, images)

# Who sends: every channel takes its identity from here (From, List-Id, list names, feed title).
[organization]
name = {_s(who.name)}
website = {_s(who.website)}
sender = {_s(who.sender)}  # From of the email channels
# dateline = "CITY"  # default dateline of releases, optionally "CITY, Region"
# logo = "{website}logo.png"  # feeds and link cards
# The "About ..." paragraph at the end of every release:
boilerplate = ""
# One-click unsubscribe links of the email channels go to
# <website>/unsubscribe?list={{list}}&email={{email}}&token={{token}} unless this names another:
# unsubscribe_url = "{website}newsletter/unsubscribe?list={{list}}&email={{email}}&token={{token}}"
# unsubscribe_mailto = "unsubscribe@example.org"
"""


def example_release(who: Identity, today: dt.date) -> str:
    """A short example release in the organisation's name, due a week from today at 10:00 its time."""
    when = dt.datetime.combine(today + dt.timedelta(days=7), dt.time(10, 0), ZoneInfo(who.timezone))
    display, address = parseaddr(who.sender)
    return f"""\
+++
title = {_s(f"{who.name}: the headline of your first release")}
summary = "One or two sentences for previews, feeds and social posts: what is new, and why it matters."
publish_at = {when.isoformat()}    # {who.timezone}; a time without offset takes the config timezone
# embargo = {when.isoformat()}     # optional: nothing public before this
tags = ["announcement"]

[[contacts]]
name = {_s(display or who.name)}
email = {_s(address)}
+++
This is an example release of {who.name}: replace this text with yours. The first paragraph
is the lead; it opens the wire copy after the dateline.

Write the body in **Markdown**: paragraphs, [links]({who.website}), lists and quotes. The
"About" paragraph (boilerplate) and the media contacts are added at the end by each channel.

- `distribute validate releases/first-release.md` checks it for every channel;
- `distribute preview releases/first-release.md` shows what each channel would send.
"""
