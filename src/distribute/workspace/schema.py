"""Typed settings: one dataclass per table is the schema, the validation and the documentation.

`load(cls, data, ...)` turns a TOML table into an instance of the dataclass `cls`, refusing
unknown keys and wrong types with the file and line. Field metadata:
`key` (the TOML name when it is not a Python identifier, e.g. "from") and `doc`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..errors import ConfigError, DistributeError, SecretMissing
from .paths import Bounds
from .toml_lines import TomlSource

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")

MASK = "********"

# Values revealed in this process, so that any text leaving it can be scrubbed of them.
_REVEALED: set[str] = set()


def redact(text: str) -> str:
    """Replace every secret value this process has read with a mask."""
    for value in _REVEALED:
        if value and value in text:
            text = text.replace(value, MASK)
    return text


@dataclasses.dataclass(frozen=True)
class Secret:
    """A secret given by reference (`{ env = "NAME" }`); its value is read only when used."""

    env: str

    def reveal(self, channel: str = "", environ: Mapping[str, str] | None = None) -> str:
        """The secret's value; SecretMissing names the variable (never a value) when unset."""
        value = (os.environ if environ is None else environ).get(self.env)
        if not value:
            where = f"channel {channel!r} needs " if channel else "needs "
            raise SecretMissing(f"{where}the environment variable {self.env}; set it before sending")
        if len(value) >= 4:  # masking a 1-3 character "secret" would shred ordinary output
            _REVEALED.add(value)
        return value

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether the referenced variable is set (and non-empty)."""
        return bool((os.environ if environ is None else environ).get(self.env))

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    __str__ = __repr__


def field(
    default: Any = dataclasses.MISSING, *, doc: str = "", key: str | None = None, anywhere: bool = False, **kw: Any
) -> Any:
    """A dataclass field carrying its documentation and TOML key.

    `anywhere`: its paths may lead outside the workspace (only `allow_paths` itself).
    """
    meta: dict[str, Any] = {"doc": doc}
    if key:
        meta["key"] = key
    if anywhere:
        meta["anywhere"] = True
    if default is not dataclasses.MISSING and isinstance(default, (list, dict)):

        def factory(d: Any = default) -> Any:
            return type(d)(d)

        return dataclasses.field(default_factory=factory, metadata=meta, **kw)
    return dataclasses.field(default=default, metadata=meta, **kw)


def toml_key(f: dataclasses.Field[Any]) -> str:
    """The name a field has in TOML."""
    return str(f.metadata.get("key", f.name))


@dataclasses.dataclass(frozen=True)
class Context:
    """Where a table came from, for messages and for resolving relative paths."""

    source: TomlSource
    table: tuple[str | int, ...] = ()
    root: Path | None = None
    error: type[DistributeError] = ConfigError
    what: str = ""
    bounds: Bounds | None = None  # where Path values must lead (workspace/paths.py); None: anywhere

    def fail(self, message: str, key: str | None = None) -> typing.NoReturn:
        raise self.error(message, path=self.source.path, line=self.source.line_of(self.table, key))

    def child(self, name: str | int) -> Context:
        return dataclasses.replace(self, table=self.table + (name,))


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if tp is Secret:
        return '{ env = "VARIABLE" }'
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        Path: "a path",
        dt.datetime: "a date-time",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def convert(tp: Any, value: Any, ctx: Context, key: str) -> Any:
    """Check and convert one value to the annotated type (each kind of type by its own function below)."""
    by_origin = _BY_ORIGIN.get(typing.get_origin(tp))
    if by_origin is not None:
        return by_origin(tp, value, ctx, key)
    if tp is Any:
        return value
    by_type = _BY_TYPE.get(tp)
    if by_type is not None:
        return by_type(tp, value, ctx, key)
    if dataclasses.is_dataclass(tp):
        return _table(tp, value, ctx, key)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    _refuse(tp, value, ctx, key)


def _refuse(tp: Any, value: Any, ctx: Context, key: str) -> typing.NoReturn:
    ctx.fail(f"{key} must be {_type_name(tp)}, not {value!r}", key)


def _union(tp: Any, value: Any, ctx: Context, key: str) -> Any:
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    choices = [a for a in args if a is not type(None)]
    if len(choices) == 1:  # Optional[X]: X's own message is the clearest (and never echoes a secret)
        return convert(choices[0], value, ctx, key)
    for arg in choices:
        try:
            return convert(arg, value, ctx, key)
        except DistributeError:
            continue
    _refuse(tp, value, ctx, key)


def _literal(tp: Any, value: Any, ctx: Context, key: str) -> Any:
    if value in typing.get_args(tp):
        return value
    _refuse(tp, value, ctx, key)


def _list(tp: Any, value: Any, ctx: Context, key: str) -> list[Any]:
    (item,) = typing.get_args(tp)
    if not isinstance(value, list):
        ctx.fail(f"{key} must be {_type_name(tp)}", key)
    if dataclasses.is_dataclass(item):
        return [load(typing.cast(type, item), v, ctx.child(key).child(i)) for i, v in enumerate(value)]
    return [convert(item, v, ctx, key) for v in value]


def _dict(tp: Any, value: Any, ctx: Context, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        ctx.fail(f"{key} must be a table", key)
    _, vt = typing.get_args(tp)
    return {k: convert(vt, v, ctx.child(key), k) for k, v in value.items()}


def _table(tp: Any, value: Any, ctx: Context, key: str) -> Any:
    if not isinstance(value, dict):
        ctx.fail(f"{key} must be a table", key)
    return load(typing.cast(type, tp), value, ctx.child(key))


def _secret(tp: Any, value: Any, ctx: Context, key: str) -> Secret:
    if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
        return Secret(value["env"])
    # A literal secret in a file is refused: it would end up in version control and logs.
    ctx.fail(f'{key} is a secret: give it by reference, {key} = {{ env = "VARIABLE" }}', key)


def _path(tp: Any, value: Any, ctx: Context, key: str) -> Path:
    if not isinstance(value, str) or not value:
        ctx.fail(f"{key} must be a path (text)", key)
    path = Path(value).expanduser()
    path = path if path.is_absolute() or ctx.root is None else ctx.root / path
    label = f"[{'.'.join(str(t) for t in ctx.table)}] {key}" if ctx.table else key
    refused = ctx.bounds.check(path, label, value) if ctx.bounds is not None else None
    if refused:
        ctx.fail(refused, key)
    return path


# What each TOML scalar type takes: a bool is no number here, though Python counts it an int.
_SCALARS: dict[Any, Callable[[Any], bool]] = {
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    str: lambda v: isinstance(v, str),
}


def _scalar(tp: Any, value: Any, ctx: Context, key: str) -> Any:
    if _SCALARS[tp](value):
        return float(value) if tp is float else value
    _refuse(tp, value, ctx, key)


Converter = Callable[[Any, Any, Context, str], Any]
_BY_ORIGIN: dict[Any, Converter] = {
    typing.Union: _union,
    types.UnionType: _union,
    Literal: _literal,
    list: _list,
    dict: _dict,
}
# Exact types; looked up before "any dataclass is a table", since Secret is a dataclass too.
_BY_TYPE: dict[Any, Converter] = {Secret: _secret, Path: _path, **{tp: _scalar for tp in _SCALARS}}


@functools.cache
def _shape(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A settings class's resolved annotations and its fields by TOML key, worked out once per class.

    typing.get_type_hints evaluates every annotation's text again on each call: once per table of
    every channel file was ~1% of a cold `validate`.
    """
    hints = typing.get_type_hints(cls)
    fields = {toml_key(f): f for f in dataclasses.fields(typing.cast("type[DataclassInstance]", cls)) if f.init}
    return hints, fields


