"""distribute validate RELEASE...: parse, render every channel, run the platform checks."""

from __future__ import annotations

from typing import Any

import click

from . import State, exit_with, pass_state
from .common import epilog, json_option, load_release, print_json


@click.command(
    epilog=epilog("distribute validate releases/*.md", "distribute validate releases/launch.md --json", codes=(0, 1, 2))
)
@click.argument("releases", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@pass_state
def validate(state: State, releases: tuple[str, ...], as_json: bool) -> None:
    """Check releases: parse, render every channel and run each platform's checks. Sends nothing."""
    from .. import clock
    from ..errors import ExitCode
    from ..send.lateness import warning as late_warning
    from ..send.preview import preview_release
    from ..text.i18n import language_warning
    from ..times import show
    from ..workspace.identity import channel_placeholders, config_placeholders, sender_domain_warning

    ws = state.workspace
    failed = False
    echo = (lambda *a, **k: None) if as_json else click.echo  # --json: the document alone on stdout
    document: dict[str, Any] = {"ok": True, "errors": [], "releases": []}
    for line in config_placeholders(ws):
        click.echo(f"error: {line}", err=True)
        document["errors"].append(line)
        failed = True
    for path in releases:
        release = load_release(ws, path)
        echo(f"{path}: {release.id} — {release.title}")
        entry: dict[str, Any] = {"path": path, "id": release.id, "title": release.title, "warnings": [], "channels": []}
        document["releases"].append(entry)
        late = late_warning(ws, release, clock.now())
        if late:
            click.echo(late, err=True)
            entry["warnings"].append(late)
        unspoken = language_warning(ws, release)
        if unspoken:
            click.echo(unspoken, err=True)
            entry["warnings"].append(unspoken)
        for cp in preview_release(ws, release, full=True):
            ch = cp.plan.channel
            errors = channel_placeholders(ch)
            for line in errors:
                click.echo(f"error: {line}", err=True)
                failed = True
            warning = sender_domain_warning(ws, ch)
            if warning:
                click.echo(f"warning: {warning}", err=True)
            adapter_warnings = cp.plan.adapter.warnings(release, ch)
            entry["channels"].append(
                {
                    "channel": ch.name,
                    "adapter": ch.adapter,
                    "ok": not cp.problems and not errors,
                    "deliveries": cp.total,
                    "due": clock.stamp(cp.plan.due),
                    "checks": [
                        {
                            "delivery": b.title,
                            "label": c.label,
                            "value": c.value,
                            "limit": c.limit,
                            "ok": c.ok,
                            "note": c.note,
                        }
                        for b in cp.blocks
                        for c in b.checks
                    ],
                    "problems": list(cp.problems),
                    "errors": list(errors),
                    "warnings": ([warning] if warning else []) + list(adapter_warnings),
                    "missing": list(cp.missing),
                }
            )
            status = "ok" if not cp.problems else "FAILED"
            echo(
                f"  {ch.name} ({ch.adapter}): {status}, {cp.total} deliver{'y' if cp.total == 1 else 'ies'}, due {show(cp.plan.due, ws.tz)}"
            )
            for block in cp.blocks:
                for check in block.checks:
                    limit = f"/{check.limit}" if check.limit is not None else ""
                    mark = "ok" if check.ok else "TOO LONG" if check.limit is not None else "FAILED"
                    echo(
                        f"    {block.title}: {check.label} {check.value}{limit} {mark}"
                        + (f" — {check.note}" if check.note else "")
                    )
            for line in adapter_warnings:
                click.echo(f"warning: {path}: channel {ch.name}: {line}", err=True)
            for problem in cp.problems:
                click.echo(f"{path}: channel {ch.name}: {problem}", err=True)
            if cp.missing:
                echo(f"    note: to send, set {', '.join(cp.missing)}")
            failed = failed or bool(cp.problems)
    if as_json:
        document["ok"] = not failed
        print_json(document)
    if failed:
        exit_with(ExitCode.ERROR)
