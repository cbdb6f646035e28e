"""A generated static index of the check specs (``data/check_index.json``), derived from the
registry, so that ``prodaudit list`` and a run of a few checks need not import every check module.

The index holds what a selection and a listing need (id, title, suite, severity, needs, checklist
ids, references, exclusive, timeout, evidence level) and the module that declares each check. It
records a digest of the sources it was generated from (every module under ``prodaudit/checks``
plus ``model.py`` and ``registry.py``): when the installed sources differ, the index is stale and
is not used (the registry imports every module instead), so a stale index can make a command
slower, never wrong.

Regenerate after changing a check's declaration (``tests/test_check_index.py`` fails until then)::

    python -m prodaudit.check_index          # rewrite data/check_index.json
    python -m prodaudit.check_index --check  # exit 1 when it is stale
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodaudit.model import Evidence, Severity

if TYPE_CHECKING:
    from prodaudit.model import CheckSpec
    from prodaudit.registry import Registry

PACKAGE = Path(__file__).resolve().parent
INDEX_PATH = PACKAGE / "data" / "check_index.json"
FORMAT = 1


@dataclass(frozen=True)
class CheckInfo:
    """What is known about a check without importing it: its declaration, not its code."""

    id: str
    title: str
    suite: str
    severity: Severity
    module: str
    needs: frozenset[str] = frozenset()
    checklist: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    exclusive: bool = False
    timeout: float | None = None
    evidence: Evidence = Evidence.PARSED

    @classmethod
    def of(cls, spec: CheckSpec) -> CheckInfo:
        return cls(id=spec.id, title=spec.title, suite=spec.suite, severity=spec.severity,
                   module=spec.func.__module__, needs=spec.needs, checklist=spec.checklist,
                   references=spec.references, exclusive=spec.exclusive, timeout=spec.timeout,
                   evidence=spec.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "suite": self.suite,
                "severity": self.severity.name, "module": self.module,
                "needs": sorted(self.needs), "checklist": list(self.checklist),
                "references": list(self.references), "exclusive": self.exclusive,
                "timeout": self.timeout, "evidence": self.evidence.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckInfo:
        return cls(id=d["id"], title=d["title"], suite=d["suite"], severity=Severity[d["severity"]],
                   module=d["module"], needs=frozenset(d["needs"]),
                   checklist=tuple(d["checklist"]), references=tuple(d["references"]),
                   exclusive=bool(d["exclusive"]), timeout=d["timeout"],
                   evidence=Evidence(d["evidence"]))


def _sources() -> list[Path]:
    out = [PACKAGE / "model.py", PACKAGE / "registry.py"]
    for dirpath, dirnames, filenames in os.walk(PACKAGE / "checks"):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        out += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py")]
    return out


def source_digest() -> str:
    """The digest of the sources the specs come from (path and content of each)."""
    h = hashlib.sha256()
    for path in _sources():
        rel = path.relative_to(PACKAGE).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel)
        try:
            data = path.read_bytes()
        except OSError:
            data = b"\0unreadable"
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def build(registry: Registry) -> dict[str, Any]:
    """The index document of ``registry`` (every module imported) for the current sources."""
    return {"format": FORMAT, "digest": source_digest(),
            "checks": [CheckInfo.of(s).to_dict() for s in registry.all()]}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


@lru_cache(maxsize=1)
def current() -> tuple[CheckInfo, ...] | None:
    """The indexed checks when the index matches the installed sources; None when it is missing,
    unreadable or stale (the caller imports every module instead)."""
    try:
        doc = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT or doc.get("digest") != source_digest():
            return None
        return tuple(CheckInfo.from_dict(d) for d in doc["checks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def modules_of(ids: Iterable[str]) -> set[str] | None:
    """The modules that declare ``ids`` (None when the index cannot say for every id)."""
    index = current()
    if index is None:
        return None
    where = {c.id: c.module for c in index}
    wanted = list(ids)
    if any(i not in where for i in wanted):
        return None
    return {where[i] for i in wanted}


def main(argv: list[str] | None = None) -> int:
    from prodaudit.registry import load_checks

    args = sys.argv[1:] if argv is None else argv
    text = render(build(load_checks()))
    if "--check" in args:
        old = INDEX_PATH.read_text(encoding="utf-8") if INDEX_PATH.is_file() else ""
        if old != text:
            print(f"{INDEX_PATH} is stale: run python -m prodaudit.check_index", file=sys.stderr)
            return 1
        return 0
    INDEX_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {INDEX_PATH} ({len(load_checks())} checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
