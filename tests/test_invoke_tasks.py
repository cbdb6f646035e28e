"""The invoke tasks take every CLI option (generated from the CLI's option definitions, one
source), pass them through unchanged, and keep prodaudit's exit codes (a usage error is 3, not
invoke's 1 = NO-GO)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from prodaudit.cli import audit_option_actions, clean_option_actions, report_option_actions
from prodaudit.config import PROJECT_ROOT
from prodaudit.invoke_tasks import to_argv


def invoke(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=PROJECT_ROOT)


def long_options(actions: list[argparse.Action]) -> set[str]:
    out = set()
    for a in actions:
        longs = [o for o in a.option_strings if o.startswith("--")]
        out.add(longs[0] if longs else "--" + a.dest.replace("_", "-"))
    return out


def task_options(collection: str, name: str) -> set[str]:
    sys.path.insert(0, str(PROJECT_ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(PROJECT_ROOT))
    task = tasks.ns.collections[collection].tasks[name]
    return {"--" + arg.name.replace("_", "-") for arg in task.get_arguments()}


def test_audit_all_takes_every_cli_option() -> None:
    cli = long_options(audit_option_actions())
    assert {"--allow-mutations", "--openapi", "--waivers", "--baseline", "--no-start",
            "--suite", "--compose-file", "--target-venv", "--keep-up"} <= cli
    assert task_options("audit", "all") == cli


@pytest.mark.parametrize("suite", ["config", "functional", "security", "deployment", "readiness"])
def test_suite_tasks_take_every_cli_option_but_suite(suite: str) -> None:
    assert task_options("audit", suite) == long_options(audit_option_actions()) - {"--suite"}


def test_report_build_takes_every_report_option() -> None:
    assert task_options("report", "build") == long_options(report_option_actions())


def test_docker_clean_takes_every_clean_option() -> None:
    assert task_options("docker", "clean") == long_options(clean_option_actions()) == {
        "--run-id", "--dry-run"}


def test_invoke_help_lists_every_cli_option() -> None:
    proc = invoke("--help", "audit.all", timeout=60)
    assert proc.returncode == 0, proc.stderr
    for option in long_options(audit_option_actions()):
        assert option in proc.stdout, option


def test_to_argv_keeps_flags_lists_and_positionals() -> None:
    actions = audit_option_actions()
    argv = to_argv(actions, {"compose_file": ["a.yml", "b.yml"], "no_start": True,
                             "quiet": False, "only": "CFG-005", "suite": ["config", "readiness"],
                             "repo": None})
    assert argv == ["--suite", "config", "--suite", "readiness", "--compose-file", "a.yml",
                    "--compose-file", "b.yml", "--only", "CFG-005", "--no-start"]
    assert to_argv(report_option_actions(), {"audit_json": "x/audit.json", "format": "html"}) == [
        "--format", "html", "x/audit.json"]


@pytest.mark.parametrize(("args", "expected"), [
    (["audit.all", "--bogus"], "No idea what '--bogus' is"),
    (["audit.nope"], "No idea what 'audit.nope' is"),
    (["audit.config", "--only", "NOPE"], "--only NOPE"),
    (["audit.config", "--profile", "prod"], "invalid choice"),
    (["audit.security", "--only", "CFG-005"], "in the config suite"),
])
def test_usage_errors_exit_3(args: list[str], expected: str) -> None:
    proc = invoke(*args, timeout=120)
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert expected in proc.stderr


def test_options_reach_the_audit(tmp_path: Path) -> None:
    """Options the tasks did not have before (--no-start, --waivers, --suite twice) take effect."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ncheck = "CFG-005"\nreason = "test"\nowner = "qa"\n'
                       'expires = 2999-01-01\n')
    out = tmp_path / "reports"
    proc = invoke("audit.all", "--repo", str(repo), "--no-start", "--suite", "config",
                  "--suite", "readiness", "--only", "CFG-005,RDY-001", "--waivers", str(waivers),
                  "--format", "json", "--output", str(out), "--quiet")
    data = json.loads((out / "latest" / "audit.json").read_text())
    assert proc.returncode == data["exit_code"], proc.stderr
    assert sorted(r["id"] for r in data["results"]) == ["CFG-005", "RDY-001"]
    assert sorted(p.name for p in (out / "latest").iterdir()) == ["audit.json"]
    assert data["target"]["reference_target"] is False
    assert data["extras"]["waivers"]["file"] == str(waivers)  # --waivers reached the audit
