"""Characters a wire accepts: always clean control characters; optionally transliterate to ASCII."""

from __future__ import annotations

import unicodedata

# Typography and letters that Unicode decomposition leaves alone, as a wire operator would type them.
_TABLE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u2035": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2039": "'",
    "\u203a": "'",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "--",
    "\u2015": "--",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "*",
    "\u00b7": "*",
    "\u2044": "/",
    "\u00a0": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
    "\u2122": "(TM)",
    "\u00b0": " deg.",
    "\u00d7": "x",
    "\u00f7": "/",
    "\u20ac": "EUR ",
    "\u00a3": "GBP ",
    "\u00a5": "JPY ",
    "\u20a9": "KRW ",
    "\u00a2": "c",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u0111": "d",
    "\u0110": "D",
    "\u00f0": "d",
    "\u00d0": "D",
    "\u00fe": "th",
    "\u00de": "Th",
    "\u0131": "i",
}
_CONTROL_KEEP = {"\n", "\t"}


def clean(text: str) -> str:
    """NFC, Unix line ends, no control characters but newline and tab (wire systems choke on them)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(c for c in text if c in _CONTROL_KEEP or unicodedata.category(c)[0] != "C")


def to_ascii(text: str) -> tuple[str, list[str]]:
    """ASCII text, and the characters that had no ASCII form (each replaced by "?")."""
    out: list[str] = []
    lost: list[str] = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
            continue
        if char in _TABLE:
            out.append(_TABLE[char])
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        mapped = "".join(_TABLE.get(c, c) for c in base)
        if mapped and all(ord(c) < 128 for c in mapped):
            out.append(mapped)
        else:
            out.append("?")
            if char not in lost:
                lost.append(char)
    return "".join(out), lost
