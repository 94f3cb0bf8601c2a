"""Finding links, hashtags and mentions in post text, in the spirit of twitter-text's extractor.

A URL is found with or without a protocol; its domain must end in a known top-level domain
(twitter-text's rule, which is what keeps "10.0" or "e.g." from counting as links). Without a
protocol, only the ASCII part of the domain counts, a bare "name.cc" country domain is not a link
(except .co and .tv), and no label may exceed 63 characters once punycode-encoded: all as
twitter-text does, so X's weighted count agrees with its conformance vectors. Spans are code-point
offsets into the text as given, end exclusive.
"""

from __future__ import annotations

import functools
from typing import Any

import regex

__all__ = ["find_urls", "find_hashtags", "find_mentions", "hashtag_for", "hashtag_problem", "MENTION"]

# Generic top-level domains: the established ones and the new ones seen most in press text.
_GTLDS = """
com net org edu gov mil int info biz name pro aero asia cat coop jobs mobi museum post tel travel
xxx arpa app dev page blog shop store online site website tech xyz top club news live life world
today agency company email media network solutions services group center digital global
international space cloud codes design studio social systems software finance bank capital fund
money one fyi wiki art photo video music film game games love guru ninja rocks land press review
report science health care clinic energy engineering eco earth green city town law legal
hospital foundation institute university school academy education events events expert
consulting partners management marketing business ventures holdings investments insurance
energy solar community church charity gives ngo ong organic farm food restaurant cafe bar beer
wine hotel hotels tours travel flights cars auto bike run fit fitness yoga golf football soccer
tennis team sport sports coach events fashion shoes style beauty hair jewelry gold diamonds
house homes realestate properties apartments build construction tools plumbing repair
cleaning directory guide link click help support zone plus express direct works world mba
phd berlin london paris nyc tokyo moscow amsterdam wien vegas miami quebec scot wales eus
gal swiss africa arab google amazon apple microsoft youtube android chrome gmail windows
"""
# Country codes (ISO 3166) plus .eu, .su, .ac, .uk and the internationalised ones in most use.
_CCTLDS = """
ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br
bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec
ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy
hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la
lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my
mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs
ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl
tm tn to tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
рф срб укр қаз бел мкд мон бг ελ ευ 中国 中國 香港 澳門 台灣 台湾 新加坡 한국 ไทย ලංකා இந்தியா
சிங்கப்பூர் भारत ভারত বাংলা ਭਾਰਤ ભારત ଭାରତ భారత్ ಭಾರತ ഭാരതം پاکستان بھارت ایران مصر السعودية
امارات الاردن الجزائر المغرب تونس سورية عمان فلسطين قطر عراق سودان مليسيا გე հայ
"""


def _alternation(words: str) -> str:
    """A regex alternation of the words, longest first so "com" is tried before "co"."""
    unique = sorted(set(words.split()), key=lambda w: (-len(w), w))
    return "|".join(regex.escape(w) for w in unique)


_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = "!'#%&()*+,\\\\\\-./:;<=>?@\\[\\]^_{|}~$\""
# Anything that is not punctuation or space may be part of a domain (IDNs, even emoji).
_DC = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
# Labels are atomic: a label can only end where its run of domain characters does, and not
# backtracking into it keeps long runs (CJK text holding one dot) from taking quadratic time.
_SUBDOMAIN = f"(?:(?>{_DC}+(?:[_-]+{_DC}+)*)\\.)"
_DOMAIN_NAME = f"(?:(?>{_DC}+(?:-+{_DC}+)*)\\.)"
_TLD_END = "(?=[^0-9a-z@+-]|$)"
_GTLD = f"(?:(?:{_alternation(_GTLDS)}){_TLD_END})"
_CCTLD = f"(?:(?:{_alternation(_CCTLDS)}){_TLD_END})"
_PUNYCODE = "(?:xn--[-0-9a-z]+)"
# At most ten subdomains (twitter-text has no cap): "a.a.a.a…" must not take quadratic time.
_DOMAIN = f"(?:{_SUBDOMAIN}{{0,10}}{_DOMAIN_NAME}(?:{_GTLD}|{_CCTLD}|{_PUNYCODE}))"

