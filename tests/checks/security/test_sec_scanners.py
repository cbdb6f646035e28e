"""SEC-090 (bandit) and SEC-091 (pip-audit) on the reference repository and on mutated copies."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import audit_target, result
from conftest_services import require_service

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import Severity, Status

FLAWED_CODE = '''"""A module bandit must flag."""
import subprocess


def run(cmd: str) -> int:
    return subprocess.call(cmd, shell=True)
'''


def copy_repo(tmp_path: Path) -> Path:
    dst = tmp_path / "ultra-mvp"
    shutil.copytree(
        REFERENCE_TARGET,
        dst,
        ignore=shutil.ignore_patterns(".mypy_cache", "__pycache__", "node_modules"),
    )
    return dst


def test_bandit_passes_on_the_reference_code(tmp_path: Path) -> None:
    pytest.importorskip("bandit")
    run = audit_target(None, tmp_path, only=["SEC-090"])
    r = result(run, "SEC-090")
    assert r.status is Status.PASS, [f.message for f in r.findings]
    assert "bandit scanned" in r.findings[0].message
    assert run.facts["bandit"]["files"] > 10


def test_bandit_flags_shell_injection_with_path_and_line(tmp_path: Path) -> None:
    pytest.importorskip("bandit")
    repo = copy_repo(tmp_path)
    (repo / "backend" / "app" / "shell.py").write_text(FLAWED_CODE, encoding="utf-8")
    run = audit_target(None, tmp_path, only=["SEC-090"], repo=repo)
    r = result(run, "SEC-090")
    assert r.status is Status.FAIL
    f = [x for x in r.findings if x.status is Status.FAIL][0]
    assert f.location == "backend/app/shell.py:6"
    assert f.rule == "B602" and f.severity is Severity.HIGH
    assert "shell=True" in f.evidence


def test_pip_audit_unreachable_service_is_not_verified(tmp_path: Path) -> None:
    require_service("pip-audit", shutil.which("pip-audit") is not None,
                    "pip-audit is not installed (it is in the test extras)")
    run = audit_target(None, tmp_path, only=["SEC-091"])
    r = result(run, "SEC-091")
    if r.status is Status.SKIP:  # the vulnerability service is unreachable on this machine
        assert "not verified" in r.reason and "pip-audit" in r.reason, r.reason
    else:  # with network access: a real verdict with findings
        assert r.status in (Status.PASS, Status.FAIL) and r.findings


def test_pip_audit_vulnerabilities_become_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pypi_service: str
) -> None:
    # a stand-in pip-audit on PATH that answers like the real one does with a reachable service
    bindir = tmp_path / "bin"
    bindir.mkdir()
    report = {
        "dependencies": [
            {"name": "fastapi", "version": "0.1.0", "vulns": []},
            {
                "name": "jinja2",
                "version": "2.10",
                "vulns": [
                    {
                        "id": "PYSEC-2019-217",
                        "aliases": ["CVE-2019-10906"],
                        "fix_versions": ["2.10.1"],
                        "description": "sandbox escape",
                    }
                ],
            },
        ]
    }
    script = bindir / "pip-audit"
    script.write_text(
        "#!/bin/sh\ncat <<'JSON'\n" + json.dumps(report) + "\nJSON\n", encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    run = audit_target(None, tmp_path, only=["SEC-091"])
    r = result(run, "SEC-091")
    assert r.status is Status.FAIL
    # the stand-in reports the same advisory for every requirements file it is given
    by_file = {f.location: f for f in r.findings if f.status is Status.FAIL}
    assert "backend/requirements.txt" in by_file, by_file
    f = by_file["backend/requirements.txt"]
    assert "jinja2 2.10: PYSEC-2019-217, CVE-2019-10906 (fixed in 2.10.1)" in f.message


def _stand_in_pip_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        vulnerable: bool = True) -> Path:
    """A pip-audit on PATH that reports one advisory for every file it is given and logs the
    files it was asked about."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "asked.log"
    report = {"dependencies": [{"name": "jinja2", "version": "2.10", "vulns": [
        {"id": "PYSEC-2019-217", "aliases": [], "fix_versions": ["2.10.1"], "description": "x"}]
        if vulnerable else []}]}
    script = bindir / "pip-audit"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\ncat <<\'JSON\'\n'
                      + json.dumps(report) + "\nJSON\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.mark.parametrize("vulnerable", [True, False])
def test_pip_audit_reads_a_requirements_folder_and_leaves_development_files_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pypi_service: str, vulnerable: bool
) -> None:
    log = _stand_in_pip_audit(tmp_path, monkeypatch, vulnerable)
    repo = tmp_path / "repo"
    (repo / "requirements").mkdir(parents=True)
    (repo / "requirements" / "prod.txt").write_text("jinja2==2.10\n", encoding="utf-8")
    (repo / "requirements" / "dev.txt").write_text("-r prod.txt\npytest==8.0\n", encoding="utf-8")
    (repo / "app.py").write_text("print('hi')\n", encoding="utf-8")
    r = result(audit_target(None, tmp_path, only=["SEC-091"], repo=repo), "SEC-091")
    if vulnerable:
        assert r.status is Status.FAIL, r
        assert {f.location for f in r.findings if f.status is Status.FAIL} == {
            "requirements/prod.txt"}
    else:
        assert r.status is Status.PASS, r
        assert "requirements/prod.txt" in r.findings[0].message
    assert "requirements/dev.txt" not in log.read_text(encoding="utf-8")


def test_pip_audit_skips_with_only_development_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pypi_service: str
) -> None:
    _stand_in_pip_audit(tmp_path, monkeypatch)
    repo = tmp_path / "repo"
    (repo / "requirements").mkdir(parents=True)
    (repo / "requirements" / "dev.txt").write_text("pytest==8.0\n", encoding="utf-8")
    r = result(audit_target(None, tmp_path, only=["SEC-091"], repo=repo), "SEC-091")
    assert r.status is Status.SKIP
    assert "no production requirements file" in r.reason and "requirements/dev.txt" in r.reason
