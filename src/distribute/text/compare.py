"""How much a translation says against its original: validate's warning for a likely forgotten paragraph.

Characters are no fair measure across scripts (the example's Korean body has 40% of the English
body's letters and says the same), so a translation is compared by its shape first: its
paragraphs, headings, list items, quotes, tables and code blocks. Fewer of them than the
original has is the forgotten paragraph. Where the shape matches, a length weighted by script
(a Hangul syllable or a Han or kana character stands for several Latin letters) catches a
paragraph cut short; the margin is wide, since languages differ in length too.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..release import Release

# The block kinds of text/markdown.text_blocks that carry text, in the order a message names them.
KINDS = (
    ("paragraph", "paragraph", "paragraphs"),
    ("heading", "heading", "headings"),
    ("item", "list item", "list items"),
    ("quote", "quote", "quotes"),
    ("table", "table", "tables"),
    ("code", "code block", "code blocks"),
)
# What one letter or digit of each script counts, in Latin letters of the same meaning (roughly:
# English to Korean runs about 2.5 : 1 in letters, to Chinese and Japanese about 3 : 1).
HANGUL, HAN_KANA = 2.5, 3.0
SHORTER = 0.6  # a translation under 60% of the original's weighted length is "much shorter"


def shape(body: str) -> Counter[str]:
    """The body's blocks by kind (paragraphs, list items, headings, ...), not counting rules."""
    from .markdown import text_blocks

    return Counter(b.kind for b in text_blocks(body) if b.kind != "rule" and b.text.strip())


def weighted_length(text: str) -> float:
    """Letters and digits, each counted by its script (Hangul 2.5, Han and kana 3, others 1)."""
    total = 0.0
    for char in text:
        if not char.isalnum():
            continue
        name = unicodedata.name(char, "")
        if name.startswith(("HANGUL",)):
            total += HANGUL
        elif name.startswith(("CJK", "HIRAGANA", "KATAKANA")):
            total += HAN_KANA
        else:
            total += 1
    return total


def describe(counts: Counter[str]) -> str:
    """ "6 paragraphs, 3 list items" """
    parts = [f"{counts[k]} {one if counts[k] == 1 else many}" for k, one, many in KINDS if counts[k]]
    return ", ".join(parts) or "no text"


def shorter_translations(release: Release) -> list[str]:
    """One warning per translation whose body is much shorter than the original's, naming both files."""
    warnings = []
    mine = shape(release.body)
    length = weighted_length(release.body)
    for translation in release.translations:
        theirs = shape(translation.body)
        head = f"{translation.path}: warning: the {translation.language} translation is shorter than {release.path}"
        if sum(theirs.values()) < sum(mine.values()):
            warnings.append(
                f"{head}: {describe(theirs)} against {describe(mine)}; a paragraph may be missing: "
                "compare the two files before sending"
            )
            continue
        other = weighted_length(translation.body)
        if length and other < SHORTER * length:
            warnings.append(
                f"{head}: its text is {other / length:.0%} as long (letters weighted by script: "
                f"{other:,.0f} against {length:,.0f}); part of a paragraph may be missing: compare the two files"
            )
    return warnings
