"""One repository (base file, override, ``include:``, a profile) fed to every suite that reads
Compose — config, deployment (no engine needed) and readiness: they name the same services and
the same files, because they all read the one product model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest_services import require_service
from helpers import audit_target, describe, result

from prodaudit.model import AuditRun, Status
from prodaudit.product.compose_cli import compose_cli_reason

BASE = """\
include:
  - infra/cache.yaml
services:
  backend:
    build:
      context: ./backend
    command: ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
    ports: ["127.0.0.1:8000:8000"]
    environment:
      DATABASE_URL: postgresql://app:${DB_PASSWORD:?set DB_PASSWORD}@db:5432/app
    depends_on: [db, cache]
  db:
    image: postgres:16.1
  debug:
    image: busybox:1.36
    profiles: [debug]
"""
OVERRIDE = """\
services:
  backend:
    environment:
      LOG_LEVEL: debug
  web:
    build: ./frontend
    ports: ["127.0.0.1:8080:80"]
"""
CACHE = """\
services:
  cache:
    image: redis:7.2
"""
ACTIVE = {"backend", "cache", "db", "web"}


def make_repo(root: Path, *, password: bool = True) -> Path:
    (root / "infra").mkdir(parents=True)
    (root / "backend/app").mkdir(parents=True)
    (root / "frontend").mkdir()
    (root / "compose.yaml").write_text(BASE, encoding="utf-8")
    (root / "compose.override.yaml").write_text(OVERRIDE, encoding="utf-8")
    (root / "infra/cache.yaml").write_text(CACHE, encoding="utf-8")
    (root / "backend/Dockerfile").write_text(
        "FROM python:3.12-slim\nCOPY . /app\nCMD [\"uvicorn\", \"app.main:app\"]\n", encoding="utf-8")
    (root / "backend/app/main.py").write_text("app = object()\n", encoding="utf-8")
    (root / "frontend/Dockerfile").write_text("FROM nginx:1.27\nCOPY dist /usr/share/nginx/html\n",
                                              encoding="utf-8")
    if password:
        (root / ".env").write_text("DB_PASSWORD=" + "x7Qp" * 8 + "\n", encoding="utf-8")
    return root


def _services(run: AuditRun, check_id: str, pattern: str) -> tuple[set[str], set[str]]:
    """(service names, files) the failing findings of ``check_id`` name."""
    r = result(run, check_id)
    names, files = set(), set()
    for f in r.findings:
        if f.status is Status.FAIL and (m := re.search(pattern, f.message)):
            names.add(m.group(1))
            files.add(f.location.rsplit(":", 1)[0])
    return names, files


@pytest.fixture(scope="module")
def compose_cli() -> None:
    reason = compose_cli_reason()
    require_service("docker compose", reason is None, reason or "")


def test_every_suite_names_the_same_services_and_files(tmp_path: Path, compose_cli: None) -> None:
    repo = make_repo(tmp_path / "repo")
    run = audit_target(None, tmp_path, suites=["config", "deployment", "readiness"], repo=repo,
                       only=["CFG-152", "RDY-092", "DEP-001", "DEP-070"])
    cfg_names, cfg_files = _services(run, "CFG-152", r"^service (\S+): no restart policy")
    rdy_names, rdy_files = _services(run, "RDY-092", r"^service (\S+) has no restart policy")
    dep = result(run, "DEP-001")
    assert dep.status is Status.PASS, describe(dep)
    passed = next(f for f in dep.findings if f.status is Status.PASS)
    dep_names = set(passed.message.rsplit("services ", 1)[1].split(", "))
    # one picture: the override's service, the included one, no service of an inactive profile
    assert cfg_names == rdy_names == dep_names == ACTIVE, (describe(result(run, "CFG-152")),
                                                          describe(result(run, "RDY-092")))
    assert cfg_files == rdy_files == {"compose.yaml", "compose.override.yaml", "infra/cache.yaml"}
    # the API is found by what it is (built, runs uvicorn, publishes a port), not by its name
    hc = result(run, "DEP-070")  # no healthcheck at all: CFG-150's finding, named by DEP-070
    assert hc.status is Status.SKIP and "service backend" in hc.reason, describe(hc)


def test_deployment_reads_the_same_files_when_compose_fails(tmp_path: Path,
                                                            compose_cli: None) -> None:
    repo = make_repo(tmp_path / "repo", password=False)
    run = audit_target(None, tmp_path, suites=["config", "deployment"], repo=repo,
                       only=["CFG-152", "DEP-001"])
    dep = result(run, "DEP-001")
    assert dep.status is Status.FAIL, describe(dep)
    f = dep.findings[0]
    assert "files: compose.yaml, compose.override.yaml" in f.evidence
    assert "DB_PASSWORD" in f.message and f.location.startswith("compose.yaml:")
    # the config suite still judges the same project through prodaudit's own merge
    cfg_names, _ = _services(run, "CFG-152", r"^service (\S+): no restart policy")
    assert cfg_names == ACTIVE


def test_the_model_without_docker_compose_says_so(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No docker CLI: the same services from prodaudit's own merge, and the source says why."""
    repo = make_repo(tmp_path / "repo")
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "docker"
                        else real_which(name, *a, **k))
    run = audit_target(None, tmp_path, suites=["config", "deployment", "readiness"], repo=repo,
                       only=["CFG-152", "RDY-092", "DEP-001", "DEP-070"])
    cfg_names, _ = _services(run, "CFG-152", r"^service (\S+): no restart policy")
    rdy_names, _ = _services(run, "RDY-092", r"^service (\S+) has no restart policy")
    assert cfg_names == rdy_names == ACTIVE
    dep = result(run, "DEP-001")
    assert dep.status is Status.SKIP and "docker CLI is not installed" in dep.reason, describe(dep)
    hc = result(run, "DEP-070")  # no healthcheck: CFG-150's finding; the reason names the source
    assert hc.status is Status.SKIP, describe(hc)
    assert "merged by prodaudit: docker compose unavailable: the docker CLI is not installed" \
        in hc.reason, describe(hc)
