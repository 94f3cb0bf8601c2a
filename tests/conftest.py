"""Shared fixtures: where the official standards live, and a throwaway copy of the example workspace."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def standards_path() -> Path:
    """The official schemas and vectors: $DISTRIBUTE_STANDARDS, else ../shared/standards."""
    override = os.environ.get("DISTRIBUTE_STANDARDS")
    path = Path(override) if override else ROOT.parent / "shared" / "standards"
    return path.resolve()


@pytest.fixture(scope="session")
def standards() -> Path:
    path = standards_path()
    if not path.is_dir():
        pytest.fail(f"standards not found at {path}; set DISTRIBUTE_STANDARDS to the folder")
    return path
