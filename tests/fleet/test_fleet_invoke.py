"""invoke fleet.plan / fleet.merge: generated from the CLI's option definitions, same output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleet_helpers import GOOD_DOCKERFILE, ROOT, prodaudit, static_fleet

from prodaudit.cli_fleet import merge_option_actions, plan_option_actions


def _long(actions: list) -> set[str]:
    return {next((o for o in a.option_strings if o.startswith("--")), "--" + a.dest) for a in actions}


def _task_options(name: str) -> set[str]:
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    task = tasks.ns.collections["fleet"].tasks[name]
    return {"--" + arg.name.replace("_", "-") for arg in task.get_arguments()}


def test_fleet_tasks_take_every_cli_option() -> None:
    plan = _long(plan_option_actions())
    assert {"--per", "--max-jobs", "--gitlab-template", "--format", "--output", "--config", "--only"} <= plan
    assert _task_options("plan") == plan
    assert _task_options("merge") == _long(merge_option_actions())


def test_invoke_fleet_plan_prints_the_cli_plan(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"api": GOOD_DOCKERFILE, "web": GOOD_DOCKERFILE})
    cli = prodaudit("plan", "--config", "prodaudit.toml", "--format", "github", cwd=root)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "invoke",
            "--search-root",
            str(ROOT),
            "fleet.plan",
            "--config",
            "prodaudit.toml",
            "--format",
            "github",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == cli.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(ROOT), "fleet.merge", "--dirs", "missing"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 3 and "no such directory" in bad.stderr
