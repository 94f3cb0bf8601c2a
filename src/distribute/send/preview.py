"""Readable renditions of a release on every channel: for the terminal and as one HTML page."""

from __future__ import annotations

import dataclasses
import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ..adapters.base import PreviewBlock
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
    warnings: list[str] = dataclasses.field(default_factory=list)  # `path:line: ...` of rows skipped, first ones
    skipped: int = 0  # how many rows were skipped in all (more than `warnings` on a long list)

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
    workspace: Workspace, release: Release, names: Sequence[str] = (), full: bool = False, sample: int = SAMPLE
) -> list[ChannelPreview]:
    """Render each channel in full; preview (and check) the first `sample` deliveries, all with `full`."""
    out = []
    for p in plan(workspace, release, names):
        deliveries = p.deliveries()
        shown = list(deliveries) if full else list(itertools.islice(deliveries, sample))
        total = len(shown) + sum(1 for _ in deliveries)
        blocks = p.adapter.preview(shown, p.channel) if shown else []
        cp = ChannelPreview(p, blocks, total, p.adapter.missing(p.channel))
        # The email adapter's render reads its recipient list: rows it skipped are warnings, by line.
        listed = getattr(p.adapter, "reports", {}).get(p.channel.name)
        if listed is not None and listed.bad:
            cp.warnings, cp.skipped = list(listed.problems), listed.bad
        out.append(cp)
    return out


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
header{padding:16px 24px;background:#18181b;color:#fafafa}
header h1{margin:0;font-size:18px} header p{margin:4px 0 0;color:#a1a1aa}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px;padding:16px}
section{background:#fff;border:1px solid #e4e4e7;border-radius:8px;overflow:hidden;display:flex;flex-direction:column}
section h2{margin:0;padding:10px 14px;font-size:15px;background:#fafafa;border-bottom:1px solid #e4e4e7}
section h2 small{font-weight:normal;color:#71717a}
.block{padding:10px 14px;border-bottom:1px solid #f4f4f5}
.block h3{margin:0 0 6px;font-size:13px;color:#3f3f46}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:12px/1.4 ui-monospace,monospace;max-height:480px;overflow:auto}
iframe{width:100%;height:480px;border:1px solid #e4e4e7;background:#fff}
.checks{margin:6px 0 0;padding:0;list-style:none;font-size:12px}
.ok{color:#15803d}.bad{color:#b91c1c;font-weight:bold}.miss{color:#a16207;padding:6px 14px;font-size:12px}
"""


def html_page(release: Release, previews: list[ChannelPreview], tz_note: str) -> str:
    """One self-contained page with every channel side by side (no external resources)."""
    e = html.escape
    sections = []
    for cp in previews:
        ch = cp.plan.channel
        parts = [
            f"<h2>{e(ch.name)} <small>{e(ch.adapter)} · {cp.total} deliver{'y' if cp.total == 1 else 'ies'} · due {e(tz_note_for(cp))}</small></h2>"
        ]
        if cp.missing:
            parts.append(f'<div class="miss">missing to send: {e(", ".join(cp.missing))}</div>')
        for b in cp.blocks:
            checks = "".join(
                f'<li class="{"ok" if c.ok else "bad"}">{e(c.label)}: {e(str(c.value))}'
                + (f" / {e(str(c.limit))}" if c.limit is not None else "")
                + (f" — {e(c.note)}" if c.note else "")
                + "</li>"
                for c in b.checks
            )
            body = (
                f'<iframe sandbox="" srcdoc="{e(b.html, quote=True)}"></iframe>'
                if b.html
                else f"<pre>{e(b.text)}</pre>"
            )
            more = f" (×{b.count})" if b.count > 1 else ""
            parts.append(f'<div class="block"><h3>{e(b.title)}{more}</h3>{body}<ul class="checks">{checks}</ul></div>')
        sections.append("<section>" + "".join(parts) + "</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Preview: {e(release.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{e(release.title)}</h1><p>{e(release.id)} · {e(tz_note)}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def tz_note_for(cp: ChannelPreview) -> str:
    from ..times import show

    return show(cp.plan.due, cp.plan.adapter.workspace.tz)
