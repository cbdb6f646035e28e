"""The live field harness on real projects of the field corpus (issue 17).

``test_live_projects_in_ci`` (always run; CI=true fails when a prerequisite is missing) starts the
two projects whose recipe needs only what ``.ci/run`` installs on a fresh Debian bookworm machine —
the system Python 3.11 (``python3-venv``), packages from PyPI, PostgreSQL and Redis from
``scripts/services.sh`` and the fake LLM provider of the reference target: benavlabs'
FastAPI-boilerplate (the OAuth2 password form found through the OpenAPI ``tokenUrl``, the audit
account registered first through the discovered registration operation, a JWT) and Azure-Samples'
openai-chat-backend-fastapi (no authentication at all; unauthenticated LLM endpoints recognised by
their schema). It audits them read-only through the real CLI and checks what the harness
promises: the project started, the audit account logged in, every live fact was judged, facts the
audit does find on them are found, nothing the harness started is left running.

``test_live_pyenv_projects`` does the same for microblog-api (Flask on Python 3.10: HTTP Basic
login found in its OpenAPI document) and Tiredful-API (Django REST framework on Python 2.7: an
OAuth2 password grant whose body the manifest configures, its client secret passed in an
environment variable; opaque tokens). Their interpreters come from pyenv, which builds them from
python.org sources: not reachable where CI runs (only package registries are), so this test skips
with the reason wherever the interpreters are absent, even under CI=true.

``test_live_goals`` (marker ``field_goal``) runs every project and asserts issue 17's goals."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import harness
import live
import live_recipe as lr
import live_score as ls
import pytest
from conftest_services import require_service

CI_PROJECTS = ("Azure-Samples__openai-chat-backend-fastapi", "benavlabs__FastAPI-boilerplate")
PYENV_PROJECTS = ("miguelgrinberg__microblog-api", "payatu__Tiredful-API")
GOAL_FOUND_RATIO = 0.90


def _require(project: str, *, in_ci: bool = True) -> Path:
    """The project's manifest; skip (CI=true: fail, for ``in_ci`` projects) when the corpus, its
    interpreter or a service it needs is missing."""
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    recipe = lr.load_recipe(harness.HERE / f"{project}.toml")
    found = lr.interpreter(recipe.python) is not None
    why = f"no interpreter for {project} (pyenv install {recipe.python})"
    if in_ci:
        require_service(f"Python {recipe.python}", found, why)
    elif not found:
        pytest.skip(f"Python {recipe.python} is not available: {why}; pyenv builds it from "
                    "python.org sources, which CI cannot reach")
    for problem in lr.service_problems(recipe):
        require_service(problem.split(":")[0], False, problem)
    return harness.HERE / f"{project}.toml"


def _run_projects(projects: Sequence[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                  ) -> tuple[dict[str, dict[str, Any]], str, Path]:
    """Run the harness on ``projects`` read-only; (summary per project, printed text, keep dir)
    after the checks every project must pass."""
    out = tmp_path / "live.json"
    keep = tmp_path / "work"
    assert live.main(["--keep", str(keep), "--json", str(out),
                      *[a for p in projects for a in ("--project", p)]]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert [p["folder"] for p in summary["projects"]] == list(projects)
    for project in summary["projects"]:
        must, _ = ls.load_live_facts(harness.HERE / f"{project['folder']}.toml")
        assert not [e for e in project["errors"] if "prodaudit run" in e or "not runnable" in e
                    or "never answered" in e], project["errors"]
        assert project["login"]["ok"] == project["login"]["expected"], (project["folder"],
                                                                        project["login"])
        assert project["must_flag"]["total"] == len(must)
        assert any("server alive" in n for n in project["notes"]), project["notes"]
        assert f"=== {project['folder']}" in printed
    assert not _processes_of(keep), _processes_of(keep)
    return {p["folder"]: p for p in summary["projects"]}, printed, keep


def _found(project: Mapping[str, Any]) -> dict[str, set[str]]:
    """Fact id -> the checks that found it."""
    return {f["fact"]["id"]: {b["check"] for b in f["by"]} for f in project["found"]}


def _processes_of(workdir: Path) -> list[str]:
    """Processes still running from the harness's work directory (none may be left)."""
    proc = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=False)
    return [line for line in proc.stdout.splitlines() if str(workdir) in line and "ps -eo" not in line]


