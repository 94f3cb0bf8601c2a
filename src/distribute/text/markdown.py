"""Release bodies: Markdown to safe HTML and to clean plain text.

Raw HTML in a release is not passed through (it shows as text): a release is data, and
an HTML body must be safe to put into a newsletter, a feed and a wire document.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .tables import code_text, table_text
from .wrap import fill

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # GFM tables: releases carry figures in them; HTML gets a <table>, plain text aligned columns (text/tables).
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["strikethrough", "table"])
    return cjk_friendly(md)


def cjk_friendly(md: MarkdownIt) -> MarkdownIt:
    """Emphasis and strikethrough next to CJK text: `**「중요」**을` is bold, not literal asterisks.

    The flanking rules of the CommonMark CJK-friendly amendments (tats-u/markdown-cjk-friendly,
    specification.md; what GitLab, markdig and markdown-it-cjk-friendly implement). Done here rather
    than with mdit-py-cjk-friendly, the one Python port, which requires markdown-it-py < 4, patches
    StateInline for every parser in the process and leaves Hangul out (`**이 용어(term)**를` stays
    literal). Only this parser's emphasis and strikethrough rules see the amended scan.
    """
    from functools import partial

    from markdown_it.rules_inline import emphasis, strikethrough

    def amended(rule: Any) -> Any:
        def tokenize(state: Any, silent: bool) -> bool:
            state.scanDelims = partial(_scan_delims, state)
            return bool(rule(state, silent))

        return tokenize

    md.inline.ruler.at("emphasis", amended(emphasis.tokenize))
    md.inline.ruler.at("strikethrough", amended(strikethrough.tokenize))
    return md


def _is_cjk(c: str) -> bool:
    """A CJK character of the amendments: East Asian Width W, F or H and no emoji presentation, or Hangul."""
    import unicodedata

    import regex

    if regex.match(r"\p{Script=Hangul}", c):
        return True
    return unicodedata.east_asian_width(c) in ("W", "F", "H") and not regex.match(r"\p{Emoji_Presentation}", c)


def _scan_delims(state: Any, start: int, can_split_word: bool) -> Any:
    """StateInline.scanDelims with the CJK-friendly left- and right-flanking definitions."""
    from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
    from markdown_it.rules_inline.state_inline import Scanned

    src, maximum = state.src, state.posMax
    marker, pos = src[start], start
    while pos < maximum and src[pos] == marker:
        pos += 1
    before = src[start - 1] if start > 0 else " "  # the line's start and end count as whitespace
    after = src[pos] if pos < maximum else " "
    # A non-emoji variation selector (U+FE00-FE0E) belongs to the character before it.
    base = src[start - 2] if 0xFE00 <= ord(before) <= 0xFE0E and start > 1 else before

    def punct(c: str) -> bool:
        return isMdAsciiPunct(ord(c)) or isPunctChar(c)

    before_space, after_space = isWhiteSpace(ord(before)), isWhiteSpace(ord(after))
    before_cjk, after_cjk = _is_cjk(base), _is_cjk(after)
    before_other_punct = punct(base) and not before_cjk
    after_other_punct = punct(after) and not after_cjk
    ivs = 0xE0100 <= ord(before) <= 0xE01EF
    left = not after_space and (not after_other_punct or before_space or before_other_punct or before_cjk or ivs)
    right = not before_space and (not before_other_punct or after_space or after_other_punct or after_cjk)
    if can_split_word:
        return Scanned(left, right, pos - start)
    return Scanned(left and (not right or punct(base)), right and (not left or punct(after)), pos - start)


def to_html(markdown: str) -> str:
    """Safe HTML for a Markdown body (no raw HTML, no javascript: links); pipe tables become tables."""
    html: str = _parser().render(markdown)
    return html


@dataclass(frozen=True)
class Block:
    """One block of plain text: a paragraph, heading, list item or quote line group."""

    kind: str  # "paragraph", "heading", "item", "quote", "code", "rule", "table"
    text: str
    first_prefix: str = ""
    rest_prefix: str = ""
    rows: tuple[tuple[str, ...], ...] = ()  # a table's cells, the header row first
    aligns: tuple[str, ...] = ()  # a table's column alignment: "left", "right" or "center"


def _inline_text(token: Token, links: bool = True) -> str:
    out: list[str] = []
    href_stack: list[tuple[str, int]] = []
    for child in token.children or []:
        t = child.type
        if t in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif t in ("softbreak",):
            out.append(" ")
        elif t == "hardbreak":
            out.append("\n")
        elif t == "link_open":
            href_stack.append((str(child.attrs.get("href", "")), len(out)))
        elif t == "link_close" and href_stack:
            href, start = href_stack.pop()
            label = "".join(out[start:])
            if links and href and href not in (label, f"mailto:{label}"):
                out.append(f" ({href})")
        elif t == "image":
            alt = child.content or str(child.attrs.get("alt", ""))
            out.append(f"[image: {alt}]" if alt else "[image]")
    return "".join(out)


def text_blocks(markdown: str) -> list[Block]:
    """The body as plain-text blocks, with list markers and quote marks as prefixes."""
    tokens = _parser().parse(markdown)
    blocks: list[Block] = []
    lists: list[dict[str, Any]] = []  # stack of {"ordered": bool, "n": int}
    quote_depth = 0
    pending_item_prefix: str | None = None
    in_heading = False
    table: list[list[str]] | None = None
    aligns: list[str] = []
    for tok in tokens:
        t = tok.type
        if t == "table_open":
            table, aligns = [], []
        elif t == "tr_open" and table is not None:
            table.append([])
        elif t in ("th_open", "td_open") and table is not None and len(table) == 1:
            style = str(tok.attrs.get("style", ""))
            aligns.append(style.partition("text-align:")[2].strip() or "left")
        elif t == "inline" and table is not None:
            table[-1].append(_inline_text(tok))
        elif t == "table_close" and table is not None:
            quote = "> " * quote_depth
            rows = tuple(tuple(r) for r in table)
            text = "\n".join(" | ".join(r) for r in rows)
            blocks.append(Block("table", text, quote, quote, rows=rows, aligns=tuple(aligns)))
            table = None
        elif t in ("bullet_list_open", "ordered_list_open"):
            lists.append({"ordered": t == "ordered_list_open", "n": int(tok.attrs.get("start", 1) or 1)})
        elif t in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t == "list_item_open":
            state = lists[-1]
            marker = f"{state['n']}." if state["ordered"] else "-"
            state["n"] += 1
            pending_item_prefix = "  " * (len(lists) - 1) + marker + " "
        elif t == "blockquote_open":
            quote_depth += 1
        elif t == "blockquote_close":
            quote_depth -= 1
        elif t == "hr":
            blocks.append(Block("rule", "* * *"))
        elif t in ("fence", "code_block"):
            blocks.append(Block("code", tok.content.rstrip("\n")))
        elif t == "inline":
            text = _inline_text(tok)
            quote = "> " * quote_depth
            if pending_item_prefix is not None:
                indent = " " * len(pending_item_prefix)
                blocks.append(Block("item", text, quote + pending_item_prefix, quote + indent))
                pending_item_prefix = None
            elif lists:
                indent = "  " * len(lists) + "  "
                blocks.append(Block("item", text, quote + indent, quote + indent))
            else:
                kind = "heading" if in_heading else "quote" if quote_depth else "paragraph"
                blocks.append(Block(kind, text, quote, quote))
            in_heading = False
        elif t == "heading_open":
            in_heading = True
    return blocks


def to_text(markdown: str, width: int = 0) -> str:
    """Plain text: paragraphs separated by blank lines, wrapped at `width` (0 = no wrapping).

    URLs are never broken across lines; list items keep their markers.
    """
    out: list[str] = []
    previous_kind = ""
    for block in text_blocks(markdown):
        if block.kind == "code":
            rendered = code_text(block.text, width, "") if width else block.text
        elif block.kind == "table":
            rendered = table_text(block.rows, block.aligns, width, block.first_prefix)
        elif width:
            rendered = "\n".join(
                fill(part, width, block.first_prefix, block.rest_prefix) for part in block.text.split("\n")
            )
        else:
            rendered = block.first_prefix + block.text.replace("\n", "\n" + block.rest_prefix)
        tight = block.kind == "item" and previous_kind == "item"
        if out and not tight:
            out.append("")
        out.append(rendered)
        previous_kind = block.kind
    return "\n".join(out) + ("\n" if out else "")
