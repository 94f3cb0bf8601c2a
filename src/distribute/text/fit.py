"""Measuring and fitting post text the way each social platform counts it.

Counters: X (twitter-text v3 weighting), Bluesky (graphemes and UTF-8 bytes), Mastodon (graphemes,
links a fixed 23, mentions by username only), Threads (emoji by their UTF-8 bytes), LinkedIn
(characters of the unescaped text). A `Measure` bundles a counter with its limit.

`fit` makes a templated post fit by changing only what goes into the template: it drops hashtags
from the end, then shortens the summary at a word boundary with "…". `split_thread` cuts a text
that is too long into numbered parts at paragraph, sentence or word boundaries. Neither ever cuts
inside a word, link, mention, hashtag or grapheme cluster.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import regex

from .entities import MENTION, find_hashtags, find_mentions, find_urls

__all__ = [
    "FitError",
    "FitResult",
    "MEASURES",
    "Measure",
    "XParse",
    "bluesky_graphemes",
    "find_hashtags",
    "find_mentions",
    "find_urls",
    "fit",
    "linkedin_escape",
    "linkedin_length",
    "mastodon_length",
    "measure_for",
    "split_thread",
    "threads_length",
    "utf8_len",
    "utf8_span",
    "x_parse",
    "x_weighted_length",
]

# --- X (twitter-text v3: standards/twitter-text/v3.json) ---------------------------------------

X_LIMIT = 280
URL_LENGTH = 23
_X_SCALE = 100
_X_DEFAULT_WEIGHT = 200
_X_RANGES = ((0x0000, 0x10FF, 100), (0x2000, 0x200D, 100), (0x2010, 0x201F, 100), (0x2032, 0x2037, 100))
_X_INVALID = frozenset("\ufffe\ufeff\uffff")

# One emoji as twitter-text's parser sees it: a flag, a keycap, or a pictograph with its
# presentation selector, skin tone, subdivision tags and ZWJ-joined partners. Built from Unicode
# properties so new emoji need no table update.
_EMOJI = regex.compile(
    r"""\p{Regional_Indicator}{2}
      | [0-9#*]\ufe0f?\u20e3
      | (?:\p{Extended_Pictographic}|\p{Emoji_Modifier})(?:\ufe0f|\p{Emoji_Modifier})?
        (?:[\U000e0020-\U000e007e]+\U000e007f)?
        (?:\u200d(?:\p{Extended_Pictographic}|\p{Emoji_Modifier})(?:\ufe0f|\p{Emoji_Modifier})?)*""",
    regex.VERBOSE,
)
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class XParse:
    """X's verdict on a text: weighted length, validity and permillage of the limit."""

    weighted_length: int
    valid: bool
    permillage: int


# Code points of weight 100 (v3.json's ranges); all others weigh the default 200.
_X_LIGHT = regex.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b, _ in _X_RANGES) + "]+")


def _x_plain(text: str) -> int:
    """Scaled weight of text without links or emoji."""
    light = sum(m.end() - m.start() for m in _X_LIGHT.finditer(text))
    return light * 100 + (len(text) - light) * _X_DEFAULT_WEIGHT


def _x_scaled(text: str, emoji: bool) -> int:
    """Scaled weight of link-free text: each emoji 2, other code points by their range."""
    if not emoji:
        return _x_plain(text)
    total, pos = 0, 0
    for m in _EMOJI.finditer(text):
        total += _x_plain(text[pos : m.start()]) + _X_DEFAULT_WEIGHT
        pos = m.end()
    return total + _x_plain(text[pos:])


