"""distribute validate RELEASE...: parse, render every channel, run the platform checks."""

from __future__ import annotations

import click

from . import State, exit_with, pass_state
from .common import load_release


@click.command()
@click.argument("releases", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_state
def validate(state: State, releases: tuple[str, ...]) -> None:
    """Check releases: parse, render every channel and run each platform's checks. Sends nothing."""
    from .. import clock
    from ..errors import ExitCode
    from ..send.lateness import warning as late_warning
    from ..send.preview import preview_release
    from ..text.i18n import language_warning
    from ..times import show
    from ..workspace.identity import channel_placeholders, config_placeholders, sender_domain_warning

    ws = state.workspace
    failed = False
    for line in config_placeholders(ws):
        click.echo(f"error: {line}", err=True)
        failed = True
    for path in releases:
        release = load_release(ws, path)
        click.echo(f"{path}: {release.id} — {release.title}")
        late = late_warning(ws, release, clock.now())
        if late:
            click.echo(late, err=True)
        unspoken = language_warning(ws, release)
        if unspoken:
            click.echo(unspoken, err=True)
        for cp in preview_release(ws, release, full=True):
            ch = cp.plan.channel
            for line in channel_placeholders(ch):
                click.echo(f"error: {line}", err=True)
                failed = True
            warning = sender_domain_warning(ws, ch)
            if warning:
                click.echo(f"warning: {warning}", err=True)
            status = "ok" if not cp.problems else "FAILED"
            click.echo(
                f"  {ch.name} ({ch.adapter}): {status}, {cp.total} deliver{'y' if cp.total == 1 else 'ies'}, due {show(cp.plan.due, ws.tz)}"
            )
            for block in cp.blocks:
                for check in block.checks:
                    limit = f"/{check.limit}" if check.limit is not None else ""
                    mark = "ok" if check.ok else "TOO LONG" if check.limit is not None else "FAILED"
                    click.echo(
                        f"    {block.title}: {check.label} {check.value}{limit} {mark}"
                        + (f" — {check.note}" if check.note else "")
                    )
            for line in cp.plan.adapter.warnings(release, ch):
                click.echo(f"warning: {path}: channel {ch.name}: {line}", err=True)
            for problem in cp.problems:
                click.echo(f"{path}: channel {ch.name}: {problem}", err=True)
            if cp.missing:
                click.echo(f"    note: to send, set {', '.join(cp.missing)}")
            failed = failed or bool(cp.problems)
    if failed:
        exit_with(ExitCode.ERROR)
