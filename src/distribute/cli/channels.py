"""distribute channels: what is configured, with which adapter, and whether it is ready to send (--check: logged in)."""

from __future__ import annotations

import json
from typing import Any

import click

from . import State, pass_state
from .common import channel_option, epilog


@click.command(
    epilog=epilog(
        "distribute channels",
        "distribute channels --json",
        "distribute channels --check",
        "distribute channels --check -c mastodon --json",
        codes=(0, 1, 2),
    )
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option(
    "--check", is_flag=True, help="log in to each enabled channel's account (posts nothing); exit 1 if any fails"
)
@channel_option
@pass_state
def channels(state: State, as_json: bool, check: bool, channels: tuple[str, ...]) -> None:
    """List configured channels and what each still needs to send; --check tries each account."""
    if check:
        _check(state, as_json, channels)
        return
    if channels:
        raise click.UsageError("-c/--channel goes with --check")
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


def _check(state: State, as_json: bool, names: tuple[str, ...]) -> None:
    from ..send.accounts import check_accounts
    from . import exit_with
    from .common import print_json

    ws = state.workspace
    results = check_accounts(ws, names)
    ok = all(r.ok for r in results)
    if as_json:
        print_json(
            {
                "ok": ok,
                "channels": [
                    {"channel": r.channel, "adapter": r.adapter, "ok": r.ok, "checked": r.checked, "detail": r.detail}
                    for r in results
                ],
            }
        )
    elif not results:
        click.echo("no enabled channels to check; name one with -c, or set enabled = true in its file")
    else:
        width = max(len(r.channel) for r in results)
        for r in results:
            word = ("ok" if r.checked else "-") if r.ok else "FAILED"
            click.echo(f"{r.channel:<{width}}  {word:<6}  {r.detail}")
        failed = sum(1 for r in results if not r.ok)
        if failed:
            click.echo(f"{failed} of {len(results)} channels failed the check: fix them before release day", err=True)
    if not ok:
        from ..errors import ExitCode

        exit_with(ExitCode.ERROR)
