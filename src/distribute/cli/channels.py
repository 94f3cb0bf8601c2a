"""distribute channels: what is configured, with which adapter, and whether it is ready to send."""

from __future__ import annotations

import json
from typing import Any

import click

from . import State, pass_state
from .common import epilog


@click.command(epilog=epilog("distribute channels", "distribute channels --json", codes=(0, 1, 2)))
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_state
def channels(state: State, as_json: bool) -> None:
    """List configured channels and what each still needs to send."""
    ws = state.workspace
    rows: list[dict[str, Any]] = []
    for name, ch in ws.channels.items():
        missing = ws.adapter(ch).missing(ch)
        rows.append(
            {
                "name": name,
                "adapter": ch.adapter,
                "enabled": ch.enabled,
                "embargoed_copy": ch.common.embargoed_copy,
                "ready": not missing,
                "missing": missing,
                "path": str(ch.path),
            }
        )
    if as_json:
        click.echo(json.dumps({"channels": rows}, indent=2))
        return
    if not rows:
        click.echo(f"no channels in {ws.config.channels}; add one file per outlet there (see `distribute init`)")
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        state_text = "ready" if r["ready"] else "missing " + ", ".join(r["missing"])
        enabled = "" if r["enabled"] else " (disabled)"
        click.echo(f"{r['name']:<{width}}  {r['adapter']:<9} {state_text}{enabled}")
