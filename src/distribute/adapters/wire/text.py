"""The plain-text wire copy: notice, headline, dateline-led body wrapped at a width, ###, About, contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...text.tables import code_text, table_text
from ...text.wrap import fill
from .ascii import clean, to_ascii
from .datelines import strip_own_dateline

if TYPE_CHECKING:
    from ...text.markdown import Block
    from ...workspace.config import Channel, Workspace
    from .story import Story

DEFAULT_TEMPLATE = "wire/copy.txt.j2"


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> str:
    if not width:
        return first + text
    # By display width (a Hangul or Han character takes two columns). URLs and e-mail addresses
    # are single words: never broken, even when longer than the width.
    return fill(text, width, first, rest)


def _block(block: Block, width: int) -> str:
    if block.kind == "code":
        return code_text(block.text, width)
    if block.kind == "table":
        return table_text(block.rows, block.aligns, width, block.first_prefix.replace("> ", "    "))
    # Quotes are indented on the wire: "> " markers mean nothing to a teleprinter reader.
    first = block.first_prefix.replace("> ", "    ")
    rest = block.rest_prefix.replace("> ", "    ")
    parts = block.text.split("\n")
    return "\n".join(_wrap(part, width, first if i == 0 else rest, rest) for i, part in enumerate(parts))


def body_text(story: Story, width: int) -> str:
    """The body, the dateline leading its first paragraph, wrapped at `width` (0: one line per paragraph)."""
    import dataclasses

    from ...text.markdown import Block, text_blocks

    blocks = text_blocks(story.release.body)
    for i, block in enumerate(blocks):
        if block.kind == "paragraph":
            # The wire's dateline replaces one the author already wrote: never two in a row.
            text = strip_own_dateline(block.text, story.located)
            blocks[i] = dataclasses.replace(block, text=story.lead + text)
            break
    else:
        blocks.insert(0, Block("paragraph", story.lead.strip()))
    out: list[str] = []
    previous = ""
    for block in blocks:
        if out and not (block.kind == "item" and previous == "item"):
            out.append("")
        out.append(_block(block, width))
        previous = block.kind
    return "\n".join(out)


def _contact_lines(contact: object) -> list[str]:
    fields = ("name", "title", "organization", "email", "phone")
    return [str(getattr(contact, f)) for f in fields if getattr(contact, f, "")]


def render_copy(story: Story, channel: Channel, workspace: Workspace) -> tuple[str, list[str]]:
    """The wire copy text and the characters lost to ASCII transliteration (when `ascii` is on)."""
    from ...text.i18n import language

    s, release, org = channel.settings, story.release, story.organization
    lang = story.lang or language(workspace, release.language)
    _ = lang.gettext
    width = s.width
    links = []
    if release.url:
        links.append(_("Online: %(url)s", url=release.url))
    for att in release.attachments:
        if att.url:
            links.append(_("%(title)s: %(url)s", title=att.title or _("Attachment"), url=att.url))
    for image in release.images:
        if image.url:
            links.append(_("Photo (%(alt)s): %(url)s", alt=image.alt, url=image.url))
    text = workspace.templates.render(
        channel.common.template or DEFAULT_TEMPLATE,
        lang=lang,
        story=story,
        release=release,
        notice=_wrap(story.notice, width),
        headline=_wrap(release.title, width),
        subhead=_wrap(release.subtitle, width) if release.subtitle else "",
        body=body_text(story, width),
        links=[_wrap(link, width, "", "  ") for link in links],
        end_mark=s.end_mark,
        about_heading=_wrap(_("About %(name)s", name=org.name), width),
        about=_wrap(" ".join(org.boilerplate.split()), width) if org.boilerplate.strip() else "",
        contacts=[[_wrap(line, width, "", "  ") for line in _contact_lines(c)] for c in release.contacts],
        organization=org,
    )
    text = clean(text).rstrip("\n") + "\n"
    if s.ascii:
        return to_ascii(text)
    return text, []
