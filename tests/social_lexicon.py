"""Bluesky lexicons as JSON Schema: records and XRPC inputs checked by jsonschema against the official files.

Lexicon has a few rules JSON Schema lacks; they become extra keywords: a string's `maxLength` /
`minLength` count UTF-8 bytes (`maxBytes` / `minBytes`), `maxGraphemes` counts extended
grapheme clusters, a blob's `accept` and `maxSize`. String formats (datetime, uri, at-uri,
cid, did, language, record-key, ...) are checked by a FormatChecker written from the atproto
specs. Unions are open in lexicon, but a record we send must only use members we know, so a
union here accepts exactly the referenced types that exist in the lexicon folder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import regex

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FORMATS = {
    "did": re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$"),
    "handle": re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"),
    "nsid": re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+$"),
    "at-uri": re.compile(
        r"^at://(did:[a-z]+:[a-zA-Z0-9._:%-]+|[a-zA-Z0-9.-]+)(/[a-zA-Z0-9.-]+(/[a-zA-Z0-9._~:-]{1,512})?)?$"
    ),
    # CIDv1 in base32 ("b...") or CIDv0 ("Qm...").
    "cid": re.compile(r"^(b[a-z2-7]{8,}|Qm[1-9A-HJ-NP-Za-km-z]{44})$"),
    "language": re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"),
    "record-key": re.compile(r"^(?!\.{1,2}$)[a-zA-Z0-9_~.:-]{1,512}$"),
    "tid": re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$"),
    "uri": re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]+$"),
}
TID = _FORMATS["tid"]


def _checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    for name, pattern in _FORMATS.items():
        checker.checks(name)(lambda value, p=pattern: not isinstance(value, str) or bool(p.match(value)))

    @checker.checks("datetime")
    def _datetime(value: object) -> bool:
        if not isinstance(value, str) or not _DATETIME.match(value):
            return False
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    @checker.checks("at-identifier")
    def _at_identifier(value: object) -> bool:
        return isinstance(value, str) and bool(_FORMATS["did"].match(value) or _FORMATS["handle"].match(value))

    return checker


def _extra_keywords() -> dict[str, Any]:
    def max_bytes(validator, limit, instance, schema):
        if isinstance(instance, str) and len(instance.encode("utf-8")) > limit:
            yield jsonschema.ValidationError(f"{len(instance.encode())} UTF-8 bytes, more than {limit}")

    def min_bytes(validator, limit, instance, schema):
        if isinstance(instance, str) and len(instance.encode("utf-8")) < limit:
            yield jsonschema.ValidationError(f"fewer than {limit} UTF-8 bytes")

    def max_graphemes(validator, limit, instance, schema):
        if isinstance(instance, str):
            count = len(regex.findall(r"\X", instance))
            if count > limit:
                yield jsonschema.ValidationError(f"{count} graphemes, more than {limit}")

    def blob(validator, spec, instance, schema):
        if not isinstance(instance, dict):
            return
        accept, size = spec.get("accept"), spec.get("maxSize")
        mime = instance.get("mimeType", "")
        if accept and not any(re.fullmatch(a.replace("*", ".+"), mime) for a in accept):
            yield jsonschema.ValidationError(f"blob mimeType {mime!r} not in {accept}")
        if size is not None and isinstance(instance.get("size"), int) and instance["size"] > size:
            yield jsonschema.ValidationError(f"blob of {instance['size']} bytes, more than {size}")

    return {"maxBytes": max_bytes, "minBytes": min_bytes, "maxGraphemes": max_graphemes, "lexBlob": blob}


class Lexicons:
    """The lexicon folder, converted def by def into one JSON Schema document."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.docs: dict[str, dict[str, Any]] = {}
        for path in folder.rglob("*.json"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            self.docs[doc["id"]] = doc
        self.defs: dict[str, Any] = {}
        for nsid, doc in self.docs.items():
            for name, definition in doc["defs"].items():
                self.defs[self._name(nsid, name)] = self._convert(definition, nsid)
        validator_cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, _extra_keywords())
        self._validator_cls = validator_cls
        self._checker = _checker()

    @staticmethod
    def _name(nsid: str, name: str) -> str:
        return f"{nsid}#{name}"

    def _ref(self, ref: str, nsid: str) -> tuple[str, str]:
        """(schema key, the $type value a union member carries)."""
        if ref.startswith("#"):
            target_nsid, name = nsid, ref[1:]
        elif "#" in ref:
            target_nsid, name = ref.split("#", 1)
        else:
            target_nsid, name = ref, "main"
        type_value = target_nsid if name == "main" else f"{target_nsid}#{name}"
        return self._name(target_nsid, name), type_value

    def _convert(self, d: dict[str, Any], nsid: str) -> dict[str, Any]:
        t = d.get("type")
        if t == "record":
            return self._convert(d["record"], nsid)
        if t in ("procedure", "query"):
            body = d.get("input", {}).get("schema")
            return self._convert(body, nsid) if body else {}
        if t == "object":
            out: dict[str, Any] = {"type": "object", "properties": {}, "required": list(d.get("required", []))}
            nullable = set(d.get("nullable", []))
            for key, prop in d.get("properties", {}).items():
                schema = self._convert(prop, nsid)
                out["properties"][key] = {"anyOf": [schema, {"type": "null"}]} if key in nullable else schema
            # $type may ride along on any object (union members carry it)
            out["properties"].setdefault("$type", {"type": "string"})
            return out
        if t == "string":
            out = {"type": "string"}
            for lex, js in (("maxLength", "maxBytes"), ("minLength", "minBytes"), ("maxGraphemes", "maxGraphemes")):
                if lex in d:
                    out[js] = d[lex]
            if "minGraphemes" in d:
                out["minLength"] = d["minGraphemes"]
            if "format" in d:
                out["format"] = d["format"]
            if "enum" in d:
                out["enum"] = d["enum"]
            if "const" in d:
                out["const"] = d["const"]
            return out
        if t == "integer":
            out = {"type": "integer"}
            for key in ("minimum", "maximum", "enum", "const"):
                if key in d:
                    out[key] = d[key]
            return out
        if t == "boolean":
            return {"type": "boolean"}
        if t == "array":
            out = {"type": "array", "items": self._convert(d["items"], nsid)}
            if "maxLength" in d:
                out["maxItems"] = d["maxLength"]
            if "minLength" in d:
                out["minItems"] = d["minLength"]
            return out
        if t == "ref":
            key, _ = self._ref(d["ref"], nsid)
            return {"$ref": f"#/$defs/{key}"}
        if t == "union":
            members = []
            for ref in d["refs"]:
                key, type_value = self._ref(ref, nsid)
                if key.split("#")[0] in self.docs:  # only members we hold the lexicon of
                    members.append(
                        {
                            "allOf": [
                                {"$ref": f"#/$defs/{key}"},
                                {"properties": {"$type": {"const": type_value}}, "required": ["$type"]},
                            ]
                        }
                    )
            return {"oneOf": members} if members else {"not": {}}
        if t == "blob":
            return {
                "type": "object",
                "required": ["$type", "ref", "mimeType", "size"],
                "properties": {
                    "$type": {"const": "blob"},
                    "ref": {
                        "type": "object",
                        "required": ["$link"],
                        "properties": {"$link": {"type": "string", "format": "cid"}},
                        "additionalProperties": False,
                    },
                    "mimeType": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
                "lexBlob": {"accept": d.get("accept"), "maxSize": d.get("maxSize")},
            }
        if t == "unknown":
            return {"type": "object"}
        if t in ("cid-link",):
            return {"type": "object", "required": ["$link"]}
        return {}

    def schema(self, nsid: str, name: str = "main") -> dict[str, Any]:
        return {"$defs": self.defs, "$ref": f"#/$defs/{self._name(nsid, name)}"}

    def errors(self, nsid: str, value: Any, name: str = "main") -> list[str]:
        """Every way `value` breaks the lexicon def (empty when valid)."""
        validator = self._validator_cls(self.schema(nsid, name), format_checker=self._checker)
        out = []
        for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
            if e.context:  # a union: say why the member of the right $type failed, not just "no match"
                e = _member_error(e)
            out.append(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}")
        return out


def _member_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    groups: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        groups.setdefault(sub.relative_schema_path[0], []).append(sub)
    for subs in groups.values():
        if not any("$type" in sub.relative_path or "$type" in sub.relative_schema_path for sub in subs):
            return subs[0]
    return error


@cache
def lexicons(folder: str) -> Lexicons:
    return Lexicons(Path(folder))
