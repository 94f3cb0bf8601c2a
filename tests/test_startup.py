"""A quick cold start: what the everyday commands import, run as `python -m distribute` in a fresh interpreter.

The timings themselves are benchmarks/bench_cli.py's; these tests guard the measured wins so a
new import at the top of a module cannot quietly bring them back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import EXAMPLE_RELEASE, ROOT
from distribute.adapters.email.preview import SHOWN as SHOWN_HEADERS
from distribute.cli import COMMANDS, SUMMARIES, cli

# `python -m distribute ARGS`, printing at exit every module it imported (importlib's included,
# which -X importtime leaves out).
RUN = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
    "sys.argv = ['distribute', *sys.argv[1:]]\n"
    "runpy.run_module('distribute', run_name='__main__', alter_sys=True)\n"
)


def imported(ws: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the real command line in a fresh interpreter; (the run, every module it imported)."""
    env = {k: v for k, v in os.environ.items() if k != "DISTRIBUTE_CONFIG"}
    argv = [sys.executable, "-c", RUN, "--config", str(ws / "config.toml"), *args]
    done = subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    assert len(lines) == 1, done.stderr[-2000:]
    return done, set(lines[0].split()[1:])


def instrumented(ws: Path, patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Like imported(), with `patch` (code that counts something and prints it at exit) run first; it must succeed."""
    script = RUN.replace("atexit.register(", patch + "atexit.register(", 1)
    env = {k: v for k, v in os.environ.items() if k != "DISTRIBUTE_CONFIG"}
    argv = [sys.executable, "-c", script, "--config", str(ws / "config.toml"), *args]
    done = subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_validate_and_preview_without_a_ledger_file_never_import_sqlalchemy(workspace: Path, command: str) -> None:
    """sqlalchemy was a third of a cold validate: the feed archive imported it before seeing no database."""
    assert not (workspace / ".distribute" / "state.db").exists()
    done, modules = imported(workspace, command, EXAMPLE_RELEASE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rss" in done.stdout and "distribute.adapters.rss.feed" in modules, (
        "the feed (which reads the archive) rendered"
    )
    assert not {m for m in modules if m.split(".")[0] == "sqlalchemy"}
    assert not (workspace / ".distribute").exists(), "and no database was created to answer"


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_a_disabled_channel_is_checked_without_importing_its_adapter(workspace: Path, command: str) -> None:
    """The example's five social channels are disabled: their files are checked against the settings
    classes alone (adapters/social/settings.py), not the posting code, HTTP client and counting of theirs."""
    done, modules = imported(workspace, command, EXAMPLE_RELEASE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "distribute.adapters.social.settings" in modules, "every channel file was checked"
    social = {m for m in modules if m.startswith("distribute.adapters.social.")} - {
        "distribute.adapters.social.settings"
    }
    assert not social and "distribute.adapters._transport.http" not in modules, sorted(social)


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_validate_and_preview_leave_out_what_the_example_does_not_use(workspace: Path, command: str) -> None:
    """The HTML page builder is --html's (the terminal needs only its language names), the link and
    hashtag patterns are the social channels', a seven-row list needs no SQLite table for its duplicates, and
    the CJK emphasis rule tells a Hangul syllable without the regex module."""
    done, modules = imported(workspace, command, EXAMPLE_RELEASE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "distribute.adapters.email.seen" in modules, "the lists were read (for duplicates too)"
    unused = {"distribute.send.preview_page", "distribute.text.entities", "sqlite3", "regex"} & modules
    assert not unused, sorted(unused)


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_addresses_on_domains_met_before_are_checked_without_importing_email_validator(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """email-validator compiles five wide regular expressions at import (about a tenth of a cold run): the
    domains it accepted are kept in the cache folder, and an address on one of them is answered without it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runs = [imported(workspace, command, EXAMPLE_RELEASE) for _ in ("learns", "knows")]
    for done, _ in runs:
        assert done.returncode == 0, done.stderr[-2000:]
    assert "email_validator" in runs[0][1], "the first run asked email-validator"
    assert not {m for m in runs[1][1] if m.split(".")[0] == "email_validator"}
    assert (
        runs[0][0].stdout == runs[1][0].stdout
        and runs[0][0].stderr.split("MODULES")[0] == runs[1][0].stderr.split("MODULES")[0]
    )


def test_help_lists_every_command_without_importing_one(workspace: Path) -> None:
    done, modules = imported(workspace, "--help")
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout
    loaded = {m for m in modules if m.startswith("distribute.cli.")}
    assert not loaded, f"--help imported {sorted(loaded)}"
    assert "pathlib" not in modules and "logging" not in modules


def test_the_help_listing_is_each_commands_own_first_line() -> None:
    """SUMMARIES (what --help lists without importing the commands) says what each command's docstring says."""
    ctx = click.Context(cli)
    assert set(SUMMARIES) == set(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and not command.hidden and not command.short_help
        for limit in (30, 45, 62, 200):
            shown = click.Command(name, help=SUMMARIES[name]).get_short_help_str(limit)
            assert shown == command.get_short_help_str(limit), name


def test_templates_compiled_once_are_reused_and_an_edited_one_is_compiled_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates live in the user's cache folder; Jinja checks each source's hash before using one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UNSUBSCRIBE_KEY", "k3y-for-unsubscribe-tokens-0123456789")
    builtin = (ROOT / "templates" / "email" / "newsletter.txt.j2").read_text(encoding="utf-8")
    override = workspace / "templates" / "email" / "newsletter.txt.j2"
    override.parent.mkdir(parents=True)
    sent = []
    for marker in ("MARKER-ONE", "MARKER-TWO"):
        first, rest = builtin.split("\n", 1)
        override.write_text(f"{first}\n{marker}\n{rest}", encoding="utf-8")
        out = f"out-{marker}"
        done, _ = imported(workspace, "send", EXAMPLE_RELEASE, "-c", "newsletter", "--dry-run", "--outbox", out)
        assert done.returncode == 0, done.stderr[-2000:]
        sent.append(b"".join(p.read_bytes() for p in (workspace / out / "newsletter").glob("*.eml")))
        cached = list((tmp_path / "cache" / "distribute").glob("templates-*/*.jinja"))
        assert len(cached) >= 2, "the newsletter's text and HTML templates were kept compiled"
    assert b"MARKER-ONE" in sent[0] and b"MARKER-TWO" not in sent[0]
    assert b"MARKER-TWO" in sent[1] and b"MARKER-ONE" not in sent[1], "the edited template was compiled again"


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_validate_and_preview_leave_their_objects_to_the_end_of_the_run(workspace: Path, command: str) -> None:
    """The collector's full passes over a cold run's ~100,000 lasting objects were ~10% of it and freed nothing."""
    done = instrumented(
        workspace,
        "import gc\natexit.register(lambda: print('FULL', gc.get_stats()[2]['collections'], file=sys.stderr))\n",
        command,
        EXAMPLE_RELEASE,
    )
    full = [line for line in done.stderr.splitlines() if line.startswith("FULL ")]
    assert full == ["FULL 0"], done.stderr[-2000:]


def test_the_collector_is_as_it_was_after_a_command_in_the_same_process(workspace: Path) -> None:
    import gc

    before = gc.get_threshold()
    result = CliRunner().invoke(cli, ["--config", str(workspace / "config.toml"), "preview", EXAMPLE_RELEASE])
    assert result.exit_code == 0, result.output
    assert gc.get_threshold() == before


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_each_body_is_parsed_once_for_its_text_and_once_for_its_html(workspace: Path, command: str) -> None:
    """The text email, feed, wire copy and translation check each re-parsed the Markdown: 5-6 times a body."""
    done = instrumented(
        workspace,
        "import collections, markdown_it\n"
        "parses, parse = collections.Counter(), markdown_it.MarkdownIt.parse\n"
        "markdown_it.MarkdownIt.parse = lambda self, src, env=None: (parses.update([src]), parse(self, src, env))[1]\n"
        "atexit.register(lambda: print('PARSES', *sorted(parses.values()), file=sys.stderr))\n",
        command,
        EXAMPLE_RELEASE,
    )
    counts = [line for line in done.stderr.splitlines() if line.startswith("PARSES ")]
    assert counts == ["PARSES 2 2"], done.stderr[-2000:]  # the English body and its Korean translation


def test_catalogs_compiled_once_are_reused_and_an_edited_one_is_compiled_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Babel's .po reader ran on every cold run of a translated release: compiled catalogs are kept, by hash."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    own = workspace / "locale" / "ko" / "LC_MESSAGES"
    own.mkdir(parents=True)
    for word in ("첫 보도", "둘째 보도"):
        (own / "distribute.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            f'msgid "FOR IMMEDIATE RELEASE"\nmsgstr "{word}"\n',
            encoding="utf-8",
        )
        for run in ("compiles", "reuses"):
            done, modules = imported(workspace, "preview", EXAMPLE_RELEASE, "-c", "wire-desk-ko")
            assert done.returncode == 0, done.stderr[-2000:]
            assert f"│ {word} " in done.stdout, "the workspace's own string (the edited one) heads the Korean copy"
            assert ("babel.messages.pofile" in modules) == (run == "compiles"), run
    assert len(list((tmp_path / "cache" / "distribute").glob("catalogs-*/*.mo"))) == 3  # built-in, first, edited


def test_the_email_preview_parses_only_the_headers_it_shows(workspace: Path) -> None:
    """policy.default built a header object on every look-up (Content-Type a dozen times a message)."""
    done = instrumented(
        workspace,
        "import email.headerregistry, distribute.adapters.email.preview as ep\n"
        "built, messages, inside = [], [], [False]\n"
        "make = email.headerregistry.HeaderRegistry.__call__\n"
        "def counted(self, name, value):\n"
        "    if inside[0]: built.append(name)\n"
        "    return make(self, name, value)\n"
        "email.headerregistry.HeaderRegistry.__call__ = counted\n"
        "shown = ep.preview\n"
        "def preview(adapter, deliveries, channel):\n"
        "    inside[0] = True\n"
        "    try: return shown(adapter, deliveries, channel)\n"
        "    finally: inside[0] = False; messages.extend(deliveries)\n"
        "ep.preview = preview\n"
        "atexit.register(lambda: print('HEADERS', len(messages), len(built), len(set(built) - set(ep.SHOWN)), file=sys.stderr))\n",
        "preview",
        EXAMPLE_RELEASE,
    )
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("HEADERS ")]
    messages, built, others = map(int, line.split()[1:])
    assert messages == 7  # the newsletter's three English readers and its Korean one, the press list's three
    assert others == 0 and built <= messages * len(SHOWN_HEADERS), line


def test_the_terminal_preview_measures_its_lines_without_extra_passes(workspace: Path) -> None:
    """Console.print's crop pass measured every segment of the full-width panels again (~a tenth of
    the print), and a panel title given as markup was parsed for tags and emoji codes."""
    done = instrumented(
        workspace,
        "import importlib, rich.cells\n"
        "measured, measure = [0], rich.cells.cell_len\n"
        "def counted(*args, **kwargs):\n"
        "    measured[0] += 1\n"
        "    return measure(*args, **kwargs)\n"
        "for name in ('cells', '_wrap', 'console', 'containers', 'panel', 'segment', 'text'):\n"
        "    module = importlib.import_module('rich.' + name)\n"
        "    if getattr(module, 'cell_len', None) is measure: module.cell_len = counted\n"
        "atexit.register(lambda: print('MEASURED', measured[0], file=sys.stderr))\n",
        "preview",
        EXAMPLE_RELEASE,
    )
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("MEASURED ")]
    (modules,) = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")]
    lines = done.stdout.count("\n")
    assert lines > 1000 and "│" in done.stdout  # the panels, side by side where a channel has two languages
    assert int(line.split()[1]) / lines < 23, f"{line} for {lines} lines (26 a line with the crop pass)"
    assert "rich._emoji_codes" not in modules.split() and "rich.markup" in modules.split()


def test_each_settings_class_is_resolved_once(workspace: Path) -> None:
    """typing.get_type_hints evaluated a settings class's annotations again for every table of every channel file."""
    done = instrumented(
        workspace,
        "import collections, typing\n"
        "resolved, resolve = collections.Counter(), typing.get_type_hints\n"
        "def counted(obj, *args, **kwargs):\n"
        "    resolved[getattr(obj, '__qualname__', repr(obj))] += 1\n"
        "    return resolve(obj, *args, **kwargs)\n"
        "typing.get_type_hints = counted\n"
        "atexit.register(lambda: print('RESOLVED', len(resolved), max(resolved.values()), file=sys.stderr))\n",
        "validate",
        EXAMPLE_RELEASE,
    )
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("RESOLVED ")]
    classes, most = map(int, line.split()[1:])
    assert classes > 5 and most == 1, line
