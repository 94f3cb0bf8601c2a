"""distribute status [RELEASE] [--json]: what is scheduled, sent (with links), failed and in doubt."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import State, exit_with, pass_state
from .common import epilog


@click.command(
    epilog=epilog(
        "distribute status",
        "distribute status 2025-06-30-nato-summit-brief --json",
        "distribute status 2025-06-30-nato-summit-brief --json --all",
        codes=(0, 1, 2, 4),
    )
)
@click.argument("release", required=False, metavar="RELEASE")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option(
    "--all", "every", is_flag=True, help="with --json: every delivery in items (else the first 50 of each channel)"
)
@pass_state
def status(state: State, release: str | None, as_json: bool, every: bool) -> None:
    """Show per release and channel what is scheduled, sent, failed and in doubt.

    A channel shows its counts by state, when its next delivery is due, and the first few
    failures and deliveries in doubt with their commonest reasons (a newsletter of 100,000 is
    a summary, not 100,000 lines). `--json --all` lists every delivery.
    """
    from ..errors import ExitCode
    from ..ledger.store import Ledger
    from ..send.schedule import resolve_release_id
    from ..send.status import LIST_LIMIT, overview

    ws = state.require_config()
    release_id = resolve_release_id(ws, release) if release else None
    ledger = Ledger(ws.database_url)
    found = None
    if release_id is not None and ledger.release(release_id) is None and release and Path(release).is_file():
        from ..send.status import unscheduled

        approved = unscheduled(ws, ledger, Path(release))  # approved, or waiting for it, not scheduled yet
        found = [approved] if approved is not None else None
    if release_id is not None and ledger.release(release_id) is None and found is None:
        from ..errors import UsageError

        raise UsageError(
            f"no release {release_id!r} in the ledger: it was never scheduled or sent from this workspace "
            "(`distribute status` lists the releases; give a release id or its file)"
        )
    if every and not as_json:
        from ..errors import UsageError

        raise UsageError("--all lists every delivery in the JSON document: add --json")
    if found is None:
        found = overview(ledger, release_id, ws, limit=None if every else LIST_LIMIT)
    if as_json:
        # Each release's deliveries in doubt: its channels' counts say it (no second pass over the rows).
        document = {
            "releases": [
                dict(r.as_dict(), in_doubt=sum(c.counts.get("in_doubt", 0) for c in r.channels)) for r in found
            ]
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from .statustext import render_text

        click.echo(render_text(found, ws.tz), nl=False)
    if not found:
        exit_with(ExitCode.NOTHING)
