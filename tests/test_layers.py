"""The layers hold and the types check: the import-linter contracts of pyproject.toml are kept, mypy --strict is clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


def test_import_contracts_are_kept() -> None:
    # import-linter's own command (a test extra), run on the source tree as pyproject.toml configures it.
    script = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "BROKEN" not in result.stdout
    for contract in (
        "The layers:",
        "The workspace needs nothing of sending",
        "Adapter families are independent",
        "Adapters need no planning",
        "never imports click or rich",
        "No import cycles",
    ):
        assert contract in result.stdout


@pytest.mark.slow  # about 15 s with a cold cache (CI), under 1 s warm
def test_source_is_clean_under_mypy_strict() -> None:
    # pyproject.toml's [tool.mypy]: strict over src/; a test extra, like the stubs it needs.
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_no_function_of_the_library_is_too_complex() -> None:
    # pyproject.toml's [tool.ruff.lint] with C901 at max-complexity 12 (ruff is a test extra).
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "C901", "--output-format", "concise", "src"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
