"""distribute preview RELEASE: every channel's rendition, readably, in a terminal or one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import State, pass_state
from .common import channel_option, epilog, few_collections, load_release

if TYPE_CHECKING:
    from ..adapters.base import PreviewBlock
    from ..release import Release
    from ..send.preview import ChannelPreview
    from ..workspace.config import Workspace


@click.command(
    epilog=epilog(
        "distribute preview releases/launch.md",
        "distribute preview releases/launch.md -c newsletter --html preview.html",
        codes=(0, 1, 2),
    )
)
@click.argument("release", type=click.Path(dir_okay=False))
@channel_option
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False, writable=True), help="write one self-contained HTML page"
)
@click.option("--open", "open_browser", is_flag=True, help="open the page in the browser (with --serve: the live page)")
@click.option("--serve", is_flag=True, help="serve a live page on 127.0.0.1 that follows every saved edit")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="a free port", help="port for --serve")
@pass_state
def preview(
    state: State,
    release: str,
    channels: tuple[str, ...],
    html_file: str | None,
    open_browser: bool,
    serve: bool,
    port: int,
) -> None:
    """Show what every channel would send. Sends nothing and needs no secrets."""
    from ..send.preview import html_page, preview_release
    from ..times import show

    if serve:
        if html_file:
            raise click.UsageError("--serve shows the live page; write a static copy with --html in another run")
        _serve(state, release, channels, port, open_browser)
        return
    if port:
        raise click.UsageError("--port goes with --serve")
    few_collections()
    ws = state.workspace
    rel = load_release(ws, release)
    previews = preview_release(ws, rel, channels, counted=True)
    when = f"publish {show(rel.publish_at, ws.tz)}" + (f", embargo {show(rel.embargo, ws.tz)}" if rel.embargo else "")
    if html_file or open_browser:
        page = html_page(rel, previews, when)
        if open_browser and not html_file:
            import tempfile

            html_file = tempfile.mkstemp(prefix=f"distribute-{rel.id}-", suffix=".html")[1]
        assert html_file is not None
        Path(html_file).write_text(page, encoding="utf-8")
        click.echo(f"wrote {html_file}")
        if open_browser:
            import webbrowser

            webbrowser.open(Path(html_file).resolve().as_uri())
        return
    _print_terminal(rel, previews, when, ws)


def _print_terminal(rel: Release, previews: list[ChannelPreview], when: str, ws: Workspace) -> None:
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from ..text.i18n import language_name, number  # not from preview_page: the page builder is --html's
    from ..times import show

    console = Console(highlight=False, soft_wrap=False)
    console.print(Text(rel.title, style="bold"))
    console.print(Text(f"{rel.id} · {when}", style="dim"))
    for cp in previews:
        ch = cp.plan.channel
        items: list[Any] = []
        if cp.missing:
            items.append(Text(f"missing to send: {', '.join(cp.missing)}", style="yellow"))
        groups = cp.by_language()
        columns = []
        for lang, indexes in groups.items():
            column: list[Any] = []
            if rel.translations and lang:
                column.append(Text(language_name(lang), style="bold magenta"))
            for n in indexes:
                column += _block_lines(cp.blocks[n], rel.language)
            columns.append(Group(*column))
        if len(columns) > 1:
            # Each language the channel sends, side by side.
            grid = Table.grid(expand=True, padding=(0, 2))
            for _ in columns:
                grid.add_column(ratio=1)
            grid.add_row(*columns)
            items.append(grid)
        else:
            items += columns
        shown = sum(b.count for b in cp.blocks)
        if cp.total > shown:
            more = number(cp.total - shown, rel.language)  # counts as the release's language writes them
            items.append(Text(f"… and {more} more deliveries like these", style="dim"))
        total = f"{number(cp.total, rel.language)} deliver{'y' if cp.total == 1 else 'ies'}"
        title = f"{ch.name} — {ch.adapter} — {total} — due {show(cp.plan.due, ws.tz)}"
        # The title as Text, not markup (a "[" in a channel name stays as written), and no line is
        # wider than the console: nothing to crop, so the print makes no extra pass to crop it.
        console.print(Panel(Group(*items), title=Text(title), title_align="left"), crop=False)


def _block_lines(block: PreviewBlock, language: str) -> list[Any]:
    from rich.text import Text

    from ..text.i18n import number

    many = f"  (×{number(block.count, language)})" if block.count > 1 else ""
    lines: list[Any] = [Text(block.title + many, style="bold cyan")]
    for check in block.checks:
        limit = f" / {number(check.limit, language)}" if check.limit is not None else ""
        style = "green" if check.ok else "bold red"
        value = number(check.value, language)
        lines.append(Text(f"  {check.label}: {value}{limit}" + (f" — {check.note}" if check.note else ""), style=style))
    lines.append(Text(block.text.rstrip("\n")))
    return lines


def _serve(state: State, release: str, channels: tuple[str, ...], port: int, open_browser: bool) -> None:
    import errno

    from ..errors import UsageError
    from ..send.preview_server import Preview, serve

    preview = Preview(state.config, release, channels)

    def ready(url: str) -> None:
        click.echo(f"Preview of {release} at {url} (only this computer can open it; Ctrl-C stops it)")
        if preview.state.error:
            click.echo(f"error: {preview.state.error} (the page shows it; fix and save, it updates)", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(preview, port, ready)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} is in use on 127.0.0.1: choose another with --port, or leave it out"
            ) from None
        raise
    except KeyboardInterrupt:
        click.echo("preview stopped")
