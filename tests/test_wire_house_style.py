"""Wire copy as each wire's editors print it: datelines checked against published releases, one
dateline only, the embargo's day, tables, code and URLs within the width, and validate's warning
when no one can be called. Run through the command line (dry-run outbox, validate)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from lxml import etree

from conftest import EXAMPLE_RELEASE, write_release
from wire_support import set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
WIRE = 'adapter = "wire"\ntransport = "directory"\ndirectory = "wire"\n'
NAR = "{http://iptc.org/std/nar/2006-10-01/}"


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def dry_run(cli, ws: Path, release: Path | str, channel: str = WIRE, fmt: str = ".txt") -> bytes:
    """The wire copy as `send --dry-run` writes it to the outbox."""
    set_channel(ws, "wire-desk", channel)
    result = cli("send", str(release), "-c", "wire-desk", "--dry-run", "--outbox", "out")
    assert result.exit_code == 0, result.output + result.stderr
    (path,) = (ws / "out" / "wire-desk").glob(f"*{fmt}")
    return path.read_bytes()


# Each dateline as a published release of that wire printed it (the sites that carry them set
# the wire's "--" as a dash "—"; the wire's own text feed sends "--"):
PUBLISHED = [
    # https://www.sustainabilityhq.com/tag/pr-newswire : "HENDERSON, Nev., Oct. 7, 2025 /PRNewswire/ —"
    ("prnewswire", "Henderson, Nevada", "2025-10-07", "HENDERSON, Nev., Oct. 7, 2025 /PRNewswire/ -- "),
    # https://www.marketnewsdesk.com/index.php/page/8 : "LOS ANGELES, Nov. 21, 2025 /PRNewswire/ —"
    ("prnewswire", "Los Angeles", "2025-11-21", "LOS ANGELES, Nov. 21, 2025 /PRNewswire/ -- "),
    # http://123.123.enodoworks.com/?p=1368713 : "NEW YORK, March 7, 2025 /PRNewswire/ —" (March: never abbreviated)
    ("prnewswire", "New York", "2025-03-07", "NEW YORK, March 7, 2025 /PRNewswire/ -- "),
    # https://www.marketnewsdesk.com/index.php/page/9 : "PASCAGOULA, Miss., Nov. 21, 2025 (GLOBE NEWSWIRE) —"
    ("globenewswire", "Pascagoula, Mississippi", "2025-11-21", "PASCAGOULA, Miss., Nov. 21, 2025 (GLOBE NEWSWIRE) -- "),
    # https://biotech-365.com/category/globenewswire/page/84 : "CINCINNATI, Dec. 04, 2025 (GLOBE NEWSWIRE) —"
    ("globenewswire", "Cincinnati", "2025-12-04", "CINCINNATI, Dec. 04, 2025 (GLOBE NEWSWIRE) -- "),
    # https://massachusettspoliticaldispatch.com/press-releases?offset=60 : "MIAMI, June 03, 2025 (GLOBE NEWSWIRE) --"
    ("globenewswire", "Miami", "2025-06-03", "MIAMI, June 03, 2025 (GLOBE NEWSWIRE) -- "),
    # https://themediapub.com/category/local-national-and-international-monetary-matters/page/12 :
    # "MOUNT LAUREL, N.J. — (BUSINESS WIRE) —" (no date in Business Wire's lead)
    ("businesswire", "Mount Laurel, New Jersey", "2025-09-15", "MOUNT LAUREL, N.J.--(BUSINESS WIRE)--"),
    # https://afnnews.qaasid.com/category/business/page/351 : "AKRON, Ohio, Dec. 19, 2025 —" (a release
    # sent on no wire, AP style; AP spells out "Ohio")
    ("plain", "Akron, Ohio", "2025-12-19", "AKRON, Ohio, Dec. 19, 2025 -- "),
    # AP Stylebook, months: "Sept." is the one four-letter abbreviation.
    ("prnewswire", "Seoul", "2025-09-01", "SEOUL, Sept. 1, 2025 /PRNewswire/ -- "),
]


@pytest.mark.parametrize("style, dateline, day, expected", PUBLISHED)
def test_datelines_read_as_each_wire_prints_them(
    workspace: Path,
    cli,
    style: str,
    dateline: str,
    day: str,
    expected: str,
) -> None:
    path = write_release(
        workspace, "dated", f'title = "T"\ndateline = "{dateline}"\npublish_at = {day}T09:00:00-05:00\n', "Body text.\n"
    )
    text = dry_run(cli, workspace, path.relative_to(workspace), WIRE + f'style = "{style}"\n').decode()
    assert f"\n{expected}Body text.\n" in text


@pytest.mark.parametrize(
    "dateline, body, lead",
    [
        # The shape reported from a Korean release: the body's own dateline after the wire's.
        (
            "서울",
            "서울, 2026년 3월 12일 — 타이드워터가 새 선박을 공개했다.\n",
            "서울, March 12, 2026 /PRNewswire/ -- 타이드워터가",
        ),
        (
            "SEOUL",
            "SEOUL, March 12, 2026 -- The institute said.\n",
            "SEOUL, March 12, 2026 /PRNewswire/ -- The institute",
        ),
        ("Seoul", "Seoul (Yonhap) – The institute said.\n", "SEOUL, March 12, 2026 /PRNewswire/ -- The institute"),
    ],
)
def test_a_body_that_opens_with_its_own_dateline_gets_one_dateline(
    workspace: Path,
    cli,
    dateline: str,
    body: str,
    lead: str,
) -> None:
    path = write_release(
        workspace, "own", f'title = "T"\ndateline = "{dateline}"\npublish_at = 2026-03-12T09:00:00+09:00\n', body
    )
    text = dry_run(cli, workspace, "releases/own.md", WIRE + 'style = "prnewswire"\n').decode()
    paragraph = text.split("\n\n")[2]
    assert paragraph.startswith(lead), paragraph
    assert paragraph.casefold().count(dateline.casefold()) == 1, paragraph
    # A body that only mentions the city first keeps every word.
    path.write_text(path.read_text().replace(body, "Seoul-based researchers said -- again -- it was so.\n"))
    text = dry_run(cli, workspace, "releases/own.md", WIRE + 'style = "prnewswire"\n').decode()
    assert "/PRNewswire/ -- Seoul-based researchers said -- again -- it was so." in " ".join(text.split())


def test_an_embargoed_copy_is_datelined_the_day_the_embargo_lifts(workspace: Path, cli, standards: Path) -> None:
    write_release(
        workspace,
        "embargoed",
        'title = "Embargoed"\npublish_at = 2025-06-30T09:00:00+09:00\nembargo = 2025-07-01T06:00:00+09:00\n',
        "Body text.\n",
    )
    channel = WIRE + 'style = "prnewswire"\nembargoed_copy = true\nat = "-1d"\nformats = ["txt", "newsml"]\n'
    text = dry_run(cli, workspace, "releases/embargoed.md", channel).decode()
    assert text.startswith("EMBARGOED UNTIL July 1, 2025, 06:00 KST")
    assert "\nSEOUL, July 1, 2025 /PRNewswire/ -- Body text." in text
    newsml = dry_run(cli, workspace, "releases/embargoed.md", channel, ".newsml.xml")
    schema = etree.XMLSchema(
        etree.parse(
            str(standards / "newsml-g2" / "NewsML-G2_2.35-spec-All-Power.xsd"), etree.XMLParser(no_network=True)
        )
    )
    root = etree.fromstring(newsml)
    assert schema.validate(root), schema.error_log
    assert root.find(f".//{NAR}dateline").text == "SEOUL, July 1, 2025"


TABLE = """Spending by ally:

