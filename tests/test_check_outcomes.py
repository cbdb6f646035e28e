"""The plugin behind "no check that cannot fail" (tests/check_outcomes.py): it records the status
of every check result of the session, reads audit.json files of subprocess runs, and decides when a
run is the whole suite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from check_outcomes import KNOWN_GAPS, OUTCOMES, Outcomes, registered_ids, whole_suite

from prodaudit.config import PROJECT_ROOT, load_config
from prodaudit.context import Context
from prodaudit.registry import load_checks
from prodaudit.runner import run_checks


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_results_of_this_session_are_recorded(tmp_path: Path, request: Any) -> None:
    """A check run in-process through the runner is recorded with the test that ran it."""
    write(tmp_path / "dao.py", "import sqlite3\n\n\ndef f(con: sqlite3.Connection, x):\n"
          "    return con.execute('SELECT * FROM t WHERE a = ' + x)\n")
    ctx = Context(load_config({"repo": tmp_path, "start_target": False}))
    [r] = asyncio.run(run_checks([load_checks().get("RDY-008")], ctx))
    assert r.status.value == "fail"
    assert request.node.nodeid in OUTCOMES.seen["RDY-008"]["fail"]


def test_audit_json_of_a_subprocess_run_counts(tmp_path: Path) -> None:
    out = Outcomes()
    # named otherwise than audit.json: the session's own scan of basetemp must not count them
    path = write(tmp_path / "r" / "sample-audit.json", json.dumps({"schema": "prodaudit/audit/1", "results": [
        {"id": "CFG-001", "status": "warn", "started_s": 0.1},
        {"id": "CFG-002", "status": "pass", "started_s": 0.2}, {"bad": 1}]}))
    # hand-written fixtures (no schema, or results the runner did not time) prove nothing
    fake = write(tmp_path / "fake" / "sample-audit.json", json.dumps({"results": [
        {"id": "CFG-003", "status": "fail", "started_s": 0.1}]}))
    fixture = write(tmp_path / "fixture" / "sample-audit.json", json.dumps(
        {"schema": "prodaudit/audit/1", "results": [{"id": "CFG-003", "status": "fail"}]}))
    broken = write(tmp_path / "broken" / "sample-audit.json", "{not json")
    for p in (path, fake, fixture, broken):
        out.add_audit_json(p)
    assert out.failing_ids() == {"CFG-001"}
    assert out.missing(["CFG-001", "CFG-002", "CFG-003"]) == ["CFG-002", "CFG-003"]
    assert out.to_json()["CFG-002"]["pass"] == [f"{path} (subprocess)"]


def _config(args: list[str], **options: Any) -> Any:
    opt = SimpleNamespace(keyword="", markexpr="", deselect=None, lf=False, lastfailed=False)
    for k, v in options.items():
        setattr(opt, k, v)
    return SimpleNamespace(option=opt, rootpath=PROJECT_ROOT, args=args,
                           invocation_params=SimpleNamespace(dir=PROJECT_ROOT))


def test_only_a_whole_suite_run_is_asserted() -> None:
    assert whole_suite(_config(["tests"]))
    assert whole_suite(_config([str(PROJECT_ROOT)]))
    assert not whole_suite(_config(["tests/checks"]))
    assert not whole_suite(_config(["tests/test_config.py::test_unreachable_repo_exits_3"]))
    assert not whole_suite(_config(["tests"], keyword="sql"))
    assert not whole_suite(_config(["tests"], markexpr="field_goal"))
    assert not whole_suite(_config(["tests"], deselect=["tests/test_gate.py"]))


def test_every_registered_check_is_listed() -> None:
    ids = registered_ids()
    assert len(ids) == len(set(ids)) >= 189
    assert set(KNOWN_GAPS) <= set(ids) and all(KNOWN_GAPS.values())