_ACCENTS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
_CYRILLIC = "\u0400-\u04ff"
_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~&|@{_ACCENTS}]"
# Up to two levels of balanced parentheses, as in Wikipedia links like /Primer_(film).
_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
# A path does not end in punctuation, so "see example.com/a." leaves the full stop out.
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_ACCENTS}]|{_PARENS})"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY = "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_QUERY_END = "[a-z0-9\\-_&=#/]"


@functools.cache
def _patterns() -> tuple[Any, Any, Any, Any]:
    """The link patterns, compiled on first use: the TLD alternations make them slow to build."""
    url = regex.compile(
        f"(?P<before>[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
        # Without a protocol a domain starts where a run of domain characters does (a later start
        # fails as the first did) and not after "-_./" (rejected below anyway): trying those
        # starts one by one would take quadratic time.
        f"(?P<url>(?:(?P<protocol>https?://)|(?<!{_DC})(?<![-_./]))(?P<domain>{_DOMAIN})(?::[0-9]+)?"
        f"(?P<path>/{_PATH}*)?(?:\\?{_QUERY}*{_QUERY_END})?)",
        regex.IGNORECASE,
    )
    ascii_domain = regex.compile(f"(?:[a-z0-9{_ACCENTS}-]+\\.)+(?:{_GTLD}|{_CCTLD}|{_PUNYCODE})", regex.IGNORECASE)
    short_cc = regex.compile(f"{_DOMAIN_NAME}{_CCTLD}", regex.IGNORECASE)
    special_short = regex.compile(f"{_DOMAIN_NAME}(?:co|tv){_TLD_END}", regex.IGNORECASE)
    return url, ascii_domain, short_cc, special_short


_NO_PROTOCOL_BEFORE = frozenset("-_./")
_DOTTED = regex.compile(r"(?<!\S)\S*\.\S*")

_MAX_URL = 4096
_MAX_LABEL = 63

_HASHTAG_CHAR = "\\p{L}\\p{M}\\p{Nd}_\u200c\u200d"
# A hashtag needs a letter ("#1" is not one) and may not follow a word character or "&" (HTML entities).
_HASHTAG = regex.compile(
    f"(?<![{_HASHTAG_CHAR}&])[#＃](?!\ufe0f|\u20e3)[{_HASHTAG_CHAR}]*\\p{{L}}[{_HASHTAG_CHAR}]*(?![#＃]|://)"
)
# Mastodon's own mention pattern (Account::MENTION_RE): @user or @user@domain.
MENTION = regex.compile(r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w)?", regex.IGNORECASE)


def _domain_ok(domain: str, url_length: int) -> bool:
    """twitter-text's isValidUrl: no label over 63 once punycoded, the whole URL at most 4096."""
    extra = 0
    for label in domain.split("."):
        if not label:
            return False
        if not label.isascii():
            try:
                encoded = "xn--" + label.lower().encode("punycode").decode("ascii")
            except UnicodeError:
                return False
            extra += len(encoded) - len(label)
            label = encoded
        if len(label) > _MAX_LABEL:
            return False
    return url_length + extra <= _MAX_URL


