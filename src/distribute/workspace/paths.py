"""Where files may be: every path a release, channel file or config.toml names stays inside the workspace.

A release names its images and attachments; those files are inlined into newsletters and copied
to the public web folder. A path that leads outside the workspace (`../../etc/passwd`, an absolute
path, a symlink inside the workspace pointing elsewhere) would publish whatever it reaches, so
every path is resolved (symlinks followed) and must end inside the workspace root or one of the
folders config.toml lists in `allow_paths`. This module is the one place that rule lives:
typed settings (`settings.convert` for every `Path` field), release files and adapter defaults
all ask `Bounds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bounds:
    """The folders files may be in: the workspace root and the folders config.toml allows."""

    root: Path
    allowed: tuple[Path, ...] = ()

    @classmethod
    def of(cls, root: Path, allowed: tuple[Path, ...] | list[Path] = ()) -> Bounds:
        return cls(root.resolve(), tuple(p.resolve() for p in allowed))

    def contains(self, path: Path) -> bool:
        """Whether `path`, symlinks followed, is inside the root or an allowed folder."""
        real = path.resolve()  # non-strict: a file still to be written resolves through its existing parents
        return any(real.is_relative_to(base) for base in (self.root, *self.allowed))

    def refusal(self, what: str, value: object, path: Path) -> str:
        """The message for a path outside: what was written, where it leads, and what to do."""
        real = path.resolve()
        leads = "" if str(real) == str(value) else f" (it leads to {real})"
        return (
            f"{what} {str(value)!r}{leads} must be inside the workspace ({self.root}); "
            "move the file there or allow its folder with allow_paths in config.toml"
        )

    def check(self, path: Path, what: str, value: object) -> str | None:
        """None when `path` may be used, else the message refusing it."""
        return None if self.contains(path) else self.refusal(what, value, path)
