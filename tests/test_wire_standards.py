"""NewsML-G2 2.35 against the official XSD (lxml) and ninjs 3.1 against its JSON Schema, for many releases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import time_machine
from lxml import etree

from conftest import EXAMPLE_RELEASE, write_release
from wire_support import check_golden, render, set_channel

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
NAR = "{http://iptc.org/std/nar/2006-10-01/}"
XHTML = "{http://www.w3.org/1999/xhtml}"
CHANNEL = 'adapter = "wire"\nstyle = "prnewswire"\n'


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def assert_valid_newsml(schema: etree.XMLSchema, data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    assert schema.validate(root), "\n".join(str(e) for e in schema.error_log)
    return root


def assert_valid_ninjs(validator: jsonschema.Draft202012Validator, data: bytes) -> dict:
    doc = json.loads(data)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # Formats the installed jsonschema cannot check without extra packages, checked here.
    for key in ("firstCreated", "versionCreated", "contentCreated", "embargoedUntil"):
        if key in doc:
            assert dt.datetime.fromisoformat(doc[key]).tzinfo is not None, key
    assert urlsplit(doc["uri"]).scheme
    return doc


def test_the_validators_are_real(newsml_schema, ninjs_validator, standards: Path) -> None:
    """The official examples pass and a broken copy fails: the checks below mean something."""
    listing = (standards / "newsml-g2" / "LISTING_1_A_NewsML-G2_News_Item.xml").read_bytes()
    root = assert_valid_newsml(newsml_schema, listing)
    provider = root.find(f"{NAR}itemMeta/{NAR}provider")
    provider.getparent().remove(provider)
    assert not newsml_schema.validate(root)
    example = (standards / "ninjs" / "004_simple_text_article.json").read_bytes()
    assert_valid_ninjs(ninjs_validator, example)
    assert list(ninjs_validator.iter_errors({"uri": "x:y", "dateline": "SEOUL"}))  # unknown keys are rejected


VARIANTS = {
    "example": None,
    "korean": (
        'id = "ko-release"\ntitle = "\ubd81\ub300\uc11c\uc591\uc870\uc57d\uae30\uad6c\uc758 \ubd88\uc548\ud55c \ubbf8\ub798"\n'
        'subtitle = "\uc544\uc0b0\uc774\uc288\ube0c\ub9ac\ud504"\nlanguage = "ko"\ndateline = "\uc11c\uc6b8"\n'
        'publish_at = 2025-06-30T09:00:00+09:00\ntags = ["\ub098\ud1a0", "\ud55c\uad6d"]\n'
        '[[contacts]]\nname = "\uae40\uc0c8\ubbf8"\nemail = "s.kim@asaninst.org"\nphone = "+82-2-0000-0000"\n',
        "\uc544\uc0b0\uc815\ucc45\uc5f0\uad6c\uc6d0\uc740 **\uc0c8 \ubcf4\uace0\uc11c**\ub97c "
        "[\ubc1c\ud45c](https://en.asaninst.org/ko)\ud588\ub2e4.\n\n- \ud558\ub098\n- \ub458\n",
    ),
    "embargo": (
        'title = "Embargoed <brief> & more"\nsubtitle = "Sub"\npublish_at = 2025-07-01T06:00:00+09:00\n'
        'embargo = 2025-07-01T06:00:00+09:00\nurl = "https://en.asaninst.org/press/e"\n'
        'summary = "Short."\ntags = ["NATO"]\n',
        "Text with a [relative link](/about).\n",
    ),
    "no-subtitle": (
        'title = "No subtitle"\npublish_at = 2025-06-30T09:00:00+09:00\n'
        '[[contacts]]\nname = "Press Office"\nphone = "+82-2-1"\n',
        "Body.\n",
    ),
    "no-contacts": (
        'title = "No contacts"\nsubtitle = "Still a subtitle"\npublish_at = 2025-06-30T09:00:00+09:00\n',
        "# Heading\n\nBody with `code` and a line  \nbreak.\n\n```\nblock\n```\n",
    ),
    "minimal": ('title = "Minimal"\npublish_at = 2025-06-30T09:00:00+09:00\ndateline = ""\n', "x\n"),
}


def _documents(workspace: Path, variant: str, channel: str = CHANNEL) -> dict[str, bytes]:
    set_channel(workspace, "wire-desk", channel)
    spec = VARIANTS[variant]
    path = EXAMPLE_RELEASE if spec is None else write_release(workspace, variant, *spec)
    _, deliveries = render(workspace, path, "wire-desk")
    assert [d.part for d in deliveries] == ["txt", "newsml", "ninjs"]
    assert {d.target for d in deliveries} == {"desk"}
    return {d.part: d.files[0].data for d in deliveries}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_validates(workspace: Path, newsml_schema, ninjs_validator, variant: str) -> None:
    docs = _documents(workspace, variant)
    assert_valid_newsml(newsml_schema, docs["newsml"])
    assert_valid_ninjs(ninjs_validator, docs["ninjs"])
    embargoed = _documents(workspace, variant, CHANNEL + 'embargoed_copy = true\nat = "-1d"\n')
    assert_valid_newsml(newsml_schema, embargoed["newsml"])
    assert_valid_ninjs(ninjs_validator, embargoed["ninjs"])


def test_newsml_carries_every_field(workspace: Path, newsml_schema) -> None:
    root = assert_valid_newsml(newsml_schema, _documents(workspace, "example")["newsml"])
    assert root.get("guid") == "urn:newsml:en.asaninst.org:20250630:2025-06-30-nato-summit-brief"
    assert (root.get("standard"), root.get("standardversion")) == ("NewsML-G2", "2.35")
    meta, content = root.find(f"{NAR}itemMeta"), root.find(f"{NAR}contentMeta")
    assert [etree.QName(e).localname for e in meta][:3] == ["itemClass", "provider", "versionCreated"]
    assert meta.find(f"{NAR}provider").get("uri") == "https://en.asaninst.org/"
    assert meta.findtext(f"{NAR}versionCreated") == "2025-06-30T09:00:00+09:00"
    assert meta.find(f"{NAR}embargoed") is None and meta.find(f"{NAR}edNote") is None
    assert content.findtext(f"{NAR}headline") == "Managing Decline? NATO's Uneasy Future After the 2025 Summit"
    assert content.findtext(f"{NAR}dateline") == "SEOUL, June 30, 2025"
    assert (
        content.findtext(f"{NAR}by") == content.findtext(f"{NAR}creditline") == "The Asan Institute for Policy Studies"
    )
    assert content.find(f"{NAR}language").get("tag") == "en"
    assert [s.findtext(f"{NAR}name") for s in content.findall(f"{NAR}subject")] == [
        "NATO",
        "South Korea",
        "defense spending",
        "alliance burden-sharing",
    ]
    assert content.find(f"{NAR}located/{NAR}name").text == "SEOUL"
    inline = root.find(f"{NAR}contentSet/{NAR}inlineXML")
    assert inline.get("contenttype") == "application/xhtml+xml"
    body = inline.find(f"{XHTML}html/{XHTML}body")
    assert body.findtext(f"{XHTML}h2") == "A new Asan Issue Brief by Dr. Kim Saeme"
    assert len(body.findall(f"{XHTML}ol/{XHTML}li")) == 3


def test_embargoed_newsml_has_embargoed_and_ed_note_like_listing_1(workspace: Path, newsml_schema) -> None:
    docs = _documents(workspace, "embargo", CHANNEL + 'embargoed_copy = true\nat = "-1d"\n')
    meta = assert_valid_newsml(newsml_schema, docs["newsml"]).find(f"{NAR}itemMeta")
    assert meta.findtext(f"{NAR}embargoed") == "2025-07-01T06:00:00+09:00"
    assert "STRICTLY EMBARGOED" in meta.findtext(f"{NAR}edNote")
    assert "July 1, 2025, 06:00 KST (June 30, 2025, 21:00 UTC)" in meta.findtext(f"{NAR}edNote")
    order = [etree.QName(e).localname for e in meta]
    assert order.index("embargoed") < order.index("pubStatus") < order.index("edNote")
    doc = json.loads(docs["ninjs"])
    assert doc["embargoedUntil"] == "2025-07-01T06:00:00+09:00" and "STRICTLY EMBARGOED" in doc["edNote"]
    assert docs["txt"].startswith(b"EMBARGOED UNTIL July 1, 2025, 06:00 KST")
    # Markup in the title is text, and relative links are resolved against the release url.
    assert b"Embargoed &lt;brief&gt; &amp; more" in docs["newsml"]
    assert b'href="https://en.asaninst.org/about"' in docs["newsml"]
    public = _documents(workspace, "embargo")  # a public channel goes at the embargo: nothing to mark
    assert b"<embargoed>" not in public["newsml"] and "embargoedUntil" not in json.loads(public["ninjs"])


def test_ninjs_carries_every_field(workspace: Path, ninjs_validator) -> None:
    doc = assert_valid_ninjs(ninjs_validator, _documents(workspace, "example")["ninjs"])
    assert doc["uri"] == "urn:newsml:en.asaninst.org:20250630:2025-06-30-nato-summit-brief"
    assert doc["headlines"] == [
        {
            "role": "main",
            "contentType": "text/plain",
            "value": "Managing Decline? NATO's Uneasy Future After the 2025 Summit",
        },
        {"role": "sub", "contentType": "text/plain", "value": "A new Asan Issue Brief by Dr. Kim Saeme"},
    ]
    text, rich = doc["bodies"]
    assert text["contentType"] == "text/plain" and text["value"].startswith("SEOUL, June 30, 2025 /PRNewswire/ -- ")
    assert rich["contentType"] == "text/html" and rich["value"].startswith("<p>Dr. Kim Saeme")
    assert (doc["language"], doc["located"], doc["by"]) == ("en", "SEOUL", "The Asan Institute for Policy Studies")
    assert doc["versionCreated"] == "2025-06-30T09:00:00+09:00" and "embargoedUntil" not in doc
    assert [s["name"] for s in doc["subjects"]] == [
        "NATO",
        "South Korea",
        "defense spending",
        "alliance burden-sharing",
    ]
    assert doc["people"][0]["contactInfo"] == [{"type": "email", "role": "office", "value": "s.kim@asaninst.org"}]


def test_korean_release_keeps_its_text_in_utf8(workspace: Path, newsml_schema, ninjs_validator) -> None:
    docs = _documents(workspace, "korean")
    root = assert_valid_newsml(newsml_schema, docs["newsml"])
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "ko"
    assert (
        root.findtext(f"{NAR}contentMeta/{NAR}headline")
        == "\ubd81\ub300\uc11c\uc591\uc870\uc57d\uae30\uad6c\uc758 \ubd88\uc548\ud55c \ubbf8\ub798"
    )
    doc = assert_valid_ninjs(ninjs_validator, docs["ninjs"])
    assert doc["located"] == "\uc11c\uc6b8" and doc["language"] == "ko"
    assert "\uc11c\uc6b8, 2025\ub144 6\uc6d4 30\uc77c /PRNewswire/ -- \uc544\uc0b0" in docs["txt"].decode()


@pytest.mark.parametrize("variant", ["example", "korean", "embargo"])
def test_golden_wire_documents(workspace: Path, variant: str) -> None:
    channel = CHANNEL + ('embargoed_copy = true\nat = "-1d"\n' if variant == "embargo" else "")
    for part, data in _documents(workspace, variant, channel).items():
        suffix = {"txt": "txt", "newsml": "newsml.xml", "ninjs": "ninjs.json"}[part]
        check_golden("wire", f"{variant}.{suffix}", data)


def _example_pairs() -> list[tuple[str, str]]:
    from conftest import ROOT

    channels = [
        p.stem
        for p in sorted((ROOT / "channels").glob("*.toml"))
        if 'adapter = "wire"' in p.read_text(encoding="utf-8")
    ]
    from distribute.release import original_of

    # Translations (`<id>.<lang>.md`) go out with their original, through the channel's languages.
    originals = [p for p in sorted((ROOT / "releases").glob("*.md")) if original_of(p) is None]
    releases = [p.relative_to(ROOT).as_posix() for p in originals]
    return [(r, c) for r in releases for c in channels]


@pytest.mark.parametrize("release, channel", _example_pairs())
def test_every_example_release_validates_on_every_example_wire_channel(
    workspace: Path, newsml_schema, ninjs_validator, release: str, channel: str
) -> None:
    _, deliveries = render(workspace, release, channel)
    for d in deliveries:
        if d.part == "newsml":
            assert_valid_newsml(newsml_schema, d.files[0].data)
        elif d.part == "ninjs":
            assert_valid_ninjs(ninjs_validator, d.files[0].data)
    assert {d.part for d in deliveries} >= {"newsml", "ninjs"}
