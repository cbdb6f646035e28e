"""The CI templates of docs/ci run locally: GitHub's plan → matrix of audit jobs → merge, and
GitLab's child pipeline; the commands they run are the ones ``prodaudit plan`` prints, a service
in its own repository is checked out, only the credentials a job needs reach it, the merge gates,
uploads SARIF (in parts of 20 runs for large fleets) and writes the summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_local import BIN, GithubJob, gitlab_script
from fleet_helpers import GOOD_DOCKERFILE, ROOT, ROOT_DOCKERFILE, read_json, static_fleet, write
from github_sarif import github_problems

from prodaudit.fleet.plan import Plan
from prodaudit.fleet.services import decode_plan, encode_plan

pytestmark = pytest.mark.slow

GITHUB = yaml.safe_load((ROOT / "docs" / "ci" / "github-fleet.yml").read_text(encoding="utf-8"))
GITLAB = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-fleet.yml").read_text(encoding="utf-8"))
SECRETS = {
    "API_USER": "audit-api",
    "API_PW": "s3cret-api-pw",
    "OTHER_SECRET": "never-exported",
    "github_token": "ghs_dummy",
}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )


def _external_repo(tmp_path: Path) -> str:
    """A service in a repository of its own (a local git repository reached by URL)."""
    src = tmp_path / "ext-src"
    write(src / "Dockerfile", GOOD_DOCKERFILE)
    _git("init", "--quiet", "-b", "main", cwd=src)
    _git("add", ".", cwd=src)
    _git("commit", "--quiet", "-m", "ext", cwd=src)
    return src.resolve().as_uri()


def _fleet(tmp_path: Path) -> Path:
    root = static_fleet(
        tmp_path / "repo",
        {"web": GOOD_DOCKERFILE, "api": ROOT_DOCKERFILE},
        extra={"api": '[services.auth]\nusername_env = "API_USER"\npassword_env = "API_PW"\n'},
    )
    url = _external_repo(tmp_path)
    with (root / "prodaudit.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n[[services]]\nname = "ext"\nrepo = "checkouts/ext"\nrepository = "{url}"\nref = "main"\n'
            'suites = ["config"]\n'
        )
    shutil.rmtree(root / "services" / "ext", ignore_errors=True)
    return root


def _job(name: str, repo: Path, tmp: Path, artifacts: Path, **ctx: Any) -> GithubJob:
    workspace = tmp / name / "workspace"
    shutil.copytree(repo, workspace)  # each job: a fresh checkout of the fleet's repository
    (tmp / name / "runner").mkdir()
    base = {"secrets": SECRETS, "github_token": "ghs_dummy", "matrix": {}, "needs": {}}
    return GithubJob(GITHUB, name.split(":")[0], workspace, tmp / name / "runner", artifacts, {**base, **ctx})


def test_github_workflow_plan_matrix_merge(tmp_path: Path) -> None:
    assert GITHUB["jobs"]["audit"]["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert GITHUB["jobs"]["audit"]["strategy"]["fail-fast"] is False
    repo = _fleet(tmp_path)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    plan_job = _job("plan", repo, tmp_path, artifacts)
    assert plan_job.run() == 0, plan_job.log
    matrix = json.loads(plan_job.outputs["plan"]["matrix"])
    plan = read_json(artifacts / "prodaudit-plan" / "fleet-plan.json")
    assert [e["command"] for e in matrix["include"]] == [j["command"] for j in plan["jobs"]]

    for entry in matrix["include"]:
        job = _job(
            f"audit:{entry['job']}",
            repo,
            tmp_path,
            artifacts,
            matrix=entry,
            needs={"plan": {"outputs": plan_job.outputs["plan"], "result": "success"}},
        )
        assert job.run() == 0, job.log  # NO-GO of one service does not fail its job: the merge gates
        assert f"\n{entry['command']}\n" in f"\n{job.log}"  # the command it ran is the plan's
        assert (artifacts / f"prodaudit-job-{entry['job']}").is_dir()
        if entry["job"] == "api.config":  # only the credentials this job's service names
            assert {k: v for k, v in job.exported.items() if k in SECRETS} == {
                "API_USER": "audit-api",
                "API_PW": "s3cret-api-pw",
            }
            assert "s3cret-api-pw" not in job.log
        if entry["job"] == "ext.config":
            assert "checking out" in job.log
            assert (job.workspace / "checkouts" / "ext" / "Dockerfile").is_file()

    merge = _job("merge", repo, tmp_path, artifacts, needs={"plan": {"outputs": {}, "result": "success"}})
    code = merge.run()
    assert code == 1, merge.log  # api runs as root: NO-GO, the workflow fails on it
    report = Path(merge.outputs["merge"]["report-dir"])
    doc = read_json(report / "audit.json")
    assert doc["decision"] == "NO-GO" and {s["name"] for s in doc["services"]} == {"web", "api", "ext"}
    assert next(s for s in doc["services"] if s["name"] == "ext")["decision"] == "GO"
    uploads = dict(merge.uses)
    sarif = Path(uploads["github/codeql-action/upload-sarif"]["sarif_file"])
    assert "category" not in uploads["github/codeql-action/upload-sarif"]  # each run has its own
    assert sarif == report / "audit.sarif" and github_problems(read_json(sarif)) == []
    assert uploads["actions/upload-artifact"]["path"] == str(report)
    assert merge.summary.read_text(encoding="utf-8").startswith("## prodaudit fleet: NO-GO")


def test_github_merge_uploads_large_fleets_in_parts_of_twenty(tmp_path: Path) -> None:
    """More than 20 services: one SARIF upload per 20 runs through the code-scanning API."""
    repo = static_fleet(tmp_path / "repo", {"s00": GOOD_DOCKERFILE})
    proc = subprocess.run(
        [
            str(Path(os.sys.executable)),
            "-m",
            "prodaudit.cli",
            "run",
            "--config",
            "prodaudit.toml",
            "--service",
            "s00",
            "--output",
            "one",
            "-q",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (template,) = (repo / "one").glob("s00/2*/audit.json")
    base = read_json(template)
    plan = {f"s{i:02d}": decode_plan(base["extras"]["fleet"]["plan"])["s00"] for i in range(23)}
    artifacts = tmp_path / "artifacts"
    for i, name in enumerate(plan):  # 23 jobs' audits: the real one, renamed
        doc = json.loads(json.dumps(base))
        doc["run_id"] = f"{base['run_id']}-{i:02d}"
        doc["extras"]["fleet"].update(service=name, plan=encode_plan(plan))
        write(artifacts / f"prodaudit-job-{name}" / name / doc["run_id"] / "audit.json", json.dumps(doc))
    fleet_plan = Plan(base["extras"]["fleet"]["fleet_digest"], base["tool_version"], "prodaudit.toml", plan)
    write(artifacts / "prodaudit-plan" / "fleet-plan.json", json.dumps(fleet_plan.to_dict()))
    bin_dir = tmp_path / "bin"
    write(bin_dir / "gh", f'#!/bin/sh\necho "$@" >> "{tmp_path}/gh-calls"\n').chmod(0o755)
    merge = _job("merge", repo, tmp_path, artifacts, needs={"plan": {"outputs": {}, "result": "success"}})
    merge.env["PATH"] = f"{bin_dir}:{BIN}:{os.environ['PATH']}"
    assert merge.run() == 0, merge.log
    assert merge.outputs["merge"]["sarif-parts"] == "true"
    assert "github/codeql-action/upload-sarif" not in dict(merge.uses)
    calls = (tmp_path / "gh-calls").read_text(encoding="utf-8").splitlines()
    assert len(calls) == 2 and all("repos/acme/fleet/code-scanning/sarifs" in c for c in calls)
    assert all(f"commit_sha={'0' * 40}" in c and "ref=refs/heads/main" in c for c in calls)
    report = Path(merge.outputs["merge"]["report-dir"])
    parts = sorted((report / "sarif").glob("part-*.sarif"))
    assert [len(read_json(p)["runs"]) for p in parts] == [20, 3]
    assert all(github_problems(read_json(p)) == [] for p in parts)


def test_gitlab_child_pipeline_runs_the_planned_commands_and_merges(tmp_path: Path) -> None:
    for key in (
        ".prodaudit-install",
        ".prodaudit-audit",
        ".prodaudit-merge",
        "prodaudit-plan",
        "prodaudit-fleet",
    ):
        assert key in GITLAB, key
    assert GITLAB["prodaudit-fleet"]["trigger"]["include"][0] == {
        "artifact": "fleet-jobs.yml",
        "job": "prodaudit-plan",
    }
    never = {"if": '$CI_PIPELINE_SOURCE == "parent_pipeline"', "when": "never"}
    assert GITLAB["prodaudit-plan"]["rules"][0] == never and GITLAB["prodaudit-fleet"]["rules"][0] == never
    repo = _fleet(tmp_path)
    shutil.copy(ROOT / "docs" / "ci" / "gitlab-fleet.yml", repo / ".gitlab-ci.yml")
    plan_proc = gitlab_script(
        GITLAB["prodaudit-plan"],
        {"PRODAUDIT_CONFIG": "prodaudit.toml", "PRODAUDIT_TEMPLATE": ".gitlab-ci.yml"},
        repo,
        tmp_path,
    )
    assert plan_proc.returncode == 0, plan_proc.stderr
    child = yaml.safe_load((repo / "fleet-jobs.yml").read_text(encoding="utf-8"))
    plan = read_json(repo / "fleet-plan.json")
    entries = child["prodaudit-audit"]["parallel"]["matrix"]
    assert [e["PRODAUDIT_COMMAND"] for e in entries] == [j["command"] for j in plan["jobs"]]
    merged = tmp_path / "merge-ws"
    shutil.copytree(repo, merged)
    for entry in entries:  # each matrix job on its own runner; its artifacts land in the merge job's tree
        ws = tmp_path / f"gl-{entry['PRODAUDIT_JOB']}"
        shutil.copytree(repo, ws)
        proc = gitlab_script(
            child[".prodaudit-audit"], {**child["variables"], **entry, **SECRETS}, ws, tmp_path
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert entry["PRODAUDIT_COMMAND"] in proc.stdout
        shutil.copytree(
            ws / "prodaudit-reports", merged / "prodaudit-reports", dirs_exist_ok=True, symlinks=True
        )
    proc = gitlab_script(child[".prodaudit-merge"], dict(child["variables"]), merged, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # NO-GO fails; exit 2 would be a warning
    assert child[".prodaudit-merge"]["allow_failure"] == {"exit_codes": [2]}
    report = merged / "prodaudit-fleet-report"
    assert read_json(report / "audit.json")["decision"] == "NO-GO"
    assert child[".prodaudit-merge"]["artifacts"]["reports"]["junit"] == "prodaudit-fleet-report/junit.xml"
    assert (report / "junit.xml").is_file()
