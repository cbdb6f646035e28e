"""audit.json is written streaming (``JsonRenderer.write``) and the canonical run is read from
``as_json``: the same data ``json.loads`` would give, without copying what is plain JSON."""

from __future__ import annotations

import enum
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from prodaudit.model import AuditRun
from prodaudit.report import json_report
from prodaudit.report.json_report import JsonRenderer, as_json


class Colour(str, enum.Enum):  # noqa: UP042 - str() is "Colour.RED", json writes "red"
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


AWKWARD = {
    "tuple": (1, "a", (2.5, None)),
    "keys": {7: "int", 2.5: "float", True: "bool", None: "none", Colour.RED: "str enum"},
    "enums": [Colour.RED, Level.HIGH],
    "path": Path("/x/y"),
    "set": {"only"},
    "floats": [float("inf"), -0.0, 1e300],
    "nested": [{"a": [{"b": ()}]}],
}


def test_as_json_is_what_json_reads_back() -> None:
    assert as_json(AWKWARD) == json.loads(json.dumps(AWKWARD, default=str))
    back = as_json({"n": float("nan")})["n"]
    assert math.isnan(back)
    with pytest.raises(TypeError):
        as_json({("a", "b"): 1})  # json.dumps refuses such a key too


def test_as_json_shares_plain_json() -> None:
    plain = {"variables": [{"name": "A", "read_at": ["app.py:1"], "secret": False}], "n": 1.5}
    assert as_json(plain) is plain
    mixed = {"keep": plain["variables"], "change": ("t",)}
    out = as_json(mixed)
    assert out == {"keep": plain["variables"], "change": ["t"]}
    assert out["keep"] is plain["variables"]


def test_write_streams_the_same_text_as_format(run: AuditRun, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "CHUNKS_PER_WRITE", 7)  # many small writes
    path = tmp_path / "audit.json"
    JsonRenderer().write(as_json(run.to_dict()), path)
    assert path.read_text(encoding="utf-8") == JsonRenderer().format(run)


VARIED = [
    AWKWARD,
    {"unicode": "héllo ☃ \U0001f600 \u2028", "controls": "\x00\x1f\n\t\"\\/", "": "",
     "ke\"y\n\u00e9\\": ["escaped key"], "floats": [0.1, -0.0, 1e-7, 1e22, float("nan"), float("-inf")],
     "ints": [0, -1, 2**70, True, False, None], "empties": [[], {}, [[]], [{}], {"a": {}}, {"b": []}],
     "deep": [1, [2, [3, {"x": [4, {"y": []}]}]]], "strings": ["a", "b"], "mixed": ["a", 1, None],
     "long": list(range(7)), "longer": [[f"s{i}" for i in range(5)], [1.5, None, [], {}, "x"]],
     "tuples": [(), (1,), ("a", ("b", {"c": ()}))], 3: {2.5: [], None: {}, False: "f"}},
    [], {}, "text", 7, 2.5, None, [[[[]]]], [{"a": 1}, {"b": [1, 2, {"c": ["d"]}]}],
    {"variables": [{"name": "A", "read_at": ["app.py:1", "b.py:2"], "set_in": [], "secret": False,
                    "default": None, "description": "", "n": 1.5}] * 3},
]


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth else 6)
    scalars: list[Any] = ["", "a\"b", "ü\u2028\U0001f600", "x" * rng.randrange(40), rng.randrange(-9, 10**6),
                          rng.random() * 10 ** rng.randrange(-5, 25), True, False, None, float("inf")]
    if kind < 6:
        return rng.choice(scalars)
    n = rng.randrange(5)
    if kind == 6:
        return [_random_json(rng, depth - 1) for _ in range(n)]
    if kind == 7:
        return tuple(_random_json(rng, depth - 1) for _ in range(n))
    keys: list[Any] = ["k", "key\n\"2\"", "ä", 1, 2.5, None, True, "x" * 3]
    return {rng.choice(keys): _random_json(rng, depth - 1) for _ in range(n)}


@pytest.mark.parametrize("value", VARIED, ids=range(len(VARIED)))
def test_fast_text_is_the_standard_indented_text(value: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """audit.json's text is ``json.dumps(indent=2, default=str)``'s, byte for byte (governance's
    baseline reader depends on the layout); written in small pieces too."""
    expected = json.dumps(value, indent=2, default=str)
    assert json_report.dumps(value) == expected
    monkeypatch.setattr(json_report, "CHUNKS_PER_WRITE", 3)
    monkeypatch.setattr(json_report, "FLAT_SLICE", 2)  # long flat lists: several C calls
    assert json_report.dumps(value) == expected
    path = tmp_path / "audit.json"
    JsonRenderer().write(value, path)
    assert path.read_text(encoding="utf-8") == expected + "\n"


@pytest.mark.parametrize("c_encoder", [True, False])
def test_fast_text_matches_on_random_structures(c_encoder: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not c_encoder:  # an interpreter without ``_json``: every container written in Python
        monkeypatch.setattr(json_report, "_c_make_encoder", None)
    rng = random.Random(20261130)
    for _ in range(400):
        value = _random_json(rng, 5)
        wrapped = {"facts": {"list": [value, {"v": value}]}}
        assert json_report.dumps(wrapped) == json.dumps(wrapped, indent=2, default=str)


def test_fast_text_refuses_what_json_refuses() -> None:
    loop: list[Any] = []
    loop.append(loop)
    nested: dict[str, Any] = {}
    nested["a"] = [{"b": nested}]
    for value in (loop, nested):
        with pytest.raises(ValueError, match="Circular reference"):
            json_report.dumps(value)
    with pytest.raises(TypeError):
        json_report.dumps({"ok": [{("a", "b"): 1}]})


def test_as_json_on_random_structures() -> None:
    """What ``json.loads`` reads back; a structure that is plain JSON already is returned itself,
    and a changed one shares the plain parts."""
    rng = random.Random(11)
    for _ in range(400):
        value = {"v": _random_json(rng, 5), "plain": [{"a": ["b"]}]}
        back = json.loads(json.dumps(value, default=str))
        out = as_json(value)
        assert out == back
        assert out["plain"] is value["plain"]
        assert as_json(back) is back
