"""audit.json: the serialised AuditRun, source of truth for every other report.

A large product's run is large (an env graph of 100,000 variables: tens of MB of JSON), so the
report writer never holds audit.json as one string: ``as_json`` gives the data exactly as
``json.loads`` would read it back, sharing every part that is already plain JSON, and ``write``
streams the text to the file in bounded pieces.

The text is exactly ``json.dumps(data, indent=2, default=str)`` (the baseline reader of
governance depends on that layout), produced faster than the standard library's indenting
encoder, which is pure Python: containers of plain JSON are written by a tight loop, and a
container without a non-empty container inside by the C encoder (``separators`` carrying the
newline and the indentation: the same text). Anything else (tuples, subclasses, other objects)
is written by the standard encoder itself.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _string
from pathlib import Path
from typing import Any, TextIO

from prodaudit.model import AuditRun
from prodaudit.report.interface import Renderer

#: the standard library's C encoder (None where ``_json`` is missing: every container in Python)
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)

#: pieces of encoded JSON joined per write (bounded memory, few write calls): a piece is a
#: small dict's whole text (an env graph variable: ~470 bytes) or a slice of a flat list
CHUNKS_PER_WRITE = 1024
#: items of a list without containers encoded per call of the C encoder
FLAT_SLICE = 1024
INDENT = "  "

_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONSTANTS = {None: "null", True: "true", False: "false"}
_INF = float("inf")


def _encoder() -> json.JSONEncoder:
    return json.JSONEncoder(indent=2, sort_keys=False, default=str)


def _float(o: float) -> str:
    """A float as ``json`` writes it (``allow_nan``: NaN and the infinities as JavaScript names)."""
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


class _Indented:
    """``json.JSONEncoder(indent=2, default=str)``'s text of a value, appended to ``out`` piece by
    piece; ``flush`` is called with ``out`` whenever it holds ``limit`` pieces or more."""

    def __init__(self, flush: Callable[[list[str]], None] | None = None, limit: int = 0) -> None:
        self._flush = flush
        self._limit = limit
        self._nl: list[str] = []  # level -> "\n" + its indentation
        self._flat: list[Callable[[Any, int], Any]] = []  # level -> C encoder, items on that level
        self._keys: dict[str, str] = {}  # str key -> '"key": '
        self._markers: set[int] = set()  # the containers being written (a cycle is an error)
        self._std = _encoder()
        self._grow(8)

    def _grow(self, level: int) -> None:
        while len(self._nl) <= level:
            n = len(self._nl)
            self._nl.append("\n" + INDENT * n)
            if _c_make_encoder is not None:
                self._flat.append(_c_make_encoder(None, str, _string, None, ": ", ",\n" + INDENT * n,
                                                  False, False, True))

    def encode(self, o: Any, level: int, out: list[str]) -> None:
        t = type(o)
        if t is dict:
            if o:
                self._dict(o, level, out)
            else:
                out.append("{}")
        elif t is list:
            if o:
                self._list(o, level, out)
            else:
                out.append("[]")
        elif t is str:
            out.append(_string(o))
        elif o is None or o is True or o is False:
            out.append(_CONSTANTS[o])
        elif t is int:
            out.append(int.__repr__(o))
        elif t is float:
            out.append(_float(o))
        else:
            self._other(o, level, out)

    def _enter(self, o: Any, level: int) -> None:
        if id(o) in self._markers:
            raise ValueError("Circular reference detected")
        self._markers.add(id(o))
        if len(self._nl) <= level + 2:
            self._grow(level + 2)

    def _dict(self, o: dict[Any, Any], level: int, out: list[str]) -> None:
        self._enter(o, level)
        nl1 = self._nl[level + 1]
        keys = self._keys
        sep = "," + nl1
        lead = "{" + nl1  # what comes before the pending items
        parts: list[str] = []  # items not yet in ``out`` (a dict's small items: one piece)
        for k, v in o.items():
            kt = keys.get(k) if type(k) is str else None
            if kt is None:
                kt = self._key(k)
            tv = type(v)
            if tv is str:
                parts.append(kt + _string(v))
            elif v is None or v is True or v is False:
                parts.append(kt + _CONSTANTS[v])
            elif tv is list and not v:
                parts.append(kt + "[]")
            elif tv is list and all([type(x) is str for x in v]):
                nl2 = self._nl[level + 2]
                parts.append(kt + "[" + nl2 + ("," + nl2).join(map(_string, v)) + nl1 + "]")
            elif tv is int:
                parts.append(kt + int.__repr__(v))
            elif tv is float:
                parts.append(kt + _float(v))
            elif tv is dict and not v:
                parts.append(kt + "{}")
            else:
                parts.append(kt)
                out.append(lead + sep.join(parts))
                parts = []
                lead = sep
                self.encode(v, level + 1, out)
                if self._flush is not None and len(out) >= self._limit:
                    self._flush(out)
        out.append((lead + sep.join(parts) if parts else "") + self._nl[level] + "}")
        self._markers.discard(id(o))

    def _list(self, o: list[Any], level: int, out: list[str]) -> None:
        if len(self._nl) <= level + 2:
            self._grow(level + 2)
        if self._flat:
            for v in o:
                if type(v) not in _SCALARS and isinstance(v, list | tuple | dict) and v:
                    break
            else:  # no container inside that is not empty: the C encoder writes the same text
                encode = self._flat[level + 1]
                lead = "[" + self._nl[level + 1]
                for start in range(0, len(o), FLAT_SLICE):  # a long list: in bounded pieces
                    text = "".join(encode(o[start:start + FLAT_SLICE] if len(o) > FLAT_SLICE else o, 0))
                    out.append(lead + text[1:-1])
                    lead = "," + self._nl[level + 1]
                    if self._flush is not None and len(out) >= self._limit:
                        self._flush(out)
                out.append(self._nl[level] + "]")
                return
        self._enter(o, level)
        nl1 = self._nl[level + 1]
        sep = "," + nl1
        lead = "[" + nl1
        for v in o:
            tv = type(v)
            if tv is str:
                out.append(lead + _string(v))
            else:
                out.append(lead)
                if tv is dict and v:
                    self._dict(v, level + 1, out)
                else:
                    self.encode(v, level + 1, out)
                if self._flush is not None and len(out) >= self._limit:
                    self._flush(out)
            lead = sep
        out.append(self._nl[level] + "]")
        self._markers.discard(id(o))

    def _key(self, k: Any) -> str:
        """A dict key as the standard encoder writes it (the conversions of ``_make_iterencode``)."""
        if isinstance(k, str):
            s = k
        elif isinstance(k, float):
            s = _float(k)
        elif k is True:
            s = "true"
        elif k is False:
            s = "false"
        elif k is None:
            s = "null"
        elif isinstance(k, int):
            s = int.__repr__(k)
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")
        text = _string(s) + ": "
        if type(k) is str:
            self._keys[k] = text
        return text

    def _other(self, o: Any, level: int, out: list[str]) -> None:
        """Tuples, subclasses and other objects: the standard encoder's text, indented to
        ``level`` (a raw newline is never inside a JSON string: every one is the layout's)."""
        text = "".join(self._std.iterencode(o))
        if level:
            self._grow(level)
            text = text.replace("\n", self._nl[level])
        out.append(text)


def dumps(data: Any) -> str:
    """``json.dumps(data, indent=2, default=str)``, the same text, faster."""
    out: list[str] = []
    _Indented().encode(data, 0, out)
    return "".join(out)


def _write(data: Any, fh: TextIO) -> None:
    def flush(out: list[str]) -> None:
        fh.write("".join(out))
        out.clear()

    out: list[str] = []
    _Indented(flush, CHUNKS_PER_WRITE).encode(data, 0, out)
    out.append("\n")
    flush(out)


class JsonRenderer(Renderer):
    name = "json"
    filename = "audit.json"
    description = (
        "the source of truth (JSON Schema: `docs/schemas/audit.schema.json`); every other file is "
        "rendered from it (`invoke report.build`)"
    )

    def format(self, run: AuditRun) -> str:
        return dumps(run.to_dict()) + "\n"

    def write(self, data: Any, path: Path) -> None:
        """Write ``data`` (a run's ``to_dict()``) to ``path``: the same text as ``format``,
        streamed piece by piece, never held whole."""
        with path.open("w", encoding="utf-8") as fh:
            _write(data, fh)


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
    if t is dict:
        return _as_json_dict(obj)
    if t is list:
        return _as_json_list(obj)
    if t is str or t is int or t is float or t is bool or obj is None:
        return obj
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


def _as_json_nested(v: Any, tv: type) -> Any:
    """``as_json`` of a value that is not a plain scalar (the loops below test those inline)."""
    if tv is dict:
        return _as_json_dict(v)
    if tv is list:
        return _as_json_list(v)
    return as_json(v)


def _as_json_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for k, v in obj.items():
        tv = type(v)
        nv = v if tv is str or tv is int or tv is bool or tv is float or v is None \
            else _as_json_nested(v, tv)
        nk = k if type(k) is str else _key(k)
        if out is None:
            if nk is k and nv is v:
                continue
            out = {}
            for k0, v0 in obj.items():  # the entries before this one, unchanged
                if k0 is k:
                    break
                out[k0] = v0
        out[nk] = nv
    return obj if out is None else out


def _as_json_list(obj: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for i, v in enumerate(obj):
        tv = type(v)
        nv = v if tv is str or tv is int or tv is bool or tv is float or v is None \
            else _as_json_nested(v, tv)
        if out is not None:
            out.append(nv)
        elif nv is not v:
            out = obj[:i]
            out.append(nv)
    return obj if out is None else out
