"""Documentation stays true: the generated reference is current and names everything."""

from __future__ import annotations

from conftest import ROOT
from distribute.adapters.registry import BUILTIN
from distribute.cli import COMMANDS
from distribute.cli.reference import generate


def test_reference_is_current() -> None:
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == generate(), (
        "docs/reference.md is stale: run `python -m distribute.cli.reference > docs/reference.md`"
    )


def test_every_command_and_adapter_is_in_the_docs() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"distribute {name}" in text and f"distribute {name}" in readme, name
    for name in BUILTIN:
        assert f"## Adapter `{name}`" in text
