"""The GitHub Action (action.yml) run locally: its shell steps executed in order the way the
runner executes them (``bash --noprofile --norc -eo pipefail``, ``$GITHUB_OUTPUT``,
``$GITHUB_PATH``, ``$GITHUB_STEP_SUMMARY``, expressions from inputs and step outputs), the
``uses:`` steps checked against what they would upload."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from github_sarif import github_problems

ROOT = Path(__file__).parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
pytestmark = pytest.mark.slow

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Workflow:
    """The slice of a GitHub runner a composite action of shell steps needs."""

    def __init__(self, inputs: dict[str, str], workspace: Path, tmp: Path) -> None:
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        assert not unknown, f"not inputs of the action: {unknown}"
        self.inputs.update(inputs)
        self.workspace = workspace
        self.tmp = tmp
        self.outputs: dict[str, dict[str, str]] = {}
        self.path: list[str] = []
        self.summary = tmp / "summary.md"
        self.uploads: list[tuple[str, dict[str, str]]] = []

    def value(self, expr: str) -> str:
        if expr == "github.action_path":
            return str(ROOT)
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            return self.inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"expression the local runner does not know: {expr}")

    def sub(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), str(text))

    def condition(self, cond: str | None) -> bool:
        if not cond:
            return True
        ok = True
        for term in (t.strip() for t in cond.split("&&")):
            if term == "always()":
                continue
            m = re.fullmatch(r"(.+?)\s*(==|!=)\s*'(.*)'", term)
            assert m, f"condition the local runner does not know: {term}"
            left = self.value(m.group(1))
            ok = ok and ((left == m.group(3)) if m.group(2) == "==" else (left != m.group(3)))
        return ok

    def run(self) -> int:
        code = 0
        for i, step in enumerate(ACTION["runs"]["steps"]):
            if code and "always()" not in str(step.get("if", "")):
                continue
            if not self.condition(step.get("if")):
                continue
            if "uses" in step:
                self.uploads.append((step["uses"], {k: self.sub(v) for k, v in step.get("with", {}).items()}))
                continue
            assert step.get("shell") == "bash", step
            out = self.tmp / f"out-{i}"
            paths = self.tmp / f"path-{i}"
            out.touch()
            paths.touch()
            env = {
                **os.environ,
                **{k: self.sub(v) for k, v in step.get("env", {}).items()},
                "GITHUB_OUTPUT": str(out),
                "GITHUB_PATH": str(paths),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_ACTIONS": "true",
                "RUNNER_TEMP": str(self.tmp),
                "PATH": ":".join([*self.path, os.environ["PATH"]]),
            }
            script = self.tmp / f"step-{i}.sh"
            script.write_text(self.sub(step["run"]), encoding="utf-8")
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.workspace, env=env, capture_output=True, text=True, timeout=1200,
            )  # fmt: skip
            self.log = getattr(self, "log", "") + proc.stdout + proc.stderr
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in out.read_text(encoding="utf-8").splitlines() if "=" in line
                )
            self.path = [p for p in paths.read_text(encoding="utf-8").splitlines() if p][::-1] + self.path
            code = proc.returncode
        return code


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "Dockerfile").write_text(
        'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/app.py"]\n', encoding="utf-8"
    )
    (root / "app.py").write_text('import os\nSECRET = os.environ["JWT_SECRET"]\n', encoding="utf-8")
    (root / "docker-compose.yml").write_text("services:\n  api:\n    build: .\n", encoding="utf-8")
    (root / "requirements.txt").write_text("fastapi==0.110.0\n", encoding="utf-8")
    return root


def test_action_definition() -> None:
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
    uses = [s["uses"].split("@")[0] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python", "github/codeql-action/upload-sarif", "actions/upload-artifact"]
    # inputs reach scripts through env, never pasted into the script (no injection through inputs)
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_action_runs_locally(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    _project(workspace / "app")
    (tmp_path / "osv").mkdir()  # offline advisories: the dependency check needs no network
    wf = Workflow(
        {"repo": "app", "suite": "config", "vuln-db": str(tmp_path / "osv"), "fail-on": "no-go"},
        workspace,
        tmp_path,
    )
    code = wf.run()
    out = wf.outputs["audit"]
    # installed into its own venv from the action's checkout, on PATH for the next steps
    assert wf.path == [str(tmp_path / "prodaudit-venv" / "bin")], wf.log[-3000:]
    assert out["decision"] == "NO-GO" and out["exit-code"] == "1"  # the Dockerfile runs as root
    assert code == 1, wf.log[-3000:]  # the job fails on the decision, after the uploads
    report = Path(out["report-dir"])
    assert report.parent == workspace / "prodaudit-reports"
    audit = json.loads((report / "audit.json").read_text(encoding="utf-8"))
    assert {r["suite"] for r in audit["results"]} == {"config"}
    assert any(r["id"] == "CFG-102" and r["status"] == "fail" for r in audit["results"])
    uploads = dict(wf.uploads)
    sarif = uploads["github/codeql-action/upload-sarif@v3"]
    assert sarif["category"] == "prodaudit" and Path(sarif["sarif_file"]) == report / "audit.sarif"
    assert github_problems(json.loads(Path(sarif["sarif_file"]).read_text(encoding="utf-8"))) == []
    artifact = uploads["actions/upload-artifact@v4"]
    assert Path(artifact["path"]) == report and (report / "index.html").is_file()
    summary = wf.summary.read_text(encoding="utf-8")
    assert summary.startswith("## prodaudit: NO-GO") and "CFG-102" in summary


def _record(tmp_path: Path, code: int) -> Path:
    """A stand-in ``prodaudit`` that records its arguments and exits with ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "prodaudit"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args"\nexit {code}\n', encoding="utf-8")
    fake.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("code", [3])