@pytest.mark.timeout(1500)  # uncached: two installs from PyPI (~3 min here), two audits (~1 min)
def test_live_projects_in_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for project in CI_PROJECTS:
        _require(project)
    by, printed, _ = _run_projects(CI_PROJECTS, tmp_path, capsys)
    chat, benav = by["Azure-Samples__openai-chat-backend-fastapi"], by["benavlabs__FastAPI-boilerplate"]
    # no account exists: nothing to log in with, and the audit says so instead of failing a login
    assert not chat["login"]["expected"] and "no audit account" in chat["login"]["detail"]
    # the LLM endpoints are recognised by their schema and flagged as open to anyone
    assert {"SEC-084"} <= _found(chat).get("L01", set()), _found(chat)
    assert {"SEC-084"} <= _found(chat).get("L02", set()), _found(chat)
    # the login comes from the OpenAPI document (the OAuth2 password form), the account from the
    # registration operation prodaudit discovered, the credential is the JWT in the body
    assert "OpenAPI schema of POST /api/v1/login" in benav["login"]["detail"], benav["login"]
    assert "jwt in body access_token" in benav["login"]["detail"], benav["login"]
    assert any(n.startswith("registered fieldaudit at POST /api/v1/user") and n.endswith("201")
               for n in benav["notes"]), benav["notes"]
    assert "L01" in _found(benav) and "L03" in _found(benav), _found(benav)
    assert "| **overall** | 1/1 |" in printed


@pytest.mark.timeout(1500)
def test_live_pyenv_projects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for project in PYENV_PROJECTS:
        _require(project, in_ci=False)
    by, printed, keep = _run_projects(PYENV_PROJECTS, tmp_path, capsys)
    micro, tired = by["miguelgrinberg__microblog-api"], by["payatu__Tiredful-API"]
    assert "HTTP Basic" in micro["login"]["detail"] and "jwt" in micro["login"]["detail"]
    assert any(n.startswith("registered fieldaudit at POST /api/users") and n.endswith("201")
               for n in micro["notes"]), micro["notes"]
    assert "auth.login_body" in tired["login"]["detail"] and "opaque token" in tired["login"]["detail"]
    config = (keep / "payatu__Tiredful-API" / "prodaudit-live.toml").read_text(encoding="utf-8")
    recipe = lr.load_recipe(harness.HERE / "payatu__Tiredful-API.toml")
    assert recipe.login_body and str(recipe.login_body["client_secret"]) not in config
    reports = list((keep / "payatu__Tiredful-API").glob("reports-readonly/*/audit.json"))
    assert reports and str(recipe.login_body["client_secret"]) not in reports[0].read_text(encoding="utf-8")
    assert "| **overall** | 2/2 |" in printed


@pytest.mark.field_goal
@pytest.mark.timeout(5400)
def test_live_goals(tmp_path: Path) -> None:
    """Issue 17: login on every runnable project with an account, >= 90% of live must-flag facts
    found, no must-not fact flagged, no unexplained CRITICAL/HIGH failure."""
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(), "absent")
    require_service("PostgreSQL", bool(os.environ.get("PRODAUDIT_TEST_DATABASE_URL")), "services.sh")
    scores = live.run_live(harness.DEFAULT_CORPUS, harness.manifest_paths(), keep=tmp_path)
    report = live.render_text(scores)
    assert all(s.login.ok for s in scores if s.login.expected), report
    found = sum(len(s.found) for s in scores)
    total = sum(s.must_flag_total for s in scores)
    assert found / total >= GOAL_FOUND_RATIO, report
    assert not [s.folder for s in scores if s.violated], report
    assert not [s.folder for s in scores if s.unexpected], report
