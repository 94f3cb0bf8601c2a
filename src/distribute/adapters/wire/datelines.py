"""Datelines as the wires print them, with AP state, region and month abbreviations.

`HENDERSON, Nev., Oct. 7, 2025 /PRNewswire/ --`, `PRINCETON, N.J.--(BUSINESS WIRE)--`,
`CINCINNATI, Dec. 04, 2025 (GLOBE NEWSWIRE) --`, plain `AKRON, Ohio, Dec. 19, 2025 --`
(tests/test_wire_house_style.py cites a published release of each).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ...text.i18n import Lang

Style = Literal["prnewswire", "businesswire", "globenewswire", "plain"]
STYLES: tuple[str, ...] = ("prnewswire", "businesswire", "globenewswire", "plain")

# Month names spelled out here, not with strftime, so the locale can never change a dateline.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# AP Stylebook: in a date, months of more than five letters are abbreviated (Sept. with four letters);
# March through July are always spelled out.
AP_MONTHS = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")

# AP Stylebook abbreviations used in datelines; the eight states AP never abbreviates map to themselves.
_AP_STATES = {
    "Alabama": ("Ala.", "AL"),
    "Alaska": ("Alaska", "AK"),
    "Arizona": ("Ariz.", "AZ"),
    "Arkansas": ("Ark.", "AR"),
    "California": ("Calif.", "CA"),
    "Colorado": ("Colo.", "CO"),
    "Connecticut": ("Conn.", "CT"),
    "Delaware": ("Del.", "DE"),
    "District of Columbia": ("D.C.", "DC"),
    "Florida": ("Fla.", "FL"),
    "Georgia": ("Ga.", "GA"),
    "Hawaii": ("Hawaii", "HI"),
    "Idaho": ("Idaho", "ID"),
    "Illinois": ("Ill.", "IL"),
    "Indiana": ("Ind.", "IN"),
    "Iowa": ("Iowa", "IA"),
    "Kansas": ("Kan.", "KS"),
    "Kentucky": ("Ky.", "KY"),
    "Louisiana": ("La.", "LA"),
    "Maine": ("Maine", "ME"),
    "Maryland": ("Md.", "MD"),
    "Massachusetts": ("Mass.", "MA"),
    "Michigan": ("Mich.", "MI"),
    "Minnesota": ("Minn.", "MN"),
    "Mississippi": ("Miss.", "MS"),
    "Missouri": ("Mo.", "MO"),
    "Montana": ("Mont.", "MT"),
    "Nebraska": ("Neb.", "NE"),
    "Nevada": ("Nev.", "NV"),
    "New Hampshire": ("N.H.", "NH"),
    "New Jersey": ("N.J.", "NJ"),
    "New Mexico": ("N.M.", "NM"),
    "New York": ("N.Y.", "NY"),
    "North Carolina": ("N.C.", "NC"),
    "North Dakota": ("N.D.", "ND"),
    "Ohio": ("Ohio", "OH"),
    "Oklahoma": ("Okla.", "OK"),
    "Oregon": ("Ore.", "OR"),
    "Pennsylvania": ("Pa.", "PA"),
    "Rhode Island": ("R.I.", "RI"),
    "South Carolina": ("S.C.", "SC"),
    "South Dakota": ("S.D.", "SD"),
    "Tennessee": ("Tenn.", "TN"),
    "Texas": ("Texas", "TX"),
    "Utah": ("Utah", "UT"),
    "Vermont": ("Vt.", "VT"),
    "Virginia": ("Va.", "VA"),
    "Washington": ("Wash.", "WA"),
    "West Virginia": ("W.Va.", "WV"),
    "Wisconsin": ("Wis.", "WI"),
    "Wyoming": ("Wyo.", "WY"),
    # Canadian provinces and territories (AP).
    "Alberta": ("Alta.", "AB"),
    "British Columbia": ("B.C.", "BC"),
    "Manitoba": ("Man.", "MB"),
    "New Brunswick": ("N.B.", "NB"),
    "Newfoundland": ("Nfld.", "NL"),
    "Nova Scotia": ("N.S.", "NS"),
    "Ontario": ("Ont.", "ON"),
    "Prince Edward Island": ("P.E.I.", "PE"),
    "Quebec": ("Que.", "QC"),
    "Saskatchewan": ("Sask.", "SK"),
    "Yukon": ("Yukon", "YT"),
    "Nunavut": ("Nunavut", "NU"),
    "Northwest Territories": ("N.W.T.", "NT"),
}
_LOOKUP: dict[str, str] = {}
for _name, (_ap, _postal) in _AP_STATES.items():
    for _key in (_name, _ap, _postal, _ap.replace(".", ""), _name.replace(" ", "")):
        _LOOKUP[_key.lower()] = _ap
_LOOKUP["washington, d.c."] = "D.C."
_LOOKUP["newfoundland and labrador"] = "Nfld."


def ap_region(region: str) -> str:
    """A state or province in AP dateline form ("New Jersey", "NJ" -> "N.J."); anything else as given."""
    cleaned = " ".join(region.split())
    return _LOOKUP.get(cleaned.lower(), _LOOKUP.get(cleaned.lower().replace(" ", ""), cleaned))


def place(dateline: str) -> str:
    """ "princeton, New Jersey" -> "PRINCETON, N.J.": city in capitals, region abbreviated AP style."""
    city, _, region = (part.strip() for part in dateline.partition(","))
    if not city:
        return ""
    return f"{city.upper()}, {ap_region(region)}" if region else city.upper()


def long_date(day: dt.date, pad: bool = False, lang: Lang | None = None) -> str:
    """ "June 30, 2025" (or "June 01, 2025" with pad, as GlobeNewswire prints it); in another
    language its CLDR long date ("2. Dezember 2026", "2026년 3월 12일")."""
    if lang is not None and not lang.english:
        return lang.format_date(day, "long")
    number = f"{day.day:02d}" if pad else str(day.day)
    return f"{MONTHS[day.month - 1]} {number}, {day.year}"


def ap_date(day: dt.date, pad: bool = False, lang: Lang | None = None) -> str:
    """ "Oct. 7, 2025", "June 30, 2025" (AP); with pad "Dec. 04, 2025", as GlobeNewswire prints it."""
    if lang is not None and not lang.english:
        return lang.format_date(day, "long")  # CLDR's long date: "2. Dezember 2026", "2026년 3월 12일"
    number = f"{day.day:02d}" if pad else str(day.day)
    return f"{AP_MONTHS[day.month - 1]} {number}, {day.year}"


def lead_in(style: str, dateline: str, day: dt.date, lang: Lang | None = None) -> str:
    """The dateline that opens the first paragraph, including its separator up to the first word."""
    where = place(dateline)
    if style == "businesswire":
        # Business Wire prints no date in the lead: its own header line carries date and time.
        return f"{where}--(BUSINESS WIRE)--" if where else "(BUSINESS WIRE)--"
    if style == "globenewswire":
        when = ap_date(day, pad=True, lang=lang)
        return f"{where + ', ' if where else ''}{when} (GLOBE NEWSWIRE) -- "
    when = ap_date(day, lang=lang)
    if style == "prnewswire":
        return f"{where + ', ' if where else ''}{when} /PRNewswire/ -- "
    return f"{where + ', ' if where else ''}{when} -- "


def dateline_text(dateline: str, day: dt.date, lang: Lang | None = None) -> str:
    """The dateline as a field of its own (NewsML-G2 <dateline>): "SEOUL, June 30, 2025"."""
    where = place(dateline)
    when = ap_date(day, lang=lang)
    return f"{where}, {when}" if where else when


# A dateline the author wrote into the body: the place (as the release's dateline names it, any
# case), then within a few words a dash: "SEOUL, June 30, 2025 --", "서울, 2026년 3월 12일 —",
# "Seoul (Yonhap) – ". The wire puts its own in front, so the author's goes.
_DASH = re.compile(r"\s*(?:--|\u2014|\u2013)\s*")


def strip_own_dateline(text: str, dateline: str) -> str:
    """A first paragraph without the dateline its author opened it with (unchanged when there is none)."""
    city = dateline.partition(",")[0].strip()
    if not city or not text[: len(city)].casefold() == city.casefold():
        return text
    rest = text[len(city) :]
    if rest[:1] not in (",", " ", "(", "/"):
        return text
    dash = _DASH.search(rest, 0, 60)
    if dash is None:
        return text
    between = rest[: dash.start()]
    # A date ("June 30, 2025", "2026년 3월 12일") or a credit ("(Yonhap)") between place and dash, or nothing.
    if between.strip(" ,") and not re.search(r"\d|\(", between):
        return text
    body = rest[dash.end() :]
    return body if body.strip() else text
