"""distribute validate RELEASE...: parse, render every channel, run the platform checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from . import State, exit_with, pass_state
from .common import epilog, few_collections, json_option, load_release, print_json

if TYPE_CHECKING:
    from ..send.preview import ChannelPreview
    from ..workspace.config import Workspace

CHECKED = 50  # deliveries of a channel checked in full without -v (every one is rendered)
SHOWN = 3  # problems and skipped rows shown per channel without -v


def originals(paths: tuple[str, ...]) -> list[str]:
    """The release files to check: a translation (`x.ko.md`) is checked with its original, once.

    So `distribute validate releases/*.md` works in a folder that holds translations.
    """
    from pathlib import Path

    from ..release import original_of

    out: list[str] = []
    for path in paths:
        original = original_of(Path(path))
        if original is None:
            out.append(path)
            continue
        if str(original) not in paths:
            click.echo(f"note: {path} is a translation: checked with its original {original}", err=True)
        out.append(str(original))
    return list(dict.fromkeys(out))


@click.command(
    epilog=epilog("distribute validate releases/*.md", "distribute validate releases/launch.md --json", codes=(0, 1, 2))
)
@click.argument("releases", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@pass_state
def validate(state: State, releases: tuple[str, ...], as_json: bool) -> None:
    """Check releases: parse, render every channel and run each platform's checks. Sends nothing.

    Per channel: its deliveries (all rendered), the checks of the first ones, the first problems
    and skipped recipient rows (warnings, with file:line). -v checks and lists every delivery.
    """
    from .. import clock
    from ..errors import ExitCode
    from ..send.lateness import warning as late_warning
    from ..send.preview import preview_release
    from ..text.compare import shorter_translations
    from ..text.i18n import language_warning
    from ..workspace.identity import channel_placeholders, config_placeholders, sender_domain_warning

    few_collections()
    ws = state.workspace
    failed = False
    echo = (lambda *a, **k: None) if as_json else click.echo  # --json: the document alone on stdout
    document: dict[str, Any] = {"ok": True, "errors": [], "releases": []}
    for line in config_placeholders(ws):
        click.echo(f"error: {line}", err=True)
        document["errors"].append(line)
        failed = True
    for path in originals(releases):
        release = load_release(ws, path)
        echo(f"{path}: {release.id} — {release.title}")
        entry: dict[str, Any] = {"path": path, "id": release.id, "title": release.title, "warnings": [], "channels": []}
        document["releases"].append(entry)
        warned_lines = [
            late_warning(ws, release, clock.now()),
            *(language_warning(ws, variant) for variant in release.variants().values()),
            # A translation much shorter than the original: a likely forgotten paragraph.
            *shorter_translations(release),
        ]
        for warned in warned_lines:
            if warned:
                click.echo(warned, err=True)
                entry["warnings"].append(warned)
        with _list_warnings_shown_here():
            previews = preview_release(ws, release, full=bool(state.verbose), sample=CHECKED)
        for cp in previews:
            ch = cp.plan.channel
            errors = channel_placeholders(ch)
            for line in errors:
                click.echo(f"error: {line}", err=True)
                failed = True
            warning = sender_domain_warning(ws, ch)
            if warning:
                click.echo(f"warning: {warning}", err=True)
            # Of each language the channel sends (none: it sends nothing, and its one line says so).
            adapter_warnings = list(dict.fromkeys(w for v in cp.plan.variants for w in cp.plan.adapter.warnings(v, ch)))
            for line in adapter_warnings:
                click.echo(f"warning: {path}: channel {ch.name}: {line}", err=True)
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
                    "warnings": ([warning] if warning else []) + list(adapter_warnings) + list(cp.warnings),
                    "missing": list(cp.missing),
                }
            )
            failed = _channel(ws, path, cp, verbose=bool(state.verbose), echo=echo) or failed
    if as_json:
        document["ok"] = not failed
        print_json(document)
    if failed:
        exit_with(ExitCode.ERROR)


def _plural(n: int, one: str, many: str, language: str = "") -> str:
    from ..text.i18n import format_count

    return f"{format_count(n, language)} {one if n == 1 else many}"


def _channel(ws: Workspace, path: str, cp: ChannelPreview, verbose: bool, echo: Any = click.echo) -> bool:
    """One channel's summary; True when it cannot go out as it is (its counts as the release's language writes them)."""
    from ..text.i18n import format_count
    from ..times import show

    ch, language = cp.plan.channel, cp.plan.release.language
    status = "FAILED" if cp.problems else _plural(cp.skipped, "warning", "warnings") if cp.skipped else "ok"
    # The languages the channel sends, unless it is the main language alone (each is its own deliveries).
    languages = cp.plan.languages if cp.plan.languages != (cp.plan.release.language,) else ()
    echo(
        f"  {ch.name} ({ch.adapter}): {status}, {_plural(cp.total, 'delivery', 'deliveries', language)}, "
        f"due {show(cp.plan.due, ws.tz)}" + (f", languages {', '.join(languages)}" if languages else "")
    )
    lines = [
        f"    {block.title}: {check.label} {check.value}"
        + (f"/{check.limit}" if check.limit is not None else "")
        + f" {'ok' if check.ok else 'TOO LONG' if check.limit is not None else 'FAILED'}"
        + (f" — {check.note}" if check.note else "")
        for n, block in enumerate(cp.blocks)
        for check in block.checks
        if verbose or n == 0 or len(cp.blocks) <= 5 or not check.ok
    ]
    limit = len(lines) if verbose else len(cp.blocks[0].checks) + SHOWN if len(cp.blocks) > 5 else len(lines)
    for line in lines[:limit]:
        echo(line)
    if len(lines) > limit:
        echo(f"    ... {len(lines) - limit:,} more problems (`distribute validate -v` lists them all)")
    if len(cp.blocks) < cp.total:
        echo(
            f"    checked: all {format_count(cp.total, language)} rendered, the first {len(cp.blocks):,} in full "
            "(`distribute validate -v` checks every one)"
        )
    problems = cp.problems if verbose else cp.problems[:SHOWN]
    for problem in problems:
        click.echo(f"{path}: channel {ch.name}: {problem}", err=True)
    if len(cp.problems) > len(problems):
        click.echo(f"{path}: channel {ch.name}: {len(cp.problems) - len(problems):,} more problems", err=True)
    warnings = cp.warnings if verbose else cp.warnings[:SHOWN]
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    if cp.skipped > len(warnings):
        more = cp.skipped - len(warnings)
        hint = "" if verbose or len(cp.warnings) <= len(warnings) else " (`distribute validate -v` lists more)"
        click.echo(f"warning: {ch.name}: {_plural(more, 'more row', 'more rows')} of the list skipped{hint}", err=True)
    if cp.missing:
        echo(f"    note: to send, set {', '.join(cp.missing)}")
    return bool(cp.problems)


@contextmanager
def _list_warnings_shown_here() -> Iterator[None]:
    """The recipient lists' skipped rows are shown in each channel's summary, not logged as well."""
    logger = logging.getLogger("distribute.email")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