def test_action_passes_the_options_and_stops_when_the_audit_cannot_run(
    tmp_path: Path, monkeypatch: Any, code: int
) -> None:
    monkeypatch.setenv("PATH", f"{_record(tmp_path, code)}:{os.environ['PATH']}")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    wf = Workflow(
        {"install": "false", "base-url": "https://staging.example.com", "only": "SEC", "profile": "staging",
         "env-file": ".env.staging", "skip": "SEC-091", "suite": "security"},
        workspace,
        tmp_path,
    )  # fmt: skip
    assert wf.run() == code
    args = (tmp_path / "args").read_text(encoding="utf-8").split()
    for flag, value in (("--suite", "security"), ("--base-url", "https://staging.example.com"),
                        ("--only", "SEC"), ("--skip", "SEC-091"), ("--profile", "staging"),
                        ("--env-file", ".env.staging"), ("--fail-on", "conditional")):  # fmt: skip
        assert args[args.index(flag) + 1] == value
    assert "--frontend-url" not in args  # empty inputs are not passed
    assert wf.uploads == []  # nothing to upload: no report was written


def test_action_audits_one_service_of_a_fleet(tmp_path: Path, monkeypatch: Any) -> None:
    """``service:`` runs the fleet job of that service ([[services]] in prodaudit.toml): its own
    report directory, the fleet record in audit.json, the decision of that service."""
    import sys

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    workspace = tmp_path / "ws"
    (workspace / "services").mkdir(parents=True)
    _project(workspace / "services" / "api")
    (workspace / "prodaudit.toml").write_text(
        'only = ["CFG-102"]\n[[services]]\nname = "api"\nrepo = "services/api"\n'
        '[[services]]\nname = "web"\nrepo = "services/web"\n', encoding="utf-8")
    (workspace / "services" / "web").mkdir(parents=True)
    wf = Workflow({"install": "false", "service": "api", "suite": "", "config": "prodaudit.toml",
                   "upload-sarif": "true"}, workspace, tmp_path)
    assert wf.run() == 1, wf.log[-3000:]  # the Dockerfile runs as root: NO-GO
    out = wf.outputs["audit"]
    report = Path(out["report-dir"])
    assert report.parent == workspace / "prodaudit-reports" / "api"
    audit = json.loads((report / "audit.json").read_text(encoding="utf-8"))
    assert audit["extras"]["fleet"]["service"] == "api" and audit["decision"] == out["decision"] == "NO-GO"
    assert {r["suite"] for r in audit["results"]} == {"config"}  # the service's planned suites (with only)
    sarif = dict(wf.uploads)["github/codeql-action/upload-sarif@v3"]
    assert sarif["sarif_file"] == str(report / "audit.sarif")
