"""The slice of a CI runner the fleet templates need, run locally (as tests/test_action.py does for
the action): GitHub jobs of ``run:`` steps with ``$GITHUB_OUTPUT``, ``$GITHUB_ENV``,
``$GITHUB_STEP_SUMMARY`` and the expressions the templates use; ``uses:`` steps are recorded, and
the artifact steps copy directories the way the artifact service would. GitLab job scripts run as
one bash script with the matrix entry's variables. An expression the runner does not know fails
the test: the templates stay within what is verified here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
#: what the skipped install steps would have put on PATH: this interpreter's prodaudit
BIN = str(Path(sys.executable).parent)


class GithubJob:
    def __init__(
        self,
        workflow: Mapping[str, Any],
        name: str,
        workspace: Path,
        tmp: Path,
        artifacts: Path,
        context: Mapping[str, Any],
    ) -> None:
        self.spec = workflow["jobs"][name]
        self.env = {k: str(v) for k, v in (workflow.get("env") or {}).items()}
        self.workspace = workspace
        self.tmp = tmp
        self.artifacts = artifacts
        self.ctx = dict(context)
        self.outputs: dict[str, dict[str, str]] = {}
        self.summary = tmp / "summary.md"
        self.uses: list[tuple[str, dict[str, str]]] = []
        self.log = ""
        self.scripts: list[str] = []

    # ---- expressions
    def value(self, expr: str) -> Any:
        ctx = self.ctx
        if m := re.fullmatch(r"toJSON\((.+)\)", expr):
            return json.dumps(self.value(m.group(1)))
        if m := re.fullmatch(r"join\((.+), '(.*)'\)", expr):
            return m.group(2).join(self.value(m.group(1)))
        if m := re.fullmatch(r"(.+?)\s*\|\|\s*(.+)", expr):
            return self.value(m.group(1)) or self.value(m.group(2))
        if expr == "secrets":
            return ctx["secrets"]
        if m := re.fullmatch(r"secrets\.(\w+)", expr):
            return ctx["secrets"].get(m.group(1), "")
        if expr == "github.token":
            return ctx["github_token"]
        if m := re.fullmatch(r"matrix\.([\w-]+)", expr):
            return ctx["matrix"][m.group(1)]
        if m := re.fullmatch(r"needs\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return ctx["needs"][m.group(1)]["outputs"].get(m.group(2), "")
        if m := re.fullmatch(r"needs\.([\w-]+)\.result", expr):
            return ctx["needs"][m.group(1)]["result"]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"expression the local runner does not know: {expr}")

    def sub(self, text: Any) -> str:
        return _EXPR.sub(lambda m: str(self.value(m.group(1))), str(text))

    def condition(self, cond: str | None) -> bool:
        if not cond:
            return True
        ok = True
        for term in (t.strip() for t in str(cond).split("&&")):
            if term == "always()":
                continue
            m = re.fullmatch(r"(.+?)\s*(==|!=)\s*'(.*)'", term)
            assert m, f"condition the local runner does not know: {term}"
            left = str(self.value(m.group(1)))
            ok = ok and ((left == m.group(3)) if m.group(2) == "==" else (left != m.group(3)))
        return ok

    # ---- steps
    def _uses(self, step: Mapping[str, Any]) -> None:
        action = step["uses"].split("@")[0]
        with_ = {k: self.sub(v) for k, v in (step.get("with") or {}).items()}
        self.uses.append((action, with_))
        if action == "actions/upload-artifact":
            src = self.workspace / with_["path"]
            dest = self.artifacts / with_["name"]
            if src.is_dir():
                shutil.copytree(src, dest, symlinks=False)
            elif src.is_file():
                dest.mkdir(parents=True)
                shutil.copy(src, dest)
        elif action == "actions/download-artifact":
            if "name" in with_:
                shutil.copytree(
                    self.artifacts / with_["name"],
                    self.workspace / with_.get("path", "."),
                    dirs_exist_ok=True,
                )
            else:
                pattern = with_["pattern"].replace("*", ".*")
                for art in sorted(self.artifacts.iterdir()):
                    if re.fullmatch(pattern, art.name):
                        shutil.copytree(art, self.workspace / with_["path"] / art.name)

    def run(self, skip_named: tuple[str, ...] = ("Install prodaudit",)) -> int:
        code = 0
        job_env: dict[str, str] = {}
        for i, step in enumerate(self.spec["steps"]):
            if code and "always()" not in str(step.get("if", "")):
                continue
            if not self.condition(step.get("if")):
                continue
            if "uses" in step:
                self._uses(step)
                continue
            if step.get("name") in skip_named:
                continue
            files = {k: self.tmp / f"{k}-{i}" for k in ("out", "env")}
            for f in files.values():
                f.write_text("", encoding="utf-8")
            env = {
                **os.environ,
                "PATH": f"{BIN}:{os.environ['PATH']}",
                **self.env,
                **job_env,
                **{k: self.sub(v) for k, v in (step.get("env") or {}).items()},
                "GITHUB_OUTPUT": str(files["out"]),
                "GITHUB_ENV": str(files["env"]),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_ACTIONS": "true",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "acme/fleet",
                "GITHUB_SHA": "0" * 40,
                "GITHUB_REF": "refs/heads/main",
                "RUNNER_TEMP": str(self.tmp),
            }
            script = self.sub(step["run"])
            self.scripts.append(script)
            path = self.tmp / f"step-{i}.sh"
            path.write_text(script, encoding="utf-8")
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
                cwd=self.workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            self.log += proc.stdout + proc.stderr
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    ln.split("=", 1)
                    for ln in files["out"].read_text(encoding="utf-8").splitlines()
                    if "=" in ln
                )
            job_env.update(parse_env_file(files["env"].read_text(encoding="utf-8")))
            self.exported = dict(job_env)
            code = proc.returncode
        return code


def parse_env_file(text: str) -> dict[str, str]:
    """``$GITHUB_ENV``: ``NAME=value`` lines and ``NAME<<DELIM`` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line:
            name, delim = line.split("<<", 1)
            body = []
            for ln in lines:
                if ln == delim:
                    break
                body.append(ln)
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def gitlab_script(
    job: Mapping[str, Any], variables: Mapping[str, str], workspace: Path, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """A GitLab job's ``script`` (not its ``before_script``, the install) as the shell runner
    runs it: one bash session, errexit, the job's variables in the environment."""
    script = "\n".join(job["script"])
    path = tmp / f"gitlab-{abs(hash(script))}.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=workspace,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **variables},
        capture_output=True,
        text=True,
        timeout=900,
    )
