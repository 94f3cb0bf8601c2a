"""textfit: platform counters (twitter-text conformance vectors), the fitter and the thread splitter."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import regex
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import standards_path
from distribute.text import fit as textfit
from distribute.text.fit import (
    FitError,
    Measure,
    bluesky_graphemes,
    find_hashtags,
    find_urls,
    fit,
    linkedin_escape,
    linkedin_length,
    mastodon_length,
    measure_for,
    split_thread,
    threads_length,
    utf8_len,
    utf8_span,
    x_parse,
    x_weighted_length,
)

# --- twitter-text conformance -------------------------------------------------------------------

# twitter-text runs WeightedTweetsCounterTest with its v2 configuration (the same weights, but no
# emoji parsing: an emoji weighs per code point), the other two with v3 (v3.json, emoji parsing on).
GROUPS = {
    "WeightedTweetsCounterTest": False,
    "WeightedTweetsWithDiscountedEmojiCounterTest": True,
    "UnicodeDirectionalMarkerCounterTest": True,
}


@functools.cache
def _validate_yml(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load((folder / "twitter-text" / "validate.yml").read_text(encoding="utf-8"))["tests"]


def _collect() -> list[Any]:
    """One parameter per vector, read at collection time only for the test ids."""
    folder = standards_path()
    if not (folder / "twitter-text" / "validate.yml").is_file():
        # Still one test, which fails through the `standards` fixture rather than vanishing.
        return [pytest.param("missing", 0, "", id="standards-missing")]
    tests = _validate_yml(folder)
    return [
        pytest.param(group, i, case["description"], id=f"{group}-{i}-{case['description'][:50]}")
        for group in GROUPS
        for i, case in enumerate(tests[group])
    ]


@pytest.mark.parametrize("group, index, description", _collect())
def test_twitter_text_vector(standards: Path, group: str, index: int, description: str) -> None:
    case = _validate_yml(standards)[group][index]
    assert case["description"] == description
    expected = case["expected"]
    got = x_parse(case["text"], emoji_parsing=GROUPS[group])
    assert got.weighted_length == expected["weightedLength"]
    assert got.valid == expected["valid"]
    assert got.permillage == expected["permillage"]
    assert x_weighted_length(case["text"], emoji_parsing=GROUPS[group]) == expected["weightedLength"]


def test_every_vector_is_run(standards: Path) -> None:
    tests = _validate_yml(standards)
    assert sum(len(tests[g]) for g in GROUPS) == len(_collect()) == 44


def test_config_matches_v3_json(standards: Path) -> None:
    import json

    config = json.loads((standards / "twitter-text" / "v3.json").read_text())
    assert config["maxWeightedTweetLength"] == textfit.X_LIMIT
    assert config["transformedURLLength"] == textfit.URL_LENGTH
    assert config["scale"] == textfit._X_SCALE and config["defaultWeight"] == textfit._X_DEFAULT_WEIGHT
    assert [(r["start"], r["end"], r["weight"]) for r in config["ranges"]] == list(textfit._X_RANGES)


def test_urls_without_protocol_are_found_whole(standards: Path) -> None:
    for case in _validate_yml(standards)["urls_without_protocol"]:
        assert find_urls(case["text"]) == [(0, len(case["text"]))], case["description"]


# --- counters ------------------------------------------------------------------------------------

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


@pytest.mark.parametrize(
    "text, graphemes, octets",
    [
        ("한국어", 3, 9),
        ("\u1112\u1161\u11ab", 1, 9),  # one syllable spelled in conjoining jamo
        (FAMILY, 1, 25),
        ("🇯🇵🇰🇷", 2, 16),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 1, 28),  # Scotland
        ("e\u0301", 1, 3),
        ("Hi 👋🏽!", 5, 12),
    ],
)
def test_bluesky_graphemes_and_bytes(text: str, graphemes: int, octets: int) -> None:
    assert bluesky_graphemes(text) == graphemes
    assert utf8_len(text) == octets


def test_bluesky_measure_checks_bytes_too() -> None:
    bluesky = measure_for("bluesky")
    assert bluesky.limit == 300 and bluesky.byte_limit == 3000
    families = FAMILY * 150  # 150 graphemes but 3750 bytes
    assert bluesky.length(families) == 150
    assert not bluesky.fits(families)
    assert bluesky.fits(FAMILY * 120)  # 3000 bytes exactly
    assert not bluesky.fits("a" * 301)


def test_utf8_span_for_facets() -> None:
    text = "Déjà vu 🇯🇵 https://example.com/é #태그"
    ((start, end),) = find_urls(text)
    assert text[start:end] == "https://example.com/é"
    byte_start, byte_end = utf8_span(text, start, end)
    assert text.encode()[byte_start:byte_end].decode() == "https://example.com/é"
    ((hs, he),) = find_hashtags(text)
    bs, be = utf8_span(text, hs, he)
    assert text.encode()[bs:be].decode() == "#태그"


def test_mastodon_counts_links_and_mentions() -> None:
    url = "https://example.com/" + "long-path/" * 20
    assert mastodon_length(url) == 23
    assert mastodon_length(f"See {url} now") == 4 + 23 + 4
    assert mastodon_length(url, url_length=30) == 30
    assert mastodon_length("hi @alice@social.example.org") == len("hi @alice")
    assert mastodon_length("hi @bob") == len("hi @bob")
    # Mastodon only shortens links with a protocol.
    assert mastodon_length("example.com/" + "x" * 40) == 52
    assert mastodon_length(FAMILY + "é") == 2  # grapheme clusters, as Mastodon counts
    assert measure_for("mastodon", limit=1000, url_length=40).length(url) == 40


def test_threads_counts_emoji_bytes() -> None:
    assert threads_length("hello") == 5
    assert threads_length("😀") == 4
    assert threads_length(FAMILY) == 25
    assert threads_length("hi 🇯🇵!") == 3 + 8 + 1
    assert threads_length("1\ufe0f\u20e3") == 7  # keycap
    assert threads_length("日本") == 2
    assert measure_for("threads").limit == 500


def test_linkedin_escaping() -> None:
    assert linkedin_escape("Hello, world") == "Hello, world"
    reserved = "|{}@[]()<>#\\*_~"
    assert linkedin_escape(reserved) == "".join("\\" + c for c in reserved)
    assert linkedin_escape("a_b (c) #tag @me") == r"a\_b \(c\) \#tag \@me"
    assert linkedin_length("a_b (c)") == 7  # counted before escaping
    assert measure_for("linkedin").limit == 3000


def test_x_counts() -> None:
    assert x_weighted_length("Hello") == 5
    assert x_weighted_length("日本") == 4
    assert x_weighted_length(FAMILY) == 2
    assert x_weighted_length("see example.com/path") == 4 + 23
    assert x_weighted_length("https://example.com", url_length=30) == 30
    assert measure_for("x", url_length=30).length("https://example.com") == 30
    assert measure_for("twitter").limit == 280


def test_finders() -> None:
    text = "Read https://example.org/a_(b)?c=1. #NATO2025 #123 and @press@example.social, t.co or foo.jp"
    assert [text[s:e] for s, e in find_urls(text)] == ["https://example.org/a_(b)?c=1", "t.co"]
    assert [text[s:e] for s, e in find_hashtags(text)] == ["#NATO2025"]
    assert [text[s:e] for s, e in textfit.find_mentions(text)] == ["@press@example.social"]
    assert find_hashtags("https://twitter.com/#!/x#frag") == []


def test_measure_for() -> None:
    for name in ("x", "bluesky", "mastodon", "linkedin", "threads"):
        measure = measure_for(name)
        assert isinstance(measure, Measure) and textfit.MEASURES[name].limit == measure.limit
        assert measure("abc") == measure.length("abc") == 3
        assert measure.fits("abc")
    assert measure_for("x", limit=10).fits("a" * 10) and not measure_for("x", limit=10).fits("a" * 11)
    with pytest.raises(ValueError):
        measure_for("myspace")


# --- fitting -------------------------------------------------------------------------------------

URL = "https://example.org/releases/2025/06/30/nato-summit-brief"


def render(summary: str, hashtags: list[str]) -> str:
    """A post template like the real ones: title, summary, link, hashtags."""
    parts = ["Summit brief"]
    if summary:
        parts.append(summary)
    parts.append(URL)
    if hashtags:
        parts.append(" ".join("#" + t for t in hashtags))
    return "\n\n".join(parts)


SUMMARY = (
    "Leaders agreed on a new spending target, a joint statement on Ukraine and a plan to expand "
    "air defence production across the alliance by 2030."
)


def test_everything_fits() -> None:
    result = fit(render, summary=SUMMARY, hashtags=["NATO", "Summit"], measure=measure_for("mastodon"))
    assert result.text == render(SUMMARY, ["NATO", "Summit"])
    assert not result.dropped_hashtags and not result.shortened
    assert result.length == mastodon_length(result.text) and result.limit == 500


def test_hashtags_are_dropped_from_the_end_first() -> None:
    full = x_weighted_length(render(SUMMARY, ["NATO", "Summit", "Defence"]))
    limit = full - len(" #Defence")  # room for all but the last hashtag
    result = fit(render, summary=SUMMARY, hashtags=["NATO", "Summit", "Defence"], measure=measure_for("x", limit=limit))
    assert result.dropped_hashtags == ["Defence"]
    assert not result.shortened
    assert result.text == render(SUMMARY, ["NATO", "Summit"])


def test_summary_is_shortened_at_a_word_boundary() -> None:
    limit = x_weighted_length(render(SUMMARY, [])) - 20
    result = fit(render, summary=SUMMARY, hashtags=["NATO", "Summit"], measure=measure_for("x", limit=limit))
    assert result.dropped_hashtags == ["NATO", "Summit"] and result.shortened
    assert result.summary.endswith("…")
    kept = result.summary[:-1]
    assert SUMMARY.startswith(kept) and SUMMARY[len(kept)] == " "  # cut between words
    assert result.text == render(result.summary, [])
    assert URL in result.text and result.length <= limit
    # ... and it is the longest such cut: one more word would not fit.
    next_word = SUMMARY[: SUMMARY.index(" ", len(kept) + 1)] + "…"
    assert x_weighted_length(render(next_word, [])) > limit


def test_empty_summary_is_the_last_resort_and_then_fit_error() -> None:
    bare = render("", [])
    limit = x_weighted_length(bare)
    result = fit(
        render, summary="Unbreakablesinglewordsummary" * 3, hashtags=["A"], measure=measure_for("x", limit=limit)
    )
    assert result.summary == "" and result.text == bare and result.shortened
    with pytest.raises(FitError, match=rf"{limit} long as X counts it, against a limit of {limit - 1}"):
        fit(render, summary=SUMMARY, hashtags=["A"], measure=measure_for("x", limit=limit - 1))
    assert issubclass(FitError, ValueError)


def test_link_mention_and_hashtag_in_summary_are_not_cut() -> None:
    summary = "Read https://example.com/a-very-long-path-indeed then ask @press@example.social about #NATO2025 plans"
    seen: set[str] = set()
    for limit in range(60, 140):
        try:
            result = fit(render, summary=summary, hashtags=[], measure=measure_for("bluesky", limit=limit))
        except FitError:
            continue
        kept = result.summary.removesuffix("…")
        assert summary.startswith(kept)
        rest = summary[len(kept) :]
        assert kept == "" or rest == "" or rest.startswith(" "), (limit, kept)
        seen.add(kept)
    assert len(seen) > 3  # several cuts were exercised


@pytest.mark.parametrize(
    "summary",
    [
        "日本政府は本日、新たな経済対策を発表しました。物価高への対応として、電気・ガス料金の補助を延長します。",
        "政府今天宣布了新的经济措施，以应对物价上涨，并延长电费和燃气费补贴。",
    ],
)
def test_unspaced_text_is_cut_between_words_not_inside_graphemes(summary: str) -> None:
    for limit in range(90, 160, 3):
        measure = measure_for("x", limit=limit)
        result = fit(render, summary=summary, hashtags=[], measure=measure)
        assert measure.fits(result.text) and URL in result.text
        if result.shortened and result.summary:
            kept = result.summary.removesuffix("…")
            assert summary.startswith(kept) and kept
            boundaries = {m.start() for m in regex.finditer(r"(?w)\b", summary)}
            assert len(kept) in boundaries


def test_korean_and_emoji_are_never_split() -> None:
    summary = "정부는 오늘 새로운 경제 대책을 발표했습니다 👨‍👩‍👧‍👦🇰🇷 가족 지원을 확대합니다 🏳️‍🌈"
    words = summary.split()
    for name in ("x", "bluesky", "threads", "mastodon"):
        for limit in range(90, 200, 4):
            measure = measure_for(name, limit=limit)
            try:
                result = fit(render, summary=summary, hashtags=["경제"], measure=measure)
            except FitError:
                continue
            assert measure.fits(result.text)
            kept = result.summary.removesuffix("…").split()
            assert kept == words[: len(kept)], (name, limit, result.summary)


# --- threads -------------------------------------------------------------------------------------

LONG = (
    "The alliance met in The Hague. Leaders agreed a new target for defence spending.\n\n"
    "A joint statement on Ukraine followed, see https://example.org/statement/2025/06/ukraine-support for the text. "
    "Air defence production will grow across the alliance. The next summit will be in Türkiye.\n\n"
    "Questions to @press@example.social or #NATO2025 on the day."
)


@pytest.mark.parametrize("name, limit", [("x", 120), ("bluesky", 100), ("mastodon", 90), ("threads", 140)])
def test_split_thread(name: str, limit: int) -> None:
    measure = measure_for(name, limit=limit)
    parts = split_thread(LONG, measure)
    assert len(parts) > 1
    n = len(parts)
    bodies = []
    for i, part in enumerate(parts, 1):
        assert measure.fits(part), part
        assert part.endswith(f" {i}/{n}")
        bodies.append(part.removesuffix(f" {i}/{n}"))
    assert " ".join(bodies).split() == LONG.split()
    assert sum("https://example.org/statement/2025/06/ukraine-support" in b for b in bodies) == 1
    assert sum("@press@example.social" in b for b in bodies) == 1


def test_split_thread_prefers_paragraphs_and_sentences() -> None:
    paragraphs = LONG.split("\n\n")
    # The first two paragraphs fit X's 280 together (the link counts 23), the third does not.
    assert split_thread(LONG, measure_for("x", limit=280), numbering=False) == [
        "\n\n".join(paragraphs[:2]),
        paragraphs[2],
    ]
    parts = split_thread(LONG, measure_for("x", limit=120), numbering=False)
    assert parts[0] == paragraphs[0]
    assert all(p.endswith(".") for p in parts)  # every part ends a sentence here


def test_split_thread_short_text_and_unsplittable() -> None:
    assert split_thread("Short.", measure_for("x")) == ["Short."]
    with pytest.raises(FitError):
        split_thread("word " * 10 + "x" * 50, measure_for("x", limit=30))


def test_split_thread_numbering_grows_to_two_digits() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    parts = split_thread(text, measure_for("x", limit=30))
    assert len(parts) >= 10 and parts[-1].endswith(f" {len(parts)}/{len(parts)}")
    assert all(x_weighted_length(p) <= 30 for p in parts)


def test_split_thread_japanese() -> None:
    text = "日本政府は本日、新たな経済対策を発表しました。物価高への対応として、電気・ガス料金の補助を延長します。" * 3
    parts = split_thread(text, measure_for("x", limit=100), numbering=False)
    assert "".join(parts) == text
    assert all(x_weighted_length(p) <= 100 for p in parts)
    assert all(p.endswith(("。", "、")) for p in parts)


# --- properties ----------------------------------------------------------------------------------

GRAPHEMES = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789éßøñ") + [
    "한",
    "국",
    "어",
    "é",
    "😀",
    FAMILY,
    "🇯🇵",
    "👋🏽",
    "ä",
    ",",
    "!",
    "'",
]
words = st.lists(st.sampled_from(GRAPHEMES), min_size=1, max_size=10).map("".join)
PLATFORMS = st.sampled_from(["x", "bluesky", "mastodon", "threads", "linkedin"])
tag_words = st.lists(st.sampled_from(list("abcxyz") + ["한", "é"]), min_size=1, max_size=8).map("".join)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=0, max_size=40), st.lists(tag_words, max_size=4), PLATFORMS, st.integers(20, 400))
def test_fit_property(summary_words: list[str], tags: list[str], name: str, limit: int) -> None:
    summary = " ".join(summary_words)
    measure = measure_for(name, limit=limit)
    try:
        result = fit(render, summary=summary, hashtags=tags, measure=measure)
    except FitError:
        assert not measure.fits(render("", []))
        return
    assert measure.fits(result.text) and result.length == measure.length(result.text) <= limit
    assert URL in result.text
    if name == "x":
        assert (result.text.index(URL), result.text.index(URL) + len(URL)) in find_urls(result.text)
    kept = result.summary.removesuffix("…").split() if result.shortened else result.summary.split()
    assert kept == summary.split()[: len(kept)]  # whole words, from the start, in order
    assert result.hashtags + result.dropped_hashtags == tags


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(words, st.just(URL), st.just("\n\n"), st.just("end.")), min_size=1, max_size=80),
    PLATFORMS,
    st.data(),
)
def test_split_thread_property(tokens: list[str], name: str, data: st.DataObject) -> None:
    text = " ".join(tokens)
    assume(text.strip())
    longest = max(measure_for(name, limit=10**6).length(w) for w in text.split())
    limit = data.draw(st.integers(longest + len(" 99/99"), longest + 300))
    measure = measure_for(name, limit=limit)
    parts = split_thread(text, measure)
    assert all(measure.fits(p) for p in parts)
    if len(parts) > 1:
        parts = [p.removesuffix(f" {i}/{len(parts)}") for i, p in enumerate(parts, 1)]
    assert " ".join(parts).split() == text.split()


@pytest.mark.parametrize(
    "text",
    [
        "a." * 10000,
        "a-" * 10000 + ".com",
        "a_" * 10000 + ".",
        "日" * 20000 + ".",
        ("日" * 50 + ".") * 400,
        "http://a.com/" + "." * 20000,
        "http://a.com/" + "(a" * 5000,
        "http://" + "a" * 12000 + ".com/" + "b" * 5000,
    ],
)
def test_link_search_stays_linear_on_pathological_text(text: str) -> None:
    import time

    started = time.perf_counter()
    x_weighted_length(text)
    mastodon_length(text)
    assert time.perf_counter() - started < 3
