"""The live field harness on real projects of the field corpus (issue 17).

``test_live_projects_in_ci`` (always run; CI=true fails when a prerequisite is missing) starts two
projects that install fast and need no database — microblog-api (Flask, Python 3.10: the login is
HTTP Basic, found in its OpenAPI document; the account is registered first) and Tiredful-API
(Django REST framework on Python 2.7: an OAuth2 password grant whose body the manifest
configures, its client secret passed in an environment variable; opaque tokens) — audits them
read-only through the real CLI and checks what the harness promises: the project started, the
audit account logged in, every live fact was judged, nothing the harness started is left
running. ``test_live_goals`` (marker ``field_goal``) runs every project and asserts issue 17's
goals."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import harness
import live
import live_recipe as lr
import live_score as ls
import pytest
from conftest_services import require_service

CI_PROJECTS = ("miguelgrinberg__microblog-api", "payatu__Tiredful-API")
GOAL_FOUND_RATIO = 0.90


def _require(project: str) -> Path:
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    recipe = lr.load_recipe(harness.HERE / f"{project}.toml")
    require_service(f"Python {recipe.python}", lr.interpreter(recipe.python) is not None,
                    f"no interpreter for {project} (pyenv install {recipe.python})")
    return harness.HERE / f"{project}.toml"


def _processes_of(workdir: Path) -> list[str]:
    """Processes still running from the harness's work directory (none may be left)."""
    proc = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=False)
    return [line for line in proc.stdout.splitlines() if str(workdir) in line and "ps -eo" not in line]


def test_live_projects_in_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for project in CI_PROJECTS:
        _require(project)
    out = tmp_path / "live.json"
    keep = tmp_path / "work"
    assert live.main(["--keep", str(keep), "--json", str(out),
                      *[a for p in CI_PROJECTS for a in ("--project", p)]]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert [p["folder"] for p in summary["projects"]] == list(CI_PROJECTS)
    for project in summary["projects"]:
        must, _ = ls.load_live_facts(harness.HERE / f"{project['folder']}.toml")
        assert not [e for e in project["errors"] if "prodaudit run" in e or "not runnable" in e
                    or "never answered" in e], project["errors"]
        assert project["login"]["ok"], (project["folder"], project["login"])
        assert project["must_flag"]["total"] == len(must)
        assert any("server alive" in n for n in project["notes"]), project["notes"]
        assert f"=== {project['folder']}" in printed
    micro, tired = summary["projects"]
    assert "HTTP Basic" in micro["login"]["detail"] and "jwt" in micro["login"]["detail"]
    assert any(n.startswith("registered fieldaudit at POST /api/users") and n.endswith("201")
               for n in micro["notes"]), micro["notes"]
    assert "auth.login_body" in tired["login"]["detail"] and "opaque token" in tired["login"]["detail"]
    config = (keep / "payatu__Tiredful-API" / "prodaudit-live.toml").read_text(encoding="utf-8")
    recipe = lr.load_recipe(harness.HERE / "payatu__Tiredful-API.toml")
    assert recipe.login_body and str(recipe.login_body["client_secret"]) not in config
    reports = list((keep / "payatu__Tiredful-API").glob("reports-readonly/*/audit.json"))
    assert reports and str(recipe.login_body["client_secret"]) not in reports[0].read_text(encoding="utf-8")
    assert not _processes_of(keep), _processes_of(keep)
    assert "| **overall** | 2/2 |" in printed


@pytest.mark.field_goal
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
