"""audit.json: the serialised AuditRun, source of truth for every other report.

A large product's run is large (an env graph of 100,000 variables: tens of MB of JSON), so the
report writer never holds audit.json as one string: ``as_json`` gives the data exactly as
``json.loads`` would read it back, sharing every part that is already plain JSON, and ``write``
streams the text to the file in bounded pieces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prodaudit.model import AuditRun
from prodaudit.report.interface import Renderer

#: pieces of encoded JSON joined per write (bounded memory, few write calls)
CHUNKS_PER_WRITE = 65536


def _encoder() -> json.JSONEncoder:
    return json.JSONEncoder(indent=2, sort_keys=False, default=str)


class JsonRenderer(Renderer):
    name = "json"
    filename = "audit.json"
    description = (
        "the source of truth (JSON Schema: `docs/schemas/audit.schema.json`); every other file is "
        "rendered from it (`invoke report.build`)"
    )

    def format(self, run: AuditRun) -> str:
        return _encoder().encode(run.to_dict()) + "\n"

    def write(self, data: Any, path: Path) -> None:
        """Write ``data`` (a run's ``to_dict()``) to ``path``: the same text as ``format``,
        streamed piece by piece, never held whole."""
        with path.open("w", encoding="utf-8") as fh:
            batch: list[str] = []
            for chunk in _encoder().iterencode(data):
                batch.append(chunk)
                if len(batch) >= CHUNKS_PER_WRITE:
                    fh.write("".join(batch))
                    batch.clear()
            batch.append("\n")
            fh.write("".join(batch))


def _key(k: Any) -> str:
    """A dict key as JSON writes it (``json.dumps`` converts these and refuses the rest)."""
    if type(k) is str:
        return k
    if isinstance(k, str):
        return str.__str__(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        return int.__repr__(k)
    if isinstance(k, float):
        return json.loads(json.dumps({k: 0})).popitem()[0]  # Infinity, NaN, repr
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def as_json(obj: Any) -> Any:
    """``json.loads(json.dumps(obj, default=str))`` without the text: tuples become lists, keys
    strings, other objects ``str(obj)``, subclasses of str/int/float plain values. A dict or list
    that is already plain JSON is returned itself, not copied, so a large run is not held twice."""
    t = type(obj)
    if t is str or t is int or t is float or t is bool or obj is None:
        return obj
    if t is dict:
        out: dict[str, Any] | None = None
        for k, v in obj.items():
            nk, nv = _key(k), as_json(v)
            if out is None and (nk is not k or nv is not v):
                out = {}
                for k0, v0 in obj.items():  # the entries before this one, unchanged
                    if k0 is k:
                        break
                    out[k0] = v0
            if out is not None:
                out[nk] = nv
        return obj if out is None else out
    if t is list:
        items = [as_json(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if isinstance(obj, list | tuple):
        return [as_json(v) for v in obj]
    if isinstance(obj, dict):
        return {_key(k): as_json(v) for k, v in obj.items()}
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int(int.__repr__(obj))
    if isinstance(obj, float):
        return float(float.__repr__(obj))
    return as_json(str(obj))
