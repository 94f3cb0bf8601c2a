"""docs/reference.md: every setting (workspace/reference.py), then every command and its options.

`python -m distribute.cli.reference > docs/reference.md` rewrites it.
"""

from __future__ import annotations

import click

from ..workspace.reference import settings_reference
from . import COMMANDS, cli


def generate() -> str:
    """The whole reference as Markdown."""
    lines = settings_reference()
    lines += ["", "## Commands", ""]
    ctx = click.Context(cli, info_name="distribute")
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        assert command is not None
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += [f"### `distribute {name} {usage}`".replace(" `", "`").rstrip(), "", (command.help or "").strip(), ""]
        for param in command.params:
            if isinstance(param, click.Option):
                lines.append(f"- `{', '.join(param.opts)}`: {param.help or ''}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(generate(), end="")
