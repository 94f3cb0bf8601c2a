"""distribute send: deliver a release now (or, with --dry-run, write exactly what would leave)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import State, exit_with, note, pass_state
from .common import channel_option, epilog, is_terminal, json_option, load_release, print_json

if TYPE_CHECKING:
    from ..errors import ExitCode


@click.command(
    epilog=epilog(
        "distribute send releases/launch.md                       # now (public channels not before the embargo)",
        "distribute send releases/launch.md -c press-list --dry-run --outbox outbox   # write it, send nothing",
        "distribute send --due                                    # cron, every minute",
        "distribute send releases/launch.md --json | jq .channels",
        "distribute send releases/launch.md --proof me@example.org --via newsletter   # a proof to yourself only",
        codes=(0, 1, 2, 3, 4, 130),
    )
)
@click.argument("release", required=False, type=click.Path(dir_okay=False))
@channel_option
@click.option("--dry-run", is_flag=True, help="send nothing; write the exact payloads to the outbox")
@click.option("--outbox", type=click.Path(file_okay=False), help="outbox folder for --dry-run (default: config outbox)")
@click.option("--due", is_flag=True, help="cron mode: deliver everything due in the ledger, then exit")
@click.option(
    "--resend-in-doubt",
    is_flag=True,
    help="also send again deliveries whose outcome is unknown after a crash (may duplicate them)",
)
@click.option("--at", "when", metavar="now", help='"now": publish RELEASE dated now instead of its publish_at')
@click.option(
    "--late",
    is_flag=True,
    help="confirm sending RELEASE although its publish_at is more than [delivery] past_limit in the past",
)
@click.option(
    "--proof",
    "proof_to",
    multiple=True,
    metavar="ADDRESS",
    help="send a proof of each channel to ADDRESS only (repeatable): nothing recorded, posted or published",
)
@click.option("--as", "as_email", metavar="EMAIL", help="with --proof: show email channels as EMAIL receives them")
@click.option(
    "--via", metavar="CHANNEL", help="with --proof: the email channel that mails proofs of the other channels"
)
@json_option
@pass_state
def send(
    state: State,
    release: str | None,
    channels: tuple[str, ...],
    dry_run: bool,
    outbox: str | None,
    due: bool,
    resend_in_doubt: bool,
    when: str | None,
    late: bool,
    proof_to: tuple[str, ...],
    as_email: str | None,
    via: str | None,
    as_json: bool,
) -> None:
    """Send RELEASE now, or everything due with --due. --dry-run sends nothing; --proof only to you."""
    from ..errors import ExitCode, UsageError

    if proof_to or as_email or via:
        _check_proof_options(release, proof_to, as_email, via, dry_run, due, outbox, resend_in_doubt, when, late)
        state.require_config()  # a proof mails for real, through the workspace's channels
        assert release is not None
        exit_with(send_proofs(state, release, proof_to, channels, as_email, via, as_json))
        return
    _check_options(release, dry_run, outbox, due, when, late)
    if dry_run and release:  # the built-in defaults serve a dry-run of one file; nothing else runs on them
        ws = state.workspace
        count = dry_run_release(state, release, channels, Path(outbox) if outbox else ws.config.outbox, as_json)
        if count == 0:
            exit_with(ExitCode.NOTHING)
        return
    from .sending import send_due, send_due_dry_run, send_release

    if resend_in_doubt and dry_run:
        raise UsageError("--resend-in-doubt sends; it does not go with --dry-run")
    if due and channels:
        raise UsageError("-c goes with RELEASE, not with --due")
    state.require_config()  # refuse before the ledger is opened (and so created)
    if due and dry_run:
        exit_with(send_due_dry_run(state, as_json))
    elif due:
        exit_with(send_due(state, resend_in_doubt, as_json=as_json))
    else:
        assert release is not None
        exit_with(
            send_release(state, release, channels, resend_in_doubt, at_now=when is not None, late=late, as_json=as_json)
        )


def _check_proof_options(
    release: str | None,
    proof_to: tuple[str, ...],
    as_email: str | None,
    via: str | None,
    dry_run: bool,
    due: bool,
    outbox: str | None,
    resend_in_doubt: bool,
    when: str | None,
    late: bool,
) -> None:
    """--proof, --as and --via: what they need and what they do not go with."""
    from ..errors import UsageError

    given = [f for f, on in (("--dry-run", dry_run), ("--due", due), ("--outbox", outbox)) if on]
    given += [f for f, on in (("--resend-in-doubt", resend_in_doubt), ("--at", when), ("--late", late)) if on]
    if not proof_to:
        raise UsageError(f"{'--as' if as_email else '--via'} goes with --proof ADDRESS")
    if given:
        raise UsageError(
            f"--proof does not go with {given[0]}: a proof only mails you each channel's rendition of "
            "one RELEASE and records, posts or writes nothing (`distribute send RELEASE --proof you@example.org`)"
        )
    if not release:
        raise UsageError("--proof needs a RELEASE file: distribute send RELEASE --proof you@example.org")


def _check_options(
    release: str | None, dry_run: bool, outbox: str | None, due: bool, when: str | None, late: bool
) -> None:
    """Options that do not go together, refused before anything is read."""
    from ..errors import UsageError

    if due and release:
        raise UsageError("give either RELEASE or --due, not both")
    if not due and not release:
        raise UsageError("name a RELEASE file, or use --due (cron mode)")
    if outbox and not dry_run:
        raise UsageError("--outbox goes with --dry-run")
    if when is not None and when.strip().lower() != "now":
        raise UsageError(
            f'send --at takes only "now" (send delivers at once); to publish at {when}, '
            "use `distribute schedule RELEASE --at WHEN`"
        )
    if when and (due or dry_run):
        raise UsageError("--at goes with sending a RELEASE, not with --due or --dry-run")
    if late and due:
        raise UsageError("--late goes with RELEASE: `send --due` delivers what was scheduled, however late")


def dry_run_release(state: State, path: str, channels: tuple[str, ...], outbox: Path, as_json: bool = False) -> int:
    """Render every selected channel into the outbox; print where it went."""
    from ..send.outbox import dry_run

    ws = state.workspace
    rel = load_release(ws, path)

    def needs(channel: str, missing: Sequence[str]) -> None:
        note(f"note: channel {channel} would need {', '.join(missing)} to send for real")

    if is_terminal():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} deliveries"), transient=True
        ) as bar:
            task = bar.add_task("rendering")
            done = dry_run(
                ws,
                rel,
                channels,
                outbox,
                progress=lambda d: bar.update(task, advance=1, description=d.channel),
                needs=needs,
            )
    else:
        done = dry_run(ws, rel, channels, outbox, needs=needs)
    for line in done.notes:
        note(f"note: {line}")
    if as_json:
        print_json(
            {
                "release": rel.id,
                "dry_run": True,
                "outbox": str(outbox),
                "deliveries": done.count,
                "channels": done.per_channel,
            }
        )
        return done.count
    from ..text.i18n import format_count

    count = format_count(done.count, rel.language)  # as the release's language writes numbers
    click.echo(f"dry run: {count} deliveries for {done.channels} channels written to {outbox} (nothing sent)")
    return done.count


def send_proofs(
    state: State,
    path: str,
    to: tuple[str, ...],
    channels: tuple[str, ...],
    as_email: str | None,
    via: str | None,
    as_json: bool,
) -> ExitCode:
    """Mail each selected channel's proof to the --proof addresses; one line per proof."""
    from .. import clock
    from ..errors import ExitCode
    from ..send import proof

    ws = state.workspace
    rel = load_release(ws, path)
    proofs = proof.prepare(ws, rel, to, channels, as_email=as_email, via=via, now=clock.now())
    if not proofs:
        note(f"nothing to proof: {rel.id} goes to no channel (none is enabled, and its channels list names none)")
        return ExitCode.NOTHING
    done = proof.send(ws, proofs)
    for sent in done:
        p = sent.proof
        how = f"as {p.shows}" if p.shows else f"via {p.via}"
        if sent.ok:
            if not as_json:
                click.echo(f"proof: {p.channel} → {p.to} ({how})")
        else:
            note(f"proof: {p.channel} → {p.to} ({how}) not sent: {sent.error}")
    failed = sum(1 for s in done if not s.ok)
    code = ExitCode.OK if not failed else ExitCode.ERROR if failed == len(done) else ExitCode.PARTIAL
    if as_json:
        print_json(
            {
                "release": rel.id,
                "proof": True,
                "proofs": [
                    {
                        "channel": s.proof.channel,
                        "adapter": s.proof.adapter,
                        "to": s.proof.to,
                        "as": s.proof.shows or None,
                        "via": s.proof.via,
                        "subject": s.proof.subject,
                        "sent": s.ok,
                        "error": s.error or None,
                    }
                    for s in done
                ],
                "exit_code": int(code),
            }
        )
    return code
