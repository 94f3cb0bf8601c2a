"""Header lines as bytes: RFC 2047 encoded words, addresses with display names, folding at 78.

Written for speed (the To line is built for every recipient) and for exactness: a parser
(email.parser with policy.default) reads back precisely the text that went in. Non-ASCII
text is sent as base64 encoded words of whole characters, each at most 75 octets, so
nothing depends on how a client treats whitespace between them.
"""

from __future__ import annotations

import base64
import re

MAX_LINE = 78
_WORD_OVERHEAD = len("=?utf-8?b??=")
# Printable ASCII that may stand unquoted in a display name (RFC 5322 atext plus space).
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def clean(text: str) -> str:
    """Header text on one line: no control characters (a CR or LF must never start a header), single spaces."""
    # Trimmed of any whitespace (a trailing no-break space is dropped by some parsers, not by others).
    return " ".join(word for word in _CONTROL.sub(" ", text).split(" ") if word).strip()


def display(name: str) -> str:
    """A display name as it goes out: one line, any run of (Unicode) whitespace a single space."""
    return " ".join(_CONTROL.sub(" ", name).split())


def encoded_words(text: str, first_room: int = 75) -> list[str]:
    """`text` as base64 encoded words; the first fits in `first_room` characters, the rest in 75."""
    words: list[str] = []
    room = max(first_room, _WORD_OVERHEAD + 4)
    chunk, size = "", 0
    for char in text:
        width = len(char.encode())
        # Whole characters only: a word must decode on its own (RFC 2047 §5).
        if _WORD_OVERHEAD + 4 * ((size + width + 2) // 3) > room and chunk:
            words.append(_word(chunk))
            chunk, size, room = char, width, 75
        else:
            chunk, size = chunk + char, size + width
    if chunk or not words:
        words.append(_word(chunk))
    return words


def _word(chunk: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(chunk.encode()).decode("ascii") + "?="


def fold_words(name: str, words: list[str]) -> bytes:
    """`Name: w1 w2 ...` with a fold (CRLF SP) before any word that would pass 78 characters."""
    out = [name + ":"]
    length = len(out[0])
    for word in words:
        if length + 1 + len(word) > MAX_LINE and length > len(name) + 1:
            out.append("\r\n " + word)
            length = 1 + len(word)
        else:
            out.append(" " + word)
            length += 1 + len(word)
    return ("".join(out) + "\r\n").encode("ascii")


def unstructured(name: str, value: str) -> bytes:
    """An unstructured header (Subject): folded plain ASCII, or encoded words when non-ASCII."""
    value = clean(value)
    if value.isascii() and "=?" not in value:
        return fold_words(name, value.split(" ") if value else [""])
    return fold_words(name, encoded_words(value, MAX_LINE - len(name) - 2))


def phrase_words(name: str) -> list[str]:
    """A display name as header words: atoms, quoted strings, and encoded words for non-ASCII runs.

    Plain ASCII words stay readable; each run of non-ASCII words becomes one encoded word where it
    fits (75 characters), so parsers that keep the space between adjacent encoded words (Python's
    does, in addresses) still read the name exactly.
    """
    text = display(name)
    if not text:
        return []
    if text.isascii() and "=?" not in text:
        return text.split(" ") if _ATEXT.match(text) else [_quoted(text)]
    words: list[str] = []
    run: list[str] = []
    for word in text.split(" "):
        # Text that merely looks like an encoded word ("=?...?=") is encoded, or a client would decode it.
        if word.isascii() and "=?" not in word:
            if run:
                words += encoded_words(" ".join(run))
                run = []
            words.append(word if _ATEXT.match(word) else _quoted(word))
        else:
            run.append(word)
    if run:
        words += encoded_words(" ".join(run))
    return words


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def address(header: str, value: str, name: str = "") -> bytes:
    """`Header: Name <addr>` (or just `<addr>`), folded; the address itself is ASCII."""
    if not name or (_SIMPLE_NAME.fullmatch(name) and "=?" not in name):
        # No name, or atoms with single spaces (their own words): on one line when it fits, as fold_words writes it.
        line = f"{header}: {name} <{value}>" if name else f"{header}: <{value}>"
        if len(line) <= MAX_LINE:
            return (line + "\r\n").encode("ascii")
    return fold_words(header, [*phrase_words(name), f"<{value}>"])


def mailbox(name: str, value: str) -> str:
    """`Name <addr>` as a one-line string (for labels and APIs that take it as text)."""
    if not name or (_SIMPLE_NAME.fullmatch(name) and "=?" not in name):
        return f"{name} <{value}>" if name else value  # atoms with single spaces: as they are
    text = display(name)
    if not text:
        return value
    if text.isascii() and not _ATEXT.match(text):
        text = _quoted(text)
    return f"{text} <{value}>"


def plain(name: str, value: str) -> bytes:
    """A header whose value is already ASCII and short (Message-ID, Date, MIME-Version)."""
    return f"{name}: {value}\r\n".encode("ascii")


def urls(name: str, values: list[str]) -> bytes:
    """`Name: <u1>, <u2>` (List-Unsubscribe, RFC 2369), one URL a line when they do not fit."""
    if len(values) == 1:  # one URL: on the header's line whatever its length, as the loop below writes it
        return f"{name}: <{values[0]}>\r\n".encode("ascii")
    out, length = [name + ":"], len(name) + 1
    for i, value in enumerate(values):
        item = f"<{value}>" + ("," if i < len(values) - 1 else "")
        if length + 1 + len(item) > MAX_LINE and i:
            out.append("\r\n " + item)
            length = 1 + len(item)
        else:
            out.append(" " + item)
            length += 1 + len(item)
    return ("".join(out) + "\r\n").encode("ascii")
