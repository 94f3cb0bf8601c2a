"""distribute schedule / unschedule: record a release's deliveries in the ledger, or cancel them."""

from __future__ import annotations

from pathlib import Path

import click

from . import State, note, pass_state
from .common import channel_option, epilog, json_option, print_json
from .reporting import booking_document


@click.command(
    epilog=epilog(
        "distribute schedule releases/launch.md",
        'distribute schedule releases/launch.md --at "2025-07-01 08:00" --json',
        codes=(0, 1, 2),
    )
)
@click.argument("release", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--at",
    "when",
    metavar="WHEN",
    help="publish at WHEN instead of publish_at: a date-time (local in the config timezone), "
    '"+2h" from now, or "now"; channel offsets and the embargo still apply. Scheduling again '
    'keeps an earlier --at; "publish_at" goes back to the file\'s own time',
)
@click.option(
    "--late",
    is_flag=True,
    help="confirm a publish time more than [delivery] past_limit in the past (it goes out at once, dated then)",
)
@channel_option
@json_option
@pass_state
def schedule(
    state: State, release: str, when: str | None, late: bool, channels: tuple[str, ...], as_json: bool
) -> None:
    """Record RELEASE's deliveries with their due times; scheduling again replaces what is still pending."""
    from .. import clock
    from ..send.schedule import book, parse_when
    from .reporting import print_booking

    ws = state.require_config()
    file_time = when is not None and when.strip().lower() == "publish_at"
    at = parse_when(when, ws, clock.now()) if when and not file_time else None
    booking = book(ws, Path(release), at=at, channels=channels, late=late, keep_at=not file_time)
    if as_json:
        for line in booking.notes:
            note(line)
        print_json(booking_document(booking))
        return
    print_booking(ws, booking)
    note("delivered by `distribute worker`, or by cron running `distribute send --due` every minute")


@click.command(epilog=epilog("distribute unschedule 2025-06-30-nato-summit-brief", codes=(0, 1, 2)))
@click.argument("release", metavar="RELEASE")
@pass_state
def unschedule(state: State, release: str) -> None:
    """Cancel what of RELEASE (a file or a release id) is still pending; what went out stays recorded."""
    from ..send.schedule import unbook

    release_id, count = unbook(state.require_config(), release)
    click.echo(f"{release_id}: {count:,} pending deliver{'y' if count == 1 else 'ies'} cancelled")
