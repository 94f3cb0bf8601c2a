"""Wrapping plain text by display width: a Hangul or Han character takes two columns (wcwidth).

Text whose every character is one column wide is wrapped by textwrap exactly as before. Wider text
is filled by columns: lines break at spaces, and also between two Han or kana characters (Chinese
and Japanese have no spaces), never before closing punctuation (、。」) nor after opening
punctuation (「（), and never inside a word of Latin letters, a URL or a Korean word. A single
unbreakable word longer than the width stays whole on its own line, as textwrap does.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

from wcwidth import wcswidth, wcwidth

# Kinsoku shori (JIS X 4051): characters that may not open a line, and ones that may not end one.
_NO_START = set(
    "、。，．・：；？！ー」』）〕］｝〉》】〙〗〟’”ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〻,.!?:;)]}%…‥"
)
_NO_END = set("「『（〔［｛〈《【〘〖〝‘“([{")
_SPACE = re.compile(r"\s+")


def width(text: str) -> int:
    """Columns the text takes on a terminal or a fixed-width page (unprintable characters count 0)."""
    w = wcswidth(text)
    if w >= 0:
        return w
    return sum(max(wcwidth(c), 0) for c in text)


def _hangul(c: str) -> bool:
    o = ord(c)
    return 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0xA960 <= o <= 0xA97F or 0xAC00 <= o <= 0xD7FF


def _ideographic(c: str) -> bool:
    """Han, kana and full-width forms: a line may break between two of them (UAX #14 class ID)."""
    return unicodedata.east_asian_width(c) in ("W", "F") and not _hangul(c) and c.isprintable()


def _pieces(word: str) -> list[str]:
    """A word cut where a line may break inside it (between ideographic characters)."""
    out, start = [], 0
    for i in range(1, len(word)):
        before, after = word[i - 1], word[i]
        if (
            (_ideographic(before) or _ideographic(after))
            # Korean breaks at spaces only: a particle stays on its word, even after 」 (「…」을).
            and not (_hangul(before) or _hangul(after))
            and after not in _NO_START
            and before not in _NO_END
            and not (before.isascii() and after.isascii())
        ):
            out.append(word[start:i])
            start = i
    out.append(word[start:])
    return out


def fill(text: str, columns: int, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """`text` wrapped so no line is wider than `columns` (except one word that cannot be broken)."""
    if not columns:
        return initial_indent + text
    if width(text) == len(text) and width(initial_indent + subsequent_indent) == len(
        initial_indent + subsequent_indent
    ):
        return textwrap.fill(
            text,
            width=columns,
            initial_indent=initial_indent,
            subsequent_indent=subsequent_indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    lines: list[str] = []
    line, used, empty = initial_indent, width(initial_indent), True
    for word in _SPACE.split(text.strip()):
        for n, piece in enumerate(_pieces(word)):
            gap = " " if n == 0 and not empty else ""
            size = width(piece)
            if not empty and used + len(gap) + size > columns:
                lines.append(line)
                line, used, empty, gap = subsequent_indent, width(subsequent_indent), True, ""
            line += gap + piece
            used += len(gap) + size
            empty = False
    lines.append(line)
    return "\n".join(lines)
