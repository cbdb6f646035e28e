"""Helpers of the fleet tests: write a fleet, run the CLI as a CI job would (a process of its own),
read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def cli_argv(argv: Sequence[str]) -> list[str]:
    """A plan command (``prodaudit run ...``) as this interpreter runs it."""
    args = list(argv)
    if args and args[0] == "prodaudit":
        args = args[1:]
    return [sys.executable, "-m", "prodaudit.cli", *args]


def prodaudit(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(["prodaudit", *args]),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_jobs_in_parallel(
    plan: Mapping[str, Any],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    skip: Sequence[str] = (),
    timeout: float = 900,
) -> dict[str, int]:
    """Every job of ``plan`` as its own process, all at once (as a CI runner runs a matrix);
    job id -> exit code."""
    procs: dict[str, subprocess.Popen[str]] = {}
    logs: dict[str, Path] = {}
    for job in plan["jobs"]:
        if job["id"] in skip:
            continue
        logs[job["id"]] = cwd / f"job-{job['id']}.log"
        with logs[job["id"]].open("w", encoding="utf-8") as log:
            procs[job["id"]] = subprocess.Popen(
                cli_argv(job["argv"]),
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **(env or {})},
            )
    codes = {}
    for job_id, proc in procs.items():
        try:
            codes[job_id] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"job {job_id} did not finish: {logs[job_id].read_text()[-3000:]}") from None
        assert codes[job_id] in (0, 1, 2), (
            f"job {job_id} exit {codes[job_id]}:\n{logs[job_id].read_text()[-3000:]}"
        )
    return codes


def latest(output: Path) -> Path:
    return (output / "latest").resolve()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD_DOCKERFILE = 'FROM python:3.12-slim\nRUN useradd -r app\nUSER app\nCMD ["python", "/app/app.py"]\n'
ROOT_DOCKERFILE = 'FROM python:3.12-slim\nCMD ["python", "/app/app.py"]\n'  # runs as root: CFG-102 fails


def static_fleet(
    root: Path,
    services: Mapping[str, str],
    head: str = 'only = ["CFG-102"]\n',
    extra: Mapping[str, str] | None = None,
) -> Path:
    """A fleet of small repositories audited by one static check (fast, nothing running):
    ``services`` maps a name to its Dockerfile; ``extra`` adds lines to a service's table."""
    text = head
    for name, dockerfile in services.items():
        write(root / "services" / name / "Dockerfile", dockerfile)
        text += f'\n[[services]]\nname = "{name}"\nrepo = "services/{name}"\nsuites = ["config"]\n'
        text += (extra or {}).get(name, "")
    write(root / "prodaudit.toml", text)
    return root


def plan_of(root: Path, *args: str) -> dict[str, Any]:
    proc = prodaudit("plan", "--config", "prodaudit.toml", "--format", "json", *args, cwd=root)
    assert proc.returncode == 0, proc.stderr
    write(root / "plan.json", proc.stdout)
    return json.loads(proc.stdout)
