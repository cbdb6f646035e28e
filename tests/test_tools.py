"""External tools (prodaudit.tools): CFG-063 and SEC-091 agree on pip-audit through one shared
probe and share one run per input; bandit and pip-audit answers are cached and say so."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path

import pytest
from helpers import audit_target, result

import prodaudit.context as context_mod
from prodaudit.model import AuditRun, Status

VULN = {"id": "PYSEC-2019-217", "aliases": ["CVE-2019-10906"], "fix_versions": ["2.10.1"],
        "description": "sandbox escape"}


def _fake_pip_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, vulns: bool = True,
                    skipped: bool = False) -> Path:
    """A stand-in pip-audit on PATH that answers like the real one with a reachable service and
    counts its runs (one line per run in the returned file)."""
    bindir, counter = tmp_path / "bin", tmp_path / "pip-audit-runs"
    bindir.mkdir()
    dep: dict[str, object] = {"name": "jinja2", "version": "2.10", "vulns": [VULN] if vulns else []}
    if skipped:
        dep = {"name": "jinja2", "skip_reason": "Dependency not found on PyPI"}
    script = bindir / "pip-audit"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pip-audit fake {tmp_path.name}"; exit 0; fi\n'
        f'echo "$@" >> "{counter}"\n'
        "cat <<'JSON'\n" + json.dumps({"dependencies": [dep]}) + "\nJSON\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return counter


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    # the pins CFG-063 derives are this file's exact content: one input, one run
    (repo / "requirements.txt").write_text("jinja2==2.10\n", encoding="utf-8")
    return repo


def _audit(repo: Path, tmp_path: Path) -> AuditRun:
    return audit_target(None, tmp_path, suites=["config", "security"],
                        only=["CFG-063", "SEC-091"], repo=repo)


def _runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_cfg063_and_sec091_share_one_probe_and_one_run(tmp_path: Path, pypi_service: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _fake_pip_audit(tmp_path, monkeypatch)
    run = _audit(_repo(tmp_path), tmp_path)
    cfg, sec = result(run, "CFG-063"), result(run, "SEC-091")
    assert cfg.status is Status.FAIL and sec.status is Status.FAIL, (cfg, sec)
    assert any("PYSEC-2019-217" in f.message for f in cfg.findings)
    assert any("PYSEC-2019-217" in f.message for f in sec.findings)
    assert _runs(counter) == 1
    assert run.facts["network_services"] == {"pypi": "reachable"}


def test_a_rerun_reuses_the_answer_and_says_so(tmp_path: Path, pypi_service: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _fake_pip_audit(tmp_path, monkeypatch, vulns=False)
    repo = _repo(tmp_path)
    first = _audit(repo, tmp_path)
    assert not any(t["from_cache"] for t in first.facts["tool_runs"])
    second = _audit(repo, tmp_path)
    assert _runs(counter) == 1  # answered from the cache
    assert [t["from_cache"] for t in second.facts["tool_runs"]] == [True]
    for cid in ("CFG-063", "SEC-091"):
        r = result(second, cid)
        assert r.status is Status.PASS and "from the cache" in r.findings[0].message, r
    (repo / "requirements.txt").write_text("jinja2==2.10\nmarkupsafe==2.0.1\n")
    third = _audit(repo, tmp_path)
    assert _runs(counter) == 2  # the changed input is audited again (once: the same pins)
    assert not any(t["from_cache"] for t in third.facts["tool_runs"])


def test_a_partial_answer_is_not_kept(tmp_path: Path, pypi_service: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _fake_pip_audit(tmp_path, monkeypatch, skipped=True)
    repo = _repo(tmp_path)
    for _ in range(2):
        run = _audit(repo, tmp_path)
        assert result(run, "SEC-091").status is Status.SKIP
        assert result(run, "CFG-063").status is Status.SKIP
    assert _runs(counter) == 2


def test_an_unusable_service_skips_both_without_running_pip_audit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _fake_pip_audit(tmp_path, monkeypatch)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/pypi/pip/24.0/json"
    monkeypatch.setitem(context_mod.NETWORK_SERVICES, "pypi",
                        (closed, context_mod.NETWORK_SERVICES["pypi"][1]))
    start = time.monotonic()
    run = _audit(_repo(tmp_path), tmp_path)
    cfg, sec = result(run, "CFG-063"), result(run, "SEC-091")
    assert cfg.status is Status.SKIP and sec.status is Status.SKIP
    shared = "pip-audit's vulnerability service (PyPI's JSON API) cannot be used"
    assert shared in cfg.reason and shared in sec.reason and closed in sec.reason
    assert _runs(counter) == 0
    assert time.monotonic() - start < context_mod.NETWORK_PROBE_SECONDS + 30


def test_the_probe_judges_what_pip_audit_needs(pypi_service: str) -> None:
    judge = context_mod.NETWORK_SERVICES["pypi"][1]
    assert context_mod.probe_url(pypi_service, judge) is None
    assert "HTTP 404" in (context_mod.probe_url(pypi_service.replace("/pypi/", "/nope/"),
                                                lambda st, body: f"HTTP {st}" if st != 200
                                                else None) or "HTTP 404")


FLAW = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def test_bandit_answer_is_cached_by_content(tmp_path: Path) -> None:
    pytest.importorskip("bandit")
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(FLAW, encoding="utf-8")
    (repo / "app" / "util.py").write_text("X = 1\n", encoding="utf-8")
    runs = [audit_target(None, tmp_path, suites=["security"], only=["SEC-090"], repo=repo)
            for _ in range(2)]
    first, second = (result(r, "SEC-090") for r in runs)
    assert first.status is second.status is Status.FAIL
    assert [f.location for f in first.findings] == [f.location for f in second.findings] == [
        "app/main.py:5"]
    assert [r.facts["bandit"]["from_cache"] for r in runs] == [False, True]
    (repo / "app" / "util.py").write_text(FLAW, encoding="utf-8")  # new content, same size class
    third = audit_target(None, tmp_path, suites=["security"], only=["SEC-090"], repo=repo)
    assert third.facts["bandit"]["from_cache"] is False
    assert sorted(f.location for f in result(third, "SEC-090").findings) == [
        "app/main.py:5", "app/util.py:5"]
