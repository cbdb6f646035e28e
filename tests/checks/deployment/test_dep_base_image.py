"""Issue 14, first run: where no image registry answers and a local base image exists, the
deployment suite builds from it by itself and says which image it used and why; the registry is
probed once per run, bounded, and the result shared by DEP-010 and DEP-030. ``docker.base_image``
and ``PRODAUDIT_BASE_IMAGE`` choose explicitly. Without any usable base image DEP-010 is "not
verified" with a short message and the one action that resolves it."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dep_helpers import (  # noqa: F401 - fixtures
    describe,
    docker_engine,
    image_id_of,
    labelled_with,
    result,
    run_deployment,
    throwaway_base,
    write_busybox_project,
)

from prodaudit.checks.deployment._base_image import (
    DOCKER_HUB,
    ENV_VAR,
    _Registry,
    base_reference,
    registry_host,
)
from prodaudit.model import Status

# a registry name that never resolves (RFC 6761): the build cannot pull its default base image
UNREACHABLE = "registry.invalid/library/python:3.12-slim"


def test_base_reference() -> None:
    assert base_reference("ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE} AS build\n"
                          "FROM build\n") == ("BASE_IMAGE", "python:3.12-slim")
    assert base_reference("ARG PY=python:3.11\nARG X=1\nFROM $PY\n") == ("PY", "python:3.11")
    assert base_reference("FROM python:3.12-slim AS app\nRUN true\n") == (None, "python:3.12-slim")
    assert base_reference("FROM scratch\nCOPY app /app\n") is None
    assert base_reference("FROM ${UNDECLARED}\n") is None  # nothing the audit could substitute


def test_registry_host() -> None:
    assert registry_host("python:3.12-slim") == DOCKER_HUB
    assert registry_host("team/app:1") == DOCKER_HUB
    assert registry_host("docker.io/library/python") == DOCKER_HUB
    assert registry_host("ghcr.io/org/app:2") == "ghcr.io"
    assert registry_host("localhost:5000/app") == "localhost:5000"


@pytest.fixture
def silent_registry() -> Iterator[tuple[str, list[int]]]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; yields its
    host:port and the list of accepted connections (one int per connection)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(1)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def test_the_registry_is_probed_once_and_bounded(silent_registry: tuple[str, list[int]]) -> None:
    host, accepted = silent_registry
    registry = _Registry()
    results = []

    def probe() -> None:
        results.append(registry.probe(host))

    threads = [threading.Thread(target=probe) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 6 and all(r is results[0] for r in results)  # one shared result
    assert accepted == [1]  # one connection for six builds
    probe_result = results[0]
    assert probe_result.reachable is False
    assert "Timeout" in probe_result.detail, probe_result.detail  # bounded, not hung


@pytest.mark.docker
@pytest.mark.slow
def test_no_registry_the_local_base_image_is_used_by_itself(
        tmp_path: Path, throwaway_base: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    tag, base_id = throwaway_base
    caplog.set_level(logging.WARNING, logger="prodaudit.deployment")
    repo = tmp_path / "repo"
    compose = write_busybox_project(repo, UNREACHABLE)  # ARG BASE_IMAGE=<unpullable default>
    run = run_deployment(tmp_path, ["DEP-010", "DEP-030", "DEP-034"], repo=repo,
                         compose_files=[compose],
                         docker={"local_base_image": tag, "up_timeout_seconds": 60})
    built = result(run, "DEP-010")
    assert built.status is Status.PASS, describe(built)
    assert f"built FROM {tag} (local base image)" in built.findings[0].message
    assert "registry.invalid" in built.findings[0].evidence  # why: the registry did not answer
    up = result(run, "DEP-030")
    assert up.status is Status.PASS, describe(up)
    assert f"built FROM {tag}" in up.findings[0].message
    assert result(run, "DEP-034").status is Status.PASS, describe(result(run, "DEP-034"))
    choices = {c["where"]: c for c in run.facts["deployment.base_images"]}
    assert set(choices) == {"DEP-010 Dockerfile", "compose service api"}
    for choice in choices.values():
        assert choice["image"] == tag and choice["default"] == UNREACHABLE
        assert choice["source"] == "local base image" and choice["substituted"] is True
        assert "no image registry answers (registry.invalid" in choice["reason"]
    assert choices["DEP-010 Dockerfile"]["registry"] == choices["compose service api"]["registry"]
    assert image_id_of(tag) == base_id and labelled_with(run.run_id) == []
    said = [r.getMessage() for r in caplog.records if r.name == "prodaudit.deployment"]
    assert len(said) == 1 and f"FROM the local base image {tag} instead of {UNREACHABLE}" in said[0]


@pytest.mark.docker
@pytest.mark.slow
def test_the_environment_variable_chooses_the_base_image(
        tmp_path: Path, throwaway_base: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    tag, _ = throwaway_base
    monkeypatch.setenv(ENV_VAR, tag)
    repo = tmp_path / "repo"
    write_busybox_project(repo, UNREACHABLE)
    run = run_deployment(tmp_path, ["DEP-010"], repo=repo, docker={"local_base_image": None})
    built = result(run, "DEP-010")
    assert built.status is Status.PASS, describe(built)
    assert f"built FROM {tag} ({ENV_VAR})" in built.findings[0].message
    assert f"--build-arg BASE_IMAGE={tag}" in built.findings[0].evidence
    assert labelled_with(run.run_id) == []


@pytest.mark.docker
@pytest.mark.slow
def test_without_a_usable_base_image_the_build_is_not_verified(tmp_path: Path,
                                                               docker_engine: None) -> None:
    repo = tmp_path / "repo"
    write_busybox_project(repo, UNREACHABLE)
    absent = f"prodaudit-test/absent:{uuid.uuid4().hex[:8]}"
    run = run_deployment(tmp_path, ["DEP-010", "DEP-012"], repo=repo,
                         docker={"local_base_image": absent})
    built = result(run, "DEP-010")
    assert built.status is Status.ERROR, describe(built)
    finding = built.findings[0]
    assert finding.message.startswith("not verified: the build needs " + UNREACHABLE)
    assert len(finding.message) <= 160  # the console table shows it whole
    assert f"no local base image {absent}" in finding.evidence
    assert "scripts/build-base-image.sh" in finding.remediation
    assert ENV_VAR in finding.remediation
    assert result(run, "DEP-012").status is Status.SKIP
    assert labelled_with(run.run_id) == []
