"""distribute init [DIR]: a new workspace, from the example files shipped with distribute."""

from __future__ import annotations

from pathlib import Path

import click

from . import State, pass_state


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@pass_state
def init(state: State, directory: str) -> None:
    """Create config.toml, channels/, templates/ and an example release in DIR."""
    from ..workspace_init import create_workspace

    created = create_workspace(Path(directory))
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"next: edit {Path(directory) / 'config.toml'}, then `distribute preview` a release")
