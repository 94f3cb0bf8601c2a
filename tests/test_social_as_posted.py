"""Posts a social media manager would post as they are: hashtags that keep their meaning (checked
with the twitter-text vectors and the Bluesky lexicon), no summary stubs and no headline twice on
Bluesky, and validate's warnings for what cannot go out as the release says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import write_release
from distribute.text.entities import find_hashtags, hashtag_problem
from distribute.text.fit import x_parse
from social_lexicon import lexicons
from social_support import front, render, secrets_for, set_keys

CHANNELS = ["mastodon", "bluesky", "linkedin", "x", "threads"]
TAGS = ["C++", "R&D", "C#", "Disney+", "Women's Day", "Research & Development", "South Korea", "2025"]
MEANT = "#CPlusPlus #RandD #CSharp #DisneyPlus #WomensDay #ResearchAndDevelopment #SouthKorea"


def enable(ws: Path, monkeypatch: pytest.MonkeyPatch, *channels: str) -> None:
    for name in channels:
        set_keys(ws / "channels" / f"{name}.toml", enabled=True)
        for var, value in secrets_for(name).items():
            monkeypatch.setenv(var, value)


def test_our_hashtag_rule_agrees_with_the_twitter_text_vectors(standards: Path) -> None:
    vectors: list[dict[str, Any]] = yaml.safe_load((standards / "twitter-text" / "validate.yml").read_text())["tests"][
        "hashtags"
    ]
    assert len(vectors) >= 7
    for v in vectors:
        assert (hashtag_problem(v["text"]) is None) is v["expected"], v["description"]


@pytest.mark.parametrize("channel", ["x", "mastodon", "threads", "bluesky"])
def test_tags_with_symbols_become_hashtags_that_keep_their_meaning(workspace: Path, channel: str) -> None:
    path = write_release(workspace, "tags", front(summary="Short.", tags=TAGS), "Body.\n")
    r = render(workspace, path.relative_to(workspace), channel)
    (d,) = r.deliveries
    text = d.meta["text"]
    meant = MEANT.split()[0] if channel == "threads" else MEANT  # a Threads post carries one topic tag
    assert text.endswith("\n\n" + meant), text
    assert "#C " not in text + " " and "#RD" not in text and "#2025" not in text
    shown = [text[s:e] for s, e in find_hashtags(text)]
    assert shown == meant.split(), "each hashtag is read whole, as the platform's extractor reads it"
    if channel == "x":
        assert x_parse(text).valid
    if channel == "bluesky":
        record = _record(r)
        tags = [f["features"][0]["tag"] for f in record["facets"] if f["features"][0]["$type"].endswith("#tag")]
        assert tags == [t[1:] for t in MEANT.split()]


def _record(r: Any) -> dict[str, Any]:
    return r.request()["body"]["record"]


LONG_TITLE = "Tidewater X2 Autonomous Survey Vessel Completes Its First Crossing of the Korea Strait"
TWO_SENTENCES = (
    "Tidewater X2 crossed the Korea Strait on its own in 14 hours, mapping 180 square kilometres of seabed. "
    "The vessel now goes into service with three coastal agencies, which share its data under an open licence, "
    "and a second vessel follows in the spring of next year."
)


def test_bluesky_keeps_whole_sentences_and_leaves_the_headline_to_the_card(workspace: Path, standards: Path) -> None:
    path = write_release(workspace, "long", front(title=LONG_TITLE, summary=TWO_SENTENCES, tags=[]), "Body.\n")
    set_keys(workspace / "channels" / "bluesky.toml", limit=200)
    r = render(workspace, path.relative_to(workspace), "bluesky")
    (d,) = r.deliveries
    record = _record(r)
    assert lexicons(str(standards / "bluesky-lexicons" / "lexicons")).errors("app.bsky.feed.post", record) == []
    text = record["text"]
    assert record["embed"]["external"]["title"] == LONG_TITLE
    assert LONG_TITLE not in text, "the headline is on the card, not again in the text"
    assert "…" not in text, text
    assert text.startswith(TWO_SENTENCES.split(". ")[0] + ".\n\n"), text
    assert d.meta["length"] <= 200
    # When not one sentence fits, the summary goes whole rather than as a stub.
    set_keys(workspace / "channels" / "bluesky.toml", limit=90)
    text = _record(render(workspace, path.relative_to(workspace), "bluesky"))["text"]
    assert "…" not in text and "Tidewater" not in text
    assert text == "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"


def test_validate_warns_of_posts_without_a_link_and_tags_that_cannot_be_hashtags(
    workspace: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enable(workspace, monkeypatch, *CHANNELS)
    text = front(summary="Short.", tags=["NATO", "2025"]).replace(
        'url = "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"\n', ""
    )
    write_release(workspace, "nolink", text, "Body.\n")
    result = cli("validate", "releases/nolink.md")
    assert result.exit_code == 0, result.output + result.stderr
    platforms = {"mastodon": "Mastodon", "bluesky": "Bluesky", "linkedin": "LinkedIn", "x": "X", "threads": "Threads"}
    for channel, platform in platforms.items():
        head = f"warning: releases/nolink.md: channel {channel}: "
        assert (
            head + 'the release has no url, so its posts will carry no link; add url = "https://..." '
            "(the release on your website) to its front matter"
        ) in result.stderr.splitlines()
        assert (
            head + f'tag "2025" cannot be a {platform} hashtag (a hashtag needs a letter), so the posts leave it out'
        ) in result.stderr.splitlines()
    assert "#2025" not in result.output
    ok = cli("validate", "releases/2025-06-30-nato-summit-brief.md")
    assert "no url" not in ok.stderr and "cannot be a" not in ok.stderr
