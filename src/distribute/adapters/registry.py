"""The adapter registry: built-ins by name in code, third-party ones from the entry-point group."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnknownAdapterError

if TYPE_CHECKING:
    from importlib import metadata

    from .base import Adapter

GROUP = "distribute.adapters"

# name -> "module:Class"; imported only when a channel uses it, to keep start-up cheap.
BUILTIN: dict[str, str] = {
    "email": "distribute.adapters.email.adapter:EmailAdapter",
    "rss": "distribute.adapters.rss.adapter:RssAdapter",
    "wire": "distribute.adapters.wire.adapter:WireAdapter",
    "mastodon": "distribute.adapters.social.mastodon:MastodonAdapter",
    "bluesky": "distribute.adapters.social.bluesky:BlueskyAdapter",
    "linkedin": "distribute.adapters.social.linkedin:LinkedInAdapter",
    "x": "distribute.adapters.social.x:XAdapter",
    "threads": "distribute.adapters.social.threads:ThreadsAdapter",
}

# name -> "module:Class" of a built-in's settings where they live apart from its adapter: every channel
# file is checked against its settings, a disabled one too, and a check needs only these classes.
SETTINGS: dict[str, str] = {
    "email": "distribute.adapters.email.settings:EmailSettings",
    "mastodon": "distribute.adapters.social.settings:MastodonSettings",
    "bluesky": "distribute.adapters.social.settings:BlueskySettings",
    "linkedin": "distribute.adapters.social.settings:LinkedInSettings",
    "x": "distribute.adapters.social.settings:XSettings",
    "threads": "distribute.adapters.social.settings:ThreadsSettings",
}


class Registry:
    """Adapters by name; pass it around, never a global."""

    def __init__(self, builtins: Mapping[str, str] | None = None, group: str = GROUP):
        self._builtins = dict(BUILTIN if builtins is None else builtins)
        self._group = group
        self._loaded: dict[str, type[Adapter]] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None

    def _third_party(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            # Imported (and every installed package's metadata read) only when a name is not a built-in.
            from importlib import metadata

            self._entry_points = {ep.name: ep for ep in metadata.entry_points(group=self._group)}
        return self._entry_points

    def names(self) -> list[str]:
        """Every adapter name: built-in and installed."""
        return sorted(set(self._builtins) | set(self._third_party()))

    def builtin_names(self) -> list[str]:
        return sorted(self._builtins)

    def register(self, name: str, target: str | type[Adapter]) -> None:
        """Add an adapter by "module:Class" or by class (built-ins win over entry points)."""
        if isinstance(target, str):
            self._builtins[name] = target
        else:
            self._builtins[name] = f"{target.__module__}:{target.__qualname__}"
            self._loaded[name] = target

    def _shipped(self, name: str) -> bool:
        """A built-in adapter as shipped (not replaced by register()), not imported yet."""
        return name in BUILTIN and self._builtins.get(name) == BUILTIN[name] and name not in self._loaded

    def settings(self, name: str, *, path: Path | str | None = None, line: int | None = None) -> type[Any]:
        """The settings class of the adapter of that name (a channel file's schema), importing no more than it needs."""
        if not (self._shipped(name) and name in SETTINGS):
            return self.get(name, path=path, line=line).Settings
        module_name, _, attr = SETTINGS[name].partition(":")
        found: type[Any] = getattr(importlib.import_module(module_name), attr)
        return found

    def template_folder(self, name: str) -> Path | None:
        """The folder of templates the adapter of that name ships (None for every built-in: theirs are the package's)."""
        if self._shipped(name):
            return None
        return self.get(name).template_folder()

    def get(self, name: str, *, path: Path | str | None = None, line: int | None = None) -> type[Adapter]:
        """The adapter class of that name, imported now; unknown names list the known ones."""
        if name in self._loaded:
            return self._loaded[name]
        from .base import Adapter

        where = f"adapter {name!r}"
        if name in self._builtins:
            module_name, _, attr = self._builtins[name].partition(":")
            obj: object = getattr(importlib.import_module(module_name), attr)
        elif name in self._third_party():
            ep = self._third_party()[name]
            where = f"adapter {name!r} (entry point {ep.value!r} in group {self._group!r})"
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not look like our bug
                raise UnknownAdapterError(f"{where} failed to load: {exc}", path=path, line=line) from exc
        else:
            known = ", ".join(self.names()) or "none"
            raise UnknownAdapterError(f"unknown adapter {name!r}; known adapters: {known}", path=path, line=line)
        if not (isinstance(obj, type) and issubclass(obj, Adapter)):
            raise UnknownAdapterError(
                f"{where} is {obj!r}, not a subclass of distribute.adapters.base.Adapter", path=path, line=line
            )
        self._loaded[name] = obj
        return obj
