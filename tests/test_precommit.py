"""The pre-commit hook, exercised the way users try it: ``pre-commit try-repo`` on a real git
repository. A Dockerfile that runs as root blocks the commit (NO-GO, shown with the fix); a clean
project passes; nothing is written into the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_services import require_service

from prodaudit.precommit import main

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow

ROOT_DOCKERFILE = 'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/app.py"]\n'
GOOD_DOCKERFILE = """FROM python:3.12-slim
RUN useradd --system --uid 10001 app
COPY --chown=10001:10001 app.py /app/app.py
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s CMD ["python", "-c", "print(1)"]
CMD ["python", "/app/app.py"]
"""
COMPOSE = """services:
  api:
    build: .
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "python", "-c", "print(1)"]
      interval: 10s
"""


def _project(path: Path, dockerfile: str) -> Path:
    path.mkdir(parents=True)
    (path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (path / ".dockerignore").write_text(".env*\n.git\n", encoding="utf-8")
    (path / "app.py").write_text('print("hello")\n', encoding="utf-8")
    (path / "docker-compose.yml").write_text(COMPOSE, encoding="utf-8")
    (path / "frontend" / "dist").mkdir(parents=True)
    (path / "frontend" / "dist" / "index.html").write_text(
        "<!doctype html><title>x</title>\n", encoding="utf-8"
    )
    git = ["git", "-C", str(path), "-c", "user.email=audit@example.com", "-c", "user.name=audit"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return path


def _try_repo(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    require_service("pre-commit", Path(exe).is_file(), "pre-commit is not installed (test extra)")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [exe, "try-repo", str(ROOT), "prodaudit-config", "--all-files"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_hook_blocks_a_no_go_and_passes_a_clean_project(tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    bad = _project(tmp_path / "bad", ROOT_DOCKERFILE)
    out = _try_repo(bad, home)
    assert out.returncode != 0, out.stdout[-2000:]
    assert "CFG-102" in out.stdout and "NOT MET → NO-GO" in out.stdout
    assert "fix: create an unprivileged user" in out.stdout
    good = _project(tmp_path / "good", GOOD_DOCKERFILE)
    out = _try_repo(good, home)
    assert out.returncode == 0, out.stdout[-3000:]
    for project in (bad, good):  # no report written into the repository
        status = subprocess.run(
            ["git", "-C", str(project), "status", "--porcelain"], capture_output=True, text=True
        )
        assert status.stdout == ""


def test_args_override_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _project(tmp_path / "good", GOOD_DOCKERFILE)
    monkeypatch.chdir(good)
    assert main([]) == 0  # CONDITIONAL GO passes by default (--fail-on no-go)
    assert main(["--fail-on", "conditional"]) == 2
    assert main(["--output", str(tmp_path / "kept"), "--only", "CFG-102"]) == 0
    assert (tmp_path / "kept" / "latest" / "audit.json").is_file()
    assert "CONDITIONAL GO" in capsys.readouterr().out
