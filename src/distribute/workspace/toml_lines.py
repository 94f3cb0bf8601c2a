"""TOML text with positions: tomllib gives values only, so lines are found here for error messages."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import ConfigError, DistributeError
from ..times import datetime_hint

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|=)""")
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
# `key = 2026-12-02 10:00`: a value that starts like a date, so the date-time form is what went wrong.
_DATE_LIKE = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+?)\s*=\s*(\d{1,4}[-./]\d{1,2}[-./]\d{1,4}.*)$")


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" else key


@dataclass(frozen=True)
class TomlSource:
    """A TOML document, the file it came from and the line its first line has in that file."""

    path: Path
    text: str
    first_line: int = 1

    def parse(self, error: type[DistributeError] = ConfigError, tz: ZoneInfo | None = None) -> dict[str, Any]:
        """Parse the text; a syntax error becomes `path:line: message` with the file's real line.

        `tz` is the workspace zone, for the example offset when a date-time is written wrongly.
        """
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            line = None
            match = _TOML_POS.search(message)
            if match:
                line = int(match.group(1)) + self.first_line - 1
                message = message[: match.start()].strip()
                lines = self.text.splitlines()
                number = int(match.group(1)) - 1
                date = _DATE_LIKE.match(lines[number]) if 0 <= number < len(lines) else None
                if date:
                    raise error(datetime_hint(date.group(1), date.group(2), tz), path=self.path, line=line) from None
            raise error(
                f"not valid TOML: {message}; check quotes, brackets and '=' on that line",
                path=self.path,
                line=line,
            ) from None

    def line_of(self, table: tuple[str | int, ...], key: str | None = None) -> int | None:
        """The file line where `key` of `table` is set (or the table starts), if it can be seen.

        `table` is a path such as ("channel", "mastodon") or ("images", 0); integers pick
        the n-th `[[array]]` of that name.
        """
        names = [t for t in table if isinstance(t, str)]
        index = next((t for t in table if isinstance(t, int)), None)
        wanted = ".".join(names)
        current = ""
        seen = -1
        in_table = not names
        table_line: int | None = None
        for number, raw in enumerate(self.text.splitlines(), start=self.first_line):
            header = _HEADER.match(raw)
            if header:
                current = ".".join(_unquote(p.strip()) for p in header.group(2).split("."))
                if current == wanted:
                    if header.group(1) == "[[":
                        seen += 1
                        in_table = index is None or seen == index
                    else:
                        in_table = True
                    if in_table:
                        table_line = number
                else:
                    in_table = False
                continue
            if key is None:
                continue
            if in_table:
                match = _KEY.match(raw)
                if match and _unquote(match.group(1)) == key:
                    return number
            elif not current and names and index is None:
                # dotted or inline form at top level: channel.mastodon.at = ... / images = [...]
                match = _KEY.match(raw)
                if match and _unquote(match.group(1)) == names[0]:
                    table_line = table_line or number
        return table_line


def load_toml_file(
    path: Path, error: type[DistributeError] = ConfigError, tz: ZoneInfo | None = None
) -> tuple[dict[str, Any], TomlSource]:
    """Read and parse a whole TOML file (a leading BOM and CRLF line ends are fine)."""
    try:
        # -sig: Windows editors start UTF-8 files with a BOM; read_text turns CRLF into LF.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8", path=path) from None
    source = TomlSource(path, text)
    return source.parse(error, tz), source
