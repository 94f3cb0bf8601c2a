"""distribute approve RELEASE [--by NAME] [--note TEXT] | --revoke: sign-off on exactly what will be sent."""

from __future__ import annotations

from pathlib import Path

import click

from . import State, note, pass_state
from .common import epilog, json_option, print_json


@click.command(
    epilog=epilog(
        "distribute approve releases/launch.md                        # as $DISTRIBUTE_USER, else your login name",
        'distribute approve releases/launch.md --by "Ana Kim" --note "legal ok"',
        "distribute approve releases/launch.md --revoke",
        "distribute approve releases/launch.md --json | jq .approvals",
        codes=(0, 1, 2),
    )
)
@click.argument("release", metavar="RELEASE")
@click.option("--by", "name", metavar="NAME", help="who approves (default: $DISTRIBUTE_USER, else the login name)")
@click.option("--note", "note_text", metavar="TEXT", help="a word for the record (shown by `distribute status`)")
@click.option("--revoke", is_flag=True, help="take back NAME's approval of RELEASE (a file or a release id)")
@json_option
@pass_state
def approve(state: State, release: str, name: str | None, note_text: str | None, revoke: bool, as_json: bool) -> None:
    """Approve RELEASE as it would go out now: every channel's rendition, as --dry-run writes it.

    With `approvals = N` in config.toml, schedule, send and the worker refuse a release until N
    people (distinct names) approved its current version; editing the release, a template, a channel
    file or a recipient list after that voids their approvals.
    """
    from ..send import approval
    from ..times import show

    ws = state.require_config()
    who = approval.approver(name)
    if revoke:
        if note_text:
            from ..errors import UsageError

            raise UsageError("--note goes with approving, not with --revoke")
        release_id, found = approval.revoke(ws, release, who, approval.approver(None) if name else who)
        n = len(found)
        if as_json:
            print_json({"release": release_id, "revoked": who, "approvals": n})
            return
        click.echo(f"{release}: {who}'s approval revoked ({n} approval{'' if n == 1 else 's'} of release {release_id})")
        return
    if not Path(release).is_file():
        from ..errors import UsageError

        raise UsageError(f"{release}: no such release file; approve names the file (releases/<id>.md)")
    done = approval.approve(ws, Path(release), who, note_text)
    from .. import clock

    at = clock.parse(done.approval.approved_at)
    assert at is not None
    channels = done.version.parts["channels"]
    if as_json:
        print_json(
            {
                "release": done.release.id,
                "path": release,
                "name": done.approval.name,
                "approved_at": done.approval.approved_at,
                "note": done.approval.note,
                "new": done.new,
                "lock": done.version.lock,
                "deliveries": done.version.deliveries,
                "channels": {c: v["deliveries"] for c, v in channels.items()},
                "approvals": {
                    "required": done.needed,
                    "approved": len(done.standing),
                    "by": [a.name for a in done.standing],
                },
            }
        )
        return
    if done.new:
        click.echo(f"{release}: approved by {who}, {show(at, ws.tz)}")
    else:
        click.echo(f"{release}: {done.approval.name} already approved this version, {show(at, ws.tz)}")
    listed = ", ".join(f"{c} {v['deliveries']:,}" for c, v in channels.items())
    n = done.version.deliveries
    click.echo(
        f"  version {done.version.lock[:12]}: {n:,} deliver{'y' if n == 1 else 'ies'} on {len(channels)} "
        f"channel{'' if len(channels) == 1 else 's'} ({listed})"
    )
    names = ", ".join(a.name for a in done.standing)
    if done.needed:
        enough = "; it may be scheduled and sent" if len(done.standing) >= done.needed else ""
        click.echo(f"  approvals of this version: {len(done.standing)} of {done.needed} needed ({names}){enough}")
    else:
        click.echo(f"  approvals of this version: {len(done.standing)} ({names})")
        note("note: config.toml asks for no approvals (approvals = 0), so nothing waits for them")
