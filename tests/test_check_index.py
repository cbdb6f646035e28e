"""The generated index of check declarations: current, derived from the registry, and what lets
``prodaudit list`` and a run of a few checks start without importing every check module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from prodaudit import check_index
from prodaudit.check_index import INDEX_PATH, CheckInfo, build, render
from prodaudit.registry import catalog, load_checks, select


def test_the_committed_index_is_current() -> None:
    """Fails when a check's declaration changed without ``python -m prodaudit.check_index``."""
    assert INDEX_PATH.read_text(encoding="utf-8") == render(build(load_checks())), (
        "data/check_index.json is stale: run python -m prodaudit.check_index")
    assert check_index.main(["--check"]) == 0


def test_the_index_holds_every_registered_declaration() -> None:
    registry = load_checks()
    indexed = {c.id: c for c in (CheckInfo.from_dict(d) for d in
                                 json.loads(INDEX_PATH.read_text())["checks"])}
    assert set(indexed) == {s.id for s in registry.all()}
    for spec in registry.all():
        assert indexed[spec.id] == CheckInfo.of(spec), spec.id
    assert [c.id for c in catalog()] == [s.id for s in registry.all()]


def test_a_stale_index_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads(INDEX_PATH.read_text())
    doc["checks"][0]["title"] = "a title no check declares"
    doc["digest"] = "0" * 64  # generated from other sources than the installed ones
    stale = tmp_path / "check_index.json"
    stale.write_text(json.dumps(doc))
    monkeypatch.setattr(check_index, "INDEX_PATH", stale)
    check_index.current.cache_clear()
    try:
        assert check_index.current() is None
        assert check_index.modules_of(["CFG-040"]) is None
        assert "a title no check declares" not in {c.title for c in catalog()}
    finally:
        check_index.current.cache_clear()


def test_selection_from_the_index_matches_the_registry() -> None:
    for suites, only, skip in ((None, (), ()), (["config"], ("CFG-04",), ()),
                               (["security", "deployment"], (), ("SEC-0",))):
        assert [c.id for c in select(catalog(), suites, only, skip)] == [
            s.id for s in load_checks().select(suites, only, skip)]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_list_imports_no_check_module_and_no_heavy_library() -> None:
    mods = _modules_after("from prodaudit.cli import main\nmain(['list'], standalone=False)")
    checks = {m for m in mods if m.startswith("prodaudit.checks.")}
    assert not checks, sorted(checks)[:5]
    heavy = {"pydantic", "rich", "httpx", "yaml", "sqlalchemy", "jinja2", "asyncio"} & mods
    assert not heavy, heavy


def test_a_run_of_one_check_imports_only_its_module(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    mods = _modules_after(
        "from prodaudit.cli import main\n"
        f"main(['run', '--repo', {str(tmp_path)!r}, '--no-start', '--only', 'CFG-040', '-q',"
        f" '--output', {str(tmp_path / 'out')!r}, '--format', 'json'], standalone=False)")
    checks = {m for m in mods if m.startswith("prodaudit.checks.") and ".checks._" not in m
              and not m.rsplit(".", 1)[-1].startswith("_")}
    assert checks == {"prodaudit.checks.api", "prodaudit.checks.config",
                      "prodaudit.checks.config.secrets_scan"}, checks
    assert not {"httpx", "sqlalchemy", "python_on_whales"} & mods


def test_a_check_declared_by_the_calling_program_is_listed_and_selectable(tmp_path: Path) -> None:
    """The index knows the bundled checks only: a program that declares its own check with
    ``@check`` and then calls the CLI can still select and run it (``--only``), and only the
    modules of the other selected checks are imported."""
    (tmp_path / "app.py").write_text("print('hello')\n")
    code = (
        "from prodaudit.model import Severity\n"
        "from prodaudit.outcome import failed\n"
        "from prodaudit.registry import check, catalog\n"
        "@check('CFG-996', 'test: declared by the caller', severity=Severity.LOW)\n"
        "def own(ctx):\n"
        "    '''Test check.'''\n"
        "    return [failed('seen by the caller')]\n"
        "assert 'CFG-996' in {c.id for c in catalog()}\n"
        "from prodaudit.cli import main\n"
        f"main(['run', '--repo', {str(tmp_path)!r}, '--no-start', '--only', 'CFG-996,CFG-040',"
        f" '-q', '--output', {str(tmp_path / 'out')!r}, '--format', 'json'], standalone=False)")
    mods = _modules_after(code)
    assert "prodaudit.checks.config.secrets_scan" in mods
    assert "prodaudit.checks.config.env_vars" not in mods  # not every module
    audit = json.loads(next((tmp_path / "out").glob("*/audit.json")).read_text())
    assert {r["id"]: r["status"] for r in audit["results"]} == {"CFG-996": "fail",
                                                                 "CFG-040": "pass"}
