"""docs/writing-checks.md, followed literally: its example check module is loaded as
``prodaudit.checks.config.api_ports`` into a registry of its own, and its example test functions
run against it through the real runner (FAIL on the flawed repository, PASS on the fixed one)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import prodaudit.registry as registry_mod
from prodaudit.config import PROJECT_ROOT
from prodaudit.registry import Registry

DOC = PROJECT_ROOT / "docs" / "writing-checks.md"
CONFIG_TESTS = PROJECT_ROOT / "tests" / "checks" / "config"


def code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_shows_one_import_for_the_check() -> None:
    module, _test = code_blocks()
    imports = [ln for ln in module.splitlines() if ln.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations",
                       "from prodaudit.checks.api import Context, Finding, Severity, Skip, check, "
                       "failed, passed"]


def test_the_example_check_and_its_test_work(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    module_src, test_src = code_blocks()
    fresh = Registry()
    monkeypatch.setattr(registry_mod, "REGISTRY", fresh)
    monkeypatch.setattr(registry_mod, "_loaded", True)  # load_checks() returns the fresh registry
    name = "prodaudit.checks.config.api_ports"
    mod = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, mod)
    exec(compile(module_src, f"{DOC}:check", "exec"), mod.__dict__)  # noqa: S102 - our own doc
    spec = fresh.get("CFG-035")
    assert spec.suite == "config" and spec.func.__module__ == name
    assert spec.doc.splitlines()[-1].startswith("Remediation:")
    monkeypatch.syspath_prepend(str(CONFIG_TESTS))
    namespace: dict[str, Any] = {"__name__": "test_api_ports"}
    exec(compile(test_src, f"{DOC}:test", "exec"), namespace)  # noqa: S102 - our own doc
    tests = {k: v for k, v in namespace.items() if k.startswith("test_")}
    assert set(tests) == {"test_port_on_all_interfaces_fails", "test_port_on_loopback_passes"}
    for i, (test_name, fn) in enumerate(sorted(tests.items())):
        case = tmp_path / str(i)
        case.mkdir()
        fn(case)  # raises AssertionError when the example does not behave as documented
        assert test_name
