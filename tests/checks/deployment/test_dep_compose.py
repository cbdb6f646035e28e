"""DEP-001: `docker compose config` (real Compose v2) with the profile's env file."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from conftest_services import require_service
from dep_helpers import describe, result, run_deployment

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import Status
from prodaudit.product.compose_cli import compose_cli_reason

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def _compose() -> None:
    reason = compose_cli_reason()
    require_service("docker compose", reason is None, reason or "")


def full_env() -> dict[str, str]:
    return {"JWT_SECRET": secrets.token_urlsafe(48), "POSTGRES_PASSWORD": secrets.token_hex(16),
            "REDIS_PASSWORD": secrets.token_hex(16)}


def test_complete_env_file_passes(tmp_path: Path) -> None:
    run = run_deployment(tmp_path, ["DEP-001"], full_env())
    r = result(run, "DEP-001")
    assert r.status is Status.PASS, describe(r)
    assert "api" in r.findings[-1].message and "postgres" in r.findings[-1].message


def test_missing_variables_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JWT_SECRET", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    env = full_env()
    del env["JWT_SECRET"], env["REDIS_PASSWORD"]
    run = run_deployment(tmp_path, ["DEP-001"], env)
    r = result(run, "DEP-001")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert "JWT_SECRET" in f.message and "REDIS_PASSWORD" in f.message
    assert "POSTGRES_PASSWORD" not in f.message
    assert f.location.startswith("docker-compose.yml:")
    line = int(f.location.rsplit(":", 1)[1])
    text = (REFERENCE_TARGET / "docker-compose.yml").read_text().splitlines()[line - 1]
    assert "JWT_SECRET" in text
    assert "required variable" in f.evidence  # Compose's own error


def test_hostnet_override_needs_database_url(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    files = [REFERENCE_TARGET / "docker-compose.yml",
             REFERENCE_TARGET / "docker-compose.hostnet.yml"]
    run = run_deployment(tmp_path, ["DEP-001"], full_env(), compose_files=files)
    r = result(run, "DEP-001")
    assert r.status is Status.FAIL, describe(r)
    assert "DATABASE_URL" in r.findings[0].message
    assert r.findings[0].location.startswith("docker-compose.hostnet.yml:")


@pytest.mark.parametrize(("files", "reason"), [
    ({".env.example": "API_KEY=\n"}, "needs .env (from .env.example)"),
    ({".gitignore": "*.env\n.venv/\n"}, "needs app.env (kept out of the repository by .gitignore)"),
])
def test_env_file_the_deployer_creates_is_skip(tmp_path: Path, files: dict[str, str],
                                               reason: str) -> None:
    """Compose fails on an absent `env_file:`; when the deployer creates that file (an example
    next to it, or .gitignore keeps it out), DEP-001 is SKIP naming it, not a FAIL."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env_name = ".env" if ".env.example" in files else "app.env"
    (repo / "compose.yaml").write_text(
        f"services:\n  api:\n    image: ghcr.io/acme/api:1.0\n    env_file: [{env_name}]\n",
        encoding="utf-8")
    for name, text in files.items():
        (repo / name).write_text(text, encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-001"], {}, repo=repo), "DEP-001")
    assert r.status is Status.SKIP and reason in r.reason, describe(r)
    (repo / env_name).write_text("API_KEY=x\n", encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-001"], {}, repo=repo), "DEP-001")
    assert r.status is Status.PASS, describe(r)


def test_an_absent_env_file_nobody_creates_fails(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "compose.yaml").write_text(
        "services:\n  api:\n    image: ghcr.io/acme/api:1.0\n    env_file: [settings/app.env]\n",
        encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-001"], {}, repo=repo), "DEP-001")
    assert r.status is Status.FAIL and "not found" in r.findings[0].message, describe(r)
