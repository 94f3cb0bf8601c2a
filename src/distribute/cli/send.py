"""distribute send: deliver a release now (or, with --dry-run, write exactly what would leave)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from . import State, exit_with, note, pass_state
from .common import channel_option, epilog, is_terminal, json_option, load_release, print_json


@click.command(
    epilog=epilog(
        "distribute send releases/launch.md                       # now (public channels not before the embargo)",
        "distribute send releases/launch.md -c press-list --dry-run --outbox outbox   # write it, send nothing",
        "distribute send --due                                    # cron, every minute",
        "distribute send releases/launch.md --json | jq .channels",
        codes=(0, 1, 2, 3, 4, 130),
    )
)
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
@json_option
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
    as_json: bool,
) -> None:
    """Send RELEASE now, or everything due with --due. --dry-run sends nothing."""
    from ..errors import ExitCode, UsageError

    _check_options(release, dry_run, outbox, due, when, late)
    if dry_run and release:  # the built-in defaults serve a dry-run of one file; nothing else runs on them
        ws = state.workspace
        count = dry_run_release(state, release, channels, Path(outbox) if outbox else ws.config.outbox, as_json)
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
        exit_with(send_due_dry_run(state, as_json))
    elif due:
        exit_with(send_due(state, resend_in_doubt, as_json=as_json))
    else:
        assert release is not None
        exit_with(
            send_release(state, release, channels, resend_in_doubt, at_now=when is not None, late=late, as_json=as_json)
        )


def _check_options(
    release: str | None, dry_run: bool, outbox: str | None, due: bool, when: str | None, late: bool
) -> None:
    """Options that do not go together, refused before anything is read."""
    from ..errors import UsageError

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


def dry_run_release(state: State, path: str, channels: tuple[str, ...], outbox: Path, as_json: bool = False) -> int:
    """Render every selected channel into the outbox; print where it went."""
    from ..send.outbox import dry_run

    ws = state.workspace
    rel = load_release(ws, path)

    def needs(channel: str, missing: Sequence[str]) -> None:
        note(f"note: channel {channel} would need {', '.join(missing)} to send for real")

    if is_terminal():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} deliveries"), transient=True
        ) as bar:
            task = bar.add_task("rendering")
            done = dry_run(
                ws,
                rel,
                channels,
                outbox,
                progress=lambda d: bar.update(task, advance=1, description=d.channel),
                needs=needs,
            )
    else:
        done = dry_run(ws, rel, channels, outbox, needs=needs)
    for line in done.notes:
        note(f"note: {line}")
    if as_json:
        print_json(
            {
                "release": rel.id,
                "dry_run": True,
                "outbox": str(outbox),
                "deliveries": done.count,
                "channels": done.per_channel,
            }
        )
        return done.count
    click.echo(f"dry run: {done.count} deliveries for {done.channels} channels written to {outbox} (nothing sent)")
    return done.count
