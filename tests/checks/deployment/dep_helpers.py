"""Fixtures and helpers of the deployment suite's tests: real PostgreSQL databases, throwaway
Redis servers, copies of the reference target, audits run with an env file of our own.

Not a conftest (nested conftest modules would shadow ``tests/conftest.py`` as ``conftest``):
test modules import the fixtures they use from here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from conftest_services import (
    base_image,
    database_url,
    docker_available,
    redis_url,
    require_service,
)
from helpers import audit_target, stop_process
from helpers import describe as describe  # re-exported for the test modules
from helpers import import_busybox_image as import_busybox_image
from helpers import result as result

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import AuditRun
from prodaudit.ports import on_free_port, wait_listening

BACKEND = REFERENCE_TARGET / "backend"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.db", ".pytest_cache", "node_modules")


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = database_url()
    require_service("PostgreSQL", url is not None, "PRODAUDIT_TEST_DATABASE_URL is not set")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def shared_redis_url() -> str:
    url = redis_url()
    require_service("Redis", url is not None, "PRODAUDIT_TEST_REDIS_URL is not set")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def docker_engine() -> None:
    require_service("Docker", docker_available(), "no Docker engine answers `docker info`")
    out = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                         timeout=30)
    require_service("Docker Compose v2", out.returncode == 0, out.stderr.strip()[-200:])


@pytest.fixture(scope="session")
def local_base_image(docker_engine: None) -> str:
    tag = base_image()
    require_service("local base image", tag is not None,
                    "run scripts/build-base-image.sh (or scripts/services.sh up base-image)")
    assert tag is not None
    return tag


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The reference target's wheelhouse (built on the host when missing, idempotent)."""
    wheels = REFERENCE_TARGET / "wheels"
    if not any(wheels.glob("*.whl")):
        for req in (BACKEND / "requirements.txt",
                    REFERENCE_TARGET / "frontend" / "requirements.txt"):
            if req.is_file():
                subprocess.run(["bash", str(REFERENCE_TARGET.parents[1] / "scripts" /
                                            "build-wheelhouse.sh"), str(wheels), str(req)],
                               check=True, timeout=900)
    return wheels


def with_database(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def fresh_db(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped after the test); yields its URL."""
    name = f"prodaudit_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def alembic_upgrade(backend: Path, url: str, revision: str = "head") -> None:
    """Migrate with the alembic CLI (independent of the code under test)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "DATABASE_URL": url, "HOME": "/tmp"}
    subprocess.run([sys.executable, "-m", "alembic", "-c", str(backend / "alembic.ini"),
                    "upgrade", revision], cwd=backend, env=env, check=True, timeout=120,
                   capture_output=True)


def scratch_databases(pg_url: str) -> list[str]:
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'prodaudit\\_scratch\\_%'"
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def ultra_copy(tmp_path: Path) -> Path:
    """A copy of the reference target (without its wheelhouse) to mutate."""
    dest = tmp_path / "ultra"
    shutil.copytree(REFERENCE_TARGET, dest,
                    ignore=shutil.ignore_patterns("__pycache__", "*.db", "wheels", ".pytest_cache"))
    return dest


RedisFactory = Callable[..., str]


@pytest.fixture
def redis_server() -> Iterator[RedisFactory]:
    """Factory: ``redis_server("--maxmemory", "64mb", ...)`` starts a throwaway redis-server on a
    free port on 127.0.0.1 with those settings and returns its URL (password not included)."""
    binary = shutil.which("redis-server")
    require_service("redis-server", binary is not None, "the redis-server binary is not installed")
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []

    def on(port: int, args: tuple[str, ...]) -> str:
        out = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process's output
        logs.append(out)
        proc = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1",
                                 "--daemonize", "no", "--save", "", "--appendonly", "no",
                                 "--dir", "/tmp", *args],
                                stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)

        def output() -> str:
            out.seek(0)
            return out.read().decode(errors="replace")

        wait_listening("redis-server", port, proc, 10, output)
        return f"redis://127.0.0.1:{port}/0"

    def start(*args: str) -> str:  # another port if the first one is taken
        return on_free_port(lambda port: on(port, args), what="redis-server")

    yield start
    for proc in procs:
        stop_process(proc)
    for out in logs:
        out.close()


def run_deployment(tmp_path: Path, only: list[str], env: dict[str, str] | None = None,
                   repo: Path | None = None, **cfg: Any) -> AuditRun:
    """Audit the deployment suite (no target started) with an env file holding ``env``."""
    env_file = tmp_path / f"audit-{uuid.uuid4().hex[:6]}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in (env or {}).items()), encoding="utf-8")
    settings: dict[str, Any] = {"env_file": env_file, "allow_mutations": True, **cfg}
    return audit_target(None, tmp_path, suites=["deployment"], only=only, repo=repo, **settings)


