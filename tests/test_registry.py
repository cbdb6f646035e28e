from __future__ import annotations

import pytest

from prodaudit.errors import UsageError
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


def _small_registry() -> Registry:
    reg = Registry()
    for cid in ("CFG-001", "CFG-002", "SEC-001", "SEC-010", "DEP-001"):
        check(cid, cid, severity=Severity.LOW, registry=reg)(_fn)
    return reg


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"only": ["NOPE"]}, "--only NOPE: no check has this id"),
    ({"only": ["CFG-001", "cfg-9", "XYZ"]}, "--only CFG-9,XYZ:"),
    ({"skip": ["SEC-002"]}, "--skip SEC-002: no check has this id"),
    ({"suites": ["config"], "only": ["SEC-001"]}, "--only SEC-001: in the security suite"),
    ({"suites": ["config"], "only": ["SEC", "CFG-001"]}, "--only SEC: in the security suite"),
    ({"suites": ["config"], "skip": ["CFG"]}, "the selection matches no check"),
    ({"suites": ["nope"]}, "--suite: unknown suite nope"),
])
def test_select_refuses_a_selection_that_cannot_mean_what_was_asked(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        _small_registry().select(**kwargs)


def test_select_by_prefix_suite_and_skip() -> None:
    reg = _small_registry()
    assert [s.id for s in reg.select(["config", "security"], only=["cfg", "SEC-01"])] == [
        "CFG-001", "CFG-002", "SEC-010"]
    assert [s.id for s in reg.select(None, skip=["SEC", "DEP-001"])] == ["CFG-001", "CFG-002"]
    # an --only entry partly inside the selected suites is fine: the checks inside run
    assert [s.id for s in reg.select(["config"], only=["CFG-001"])] == ["CFG-001"]
