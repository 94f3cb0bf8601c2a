"""The plain wire copy: notice, house-style datelines, wrapping, lists and links, ###, About, contacts, ASCII."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from conftest import EXAMPLE_RELEASE, write_release
from distribute.adapters.wire.ascii import to_ascii
from distribute.adapters.wire.datelines import ap_region, lead_in, place
from distribute.errors import ConfigError
from wire_support import check_golden, render, set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
WIRE = 'adapter = "wire"\nformats = ["txt"]\n'


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def copy(ws: Path, release: Path | str, channel_text: str = WIRE) -> str:
    set_channel(ws, "wire-desk", channel_text)
    _, deliveries = render(ws, release, "wire-desk")
    (delivery,) = deliveries
    assert (delivery.target, delivery.part) == ("desk", "txt")
    (document,) = delivery.files
    return document.data.decode("utf-8")


def test_example_copy_reads_like_a_wire_release(workspace: Path) -> None:
    text = copy(workspace, EXAMPLE_RELEASE, WIRE + 'style = "prnewswire"\n')
    lines = text.splitlines()
    assert lines[0] == "FOR IMMEDIATE RELEASE"
    assert lines[2] == "Managing Decline? NATO's Uneasy Future After the 2025 Summit"
    assert lines[4] == "A new Asan Issue Brief by Dr. Kim Saeme"
    assert lines[6].startswith("SEOUL, June 30, 2025 /PRNewswire/ -- Dr. Kim Saeme of the Asan")
    assert "\n###\n" in text
    after = text.split("\n###\n", 1)[1]
    assert "About The Asan Institute for Policy Studies\n\nThe Asan Institute for Policy Studies is" in after
    assert after.rstrip().endswith("Media contact:\nDr. Kim Saeme\nAssociate Research Fellow\ns.kim@asaninst.org")
    assert "<" not in text and "**" not in text  # no HTML, no Markdown
    assert "1. Defense spending is no longer a purely military issue but a central\n   factor" in text
    assert "(http://en.asaninst.org/)" in text
    assert text.index("Online: https://en.asaninst.org/press/2025-06-30-nato-summit-brief") < text.index("###")


@pytest.mark.parametrize(
    "style, dateline, expected",
    [
        ("prnewswire", "Seoul", "SEOUL, June 30, 2025 /PRNewswire/ -- Body"),
        ("businesswire", "Princeton, New Jersey", "PRINCETON, N.J.--(BUSINESS WIRE)--Body"),
        ("globenewswire", "Houston, TX", "HOUSTON, Texas, June 30, 2025 (GLOBE NEWSWIRE) -- Body"),
        ("plain", "seoul, South Korea", "SEOUL, South Korea, June 30, 2025 -- Body"),
    ],
)
def test_dateline_house_styles(workspace: Path, style: str, dateline: str, expected: str) -> None:
    path = write_release(
        workspace,
        "styled",
        f'title = "T"\ndateline = "{dateline}"\npublish_at = 2025-06-30T09:00:00+09:00\n',
        "Body text.\n",
    )
    assert expected + " text." in copy(workspace, path, WIRE + f'style = "{style}"\n')


def test_globenewswire_pads_the_day_and_ap_abbreviates_regions() -> None:
    assert (
        lead_in("globenewswire", "Houston, Texas", dt.date(2024, 4, 1))
        == "HOUSTON, Texas, April 01, 2024 (GLOBE NEWSWIRE) -- "
    )
    assert lead_in("prnewswire", "SEOUL", dt.date(2025, 6, 30)) == "SEOUL, June 30, 2025 /PRNewswire/ -- "
    assert place("princeton, N.J.") == "PRINCETON, N.J."
    assert [
        ap_region(r)
        for r in ("California", "CA", "Calif.", "ny", "District of Columbia", "Ohio", "British Columbia", "Gyeonggi")
    ] == ["Calif.", "Calif.", "Calif.", "N.Y.", "D.C.", "Ohio", "B.C.", "Gyeonggi"]


def test_body_is_wrapped_at_the_width_but_urls_are_never_broken(workspace: Path) -> None:
    url = "https://en.asaninst.org/press/" + "very-long-path-segment-" * 4 + "end"
    body = (
        "A paragraph " * 20
        + f"with a link [here]({url}).\n\n- a list item that goes on "
        + "and on " * 10
        + "\n- second\n\n> A quotation that is long enough to need wrapping "
        + "too " * 10
        + "\n"
    )
    path = write_release(workspace, "wrap", 'title = "T"\npublish_at = 2025-06-30T09:00:00+09:00\n', body)
    for width in (40, 72):
        text = copy(workspace, path, WIRE + f"width = {width}\n")
        for line in text.splitlines():
            assert len(line) <= width or line.split()[-1].startswith(("(http", "https://")), line
        assert f"({url})" in text
        assert "\n- a list item that goes on" in text and "\n- second" in text
        assert "\n    A quotation that is long" in text and ">" not in text
    unwrapped = copy(workspace, path, WIRE + "width = 0\n")
    assert ("A paragraph " * 20).strip() in unwrapped


def test_no_subtitle_no_contacts_no_boilerplate_and_another_end_mark(workspace: Path) -> None:
    path = write_release(workspace, "bare", 'title = "Bare"\npublish_at = 2025-06-30T09:00:00+09:00\n', "Only text.\n")
    config = workspace / "config.toml"
    config.write_text(config.read_text().split("boilerplate =")[0])
    text = copy(workspace, path, WIRE + 'end_mark = "-30-"\n')
    assert text == "FOR IMMEDIATE RELEASE\n\nBare\n\nSEOUL, June 30, 2025 -- Only text.\n\n-30-\n"


def test_embargoed_copy_carries_the_embargo_in_local_time_and_utc(workspace: Path) -> None:
    path = write_release(
        workspace,
        "embargoed",
        'title = "Embargoed"\npublish_at = 2025-07-01T06:00:00+09:00\nembargo = 2025-07-01T06:00:00+09:00\n',
    )
    channel = WIRE + 'embargoed_copy = true\nat = "-1d"\n'
    text = copy(workspace, path, channel)
    assert text.startswith("EMBARGOED UNTIL July 1, 2025, 06:00 KST (June 30, 2025, 21:00 UTC)\n")
    # A public wire channel is held until the embargo, so its copy is for immediate release.
    set_channel(workspace, "wire-desk", WIRE)
    _, deliveries = render(workspace, path, "wire-desk")
    assert deliveries[0].files[0].data.startswith(b"FOR IMMEDIATE RELEASE\n")
    assert deliveries[0].due == dt.datetime(2025, 6, 30, 21, 0, tzinfo=dt.timezone.utc)


def test_ascii_transliteration_is_off_by_default_and_flags_what_it_cannot_map(workspace: Path) -> None:
    body = "\u201cQuoted\u201d \u2014 caf\u00e9 na\u00efve Stra\u00dfe \u2026 5\u00a0% \u20a9100 \ud55c\uad6d\n"
    path = write_release(
        workspace, "typo", 'title = "Caf\u00e9 \u2013 r\u00e9sum\u00e9"\npublish_at = 2025-06-30T09:00:00+09:00\n', body
    )
    assert "\u201cQuoted\u201d \u2014 caf\u00e9" in copy(workspace, path)
    text = copy(workspace, path, WIRE + "ascii = true\n")
    assert text.isascii()
    assert "Cafe - resume" in text and '"Quoted" -- cafe naive Strasse ... 5 % KRW 100 ??' in text
    ws, deliveries = render(workspace, path, "wire-desk")
    (block,) = ws.adapter(ws.channels["wire-desk"]).preview(deliveries, ws.channels["wire-desk"])
    (lost,) = [c for c in block.checks if c.label.startswith("characters without")]
    assert not lost.ok and lost.value == 2 and "\ud55c" in lost.note


def test_to_ascii_table() -> None:
    assert to_ascii("\u2018a\u2019 \u00bd \u00c5ngstr\u00f6m \u0141\u00f3d\u017a \u00a9 \u2122") == (
        "'a' 1/2 Angstrom Lodz (c) (TM)",
        [],
    )


def test_control_characters_never_reach_the_wire(workspace: Path) -> None:
    path = write_release(
        workspace,
        "ctl",
        'title = "Bell\\u0007 here"\npublish_at = 2025-06-30T09:00:00+09:00\n',
        "Text\u200bwith\u0000 zero\x1b width.\n",
    )
    text = copy(workspace, path)
    assert "\x07" not in text and "\x1b" not in text and "\x00" not in text and "Bell here" in text


def test_preview_checks_line_length(workspace: Path) -> None:
    set_channel(workspace, "wire-desk", WIRE)
    ws, deliveries = render(workspace, EXAMPLE_RELEASE, "wire-desk")
    (block,) = ws.adapter(ws.channels["wire-desk"]).preview(deliveries, ws.channels["wire-desk"])
    (length,) = [c for c in block.checks if c.label == "longest line"]
    assert length.ok and length.limit == 72 and int(length.value) <= 72


def test_bad_settings_are_refused_with_file_and_line(workspace: Path) -> None:
    for text, message in (
        (WIRE + 'style = "reuters"\n', "style must be"),
        (WIRE + "width = 10\n", "width must be 0"),
        ('adapter = "wire"\ntransport = "http"\n', "needs \\[http\\] url"),
        ('adapter = "wire"\nformats = ["txt", "txt"]\n', "at most once"),
        ('adapter = "wire"\nformats = ["pdf"]\n', "formats must be"),
    ):
        set_channel(workspace, "wire-desk", text)
        with pytest.raises(ConfigError, match=message) as caught:
            render(workspace, EXAMPLE_RELEASE, "wire-desk")
        assert "wire-desk.toml" in str(caught.value)


@pytest.mark.parametrize("style", ["prnewswire", "businesswire", "globenewswire", "plain"])
def test_golden_text_copy(workspace: Path, style: str) -> None:
    text = copy(workspace, EXAMPLE_RELEASE, WIRE + f'style = "{style}"\n')
    check_golden("wire", f"example.{style}.txt", text.encode("utf-8"))


def test_a_workspace_template_can_replace_the_copy_layout(workspace: Path) -> None:
    (workspace / "templates" / "wire").mkdir(parents=True)
    (workspace / "templates" / "wire" / "short.txt.j2").write_text("{{ notice }} | {{ headline }}\n{{ end_mark }}\n")
    text = copy(workspace, EXAMPLE_RELEASE, WIRE + 'template = "wire/short.txt.j2"\n')
    assert text == "FOR IMMEDIATE RELEASE | Managing Decline? NATO's Uneasy Future After the 2025 Summit\n###\n"
