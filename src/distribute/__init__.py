"""distribute: one press release, written once, out to every outlet at the right moment.

The public API of a plugin (docs/plugins.md): `distribute.adapters.base` (the adapter contract),
`distribute.testing` (its test suite), and the names below. They are imported on first use, so
`import distribute` stays as cheap as the cron fast path needs.
"""

from __future__ import annotations

__version__ = "0.1.0"

# name -> module that holds it
_PUBLIC = {
    "DistributeError": "distribute.errors",
    "ConfigError": "distribute.errors",
    "DeliveryError": "distribute.errors",
    "SecretMissing": "distribute.errors",
    "field": "distribute.workspace.schema",
    "Secret": "distribute.workspace.schema",
    "MASK": "distribute.workspace.schema",
    "Release": "distribute.release",
    "Channel": "distribute.workspace.config",
    "Workspace": "distribute.workspace.config",
}
__all__ = [
    "__version__",
    "ConfigError",
    "DeliveryError",
    "DistributeError",
    "SecretMissing",
    "field",
    "Secret",
    "MASK",
    "Release",
    "Channel",
    "Workspace",
]

TYPE_CHECKING = False  # not typing's: importing typing would cost the cron fast path
if TYPE_CHECKING:
    from typing import Any

    from .errors import ConfigError, DeliveryError, DistributeError, SecretMissing
    from .release import Release
    from .workspace.config import Channel, Workspace
    from .workspace.schema import MASK, Secret, field


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'distribute' has no attribute {name!r}")
