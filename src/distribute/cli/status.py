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
        codes=(0, 1, 2, 4),
    )
)
@click.argument("release", required=False, metavar="RELEASE")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_state
def status(state: State, release: str | None, as_json: bool) -> None:
    """Show per release and channel what is scheduled, sent, failed and in doubt."""
    from ..errors import ExitCode
    from ..ledger.store import Ledger
    from ..send.schedule import resolve_release_id
    from ..send.status import overview

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
    if found is None:
        found = overview(ledger, release_id, ws)
    if as_json:
        from ..send.status import in_doubt_counts

        doubt = in_doubt_counts(ledger, release_id)
        document = {"releases": [dict(r.as_dict(), in_doubt=doubt.get(r.release_id, 0)) for r in found]}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from .statustext import render_text

        click.echo(render_text(found, ws.tz), nl=False)
    if not found:
        exit_with(ExitCode.NOTHING)