def load(cls: type[T], data: Mapping[str, Any], ctx: Context) -> T:
    """Build the dataclass `cls` from a TOML table, refusing unknown keys and bad types."""
    hints, fields = _shape(typing.cast(type, cls))
    where = ctx.what
    if ctx.table:
        table = "".join(f"[{t}]" if isinstance(t, int) else (f".{t}" if i else t) for i, t in enumerate(ctx.table))
        table = table if any(isinstance(t, int) for t in ctx.table) else f"[{table}]"
        where = table + (f" of {ctx.what}" if ctx.what else "")
    for name in data:
        if name not in fields:
            known = ", ".join(sorted(fields))
            ctx.fail(f"unknown key {name!r}{' in ' + where if where else ''}; known keys: {known}", name)
    kwargs: dict[str, Any] = {}
    for key, f in fields.items():
        fctx = dataclasses.replace(ctx, bounds=None) if f.metadata.get("anywhere") else ctx
        if key in data:
            kwargs[f.name] = convert(hints[f.name], data[key], fctx, key)
        elif isinstance(f.default, Path) and ctx.root is not None and not f.default.is_absolute():
            # Default paths are relative to the workspace root too, like written ones (and a
            # default folder that is a symlink to elsewhere is as outside as a written one).
            kwargs[f.name] = ctx.root / f.default
            refused = fctx.bounds.check(kwargs[f.name], f"{key} (default)", f.default) if fctx.bounds else None
            if refused:
                ctx.fail(refused)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            ctx.fail(f"missing required key {key!r}{' in ' + where if where else ''}; add {key} = ...", None)
    try:
        return cls(**kwargs)
    except ValueError as exc:  # __post_init__ checks
        ctx.fail(str(exc))


def secrets_of(obj: Any) -> list[Secret]:
    """Every Secret reachable from a settings object."""
    found: list[Secret] = []
    if isinstance(obj, Secret):
        found.append(obj)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            found.extend(secrets_of(getattr(obj, f.name)))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            found.extend(secrets_of(item))
    elif isinstance(obj, dict):
        for item in obj.values():
            found.extend(secrets_of(item))
    return found


def describe(cls: type) -> list[tuple[str, str, str, str]]:
    """(key, type, default, doc) for every field: the documentation of a settings class."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append((toml_key(f), _type_name(hints[f.name]), default, str(f.metadata.get("doc", ""))))
    return rows
