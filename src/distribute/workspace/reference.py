"""The configuration reference, generated from the settings classes themselves.

`python -m distribute.cli.reference > docs/reference.md` rewrites it (the commands' part comes
from the command line, which owns click); a test checks it is current, so every config key,
release field, channel key, adapter setting and command is documented.
"""

from __future__ import annotations

import dataclasses
import typing

from .schema import describe


def _table(cls: type, prefix: str = "") -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[str, type]] = []
    hints = typing.get_type_hints(cls)
    for key, type_name, default, doc in describe(cls):
        rows.append(f"| `{prefix}{key}` | {type_name} | `{default}` | {doc} |".replace("`required`", "required"))
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp) and f.init:
            nested.append((str(f.metadata.get("key", f.name)), typing.cast(type, tp)))
    out = rows
    for name, sub in nested:
        out += ["", f"`[{prefix}{name}]` — {(sub.__doc__ or '').strip().splitlines()[0]}", ""]
        out += _table(sub, f"{prefix}{name}.")
    return out


def settings_reference() -> list[str]:
    """The reference of every setting as Markdown lines (the commands follow, from cli/reference.py)."""
    from ..adapters.registry import Registry
    from ..release import Attachment, ChannelOverride, Contact, FrontMatter, Image
    from .config import ChannelCommon, Config

    lines = [
        "# Reference",
        "",
        "Generated from the code by `python -m distribute.cli.reference`; do not edit by hand.",
        "",
        "## config.toml",
        "",
        *_table(Config),
        "",
        "## Release front matter",
        "",
        *_table(FrontMatter),
    ]
    for title, cls in (
        ("[[contacts]]", Contact),
        ("[[images]]", Image),
        ("[[attachments]]", Attachment),
        ("[channel.NAME]", ChannelOverride),
    ):
        lines += ["", f"### {title}", "", *_table(cls)]
    lines += ["", "## Channel files: keys of every channel", "", *_table(ChannelCommon)]
    registry = Registry()
    for name in registry.builtin_names():
        adapter = registry.get(name)
        doc = (adapter.__doc__ or "").strip().splitlines()[0] if adapter.__doc__ else ""
        lines += [
            "",
            f"## Adapter `{name}`",
            "",
            doc,
            "",
            f"Public (waits for the embargo): {'yes' if adapter.public else 'no'}. "
            f"Idempotent (a delivery of unknown outcome is retried): {'yes' if adapter.idempotent else 'no'}. "
            f"Default template: `{adapter.default_template or '-'}`.",
            "",
        ]
        lines += _table(adapter.Settings)
    return lines
