"""The layers hold: the import-linter contracts of pyproject.toml ([tool.importlinter]) are all kept."""

from __future__ import annotations

import subprocess
import sys

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
