"""audit.json is written streaming (``JsonRenderer.write``) and the canonical run is read from
``as_json``: the same data ``json.loads`` would give, without copying what is plain JSON."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path

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
