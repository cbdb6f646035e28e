"""``prodaudit plan``: the jobs of a fleet (service x suite, the exact command each runs) for the
CI matrix of GitHub Actions and GitLab, and as JSON for ``prodaudit merge --plan``."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml
from fleet_helpers import GOOD_DOCKERFILE, ROOT, prodaudit, static_fleet, write

from prodaudit.config import load_config
from prodaudit.fleet.plan import Plan, build_plan, render
from prodaudit.fleet.services import fleet_digest


def _plan(root: Path, *args: str) -> tuple[str, str]:
    proc = prodaudit("plan", "--config", "prodaudit.toml", *args, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def test_plan_lists_service_by_suite_with_the_command_each_job_runs(tmp_path: Path) -> None:
    root = static_fleet(
        tmp_path,
        {"api": GOOD_DOCKERFILE, "web": GOOD_DOCKERFILE},
        head='only = ["CFG-102", "SEC-001"]\n',
        extra={
            "api": 'suites = ["config", "security"]\nbase_url = "http://127.0.0.1:9"\n'
            '[services.auth]\nusername_env = "API_USER"\npassword_env = "API_PW"\n'
        },
    )
    # suites = [...] given twice for api: the service's own table wins (TOML: the second is an error)
    text = (
        (root / "prodaudit.toml")
        .read_text(encoding="utf-8")
        .replace('repo = "services/api"\nsuites = ["config"]\n', 'repo = "services/api"\n')
    )
    write(root / "prodaudit.toml", text)
    out, _ = _plan(root, "--no-start", "--profile", "staging")
    plan = json.loads(out)
    assert plan["schema"] == "prodaudit/fleet-plan/1"
    assert plan["services"] == {
        "api": {"suites": ["config", "security"], "only": ["CFG-102", "SEC-001"], "skip": []},
        "web": {"suites": ["config"], "only": ["CFG-102", "SEC-001"], "skip": []},
    }
    jobs = {j["id"]: j for j in plan["jobs"]}
    assert list(jobs) == ["api.config", "api.security", "web.config"]
    argv = jobs["api.security"]["argv"]
    assert shlex.split(jobs["api.security"]["command"]) == argv
    assert argv == [
        "prodaudit",
        "run",
        "--profile",
        "staging",
        "--config",
        "prodaudit.toml",
        "--no-start",
        "--service",
        "api",
        "--suite",
        "security",
        "--output",
        "prodaudit-reports",
        "--format",
        "json",
    ]
    assert jobs["api.security"]["env"][:2] == ["API_USER", "API_PW"]
    # the plan's digest is the one the jobs record: the options given to plan are passed on
    cfg = load_config({"profile": "staging", "start_target": False}, config_file=root / "prodaudit.toml")
    assert plan["fleet_digest"] == fleet_digest(cfg)
    assert Plan.from_dict(plan).to_dict() == plan

    github = json.loads(_plan(root, "--no-start", "--profile", "staging", "--format", "github")[0])
    assert [e["command"] for e in github["include"]] == [j["command"] for j in plan["jobs"]]
    assert [e["job"] for e in github["include"]] == list(jobs)
    assert github["include"][1] == {
        "job": "api.security",
        "services": "api",
        "suites": "security",
        "command": jobs["api.security"]["command"],
        "output": "prodaudit-reports",
        "checkouts": [],
        "env": jobs["api.security"]["env"],
    }
    assert "\n" not in _plan(root, "--format", "github")[0].rstrip("\n")  # one line for $GITHUB_OUTPUT


def test_per_service_and_packing_under_the_matrix_limit(tmp_path: Path) -> None:
    names = {f"svc{i}": GOOD_DOCKERFILE for i in range(5)}
    root = static_fleet(tmp_path, names)
    per_service = json.loads(_plan(root, "--per", "service")[0])
    assert [j["id"] for j in per_service["jobs"]] == list(names)
    assert "--suite" not in per_service["jobs"][0]["argv"]
    out, err = _plan(root, "--max-jobs", "2")
    packed = json.loads(out)
    assert [j["id"] for j in packed["jobs"]] == ["batch-001", "batch-002"]
    assert [[u["service"] for u in j["services"]] for j in packed["jobs"]] == [
        ["svc0", "svc2", "svc4"],
        ["svc1", "svc3"],
    ]
    assert packed["jobs"][0]["argv"][-6:] == [
        "--service",
        "svc0,svc2,svc4",
        "--output",
        "prodaudit-reports",
        "--format",
        "json",
    ]
    assert "5 service/suite audits packed into 2 jobs" in err
    # github's matrix limit is the default there
    cfg = load_config({}, config_file=root / "prodaudit.toml")
    assert len(build_plan(cfg, ["prodaudit", "run"], max_jobs=256).jobs) == 5


def test_gitlab_child_pipeline_carries_the_template_jobs_and_every_command(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"api": GOOD_DOCKERFILE, "web": GOOD_DOCKERFILE})
    template = ROOT / "docs" / "ci" / "gitlab-fleet.yml"
    out, _ = _plan(root, "--format", "gitlab", "--gitlab-template", str(template))
    child = yaml.safe_load(out)
    plan = json.loads(_plan(root)[0])
    entries = child["prodaudit-audit"]["parallel"]["matrix"]
    assert [e["PRODAUDIT_COMMAND"] for e in entries] == [j["command"] for j in plan["jobs"]]
    assert [e["PRODAUDIT_JOB"] for e in entries] == ["api.config", "web.config"]
    assert child["prodaudit-audit"]["extends"] == ".prodaudit-audit"
    assert (
        child["prodaudit-merge"]["needs"] == ["prodaudit-audit"]
        and child["prodaudit-merge"]["when"] == "always"
    )
    source = yaml.safe_load(template.read_text(encoding="utf-8"))
    for key in (".prodaudit-install", ".prodaudit-audit", ".prodaudit-merge"):
        assert child[key] == source[key]
    assert "prodaudit-plan" not in child and "prodaudit-fleet" not in child  # no recursion
    bad = write(tmp_path / "other.yml", "stages: [test]\n")
    proc = prodaudit(
        "plan", "--config", "prodaudit.toml", "--format", "gitlab", "--gitlab-template", str(bad), cwd=root
    )
    assert proc.returncode == 3 and "no .prodaudit-audit, .prodaudit-merge job" in proc.stderr


def test_a_plan_that_cannot_be_made_exits_3(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"api": GOOD_DOCKERFILE}, head='only = ["NOPE-1"]\n')
    proc = prodaudit("plan", "--config", "prodaudit.toml", cwd=root)
    assert proc.returncode == 3 and "no check has this id" in proc.stderr
    root2 = static_fleet(tmp_path / "b", {"api": GOOD_DOCKERFILE}, head='only = ["SEC-001"]\n')
    proc = prodaudit("plan", "--config", "prodaudit.toml", cwd=root2)
    assert proc.returncode == 3 and "service 'api': its suites (config) have no check left" in proc.stderr
    plain = write(tmp_path / "plain" / "prodaudit.toml", "profile = 'staging'\n")
    proc = prodaudit("plan", "--config", str(plain), cwd=tmp_path)
    assert proc.returncode == 3 and "no [[services]]: not a fleet" in proc.stderr
    proc = prodaudit("plan", "--config", "prodaudit.toml", "--service", "api", cwd=root)
    assert proc.returncode == 3 and "a plan covers every service" in proc.stderr


def test_checkouts_of_services_in_their_own_repositories(tmp_path: Path) -> None:
    root = static_fleet(
        tmp_path, {"api": GOOD_DOCKERFILE}, extra={"api": 'repository = "acme/api"\nref = "v1.2.0"\n'}
    )
    cfg = load_config({}, config_file=root / "prodaudit.toml")
    plan = build_plan(cfg, ["prodaudit", "run"])
    assert [dict(c) for c in plan.jobs[0].checkouts] == [
        {"service": "api", "repository": "acme/api", "ref": "v1.2.0", "path": "services/api"}
    ]
    assert json.loads(render(plan, "github"))["include"][0]["checkouts"][0]["path"] == "services/api"
