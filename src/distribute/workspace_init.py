"""Create a new workspace from the example files shipped inside the package."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from .errors import UsageError


def skeleton() -> Path:
    """The example workspace: shipped in the wheel, or the repository root in a checkout."""
    packaged = resources.files("distribute") / "skeleton"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2]


def create_workspace(directory: Path) -> list[Path]:
    """Copy config, channels and the example release into `directory`; never overwrite."""
    src = skeleton()
    directory.mkdir(parents=True, exist_ok=True)
    plan = [(src / "config.example.toml", directory / "config.toml")]
    for folder in ("channels", "releases", "lists"):
        for item in sorted((src / folder).rglob("*")) if (src / folder).is_dir() else []:
            if item.is_file():
                plan.append((item, directory / folder / item.relative_to(src / folder)))
    existing = [dst for _, dst in plan if dst.exists()]
    if existing:
        raise UsageError(f"{existing[0]} already exists; init makes a new workspace and overwrites nothing")
    for source, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (directory / "templates").mkdir(exist_ok=True)
    return [dst for _, dst in plan]
