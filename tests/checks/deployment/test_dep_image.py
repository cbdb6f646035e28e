"""DEP-010–016 on the real Docker engine: the reference image (built FROM the local base image
with the host's wheelhouse) passes; a Dockerfile that runs as root, bakes a secret into ENV and
has a healthcheck whose binary is missing fails with evidence; a failing build keeps its log.
Every image the audit builds is removed when the audit ends."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from dep_helpers import (  # noqa: F401 - fixtures
    all_text,
    describe,
    docker_engine,
    image_id_of,
    labelled_with,
    local_base_image,
    result,
    run_deployment,
    wheelhouse,
)
from helpers import check_ids

from prodaudit.checks.deployment.image import TAG_PREFIX
from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import AuditRun, Status

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE_IDS = check_ids(module="deployment.image")


def compose_env() -> dict[str, str]:
    return {"JWT_SECRET": secrets.token_urlsafe(48), "POSTGRES_PASSWORD": secrets.token_hex(12),
            "REDIS_PASSWORD": secrets.token_hex(12)}


def leftovers() -> list[str]:
    images = subprocess.run(["docker", "images", "-q", "--filter", f"reference={TAG_PREFIX}*"],
                            capture_output=True, text=True, timeout=60).stdout.split()
    probes = subprocess.run(["docker", "ps", "-a", "-q", "--filter", "name=prodaudit-probe-"],
                            capture_output=True, text=True, timeout=60).stdout.split()
    return images + probes


@pytest.fixture(scope="module")
def hardened_run(local_base_image: str, wheelhouse: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    # no docker.base_image: where no registry answers, the audit picks the local base image
    # by itself (issue 14); the base image is never removed (issue 11)
    base_id = image_id_of(local_base_image)
    run = run_deployment(tmp_path_factory.mktemp("img"), ["DEP-01"], compose_env(),
                         docker={"local_base_image": local_base_image})
    assert image_id_of(local_base_image) == base_id, "the audit removed the local base image"
    return run


@pytest.mark.parametrize("check_id", IMAGE_IDS)
def test_reference_image_passes(hardened_run: AuditRun, check_id: str) -> None:
    r = result(hardened_run, check_id)
    assert r.status is Status.PASS, describe(r)


def test_reference_image_details(hardened_run: AuditRun) -> None:
    assert "10001" in result(hardened_run, "DEP-012").findings[0].message
    assert "/health/ready" in result(hardened_run, "DEP-013").findings[0].message
    assert "/opt/venv/bin/python" in result(hardened_run, "DEP-016").findings[0].message
    assert "[8000]" in result(hardened_run, "DEP-015").findings[0].message
    assert "--target api" in result(hardened_run, "DEP-010").findings[0].evidence


def test_audit_images_are_removed(hardened_run: AuditRun) -> None:
    assert leftovers() == []
    assert labelled_with(hardened_run.run_id) == []


def test_the_local_base_image_is_chosen_by_itself(hardened_run: AuditRun,
                                                  local_base_image: str) -> None:
    choice = hardened_run.facts["deployment.base_images"][0]
    if choice["source"] == "default" and "pulled from" in choice["reason"]:
        pytest.skip(f"an image registry answers here: {choice['reason']}")
    assert choice["source"] == "local base image", choice
    message = result(hardened_run, "DEP-010").findings[0].message
    assert f"built FROM {local_base_image} (local base image)" in message


def _copy_with_wheels(tmp_path: Path, wheels: Path) -> Path:
    dest = tmp_path / "ultra"
    shutil.copytree(REFERENCE_TARGET, dest,
                    ignore=shutil.ignore_patterns("__pycache__", "*.db", ".pytest_cache"))
    if not any((dest / "wheels").glob("*.whl")):
        shutil.copytree(wheels, dest / "wheels", dirs_exist_ok=True)
    return dest


def _mutate_api_stage(repo: Path, old: str, new: str) -> None:
    path = repo / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    head, marker, api = text.partition("FROM runtime AS api")
    assert marker and old in api, old
    path.write_text(head + marker + api.replace(old, new, 1), encoding="utf-8")


def test_broken_image_fails(tmp_path: Path, local_base_image: str, wheelhouse: Path) -> None:
    repo = _copy_with_wheels(tmp_path, wheelhouse)
    secret = "sk-live-" + secrets.token_hex(16)
    _mutate_api_stage(repo, "USER 10001:10001", f"USER root\nENV PAYMENT_API_SECRET={secret}")
    _mutate_api_stage(repo, '    CMD ["/opt/venv/bin/python", "-c",',
                      '    CMD ["/usr/bin/curl", "-fsS", "http://127.0.0.1:8000/health/ready"]\n'
                      '# was: ["/opt/venv/bin/python", "-c",')
    run = run_deployment(tmp_path, ["DEP-01"], compose_env(), repo=repo,
                         docker={"base_image": local_base_image, "image_size_budget_mb": 50})
    assert result(run, "DEP-010").status is Status.PASS, describe(result(run, "DEP-010"))
    user = result(run, "DEP-012")
    assert user.status is Status.FAIL, describe(user)
    assert "root" in user.findings[0].message and "'root'" in user.findings[0].evidence
    leak = result(run, "DEP-014")
    assert leak.status is Status.FAIL, describe(leak)
    assert any("PAYMENT_API_SECRET" in f.message for f in leak.findings)
    assert secret not in all_text(run)
    binary = result(run, "DEP-016")
    assert binary.status is Status.FAIL, describe(binary)
    assert "/usr/bin/curl" in binary.findings[0].message
    assert result(run, "DEP-013").status is Status.PASS
    size = result(run, "DEP-011")
    assert size.status is Status.FAIL and "50 MB budget" in size.findings[0].message
    assert leftovers() == []


def test_failing_build_keeps_the_log(tmp_path: Path, local_base_image: str,
                                     wheelhouse: Path) -> None:
    repo = _copy_with_wheels(tmp_path, wheelhouse)
    code = secrets.choice(range(64, 114))  # this run's own exit code: other runs' stay apart
    _mutate_api_stage(repo, "WORKDIR /app/backend",
                      f"WORKDIR /app/backend\nRUN echo 'migrations-step-broken' && exit {code}")
    run = run_deployment(tmp_path, ["DEP-010", "DEP-012"], compose_env(), repo=repo,
                         docker={"base_image": local_base_image})
    r = result(run, "DEP-010")
    assert r.status is Status.FAIL, describe(r)
    assert "did not build" in r.findings[0].message
    assert "migrations-step-broken" in r.findings[0].evidence
    assert result(run, "DEP-012").status is Status.SKIP
    assert leftovers() == []
    failed_step = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"exited={code}"],
                                 capture_output=True, text=True, timeout=60).stdout.split()
    assert failed_step == []  # the failed RUN's intermediate container was removed too


def test_no_engine_is_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    run = run_deployment(tmp_path, ["DEP-01", "DEP-03"], compose_env())
    assert len(run.results) == 12
    for r in run.results:
        assert r.status is Status.SKIP, describe(r)
        assert "no Docker engine reachable" in r.reason, describe(r)


def test_unreachable_registry_is_not_verified_rather_than_failed(tmp_path: Path, docker_engine) -> None:
    run = run_deployment(tmp_path, ["DEP-010", "DEP-012"], compose_env(),
                         docker={"base_image": "registry.invalid/python:3.12-slim"})
    r = result(run, "DEP-010")
    assert r.status is Status.ERROR, describe(r)
    assert "not verified" in r.findings[0].message and "registry" in r.findings[0].message
    assert "registry.invalid" in r.findings[0].evidence
    assert result(run, "DEP-012").status is Status.SKIP
    assert leftovers() == []


def test_unreachable_package_index_is_not_verified_rather_than_failed(
    tmp_path: Path, local_base_image: str, wheelhouse: Path
) -> None:
    """A build step that cannot resolve its package index (no network inside builds here, and no
    wheelhouse) says nothing about the product: not verified, with the two ways out."""
    repo = _copy_with_wheels(tmp_path, wheelhouse)
    _mutate_api_stage(repo, "WORKDIR /app/backend",
                      "WORKDIR /app/backend\nRUN /opt/venv/bin/python -c \"import socket; "
                      "socket.getaddrinfo('pypi.invalid', 443)\"")
    run = run_deployment(tmp_path, ["DEP-010"], compose_env(), repo=repo,
                         docker={"base_image": local_base_image})
    r = result(run, "DEP-010")
    assert r.status is Status.ERROR, describe(r)
    assert "not verified" in r.findings[0].message and "index" in r.findings[0].message
    assert "wheelhouse" in (r.findings[0].remediation or "")
    assert leftovers() == []


def test_index_unreachable_reads_pip_npm_and_apt_logs() -> None:
    from prodaudit.checks.deployment._common import index_unreachable

    pip = ("WARNING: Retrying ... 'NewConnectionError(... Failed to establish a new connection: "
           "[Errno -3] Temporary failure in name resolution')': /simple/fastapi/\n"
           "ERROR: No matching distribution found for fastapi==0.165.0")
    assert index_unreachable(pip) and "name resolution" in (index_unreachable(pip) or "")
    assert index_unreachable("npm ERR! request to https://registry.npmjs.org/x failed, reason: "
                             "getaddrinfo ENOTFOUND registry.npmjs.org")
    assert index_unreachable("W: Failed to fetch http://deb.debian.org/...  Temporary failure "
                             "resolving 'deb.debian.org'")
    # a package that does not exist, with the index reachable, is the product's problem
    assert index_unreachable("ERROR: Could not find a version that satisfies the requirement "
                             "fastapi==99.0 (from versions: 0.1, 0.2)\nERROR: No matching "
                             "distribution found for fastapi==99.0") is None
    assert index_unreachable("RUN exit 3\nreturned a non-zero code: 3") is None