def x_parse(text: str, *, url_length: int = URL_LENGTH, limit: int = X_LIMIT, emoji_parsing: bool = True) -> XParse:
    """twitter-text's parseTweet: NFC first, every link `url_length`, each emoji 2 (v3)."""
    # emoji_parsing=False is twitter-text's v2 configuration, where emoji weigh per code point.
    normalized = unicodedata.normalize("NFC", text)
    scaled, pos = 0, 0
    for start, end in find_urls(normalized):
        scaled += _x_scaled(normalized[pos:start], emoji_parsing) + url_length * _X_SCALE
        pos = end
    scaled += _x_scaled(normalized[pos:], emoji_parsing)
    weighted = scaled // _X_SCALE
    valid = 0 < weighted <= limit and not _X_INVALID.intersection(normalized)
    return XParse(weighted, valid, weighted * 1000 // limit)


def x_weighted_length(text: str, *, url_length: int = URL_LENGTH, emoji_parsing: bool = True) -> int:
    """X's weighted length of `text` (limit 280)."""
    return x_parse(text, url_length=url_length, emoji_parsing=emoji_parsing).weighted_length


# --- Bluesky, Mastodon, Threads, LinkedIn ------------------------------------------------------


def bluesky_graphemes(text: str) -> int:
    """Extended grapheme clusters in `text` (Bluesky allows 300, and 3000 UTF-8 bytes)."""
    return len(_GRAPHEME.findall(text))


def utf8_len(text: str) -> int:
    """Length of `text` in UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf8_span(text: str, start: int, end: int) -> tuple[int, int]:
    """UTF-8 byte offsets (start inclusive, end exclusive) of the code-point span start..end."""
    first = utf8_len(text[:start])
    return first, first + utf8_len(text[start:end])


def mastodon_length(text: str, url_length: int = URL_LENGTH) -> int:
    """Mastodon's count: grapheme clusters, each http(s) link `url_length`, @user@domain as @user."""
    # Mastodon's StatusLengthValidator rewrites links and mentions, then counts grapheme clusters.
    entities = [(s, e, "x" * url_length) for s, e in find_urls(text, require_protocol=True)]
    for s, e in find_mentions(text):
        if not any(s < ue and us < e for us, ue, _ in entities):
            mention = MENTION.match(text, s)
            entities.append((s, e, "@" + (mention.group("user") if mention else text[s + 1 : e])))
    out, pos = [], 0
    for s, e, replacement in sorted(entities):
        out += [text[pos:s], replacement]
        pos = e
    out.append(text[pos:])
    return bluesky_graphemes("".join(out))


def threads_length(text: str) -> int:
    """Threads' count (limit 500): each emoji its UTF-8 byte length, every other code point 1."""
    total, pos = 0, 0
    for m in _EMOJI.finditer(text):
        total += m.start() - pos + utf8_len(m.group())
        pos = m.end()
    return total + len(text) - pos


_LINKEDIN_RESERVED = regex.compile(r"([\\|{}@\[\]()<>#*_~])")


def linkedin_escape(text: str) -> str:
    """`text` in LinkedIn's "little text" format: reserved characters backslash-escaped."""
    return str(_LINKEDIN_RESERVED.sub(r"\\\1", text))


def linkedin_length(text: str) -> int:
    """LinkedIn's count of the plain (unescaped) text, in characters (limit 3000, unconfirmed)."""
    return len(text)


# --- measures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A platform's counter and limit; Bluesky also has a byte limit."""

    name: str
    limit: int
    counter: Callable[[str], int] = field(repr=False, compare=False)
    byte_limit: int | None = None

    def length(self, text: str) -> int:
        """Length of `text` as the platform counts it."""
        return self.counter(text)

    def __call__(self, text: str) -> int:
        """Same as length(): adapters call the measure directly."""
        return self.counter(text)

    def fits(self, text: str) -> bool:
        """Whether `text` is within the limit (and, where there is one, the byte limit)."""
        if self.byte_limit is not None and utf8_len(text) > self.byte_limit:
            return False
        return self.counter(text) <= self.limit

    def describe(self, text: str) -> str:
        """`text`'s length against the limit, in words, for error messages."""
        said = f"{self.counter(text)} long as {self.name} counts it, against a limit of {self.limit}"
        if self.byte_limit is not None:
            said += f" ({utf8_len(text)} UTF-8 bytes, against {self.byte_limit})"
        return said


def measure_for(platform: str, limit: int | None = None, url_length: int | None = None) -> Measure:
    """The measure of "x", "bluesky", "mastodon", "linkedin" or "threads", limits overridable."""
    links = URL_LENGTH if url_length is None else url_length
    key = platform.lower()
    if key in ("x", "twitter"):
        return Measure("X", limit or X_LIMIT, partial(x_weighted_length, url_length=links))
    if key == "bluesky":
        return Measure("Bluesky", limit or 300, bluesky_graphemes, byte_limit=3000)
    if key == "mastodon":
        return Measure("Mastodon", limit or 500, partial(mastodon_length, url_length=links))
    if key == "linkedin":
        return Measure("LinkedIn", limit or 3000, linkedin_length)
    if key == "threads":
        return Measure("Threads", limit or 500, threads_length)
    raise ValueError(f"no measure for platform {platform!r}; known: x, bluesky, mastodon, linkedin, threads")


MEASURES: dict[str, Measure] = {p: measure_for(p) for p in ("x", "bluesky", "mastodon", "linkedin", "threads")}

# --- where text may be cut -----------------------------------------------------------------------

# Scripts written without spaces: there a cut may fall between words inside a "token".
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u3000-\u303f\uff00-\uffef]")
_CLOSING = regex.compile(r"[\p{Pe}\p{Pf}\p{Po}]")
_SENTENCE_END = regex.compile(r"[.!?。！？…‼⁉][\"'”’»)\]」』）]*$")
_WORD_BOUNDARY = regex.compile(r"(?w)\b")

