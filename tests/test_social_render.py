"""Composing social posts: fitted the platform's way, hand-written text kept or refused, threads, outbox, preview."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE_RELEASE, ROOT, write_release
from distribute.errors import ReleaseError
from social_support import front, render, secrets_for, set_keys

CHANNELS = ["mastodon", "bluesky", "linkedin", "x", "threads"]
GOLDEN = ROOT / "tests" / "golden" / "social"
REGEN = bool(os.environ.get("DISTRIBUTE_REGEN_GOLDEN"))
LINK = "https://en.asaninst.org/press/2025-06-30-nato-summit-brief"


def enable(ws: Path, monkeypatch: pytest.MonkeyPatch, *channels: str) -> dict[str, str]:
    """Enable the example channels (as a user does after exporting the variables) and set the secrets."""
    values: dict[str, str] = {}
    for name in channels:
        set_keys(ws / "channels" / f"{name}.toml", enabled=True)
        for var, value in secrets_for(name).items():
            monkeypatch.setenv(var, value)
            values[var] = value
    return values


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_example_release_fits_with_its_link(workspace: Path, channel: str) -> None:
    r = render(workspace, EXAMPLE_RELEASE, channel)
    (d,) = r.deliveries
    assert d.meta["length"] <= d.meta["limit"]
    # Bluesky's link card shows the headline, so its text opens with the summary instead.
    opening = "What the 2025 NATO Summit reveals" if channel == "bluesky" else "Managing Decline? NATO's Uneasy Future"
    assert d.meta["text"].startswith(opening)
    if channel != "linkedin":  # LinkedIn carries the link in its article card instead
        assert LINK in d.meta["text"]


@pytest.mark.parametrize("channel, limit", [("mastodon", 160), ("x", 120), ("bluesky", 130)])
def test_too_long_drops_hashtags_first_then_shortens_the_summary(workspace: Path, channel: str, limit: int) -> None:
    set_keys(workspace / "channels" / f"{channel}.toml", limit=limit)
    (d,) = render(workspace, EXAMPLE_RELEASE, channel).deliveries
    text = d.meta["text"]
    assert d.meta["length"] <= limit
    assert LINK in text, "the link must survive"
    assert "#" not in text.replace(LINK, ""), "hashtags go before the summary is cut"
    assert "hashtag" in d.meta["note"]
    # The summary is cut at a word boundary, with an ellipsis.
    summary = "What the 2025 NATO Summit reveals about the alliance's trajectory"
    shown = next((line for line in text.splitlines() if line.startswith("What")), "")
    if shown:
        assert shown.endswith("…") and summary.startswith(shown[:-1].rstrip()[:20])
        assert re.fullmatch(r".*\w[.,;:!?'’\"]?…", shown), shown


def test_a_hand_written_text_is_kept_exactly(workspace: Path) -> None:
    text = "Our new brief on NATO after The Hague. https://en.asaninst.org/press/x #NATO"
    path = write_release(workspace, "own", front(extra=f'[channel.x]\ntext = "{text}"\n'))
    (d,) = render(workspace, path.relative_to(workspace), "x").deliveries
    assert d.meta["text"] == text and json.loads(d.files[0].data)["body"] == {"text": text}


@pytest.mark.parametrize("channel", ["mastodon", "bluesky", "x"])
def test_a_hand_written_text_too_long_is_refused_at_its_line(workspace: Path, channel: str) -> None:
    long = "A sentence that goes on. " * 40
    path = write_release(workspace, "own", front(extra=f'\n[channel.{channel}]\nat = "+1h"\ntext = "{long.strip()}"\n'))
    with pytest.raises(ReleaseError) as info:
        render(workspace, path.relative_to(workspace), channel)
    lines = path.read_text().splitlines()
    assert info.value.path == path and lines[info.value.line - 1].startswith("text = ")
    assert "thread = true" in str(info.value)


@pytest.mark.parametrize("channel", ["mastodon", "bluesky", "x"])
def test_thread_true_makes_a_numbered_thread(workspace: Path, channel: str) -> None:
    long = " ".join(f"Sentence number {i} of a long analysis of the summit." for i in range(40))
    path = write_release(workspace, "own", front(extra=f'[channel.{channel}]\ntext = "{long}"\nthread = true\n'))
    r = render(workspace, path.relative_to(workspace), channel)
    n = len(r.deliveries)
    assert n >= 3
    assert [d.part for d in r.deliveries] == [str(i) for i in range(1, n + 1)]
    assert [d.after for d in r.deliveries] == [None] + [d.key for d in r.deliveries[:-1]]
    assert all(d.meta["length"] <= d.meta["limit"] for d in r.deliveries)
    assert all(f"{i}/{n}" in d.meta["text"] for i, d in enumerate(r.deliveries, 1))
    joined = " ".join(d.meta["text"] for d in r.deliveries)
    for i in range(40):
        assert f"Sentence number {i} " in joined, "nothing may be lost between the parts"


def test_a_long_template_post_becomes_a_thread_when_the_channel_asks(workspace: Path) -> None:
    set_keys(workspace / "channels" / "x.toml", thread=True, limit=100)
    r = render(workspace, EXAMPLE_RELEASE, "x")
    assert len(r.deliveries) >= 2 and all(d.meta["length"] <= 100 for d in r.deliveries)


def test_korean_japanese_and_emoji_are_counted_each_platforms_way(workspace: Path) -> None:
    path = write_release(
        workspace,
        "cjk",
        front(
            title="나토의 불안한 미래 🌏 NATOの不安な未来",
            summary="2025년 나토 정상회의가 동맹의 궤적에 대해 보여주는 것 — 日本と韓国にとっての意味。" * 4,
            tags=["나토", "安全保障", "🇰🇷"],
        ),
    )
    rel = path.relative_to(workspace)
    lengths = {c: render(workspace, rel, c).deliveries[0].meta for c in ("x", "bluesky", "mastodon")}
    for c, meta in lengths.items():
        assert meta["length"] <= meta["limit"], c
        assert "https://en.asaninst.org/press/" in meta["text"], c
        assert not re.search(r"#(\s|$)", meta["text"]), f"{c}: a bare '#' from the emoji tag"
    # X weighs CJK twice, so it must keep less of the same summary than Bluesky's 300 graphemes.
    assert len(lengths["x"]["text"]) < len(lengths["bluesky"]["text"])


@pytest.mark.parametrize("channel", CHANNELS)
def test_preview_shows_length_against_the_limit(workspace: Path, channel: str) -> None:
    r = render(workspace, EXAMPLE_RELEASE, channel)
    (block,) = r.adapter.preview(r.deliveries, r.channel)
    check = block.checks[0]
    assert (check.label, check.value, check.limit, check.ok) == (
        "length",
        r.deliveries[0].meta["length"],
        r.deliveries[0].meta["limit"],
        True,
    )
    assert block.text.startswith("What the 2025" if channel == "bluesky" else "Managing Decline?")


def test_validate_prints_each_posts_length(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    enable(workspace, monkeypatch, *CHANNELS)
    result = cli("validate", EXAMPLE_RELEASE)
    assert result.exit_code == 0, result.output + result.stderr
    for channel in CHANNELS:
        assert re.search(rf"{channel} \({channel}\): ok", result.output), result.output
    assert re.search(r"post: length \d+/280 ok", result.output)
    assert re.search(r"post: length \d+/300 ok", result.output)


def test_dry_run_writes_each_request_with_secrets_masked(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = enable(workspace, monkeypatch, *CHANNELS)
    result = cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out")
    assert result.exit_code == 0, result.output + result.stderr
    out = workspace / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    mine = [d for d in manifest["deliveries"] if d["channel"] in CHANNELS]
    assert {d["channel"] for d in mine} == set(CHANNELS)
    assert all(d["target"] == "post" and d["part"] == "1" for d in mine)
    requests = {c: json.loads((out / c / "post-1.json").read_text()) for c in CHANNELS}
    assert requests["mastodon"]["url"] == "https://mastodon.social/api/v1/statuses"
    assert requests["bluesky"]["url"] == "https://bsky.social/xrpc/com.atproto.repo.createRecord"
    assert requests["linkedin"]["url"] == "https://api.linkedin.com/rest/posts"
    assert requests["x"]["url"] == "https://api.x.com/2/tweets"
    assert requests["threads"]["url"] == "https://graph.threads.net/v1.0/me/threads"
    assert requests["threads"]["body"]["access_token"] == "********"
    assert all(r["method"] == "POST" for r in requests.values())
    assert requests["mastodon"]["headers"]["Authorization"] == "Bearer ********"
    assert requests["linkedin"]["headers"]["Linkedin-Version"] == "202506"
    everything = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    for value in secrets.values():
        assert value not in everything and value not in result.output + result.stderr
    # Byte-identical on a second run (times come from the release, not the clock).
    cli("send", EXAMPLE_RELEASE, "--dry-run", "--outbox", "out2")
    for c in CHANNELS:
        assert (out / c / "post-1.json").read_bytes() == (workspace / "out2" / c / "post-1.json").read_bytes()


@pytest.mark.parametrize("channel", CHANNELS)
def test_golden_request(workspace: Path, channel: str) -> None:
    got = render(workspace, EXAMPLE_RELEASE, channel).deliveries[0].files[0].data.decode()
    golden = GOLDEN / f"{channel}.post-1.json"
    if REGEN or not golden.exists():
        if not REGEN:
            pytest.fail(f"{golden} missing; run with DISTRIBUTE_REGEN_GOLDEN=1")
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")


def test_a_title_that_cannot_fit_fails_validate_and_schedule(
    workspace: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(workspace, monkeypatch, "x")
    write_release(workspace, "huge", front(title="Headline " * 40, extra='channels = ["x"]\n'))
    result = cli("validate", "releases/huge.md")
    assert result.exit_code == 1
    assert re.search(r"post: length \d+/280 TOO LONG — .*shorten the title", result.output), result.output
    assert cli("schedule", "releases/huge.md").exit_code != 0
