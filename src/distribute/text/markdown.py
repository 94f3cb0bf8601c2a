"""Release bodies: Markdown to safe HTML and to clean plain text.

Raw HTML in a release is not passed through (it shows as text): a release is data, and
an HTML body must be safe to put into a newsletter, a feed and a wire document.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("strikethrough")


@lru_cache(maxsize=1)
def _html_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Tables (GFM pipe tables) become HTML tables; the plain-text side reads them as the text they are.
    return MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["strikethrough", "table"])


def to_html(markdown: str) -> str:
    """Safe HTML for a Markdown body (no raw HTML, no javascript: links); pipe tables become tables."""
    return _html_parser().render(markdown)


@dataclass(frozen=True)
class Block:
    """One block of plain text: a paragraph, heading, list item or quote line group."""

    kind: str  # "paragraph", "heading", "item", "quote", "code", "rule"
    text: str
    first_prefix: str = ""
    rest_prefix: str = ""


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
    for tok in tokens:
        t = tok.type
        if t in ("bullet_list_open", "ordered_list_open"):
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
            rendered = block.text
        elif width:
            rendered = "\n".join(
                textwrap.fill(
                    part,
                    width=width,
                    initial_indent=block.first_prefix,
                    subsequent_indent=block.rest_prefix,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                for part in block.text.split("\n")
            )
        else:
            rendered = block.first_prefix + block.text.replace("\n", "\n" + block.rest_prefix)
        tight = block.kind == "item" and previous_kind == "item"
        if out and not tight:
            out.append("")
        out.append(rendered)
        previous_kind = block.kind
    return "\n".join(out) + ("\n" if out else "")
