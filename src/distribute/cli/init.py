"""distribute init [DIR]: a new workspace for an organisation, asking for what the options do not say."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import State, pass_state
from .common import epilog

# option -> what a person is asked on a terminal
QUESTIONS = {
    "name": "Organisation name",
    "website": "Website",
    "sender": 'Sender of the email channels ("Name <address>")',
    "timezone": "Time zone (IANA, e.g. Europe/Berlin)",
    "language": "Language of releases (BCP 47, e.g. en)",
}


@click.command(
    epilog=epilog(
        'distribute init my-press-office --name "Musterverein e.V." --website https://musterverein.de',
        codes=(0, 1, 2),
    )
)
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="the organisation's name, as it appears in every release")
@click.option("--website", help="the organisation's website, e.g. https://example.org")
@click.option("--sender", help='From of the email channels, "Name <address>"')
@click.option("--timezone", help="IANA time zone of the press office, e.g. Europe/Berlin")
@click.option("--language", help="default language of releases (BCP 47), e.g. en")
@pass_state
def init(state: State, /, directory: str, **given: str | None) -> None:
    """Create config.toml, channels/, lists/, templates/, .gitignore and an example release in DIR."""
    from .. import clock
    from ..workspace.skeleton import PLACEHOLDERS, Identity, create_workspace

    values, guessed = ask(given) if sys.stdin.isatty() else fill(given)
    who = Identity(**values)
    created = create_workspace(Path(directory), who, clock.now().astimezone(who.zone).date())
    for path in created:
        click.echo(f"created {path}")
    config = Path(directory) / "config.toml"
    if guessed:
        options = ", ".join(f"--{key}" for key in guessed)
        shown = ", ".join(f"{key} = {PLACEHOLDERS[key]!r}" for key in guessed)
        click.echo(f"note: no {options} given: {config} has {shown}; edit these before sending", err=True)
    click.echo(
        f"next: edit {config} ([organization] boilerplate), then "
        f"`distribute validate {Path(directory) / 'releases' / 'first-release.md'}`"
    )


def fill(given: dict[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """Without a terminal: the given values, placeholders for the rest (and which those are)."""
    from ..workspace.skeleton import PLACEHOLDERS

    missing = [key for key in QUESTIONS if not given.get(key)]
    return {key: given.get(key) or PLACEHOLDERS[key] for key in QUESTIONS}, missing


def ask(given: dict[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """On a terminal: ask for each value the options did not give, suggesting what follows from the others."""
    from urllib.parse import urlsplit

    values: dict[str, str] = {}
    for key, question in QUESTIONS.items():
        value = given.get(key)
        if not value:
            host = urlsplit(values.get("website", "")).hostname or ""
            default = {
                "sender": f"{values.get('name', '')} <press@{host.removeprefix('www.')}>" if host else None,
                "timezone": "UTC",
                "language": "en",
            }.get(key)
            value = click.prompt(question, default=default)
        values[key] = value.strip()
    return values, []
