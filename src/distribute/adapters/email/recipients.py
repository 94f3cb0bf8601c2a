"""Recipient lists: a CSV read as a stream, addresses checked, duplicates and suppressed addresses dropped.

Memory stays flat in the length of the list: rows are read one at a time, and the addresses
already seen are kept whole in a temporary SQLite file with a bounded page cache, behind a Bloom
filter that spares almost every row its SQL statement (seen.py), so two different addresses are
never taken for one.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TextIO

from ...errors import ConfigError
from ...text import addresses
from .seen import AddressSet

log = logging.getLogger("distribute.email")
SHOWN = 20  # bad rows listed one by one; the rest are counted
_HEADER = re.compile(r"[^a-z0-9]+")
_ALIASES = {"e_mail": "email", "email_address": "email", "mail": "email"}
# A language cell: a BCP 47 tag as a release's `language` is written (release.py), "_" allowed for "-"
# (ko_KR, as spreadsheets export it). A well-formed tag of a language the release has no translation in
# reads the main language; anything else ("english", "xx_YY!") is a bad row, not a guess.
_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


class Recipient(NamedTuple):
    """One accepted row: the address (ASCII form), display name and every other column.

    A named tuple rather than a frozen dataclass: one is made per row of every reading of a list.
    """

    email: str
    name: str
    fields: dict[str, str]
    line: int

    @property
    def key(self) -> str:
        """The delivery target: the address, lower-cased (duplicates are compared this way)."""
        return self.email.lower()


@dataclass
class ListReport:
    """What reading a list found: counts and the first bad rows by line."""

    path: str = ""
    rows: int = 0
    accepted: int = 0
    bad: int = 0
    duplicates: int = 0
    suppressed: int = 0
    problems: list[str] = field(default_factory=list)
    warned: bool = False  # warn() has logged this render's bad rows
    complete: bool = False  # the reading went to the end of the list (the counts are the whole list's)

    def problem(self, line: int, message: str) -> None:
        self.bad += 1
        if len(self.problems) < SHOWN:
            self.problems.append(f"{self.path}:{line}: {message}")


def check_address(value: str) -> str:
    """The address in the ASCII form it is sent in; ValueError says what is wrong with it."""
    return addresses.check(value, smtputf8=False)


def _open(path: Path, what: str, shown: str = "") -> TextIO:
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ConfigError(
            f"{what} {shown or path} does not exist; create it or fix the path in the channel file"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{what} {shown or path}: {exc.strerror}") from None


def _column(name: str) -> str:
    return _HEADER.sub("_", name.strip().lower()).strip("_")


def _header(reader: Iterator[list[str]], shown: str) -> list[str]:
    """The list's column names, aliases resolved ("e-mail" is email); it must have an email column."""
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError(
            "the recipient list is empty; it needs a header line with an email column", path=shown
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("the recipient list is not UTF-8 text; save it as UTF-8", path=shown) from None
    columns = [_ALIASES.get(c, c) for c in (_column(h) for h in header)]
    if "email" not in columns:
        raise ConfigError(
            f"the header line has no email column (found: {', '.join(h for h in header if h) or 'nothing'}); add one",
            path=shown,
            line=1,
        )
    return columns


def read_recipients(
    path: Path, suppressed: AddressSet | None = None, report: ListReport | None = None, shown: str = ""
) -> Iterator[Recipient]:
    """Stream the accepted recipients of a CSV list, in file order, each address once.

    `shown` is how the file is named in messages (relative to the workspace, usually).
    """
    report = report if report is not None else ListReport()
    shown = shown or str(path)
    report.path = shown
    with AddressSet() as seen, _open(path, "recipient list", shown) as handle:
        reader = csv.reader(handle)
        columns = _header(reader, shown)
        at_email, at_name = columns.index("email"), columns.index("name") if "name" in columns else -1
        extra = [(i, c) for i, c in enumerate(columns) if c and i not in (at_email, at_name)]
        at_language = columns.index("language") if "language" in columns else -1
        previous = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                report.complete = True
                break
            except csv.Error as exc:
                report.rows += 1
                report.problem(reader.line_num, f"unreadable row ({exc}); skipped")
                previous = reader.line_num
                continue
            except UnicodeDecodeError:
                raise ConfigError(
                    f"the recipient list is not UTF-8 text after line {previous}; save it as UTF-8", path=shown
                ) from None
            line, previous = previous + 1, reader.line_num
            if not "".join(row).strip():  # an empty line, or only blank cells
                continue
            report.rows += 1
            raw = row[at_email].strip() if at_email < len(row) else ""
            if not raw:
                report.problem(line, "no email address; skipped")
                continue
            try:
                address = check_address(raw)
            except ValueError as exc:
                report.problem(line, f"{raw!r} is not a valid address ({exc}); skipped")
                continue
            tag = row[at_language].strip() if 0 <= at_language < len(row) else ""
            if tag and not _TAG.fullmatch(tag):
                report.problem(
                    line,
                    f"language {tag!r} is not a language code; write one such as en, ko or pt-BR, "
                    "or leave the cell empty for the release's main language; skipped",
                )
                continue
            key = address.lower()
            if suppressed is not None and key in suppressed:
                report.suppressed += 1
                continue
            if not seen.add(key):
                report.duplicates += 1
                continue
            report.accepted += 1
            # A name is one line however the cell was written: it goes into headers and greetings.
            name = " ".join(row[at_name].split()) if 0 <= at_name < len(row) else ""
            fields = {c: (row[i].strip() if i < len(row) else "") for i, c in extra}
            yield Recipient(address, name, fields, line)
        addresses.keep()  # the domains first met in this list, for the next run


def list_columns(path: Path, shown: str = "") -> list[str]:
    """The list's column names (aliases resolved) from its header line alone; refused as a reading is."""
    shown = shown or str(path)
    with _open(path, "recipient list", shown) as handle:
        return _header(csv.reader(handle), shown)


def load_suppression(path: Path) -> AddressSet:
    """The suppression list: a CSV with an email column, or one address a line (# comments)."""
    found = AddressSet()
    with _open(path, "suppression list") as handle:
        first = handle.readline()
        handle.seek(0)
        if "," in first or _column(first) == "email":
            reader = csv.reader(handle)
            columns = [_column(h) for h in next(reader, [])]
            at = columns.index("email") if "email" in columns else 0
            values: Iterator[str] = (row[at] for row in reader if len(row) > at)
        else:
            values = (line for line in handle)
        for value in values:
            value = value.strip()
            if not value or value.startswith("#"):
                continue
            try:
                found.add(check_address(value).lower())
            except ValueError:
                found.add(value.lower())  # keep it anyway: suppressing too much is the safe side
    addresses.keep()
    return found


def shown_path(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the workspace when it is inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def warn(report: ListReport) -> None:
    """Log the bad rows of one reading of a list, once (every render reads the list afresh and says so)."""
    if report.bad and not report.warned:
        report.warned = True
        for problem in report.problems:
            log.warning("%s", problem)
        if report.bad > len(report.problems):
            log.warning("%s: %d more bad rows skipped", report.path, report.bad - len(report.problems))
