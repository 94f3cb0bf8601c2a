"""distribute schedule / unschedule: record a release's deliveries in the ledger, or cancel them."""

from __future__ import annotations

from pathlib import Path

import click

from . import State, note, pass_state
from .common import channel_option


@click.command()
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
@pass_state
def schedule(state: State, release: str, when: str | None, late: bool, channels: tuple[str, ...]) -> None:
    """Record RELEASE's deliveries with their due times; scheduling again replaces what is still pending."""
    from .. import clock
    from ..send.schedule import book, parse_when
    from .reporting import print_booking

    ws = state.require_config()
    file_time = when is not None and when.strip().lower() == "publish_at"
    at = parse_when(when, ws, clock.now()) if when and not file_time else None
    booking = book(ws, Path(release), at=at, channels=channels, late=late, keep_at=not file_time)
    print_booking(ws, booking)
    note("delivered by `distribute worker`, or by cron running `distribute send --due` every minute")


@click.command()
@click.argument("release", metavar="RELEASE")
@pass_state
def unschedule(state: State, release: str) -> None:
    """Cancel what of RELEASE (a file or a release id) is still pending; what went out stays recorded."""
    from ..send.schedule import unbook

    release_id, count = unbook(state.require_config(), release)
    click.echo(f"{release_id}: {count} pending deliver{'y' if count == 1 else 'ies'} cancelled")