def all_text(run: AuditRun) -> str:
    """Every string of the run as the reports would show it."""
    import json

    return json.dumps(run.to_dict())


# ---- throwaway images and the run's labelled objects (never the shared base image) -------------
@pytest.fixture
def throwaway_base(docker_engine: None) -> Iterator[tuple[str, str]]:
    """(tag, id) of a small base image made for this test only, removed afterwards."""
    tag = f"prodaudit-test/base:{uuid.uuid4().hex[:10]}"
    image_id = import_busybox_image(tag)
    try:
        yield tag, image_id
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


def image_id_of(ref: str) -> str | None:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() if out.returncode == 0 else None


def children_of(image_id: str) -> list[str]:
    """Images whose parent is ``image_id`` (what a classic build FROM it committed)."""
    ids = subprocess.run(["docker", "images", "-a", "-q", "--no-trunc"], capture_output=True,
                         text=True, timeout=60).stdout.split()
    if not ids:
        return []
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}} {{.Parent}}", *ids],
                         capture_output=True, text=True, timeout=120)
    return [line.split()[0] for line in out.stdout.splitlines()
            if len(line.split()) == 2 and line.split()[1] == image_id]


def containers_from(image_id: str) -> list[str]:
    """Containers (any state) created from ``image_id`` or an image built on it."""
    out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"ancestor={image_id}"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def labelled_with(run_id: str) -> list[str]:
    """Every object that carries ``org.prodaudit.run=<run_id>`` (any kind, inherited or not)."""
    label = f"label=org.prodaudit.run={run_id}"
    found: list[str] = []
    for cmd in (["ps", "-a", "-q"], ["volume", "ls", "-q"], ["network", "ls", "-q"],
                ["images", "-a", "-q"]):
        out = subprocess.run(["docker", *cmd, "--filter", label], capture_output=True, text=True,
                             timeout=60)
        found += [f"{cmd[0]} {x}" for x in out.stdout.split()]
    return found


def cleaned_or_named(run_id: str, stderr: str) -> str:
    """After an interrupted run (which must end within 5 s): either nothing labelled with the run
    remains, or the leftover report on stderr names ``prodaudit clean --run-id ID`` and that
    command then removes every labelled object. Returns what ``prodaudit clean`` printed ("" when
    nothing was left)."""
    left = labelled_with(run_id)
    if not left:
        return ""
    command = f"prodaudit clean --run-id {run_id}"
    assert command in stderr, (left, stderr[-2000:])
    clean = subprocess.run([sys.executable, "-m", "prodaudit.cli", "clean", "--run-id", run_id],
                           capture_output=True, text=True, timeout=300)
    assert labelled_with(run_id) == [], (clean.returncode, clean.stdout, clean.stderr)
    assert clean.returncode == 0, (clean.stdout, clean.stderr)
    return clean.stdout


def write_busybox_project(root: Path, base: str, *, healthy: bool = True, build_sleep: int = 0,
                          image_name: str | None = None) -> Path:
    """A repository with a two-stage Dockerfile (``ARG BASE_IMAGE=<base>``) and a one-service
    host-network compose file with a named volume; returns the compose file."""
    root.mkdir(parents=True, exist_ok=True)
    slow = f"RUN sleep {build_sleep}\n" if build_sleep else ""
    (root / "Dockerfile").write_text(f"""ARG BASE_IMAGE={base}
FROM ${{BASE_IMAGE}} AS builder
RUN echo built > /built
FROM ${{BASE_IMAGE}}
COPY --from=builder /built /built
RUN echo step > /step
{slow}HEALTHCHECK --interval=1s --timeout=3s --retries=3 CMD ["/bin/busybox", "true"]
USER 10001:10001
CMD ["/bin/busybox", "sleep", "600"]
""", encoding="utf-8")
    probe = '["CMD", "/bin/busybox", "true"]' if healthy else '["CMD", "/bin/busybox", "false"]'
    image = f"    image: {image_name}\n" if image_name else ""
    compose = root / "docker-compose.yml"
    compose.write_text(f"""services:
  api:
    build:
      context: .
      network: host
{image}    network_mode: host
    restart: unless-stopped
    volumes:
      - data:/data
    healthcheck:
      test: {probe}
      interval: 1s
      timeout: 3s
      retries: {3 if healthy else 500}
      start_period: 1s
volumes:
  data:
""", encoding="utf-8")
    return compose
