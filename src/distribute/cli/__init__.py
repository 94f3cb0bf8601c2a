"""The command line: each command parses options, calls the library, and formats the result.

Commands live one per module and are imported only when invoked, so `distribute send --due`
from cron pays only for what it uses. Errors are translated to one line and an exit code
here, and only here.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ..errors import DistributeError, ExitCode

if TYPE_CHECKING:
    from ..workspace.config import Workspace

# command name -> "module:function"
COMMANDS: dict[str, str] = {
    "init": "distribute.cli.init:init",
    "validate": "distribute.cli.validate:validate",
    "preview": "distribute.cli.preview:preview",
    "send": "distribute.cli.send:send",
    "approve": "distribute.cli.approve:approve",
    "channels": "distribute.cli.channels:channels",
    "schedule": "distribute.cli.schedule:schedule",
    "unschedule": "distribute.cli.schedule:unschedule",
    "status": "distribute.cli.status:status",
    "resolve": "distribute.cli.resolve:resolve",
    "worker": "distribute.cli.worker:worker",
}

# The first line of each command's help, as `distribute --help` lists it without importing every
# command module (they pull in pathlib, json, logging: a third of the time of `--help`).
# tests/test_cli.py holds each to the command's own docstring.
SUMMARIES: dict[str, str] = {
    "approve": "Approve RELEASE as it would go out now: every channel's rendition, as --dry-run writes it.",
    "channels": "List configured channels and what each still needs to send; --check tries each account.",
    "init": "Create config.toml, channels/, lists/, templates/, .gitignore and an example release in DIR.",
    "preview": "Show what every channel would send. Sends nothing and needs no secrets.",
    "resolve": "Mark RELEASE's deliveries in doubt (all, or the KEYs `distribute status` shows) as sent or failed.",
    "schedule": "Record RELEASE's deliveries with their due times; scheduling again replaces what is still pending.",
    "send": "Send RELEASE now, or everything due with --due. --dry-run sends nothing; --proof only to you.",
    "status": "Show per release and channel what is scheduled, sent, failed and in doubt.",
    "unschedule": "Cancel what of RELEASE (a file or a release id) is still pending; what went out stays recorded.",
    "validate": "Check releases: parse, render every channel and run each platform's checks. Sends nothing.",
    "worker": "Deliver each release at its due time, until stopped; restarts lose and repeat nothing.",
}


@dataclass
class State:
    """Global options, and the workspace loaded on first use."""

    config: str | None = None
    verbose: int = 0
    traceback: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from ..workspace.config import Workspace

            self._workspace = Workspace.discover(self.config)
            if self._workspace.config_path is None and self.verbose:
                note(f"no config.toml found; using built-in defaults in {self._workspace.root}")
        return self._workspace

    def require_config(self) -> Workspace:
        """The workspace of a command that touches the ledger: it refuses to run on built-in defaults.

        A cron line or service started in the wrong folder must fail loudly, not look healthy
        with a fresh empty ledger of its own there.
        """
        from ..errors import ConfigError
        from ..workspace.config import CONFIG_ENV, find_config

        if (self._workspace.config_path if self._workspace is not None else find_config(self.config)) is None:
            from pathlib import Path

            raise ConfigError(
                f"no config.toml in {Path.cwd().resolve()} (and no --config or ${CONFIG_ENV}): "
                "run this in your workspace, or pass --config PATH"
            )
        return self.workspace


GLOBAL_FLAGS = ("-v", "--verbose", "--traceback")


def _is_verbose(arg: str) -> bool:
    return arg == "--verbose" or (arg.startswith("-v") and len(arg) > 1 and set(arg[1:]) == {"v"})


def hoist_globals(args: list[str]) -> list[str]:
    """Global options given after the command (`status --config x.toml -v`) moved before it.

    No command has options of these names, so after the command name `--config PATH`,
    `--config=PATH`, `-v`/`-vv`/`--verbose` and `--traceback` can only mean the global ones
    (up to a `--`, after which everything is an argument).
    """
    i = 0
    while i < len(args) and args[i] not in COMMANDS:
        if args[i] == "--":
            return args
        i += 2 if args[i] == "--config" else 1
    if i >= len(args):
        return args
    before, rest, moved = list(args[: i + 1]), [], []
    j = i + 1
    while j < len(args):
        arg = args[j]
        if arg == "--":
            rest += args[j:]
            break
        if arg == "--config" and j + 1 < len(args):
            moved += args[j : j + 2]
            j += 2
            continue
        if arg.startswith("--config=") or arg == "--traceback" or _is_verbose(arg):
            moved.append(arg)
        else:
            rest.append(arg)
        j += 1
    return before[:i] + moved + before[i:] + rest


def note(message: str) -> None:
    """A line of information on stderr (never secrets: everything passes the redactor)."""
    from ..workspace.schema import redact

    click.echo(redact(message), err=True)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on demand, and that turns errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing of the commands, from SUMMARIES: no command module is imported for --help."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for n in names:
            # A command not in SUMMARIES yet (tests/test_startup.py says so) is imported for its own help.
            command = click.Command(n, help=SUMMARIES[n]) if n in SUMMARIES else self.get_command(ctx, n)
            rows.append((n, command.get_short_help_str(limit) if command is not None else ""))
        with formatter.section("Commands"):  # shortened as click shortens a command's own help
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_globals(args))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DistributeError as exc:
            state = ctx.find_object(State)
            if state is not None and state.traceback:
                raise
            from ..workspace.schema import redact

            click.echo(f"error: {redact(str(exc))}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nExamples:\n  distribute validate releases/launch.md\n  distribute send releases/launch.md --dry-run"
    "\n  distribute status --config /srv/press/config.toml\n\n\b\nGlobal options go before or after the command."
    "\nExit codes: 0 ok, 1 error (nothing sent; also no configuration), 2 usage, 3 partial delivery, 4 nothing to do.",
)
@click.option("--config", "config", metavar="PATH", help="config.toml (else $DISTRIBUTE_CONFIG, else ./config.toml)")
@click.option("-v", "--verbose", count=True, help="say more")
@click.option("--traceback", is_flag=True, help="show the Python traceback of an error")
@click.version_option(package_name="distribute")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int, traceback: bool) -> None:
    """Write a press release once; send it to every outlet, on time, once."""
    ctx.obj = State(config=config, verbose=verbose, traceback=traceback)


pass_state = click.make_pass_decorator(State)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="distribute")


def exit_with(code: ExitCode) -> None:
    """End the command with an exit code from DESIGN §8."""
    sys.exit(int(code))
