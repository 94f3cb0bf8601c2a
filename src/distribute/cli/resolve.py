"""distribute resolve RELEASE --sent|--failed [KEY]...: settle deliveries left in doubt, after checking by hand."""

from __future__ import annotations

import click

from . import State, exit_with, pass_state
from .common import epilog


@click.command(
    epilog=epilog(
        "distribute resolve 2025-06-30-nato-summit-brief --sent        # every delivery in doubt arrived",
        "distribute resolve 2025-06-30-nato-summit-brief --failed 2025-06-30-nato-summit-brief/newsletter/"
        "a%40example.org/message",
        codes=(0, 1, 2, 4),
    )
)
@click.argument("release", metavar="RELEASE")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--sent", "outcome", flag_value="sent", help="they arrived (checked in the server's log or timeline)")
@click.option(
    "--failed",
    "outcome",
    flag_value="failed",
    help="they did not arrive (sending or scheduling the release again sends them)",
)
@pass_state
def resolve(state: State, release: str, keys: tuple[str, ...], outcome: str | None) -> None:
    """Mark RELEASE's deliveries in doubt (all, or the KEYs `distribute status` shows) as sent or failed.

    A delivery is in doubt when a run stopped while it was in the server's hands: it may or may not
    have arrived. Check by hand (the SMTP server's log for its Message-ID, the account's timeline),
    then say what you found. To send them again instead: `distribute send --due --resend-in-doubt`.
    """
    import getpass

    from .. import clock
    from ..errors import ExitCode, UsageError
    from ..ledger.store import Ledger
    from ..send.schedule import resolve_release_id

    if outcome is None:
        raise UsageError("say what you found: --sent (they arrived) or --failed (they did not)")
    ws = state.require_config()
    release_id = resolve_release_id(ws, release)
    ledger = Ledger(ws.database_url)
    if ledger.release(release_id) is None:
        raise UsageError(f"release {release_id} is not in the ledger (`distribute status` lists the releases)")
    changed = ledger.resolve(release_id, outcome, keys, clock.now(), by=getpass.getuser())
    unknown = [k for k in keys if k not in changed]
    if unknown:
        click.echo(f"error: not in doubt in release {release_id}: {', '.join(unknown)}", err=True)
    if not changed:
        if not unknown:
            click.echo(f"{release_id}: nothing is in doubt", err=True)
        exit_with(ExitCode.ERROR if unknown else ExitCode.NOTHING)
    n = len(changed)
    click.echo(f"{release_id}: {n} deliver{'y' if n == 1 else 'ies'} in doubt marked {outcome}")
    if unknown:
        exit_with(ExitCode.ERROR)
