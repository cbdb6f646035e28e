"""Filling an OpenAPI operation's path and query parameters from its schema (examples, enums,
defaults, formats) or from ids seen in earlier answers; shared by the operation sweeps of the
functional suite and the probes of the security suite."""

from __future__ import annotations

import re
import uuid
from typing import Any

from prodaudit.openapi import OpenAPIDoc, Operation

ID_KEY_RE = re.compile(r"(^id$|_id$|Id$|^uuid$|^slug$)")
MAX_SEEN_IDS = 50


def collect_ids(body: Any, seen: dict[str, list[Any]], depth: int = 0) -> None:
    """Remember id-like values from a JSON response (for path parameters of later calls)."""
    if depth > 4 or sum(len(v) for v in seen.values()) > MAX_SEEN_IDS:
        return
    if isinstance(body, list):
        for item in body[:10]:
            collect_ids(item, seen, depth + 1)
    elif isinstance(body, dict):
        for k, v in body.items():
            if isinstance(v, str | int) and not isinstance(v, bool) and ID_KEY_RE.search(str(k)):
                bucket = seen.setdefault(str(k), [])
                if v not in bucket:
                    bucket.append(v)
            elif isinstance(v, dict | list):
                collect_ids(v, seen, depth + 1)


def _example(schema: dict[str, Any], param: dict[str, Any]) -> Any:
    for holder in (param, schema):
        if "example" in holder:
            return holder["example"]
        ex = holder.get("examples")
        if isinstance(ex, list) and ex:
            return ex[0]
        if isinstance(ex, dict) and ex:
            first = next(iter(ex.values()))
            if isinstance(first, dict) and "value" in first:
                return first["value"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    return None


def _by_type(schema: dict[str, Any]) -> Any:
    for sub in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(sub), list):
            for s in schema[sub]:
                if isinstance(s, dict) and s.get("type") != "null":
                    return _by_type(s)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    fmt = schema.get("format", "")
    if typ in ("integer", "number"):
        low = schema.get("minimum")
        return low if isinstance(low, int | float) and low > 1 else 1
    if typ == "boolean":
        return False
    if fmt == "uuid":
        return str(uuid.UUID(int=1))
    if fmt == "date":
        return "2024-01-01"
    if fmt == "date-time":
        return "2024-01-01T00:00:00Z"
    if fmt == "email":
        return "audit@example.com"
    return "1" if typ in (None, "string") else None


def param_value(
    doc: OpenAPIDoc, param: dict[str, Any], seen: dict[str, list[Any]]
) -> tuple[Any, str]:
    """A value for a parameter and where it came from (example, seen id, type)."""
    schema = doc.resolve(param.get("schema") or {})
    if not isinstance(schema, dict):
        schema = {}
    name = str(param.get("name", ""))
    ex = _example(schema, param)
    if ex is not None:
        return ex, "example"
    if param.get("in") == "path" and (name in seen or ID_KEY_RE.search(name)):
        for key in (name, name.split("_")[-1], "id"):
            if seen.get(key):
                return seen[key][0], f"id seen in an earlier response ({key})"
    return _by_type(schema), "type"


def build_request(
    doc: OpenAPIDoc, op: Operation, seen: dict[str, list[Any]]
) -> tuple[str, dict[str, Any], list[str]] | None:
    """(path with parameters filled, query params, notes), or None when a required
    non-path/query parameter cannot be filled."""
    path = op.path
    query: dict[str, Any] = {}
    notes: list[str] = []
    for p in op.parameters:
        where = p.get("in")
        required = bool(p.get("required")) or where == "path"
        if where not in ("path", "query"):
            if required and where == "header":
                return None
            continue
        if where == "query" and not required:
            continue
        value, source = param_value(doc, p, seen)
        if value is None:
            return None
        if where == "path":
            path = path.replace("{" + str(p.get("name")) + "}", str(value))
            notes.append(f"{p.get('name')}={value} ({source})")
        else:
            query[str(p.get("name"))] = value
    if "{" in path:
        return None
    return path, query, notes
