"""Markdown tables and code as plain text that keeps within a width.

A table is laid out as aligned columns when it fits; else its cells wrap inside narrower
columns; when even that cannot fit (many columns on a narrow wire), each row becomes a short
record of "Header: value" lines. Code lines longer than the width are cut at a space where
there is one, the rest indented under it; a line that is one URL is never cut.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence

GAP = "  "  # between columns
_URL = re.compile(r"^\(?(?:https?|ftp)://\S+$|^\(?mailto:\S+$")


def columns(text: str) -> int:
    """Display width: East Asian wide and full-width characters take two columns, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text
    )


def _pad(text: str, width: int, align: str) -> str:
    space = max(0, width - columns(text))
    if align == "right":
        return " " * space + text
    if align == "center":
        return " " * (space // 2) + text + " " * (space - space // 2)
    return text + " " * space


def _wrap_cell(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]


def _longest_word(text: str) -> int:
    return max((columns(w) for w in text.split()), default=0)


def _grid(rows: Sequence[Sequence[str]], aligns: Sequence[str], widths: list[int], indent: str) -> list[str]:
    out: list[str] = []
    for r, row in enumerate(rows):
        cells = [_wrap_cell(cell, widths[c]) for c, cell in enumerate(row)]
        for n in range(max(len(lines) for lines in cells)):
            parts = [_pad(lines[n] if n < len(lines) else "", widths[c], aligns[c]) for c, lines in enumerate(cells)]
            out.append((indent + GAP.join(parts)).rstrip())
        if r == 0:
            out.append(indent + GAP.join("-" * w for w in widths))
    return out


def table_text(rows: Sequence[Sequence[str]], aligns: Sequence[str], width: int, indent: str = "") -> str:
    """A table (first row the header) as aligned plain text no wider than `width` (0: as wide as it is)."""
    ncols = max(len(r) for r in rows)
    rows = [list(r) + [""] * (ncols - len(r)) for r in rows]
    aligns = list(aligns) + ["left"] * (ncols - len(aligns))
    natural = [max(columns(r[c]) for r in rows) or 1 for c in range(ncols)]
    room = width - columns(indent) - columns(GAP) * (ncols - 1) if width else 0
    if not width or sum(natural) <= room:
        return "\n".join(_grid(rows, aligns, natural, indent))
    floor = [max(_longest_word(r[c]) for r in rows) or 1 for c in range(ncols)]
    if sum(floor) <= room:
        # Share the room: every column gets its longest word (its whole header when there is room for
        # every header), the rest goes where the text is longest.
        headed = [max(floor[c], columns(rows[0][c])) for c in range(ncols)]
        widths = headed if sum(headed) <= room else floor[:]
        spare = room - sum(widths)
        while spare > 0:
            grow = [c for c in range(ncols) if widths[c] < natural[c]]
            if not grow:
                break
            c = max(grow, key=lambda c: natural[c] - widths[c])
            widths[c] += 1
            spare -= 1
        return "\n".join(_grid(rows, aligns, widths, indent))
    return records(rows, width, indent)


def records(rows: Sequence[Sequence[str]], width: int, indent: str = "") -> str:
    """Each row after the header as "Header: value" lines, rows apart by a blank line."""
    header, body = rows[0], rows[1:]
    out: list[str] = []
    for row in body:
        if out:
            out.append("")
        for name, value in zip(header, row, strict=False):
            first = f"{indent}{name}: " if name else indent
            out.append(
                textwrap.fill(
                    value or "-",
                    width=width,
                    initial_indent=first,
                    subsequent_indent=indent + "  ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return "\n".join(out)


def code_text(code: str, width: int, indent: str = "    ") -> str:
    """Code indented, each line that would pass `width` cut at a space (or hard), continued two columns in."""
    out: list[str] = []
    for line in code.split("\n"):
        line = line.expandtabs(4)
        head = indent
        while width and columns(head + line) > width and not _URL.match(line.strip()):
            room = width - columns(head)
            cut = _cut(line, room)
            out.append((head + line[:cut]).rstrip())
            line = line[cut:].lstrip(" ")
            head = indent + "  "
        out.append((head + line).rstrip())
    return "\n".join(out)


def _cut(line: str, room: int) -> int:
    """Where to cut `line` to fit `room` columns: after the last space that fits, else at the column."""
    used, last_space, end = 0, -1, 0
    for i, c in enumerate(line):
        used += columns(c)
        if used > room:
            break
        end = i + 1
        if c == " " and line[:i].strip():
            last_space = i + 1
    return last_space if last_space > 0 else max(end, 1)
