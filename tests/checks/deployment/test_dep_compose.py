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
