"""distribute send: deliver a release now (or, with --dry-run, write exactly what would leave)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import State, exit_with, note, pass_state
from .common import channel_option, epilog, is_terminal, json_option, load_release, print_json

if TYPE_CHECKING:
    from ..adapters.base import Delivery


@click.command(
    epilog=epilog(
        "distribute send releases/launch.md                       # now (public channels not before the embargo)",
        "distribute send releases/launch.md -c press-list --dry-run --outbox outbox   # write it, send nothing",
        "distribute send --due                                    # cron, every minute",
        "distribute send releases/launch.md --json | jq .channels",
        codes=(0, 1, 2, 3, 4),
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


def dry_run_release(state: State, path: str, channels: tuple[str, ...], outbox: Path, as_json: bool = False) -> int:
    """Render every selected channel into the outbox; print where it went."""
    from ..plan import plan
    from ..send.outbox import write_outbox

    ws = state.workspace
    rel = load_release(ws, path)
    plans = plan(ws, rel, channels)
    missing: dict[str, list[str]] = {}
    for p in plans:
        missing[p.channel.name] = p.adapter.missing(p.channel)
        if missing[p.channel.name]:
            note(f"note: channel {p.channel.name} would need {', '.join(missing[p.channel.name])} to send for real")
    counts: dict[str, int] = {p.channel.name: 0 for p in plans}

    def counted(d: Delivery) -> None:
        counts[d.channel] = counts.get(d.channel, 0) + 1

    def everything() -> Iterator[Delivery]:
        for p in plans:
            yield from p.deliveries()

    if is_terminal():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} deliveries"), transient=True
        ) as bar:
            task = bar.add_task("rendering")

            def advance(d: Delivery) -> None:
                counted(d)
                bar.update(task, advance=1, description=d.channel)

            count = write_outbox(outbox, rel.id, everything(), progress=advance)
    else:
        count = write_outbox(outbox, rel.id, everything(), progress=counted)
    if as_json:
        print_json(
            {
                "release": rel.id,
                "dry_run": True,
                "outbox": str(outbox),
                "deliveries": count,
                "channels": [
                    {
                        "channel": p.channel.name,
                        "adapter": p.channel.adapter,
                        "deliveries": counts.get(p.channel.name, 0),
                        "missing": missing[p.channel.name],
                    }
                    for p in plans
                ],
            }
        )
        return count
    click.echo(f"dry run: {count} deliveries for {len(plans)} channels written to {outbox} (nothing sent)")
    return count
