"""Readable renditions of a release on every channel: for the terminal and as one HTML page."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..adapters.base import Delivery, PreviewBlock, render_in
from ..plan import ChannelPlan, plan
from ..release import Release
from ..workspace.config import Workspace

# Enough to show what a long recipient list looks like without rendering all of it.
SAMPLE = 3


@dataclass
class ChannelPreview:
    """One channel's preview: its plan, sample blocks, and how many deliveries it has."""

    plan: ChannelPlan
    blocks: list[PreviewBlock]
    total: int
    missing: list[str]
    # The sampled deliveries themselves (the blocks' source), for the preview page's renditions.
    sample: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # `path:line: ...` of rows skipped, first ones
    skipped: int = 0  # how many rows were skipped in all (more than `warnings` on a long list)
    # The language of each block (a release in several languages is sampled per language, so each
    # shows beside the others); empty for a block that stands for none (nothing in this language).
    block_languages: list[str] = field(default_factory=list)

    def by_language(self) -> dict[str, list[int]]:
        """The blocks' indexes per language, in the order the channel sends them."""
        out: dict[str, list[int]] = {}
        for n in range(len(self.blocks)):
            lang = self.block_languages[n] if n < len(self.block_languages) else ""
            out.setdefault(lang, []).append(n)
        return out

    @property
    def problems(self) -> list[str]:
        return [
            f"{b.title}: {c.label} {c.value}"
            + (f"/{c.limit}" if c.limit is not None else "")
            + (f" ({c.note})" if c.note else "")
            for b in self.blocks
            for c in b.checks
            if not c.ok
        ]


def preview_release(
    workspace: Workspace,
    release: Release,
    names: Sequence[str] = (),
    full: bool = False,
    sample: int = SAMPLE,
    counted: bool = False,
) -> list[ChannelPreview]:
    """Render each channel in full; preview (and check) the first `sample` deliveries, all with `full`.

    With `counted` (what `preview` shows), only the sample is rendered and the rest is counted by the
    adapter (`Adapter.count`): a newsletter of 100,000 is not rendered to show three messages.
    A channel that sends several languages is sampled per language (the first `sample` of each), so
    the Korean readers of a mixed list show beside the English ones.
    """
    out = []
    for p in plan(workspace, release, names):
        context = p.context()
        shown: list[Delivery] = []
        blocks: list[PreviewBlock] = []
        languages: list[str] = []
        total = 0
        for variant in p.variants:
            rendering = render_in(p.adapter, variant, p.channel, context)
            rendered = (dataclasses.replace(d, due=p.due) for d in rendering)
            mine = list(rendered) if full else list(itertools.islice(rendered, sample))
            if counted and not full and len(mine) == sample:
                close = getattr(rendering, "close", None)
                if close is not None:
                    close()  # the rest is counted, not rendered
                total += p.adapter.count(variant, p.channel, context=context)
            else:
                total += len(mine) + sum(1 for _ in rendered)
            if mine:
                theirs = p.adapter.preview(mine, p.channel)
                shown += mine
                blocks += theirs
                languages += [variant.language] * len(theirs)
        cp = ChannelPreview(p, blocks, total, p.adapter.missing(p.channel), shown, block_languages=languages)
        # The email adapter's render reads its recipient list: rows it skipped are warnings, by line.
        listed = getattr(p.adapter, "reports", {}).get(p.channel.name)
        if listed is not None and listed.bad:
            cp.warnings, cp.skipped = list(listed.problems), listed.bad
        if p.untranslated:
            # Said where the channel's rendition would be, and among validate's warnings.
            cp.warnings = [p.untranslated_line(), *cp.warnings]
            if not blocks:
                cp.blocks = [PreviewBlock(title="nothing in this language", text=p.untranslated_line())]
        out.append(cp)
    return out


def html_page(release: Release, previews: list[ChannelPreview], tz_note: str) -> str:
    """One self-contained page with every channel side by side, as its readers see it (send/preview_page.py)."""
    from .preview_page import page

    return page(release, previews, tz_note)


def tz_note_for(cp: ChannelPreview) -> str:
    from ..times import show

    return show(cp.plan.due, cp.plan.adapter.workspace.tz)