PARAGRAPH, SENTENCE, CLAUSE, WORD = 4, 3, 2, 1
# How full (against the farthest word cut) a part ending at a higher-level cut must be to be preferred.
_PREFER = ((PARAGRAPH, 1 / 2), (SENTENCE, 1 / 2), (CLAUSE, 2 / 3))
_CLAUSE_END = frozenset(",;:、，；：")


def _cuts(text: str) -> list[tuple[int, int]]:
    """(position, level) where text[:position] may end a part: never inside a word, link,
    mention, hashtag or grapheme cluster; level says whether it ends a paragraph, sentence or word."""
    protected = find_urls(text) + find_mentions(text) + find_hashtags(text)
    blocked = {p for s, e in protected for p in range(s + 1, e)}
    graphemes = {m.end() for m in _GRAPHEME.finditer(text)}
    unspaced = {m.start() for m in _WORD_BOUNDARY.finditer(text)} if _UNSPACED.search(text) else set()
    out: list[tuple[int, int]] = []
    for p in sorted(graphemes):
        if p >= len(text) or p in blocked or text[p - 1].isspace():
            continue
        if text[p].isspace():
            gap_end = p
            while gap_end < len(text) and text[gap_end].isspace():
                gap_end += 1
            gap = text[p:gap_end]
            level = PARAGRAPH if gap.count("\n") >= 2 else SENTENCE if "\n" in gap else WORD
            if level == WORD and _SENTENCE_END.search(text[max(0, p - 4) : p]):
                level = SENTENCE
            out.append((p, CLAUSE if level == WORD and text[p - 1] in _CLAUSE_END else level))
        elif (
            p in unspaced and not _CLOSING.match(text[p]) and (_UNSPACED.match(text[p - 1]) or _UNSPACED.match(text[p]))
        ):
            level = SENTENCE if text[p - 1] in "。！？" else CLAUSE if text[p - 1] in _CLAUSE_END else WORD
            out.append((p, level))
    return out


def _farthest(cuts: Sequence[int], ok: Callable[[int], bool]) -> int | None:
    """The farthest cut for which ok() holds (lengths grow with the cut, so search, not scan)."""
    # Gallop first, so a long text costs in proportion to the part found, not to the whole text.
    lo, hi = 0, 1
    while hi <= len(cuts) and ok(cuts[hi - 1]):
        lo, hi = hi, hi * 2
    best = cuts[lo - 1] if lo else None
    lo, hi = lo, min(hi - 1, len(cuts)) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(cuts[mid]):
            best, lo = cuts[mid], mid + 1
        else:
            hi = mid - 1
    return best


# --- fitting -------------------------------------------------------------------------------------

ELLIPSIS = "…"


class FitError(ValueError):
    """Nothing fits: even the shortest rendition is over the limit."""


