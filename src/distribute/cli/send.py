"""distribute send: deliver a release now (or, with --dry-run, write exactly what would leave)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import State, exit_with, note, pass_state
from .common import channel_option, is_terminal, load_release

if TYPE_CHECKING:
    from ..adapters.base import Delivery


@click.command()
@click.argument("release", required=False, type=click.Path(dir_okay=False))
@channel_option
@click.option("--dry-run", is_flag=True, help="send nothing; write the exact payloads to the outbox")
@click.option("--outbox", type=click.Path(file_okay=False), help="outbox folder for --dry-run (default: config outbox)")
@click.option("--due", is_flag=True, help="cron mode: deliver everything due in the ledger, then exit")
@click.option(
    "--resend-in-doubt",
    is_flag=True,
    help="also send again deliveries whose outcome is unknown after a crash (may duplicate them)",
)
@click.option("--at", "when", metavar="now", help='"now": publish RELEASE dated now instead of its publish_at')
@click.option(
    "--late",
    is_flag=True,
    help="confirm sending RELEASE although its publish_at is more than [delivery] past_limit in the past",
)
@pass_state
def send(
    state: State,
    release: str | None,
    channels: tuple[str, ...],
    dry_run: bool,
    outbox: str | None,
    due: bool,
    resend_in_doubt: bool,
    when: str | None,
    late: bool,
) -> None:
    """Send RELEASE now, or everything due with --due. --dry-run sends nothing."""
    from ..errors import ExitCode, UsageError

    if due and release:
        raise UsageError("give either RELEASE or --due, not both")
    if not due and not release:
        raise UsageError("name a RELEASE file, or use --due (cron mode)")
    if outbox and not dry_run:
        raise UsageError("--outbox goes with --dry-run")
    if when is not None and when.strip().lower() != "now":
        raise UsageError(
            f'send --at takes only "now" (send delivers at once); to publish at {when}, '
            "use `distribute schedule RELEASE --at WHEN`"
        )
    if when and (due or dry_run):
        raise UsageError("--at goes with sending a RELEASE, not with --due or --dry-run")
    if late and due:
        raise UsageError("--late goes with RELEASE: `send --due` delivers what was scheduled, however late")
    if dry_run and release:  # the built-in defaults serve a dry-run of one file; nothing else runs on them
        ws = state.workspace
        count = dry_run_release(state, release, channels, Path(outbox) if outbox else ws.config.outbox)
        if count == 0:
            exit_with(ExitCode.NOTHING)
        return
    from .sending import send_due, send_due_dry_run, send_release

    if resend_in_doubt and dry_run:
        raise UsageError("--resend-in-doubt sends; it does not go with --dry-run")
    if due and channels:
        raise UsageError("-c goes with RELEASE, not with --due")
    state.require_config()  # refuse before the ledger is opened (and so created)
    if due and dry_run:
        exit_with(send_due_dry_run(state))
    elif due:
        exit_with(send_due(state, resend_in_doubt))
    else:
        assert release is not None
        exit_with(send_release(state, release, channels, resend_in_doubt, at_now=when is not None, late=late))


def dry_run_release(state: State, path: str, channels: tuple[str, ...], outbox: Path) -> int:
    """Render every selected channel into the outbox; print where it went."""
    from ..plan import plan
    from ..send.outbox import write_outbox

    ws = state.workspace
    rel = load_release(ws, path)
    plans = plan(ws, rel, channels)
    for p in plans:
        missing = p.adapter.missing(p.channel)
        if missing:
            note(f"note: channel {p.channel.name} would need {', '.join(missing)} to send for real")

    def everything() -> Iterator[Delivery]:
        for p in plans:
            # As sent: a DKIM-signed message carries the signature a real send would add.
            yield from (p.adapter.as_sent(d, p.channel) for d in p.deliveries())

    if is_terminal():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} deliveries"), transient=True
        ) as bar:
            task = bar.add_task("rendering")
            count = write_outbox(
                outbox, rel.id, everything(), progress=lambda d: bar.update(task, advance=1, description=d.channel)
            )
    else:
        count = write_outbox(outbox, rel.id, everything())
    click.echo(f"dry run: {count} deliveries for {len(plans)} channels written to {outbox} (nothing sent)")
    return count