def find_urls(text: str, *, require_protocol: bool = False) -> list[tuple[int, int]]:
    """Code-point spans of the links in `text` (with or, unless required, without a protocol)."""
    url, ascii_domain, short_cc, special_short = _patterns()
    spans: list[tuple[int, int]] = []
    # A link has a dot and no space: only such stretches are searched, which is much faster.
    matches = (m for t in _DOTTED.finditer(text) for m in url.finditer(text, max(t.start() - 1, 0), t.end()))
    for m in matches:
        start, end = m.span("url")
        protocol, domain, path = m.group("protocol"), m.group("domain"), m.group("path")
        if not _domain_ok(domain, len(m.group("url")) + (0 if protocol else len("https://"))):
            continue
        if protocol:
            spans.append((start, end))
            continue
        if require_protocol or (m.group("before") and m.group("before")[-1] in _NO_PROTOCOL_BEFORE):
            continue
        # Without a protocol only ASCII domains count: "日本example.com" links "example.com".
        found: list[tuple[int, int]] = []
        last: tuple[int, int] | None = None
        for a in ascii_domain.finditer(domain):
            last = (start + a.start(), start + a.end())
            if path or special_short.fullmatch(a.group()) or not short_cc.fullmatch(a.group()):
                found.append(last)
        if last is not None and path and found and found[-1] == last:
            found[-1] = (last[0], end)  # the path belongs to the last domain
        spans.extend(found)
    return spans


def find_hashtags(text: str) -> list[tuple[int, int]]:
    """Code-point spans of the hashtags in `text`, "#" included, leaving out those inside links."""
    if "#" not in text and "＃" not in text:
        return []
    urls = find_urls(text)
    return [m.span() for m in _HASHTAG.finditer(text) if not _overlaps(m.span(), urls)]


def find_mentions(text: str) -> list[tuple[int, int]]:
    """Code-point spans of @user and @user@domain mentions (Mastodon's pattern), outside links."""
    if "@" not in text:
        return []
    urls = find_urls(text)
    return [m.span() for m in MENTION.finditer(text) if not _overlaps(m.span(), urls)]


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


# A tag's symbols spelled out the way social media managers write them in a hashtag, so it keeps
# its meaning: "C++" #CPlusPlus, "C#" #CSharp, "Disney+" #DisneyPlus, "R&D" #RandD, "Q&A" #QandA,
# "Research & Development" #ResearchAndDevelopment, "Women's Day" #WomensDay.
_SPELLED = (
    (regex.compile(r"['’]"), ""),
    (regex.compile(r"(?<=\S)&(?=\S)"), "and"),
    (regex.compile(r"&"), " and "),
    (regex.compile(r"(?<=[\p{L}\p{N}])\+\+"), " PlusPlus "),
    (regex.compile(r"(?<=[\p{L}\p{N}])[#＃]"), " Sharp "),
    (regex.compile(r"(?<=[\p{L}\p{N}])\+"), " Plus "),
)
_TAG_WORD = regex.compile(f"[{_HASHTAG_CHAR}]+")


def _hashtag(tag: str) -> str:
    text = tag.strip()
    if text[:1] in ("#", "＃"):
        text = text[1:]
    for pattern, spelled in _SPELLED:
        text = pattern.sub(spelled, text)
    words: list[str] = _TAG_WORD.findall(text)
    if len(words) == 1:
        return "#" + words[0]
    return "#" + "".join(w[:1].upper() + w[1:] for w in words)


def hashtag_problem(tag: str, max_graphemes: int | None = None) -> str | None:
    """Why a tag cannot be a hashtag (None when it can): no letter, or longer than the platform allows."""
    made = _hashtag(tag)
    if len(made) == 1 or not regex.search(r"\p{L}", made):
        return "a hashtag needs a letter"
    if find_hashtags(made) != [(0, len(made))]:
        return f"{made} would not be read as one hashtag"
    if max_graphemes is not None and len(regex.findall(r"\X", made[1:])) > max_graphemes:
        return f"{made} is over {max_graphemes} characters"
    return None


def hashtag_for(tag: str, max_graphemes: int | None = None) -> str | None:
    """A release tag as one hashtag that keeps its meaning ("South Korea" #SouthKorea, "C++" #CPlusPlus), or None."""
    return None if hashtag_problem(tag, max_graphemes) else _hashtag(tag)