@dataclass(frozen=True)
class FitResult:
    """The fitted post, its length and what had to give."""

    text: str
    length: int
    limit: int
    dropped_hashtags: list[str]
    shortened: bool
    summary: str = ""
    hashtags: list[str] = field(default_factory=list)


def fit(
    render: Callable[[str, list[str]], str],
    *,
    summary: str,
    hashtags: Sequence[str],
    measure: Measure,
    whole_sentences: bool = False,
) -> FitResult:
    """The longest rendition that fits: all hashtags, fewer, then a shortened summary, then none.

    With `whole_sentences` the summary is shortened only to its first sentences, never to a
    fragment ("Tidewater X2…"): when not one sentence fits, the summary goes.
    """
    tags = list(hashtags)

    def done(text: str, short: str, kept: int, shortened: bool) -> FitResult:
        return FitResult(text, measure.length(text), measure.limit, tags[kept:], shortened, short, tags[:kept])

    # The template's output is never edited, only its inputs: so the link it puts in survives.
    for kept in range(len(tags), -1, -1):
        text = render(summary, tags[:kept])
        if measure.fits(text):
            return done(text, summary, kept, False)
    if whole_sentences:
        ends = [p for p, level in _cuts(summary) if level >= SENTENCE and summary[:p].strip()]
        best = _farthest(ends, lambda p: measure.fits(render(summary[:p].rstrip(), [])))
        if best is not None:
            short = summary[:best].rstrip()
            return done(render(short, []), short, 0, True)
    else:
        cuts = [p for p, _ in _cuts(summary) if summary[:p].strip()]
        best = _farthest(cuts, lambda p: measure.fits(render(summary[:p].rstrip() + ELLIPSIS, [])))
        if best is not None:
            short = summary[:best].rstrip() + ELLIPSIS
            return done(render(short, []), short, 0, True)
    text = render("", [])
    if measure.fits(text):
        return done(text, "", 0, True)
    raise FitError(f"the post does not fit: even without summary and hashtags it is {measure.describe(text)}")


def split_thread(text: str, measure: Measure, *, numbering: bool = True) -> list[str]:
    """`text` as thread parts that each fit, " 1/3"-numbered, cut at paragraph, sentence or word ends."""
    text = text.strip()
    if measure.fits(text):
        return [text]
    cuts = _cuts(text)
    digits = 1
    while True:
        # Reserve room for the widest number of this many digits; redo if the count outgrows it.
        widest = 10**digits - 1
        parts = _pack(text, cuts, measure, f" {widest}/{widest}" if numbering else "")
        if not numbering or len(str(len(parts))) <= digits:
            break
        digits = len(str(len(parts)))
    if not numbering:
        return parts
    return [f"{part} {i}/{len(parts)}" for i, part in enumerate(parts, 1)]


def _pack(text: str, cuts: list[tuple[int, int]], measure: Measure, suffix: str) -> list[str]:
    """Greedy parts: from each start, the farthest cut that fits, preferring higher-level cuts."""
    parts: list[str] = []
    start = 0
    while start < len(text):
        rest = text[start:].strip()
        if measure.fits(rest + suffix):
            parts.append(rest)
            break
        ahead = [(p, level) for p, level in cuts if p > start]

        def ok(p: int, start: int = start) -> bool:
            return measure.fits(text[start:p].strip() + suffix)

        far = _farthest([p for p, _ in ahead], ok)
        if far is None:
            piece = text[start : ahead[0][0] if ahead else len(text)].strip()
            raise FitError(f"cannot split into a thread: {piece[:40]!r} is {measure.describe(piece + suffix)}")
        chosen = far
        # A paragraph, sentence or clause end is preferred unless it would leave the part too empty.
        full = measure.length(text[start:far].strip())
        for wanted, share in _PREFER:
            better = [p for p, level in ahead if level >= wanted and p <= far]
            if better and ok(better[-1]) and measure.length(text[start : better[-1]].strip()) >= full * share:
                chosen = better[-1]
                break
        parts.append(text[start:chosen].strip())
        start = chosen
        while start < len(text) and text[start].isspace():
            start += 1
    return parts
