"""distribute status [RELEASE] [--json]: what is scheduled, sent (with links), failed and in doubt."""

from __future__ import annotations

import json

import click

from . import State, exit_with, pass_state


@click.command()
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
    found = overview(Ledger(ws.database_url), release_id, ws)
    if as_json:
        click.echo(json.dumps({"releases": [r.as_dict() for r in found]}, indent=2, ensure_ascii=False))
    else:
        from .statustext import render_text

        click.echo(render_text(found, ws.tz), nl=False)
    if not found:
        exit_with(ExitCode.NOTHING)
