"""Release bodies: Markdown to safe HTML and to clean plain text.

Raw HTML in a release is not passed through (it shows as text): a release is data, and
an HTML body must be safe to put into a newsletter, a feed and a wire document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

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
    # Certain answers first, without the regex module (its import is ~3% of a cold validate): Latin-1
    # has neither width nor Hangul, and every Hangul syllable is Hangul.
    if c < "\u0100":
        return False
    if "\uac00" <= c <= "\ud7a3":
        return True
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
    return list(_text_blocks(markdown))


@lru_cache(maxsize=32)
def _text_blocks(markdown: str) -> tuple[Block, ...]:
    # Parsed once per body (the blocks are frozen): the text email, the feed, the wire copy and
    # validate's comparison of translations each walk the same one.
    walk = _TextWalk()
    for tok in _parser().parse(markdown):
        step = _TextWalk.STEPS.get(tok.type)
        if step is not None:
            step(walk, tok)
    return tuple(walk.blocks)


class _TextWalk:
    """text_blocks' walk over the tokens: where it is (lists, quotes, a table), and one step per token type."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.lists: list[dict[str, Any]] = []  # stack of {"ordered": bool, "n": int}
        self.quote_depth = 0
        self.pending_item_prefix: str | None = None
        self.in_heading = False
        self.table: list[list[str]] | None = None
        self.aligns: list[str] = []

    @property
    def quote(self) -> str:
        return "> " * self.quote_depth

    def table_open(self, tok: Token) -> None:
        self.table, self.aligns = [], []

    def row_open(self, tok: Token) -> None:
        if self.table is not None:
            self.table.append([])

    def cell_open(self, tok: Token) -> None:
        if self.table is not None and len(self.table) == 1:
            style = str(tok.attrs.get("style", ""))
            self.aligns.append(style.partition("text-align:")[2].strip() or "left")

    def table_close(self, tok: Token) -> None:
        if self.table is not None:
            rows = tuple(tuple(r) for r in self.table)
            text = "\n".join(" | ".join(r) for r in rows)
            self.blocks.append(Block("table", text, self.quote, self.quote, rows=rows, aligns=tuple(self.aligns)))
            self.table = None

    def list_open(self, tok: Token) -> None:
        self.lists.append({"ordered": tok.type == "ordered_list_open", "n": int(tok.attrs.get("start", 1) or 1)})

    def list_close(self, tok: Token) -> None:
        self.lists.pop()

    def item_open(self, tok: Token) -> None:
        state = self.lists[-1]
        marker = f"{state['n']}." if state["ordered"] else "-"
        state["n"] += 1
        self.pending_item_prefix = "  " * (len(self.lists) - 1) + marker + " "

    def quote_open(self, tok: Token) -> None:
        self.quote_depth += 1

    def quote_close(self, tok: Token) -> None:
        self.quote_depth -= 1

    def rule(self, tok: Token) -> None:
        self.blocks.append(Block("rule", "* * *"))

    def code(self, tok: Token) -> None:
        self.blocks.append(Block("code", tok.content.rstrip("\n")))

    def heading_open(self, tok: Token) -> None:
        self.in_heading = True

    def inline(self, tok: Token) -> None:
        text = _inline_text(tok)
        if self.table is not None:
            self.table[-1].append(text)
            return
        quote = self.quote
        if self.pending_item_prefix is not None:
            indent = " " * len(self.pending_item_prefix)
            self.blocks.append(Block("item", text, quote + self.pending_item_prefix, quote + indent))
            self.pending_item_prefix = None
        elif self.lists:
            indent = "  " * len(self.lists) + "  "
            self.blocks.append(Block("item", text, quote + indent, quote + indent))
        else:
            kind = "heading" if self.in_heading else "quote" if self.quote_depth else "paragraph"
            self.blocks.append(Block(kind, text, quote, quote))
        self.in_heading = False

    STEPS: ClassVar[dict[str, Callable[[_TextWalk, Token], None]]] = {
        "table_open": table_open,
        "tr_open": row_open,
        "th_open": cell_open,
        "td_open": cell_open,
        "table_close": table_close,
        "bullet_list_open": list_open,
        "ordered_list_open": list_open,
        "bullet_list_close": list_close,
        "ordered_list_close": list_close,
        "list_item_open": item_open,
        "blockquote_open": quote_open,
        "blockquote_close": quote_close,
        "hr": rule,
        "fence": code,
        "code_block": code,
        "heading_open": heading_open,
        "inline": inline,
    }


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


# The attributes of HTML that hold a URL a reader follows or loads.
_URL_ATTR = re.compile(r"""(\s(?:href|src|cite|poster)=)"([^"]*)\"""")


def absolutize(markup: str, base: str) -> str:
    """Every href/src/cite/poster in HTML resolved against `base` (a mail client or feed reader has no base URL)."""
    import html
    from urllib.parse import urljoin

    if not base:
        return markup

    def fix(match: re.Match[str]) -> str:
        value = html.unescape(match.group(2))
        return f'{match.group(1)}"{html.escape(urljoin(base, value), quote=True)}"'

    return _URL_ATTR.sub(fix, markup)