| Ally | Share of GDP (%) | Note |
|:-----|-----------------:|:-----|
| Poland | 4.12 | the highest of the alliance, and still rising |
| Korea | 2.6 | not a member |
| Germany | 2.1 | |
"""


def test_a_markdown_table_becomes_aligned_columns_within_the_width(workspace: Path, cli) -> None:
    write_release(workspace, "table", 'title = "T"\npublish_at = 2025-06-30T09:00:00+09:00\n', TABLE)
    wide = dry_run(cli, workspace, "releases/table.md", WIRE + "width = 80\n").decode()
    assert "|" not in wide
    header, rule, *rows = wide.split("Spending by ally:\n\n", 1)[1].split("\n\n")[0].splitlines()
    assert header.split() == ["Ally", "Share", "of", "GDP", "(%)", "Note"]
    assert set(rule) <= {"-", " "} and len(rows) == 3
    # Columns start at the same place on every line; numbers are right-aligned under their header.
    note = header.index("Note")
    assert all(line[note:].startswith(("the highest", "not a member")) for line in rows[:2])
    share_end = header.index("(%)") + 3
    assert [line[:share_end].split()[-1] for line in rows] == ["4.12", "2.6", "2.1"]
    for width in (44, 30):
        narrow = dry_run(cli, workspace, "releases/table.md", WIRE + f"width = {width}\n").decode()
        for line in narrow.splitlines():
            assert len(line) <= width, line
        for word in ("Poland", "4.12", "highest", "rising", "Korea", "member", "Germany", "2.1"):
            assert word in narrow


URL = "https://en.asaninst.org/press/" + "a-very-long-path-segment/" * 4 + "end.pdf"
CODE = f"""Install it:

```
pip install distribute --index-url https://pypi.example.org/simple --extra-index-url https://mirror.example.org/simple
{URL}
```

Read the [full brief]({URL}) or see {URL} directly.
"""


def test_code_and_long_urls_keep_within_the_width_but_one_url_alone(workspace: Path, cli) -> None:
    write_release(workspace, "code", 'title = "T"\npublish_at = 2025-06-30T09:00:00+09:00\n', CODE)
    for width in (40, 72):
        text = dry_run(cli, workspace, "releases/code.md", WIRE + f"width = {width}\n").decode()
        for line in text.splitlines():
            if len(line) > width:
                # The one exception: a line that is a single unbreakable URL (with its brackets or stop).
                assert re.fullmatch(r"\s*\(?https?://\S+", line), line
        assert f"\n    {URL}\n" in text, "a URL in code is kept whole"
        assert f"({URL})" in text and URL in text.replace("\n", " ").split("see ")[1]
        joined = re.sub(r"\n\s+", " ", text)
        assert "pip install distribute --index-url https://pypi.example.org/simple" in joined


def test_validate_warns_when_no_one_is_named_to_call_on_wire_and_press_channels(workspace: Path, cli) -> None:
    write_release(workspace, "nobody", 'title = "T"\npublish_at = 2026-02-02T09:00:00+09:00\n', "Body text.\n")
    result = cli("validate", "releases/nobody.md")
    assert result.exit_code == 0, result.output + result.stderr
    warned = [line for line in result.stderr.splitlines() if "no media contact" in line]
    assert warned == [
        f"warning: releases/nobody.md: channel {name}: the release has no media contact, so journalists get no one "
        "to call or mail; add a [[contacts]] table (name, email, phone) to its front matter"
        for name in ("press-list", "wire-desk")
    ]
    assert "no media contact" not in cli("validate", EXAMPLE_RELEASE).stderr
