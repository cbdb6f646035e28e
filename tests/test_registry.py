from __future__ import annotations

import pytest

from prodaudit.model import Severity
from prodaudit.registry import PREFIXES, Registry, RegistryError, check, load_checks


def _fn(ctx):  # pragma: no cover - never called
    """Doc."""


def test_duplicate_id_rejected() -> None:
    reg = Registry()
    check("CFG-900", "one", severity=Severity.LOW, registry=reg)(_fn)
    with pytest.raises(RegistryError, match="duplicate check id CFG-900"):
        check("CFG-900", "two", severity=Severity.LOW, registry=reg)(_fn)


def test_bad_id_and_needs_rejected() -> None:
    reg = Registry()
    with pytest.raises(RegistryError, match="must look like"):
        check("XYZ-1", "bad", severity=Severity.LOW, registry=reg)
    with pytest.raises(RegistryError, match="unknown needs"):
        check("CFG-901", "bad", severity=Severity.LOW, needs=("internet",), registry=reg)


def test_docstring_required() -> None:
    def nodoc(ctx):  # pragma: no cover
        return []

    with pytest.raises(RegistryError, match="no docstring"):
        check("CFG-902", "x", severity=Severity.LOW, registry=Registry())(nodoc)


def test_suite_from_prefix_and_select() -> None:
    reg = Registry()
    check("SEC-900", "a", severity=Severity.HIGH, registry=reg)(_fn)
    check("SEC-901", "b", severity=Severity.HIGH, registry=reg)(_fn)
    check("FUN-900", "c", severity=Severity.HIGH, registry=reg)(_fn)
    assert reg.get("SEC-900").suite == "security"
    assert [s.id for s in reg.select(["security"])] == ["SEC-900", "SEC-901"]
    assert [s.id for s in reg.select(None, only=["SEC-901", "FUN"])] == ["FUN-900", "SEC-901"]
    assert [s.id for s in reg.select(None, skip=["SEC"])] == ["FUN-900"]


def test_real_registry_is_consistent() -> None:
    reg = load_checks()
    assert len(reg) > 0
    for spec in reg.all():
        assert spec.suite == PREFIXES[spec.id[:3]]
        assert spec.doc, spec.id
        assert spec.title, spec.id
