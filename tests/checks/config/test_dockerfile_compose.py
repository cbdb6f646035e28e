"""CFG-100..109 and CFG-150..159 on mutated copies of the reference target (FAIL with path:line);
the unmodified copy passes them all (test_cfg_hardened.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import append, describe, fails, line_of, ref_copy, replace, res, run_cfg

from prodaudit.model import AuditRun, Status

FAKE_KEY = "sk-proj-" + "Zx9" * 20


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditRun, Path]:
    tmp = tmp_path_factory.mktemp("cfg-docker")
    repo = ref_copy(tmp)
    df = repo / "Dockerfile"
    replace(df, "ARG BASE_IMAGE=python:3.12-slim", "ARG BASE_IMAGE=python:latest")
    replace(df, "ENV PIP_NO_CACHE_DIR=1 \\\n    PIP_DISABLE", "ENV PIP_DISABLE")  # builder only
    replace(df, "WORKDIR /build\n", f"WORKDIR /build\nENV OPENAI_API_KEY={FAKE_KEY}\n"
            "RUN curl -fsSL https://get.example.com/install.sh | sh\n")
    replace(df, "COPY backend/app /app/backend/app",
            "ADD backend/app /app/backend/app\nRUN apt-get update && apt-get install -y curl")
    text = df.read_text(encoding="utf-8")
    api_at = text.index("FROM runtime AS api")
    api = text[api_at:].replace("USER 10001:10001", "USER root")
    cmd = next(ln for ln in api.splitlines() if ln.startswith("CMD ["))
    api = api.replace(cmd, "CMD /opt/venv/bin/python -m uvicorn app.main:app --host 0.0.0.0")
    text = text[:api_at] + api
    df.write_text(text, encoding="utf-8")
    replace(repo / ".dockerignore", ".env*\n", "")
    (repo / "backend/app/.env").write_text("JWT_SECRET=local-only\n", encoding="utf-8")

    dc = repo / "docker-compose.yml"
    dc.write_text('version: "3.9"\n' + dc.read_text(encoding="utf-8"), encoding="utf-8")
    replace(dc, "      redis:\n        condition: service_healthy\n    healthcheck:",
            "      redis:\n        condition: service_started\n    healthcheck:")
    replace(dc, "  api:\n    <<: *hardening\n",
            "  api:\n    <<: *hardening\n    privileged: true\n")
    replace(dc, "    image: postgres:16.6-alpine\n    restart: unless-stopped\n",
            "    image: postgres:16.6-alpine\n    restart: unless-stopped\n    ports:\n"
            "      - \"5432:5432\"\n")
    replace(dc, "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}\n"
            "      POSTGRES_DB",
            "      POSTGRES_PASSWORD: Literal-Pg-Pass-42\n      POSTGRES_DB")
    replace(dc, "    volumes:\n      - pgdata:/var/lib/postgresql/data\n", "")
    replace(dc, "      test: [\"CMD-SHELL\", \"pg_isready",
            "      disable: true\n      x: [\"CMD-SHELL\", \"pg_isready")
    replace(dc, "    image: redis:7.4.1-alpine\n    restart: unless-stopped\n",
            "    image: redis:latest\n")
    replace(dc, "    deploy:\n      resources:\n        limits:\n          cpus: \"0.5\"\n"
            "          memory: 256M\n          pids: 128\n", "")
    (repo / "docker-compose.override.yml").write_text(
        "services:\n  redis:\n    ports:\n      - \"6379:6379\"\n", encoding="utf-8")
    only = ["CFG-10", "CFG-15"]
    return run_cfg(repo, tmp, only=only), repo


def _locs(run: AuditRun, check_id: str, rule: str | None = None) -> set[str]:
    r = res(run, check_id)
    assert r.status is Status.FAIL, describe(r)
    return {f.location for f in fails(r) if rule is None or f.rule == rule}


def test_dockerfile_rules(flawed: tuple[AuditRun, Path]) -> None:
    run, repo = flawed
    df = repo / "Dockerfile"

    def at(needle: str) -> str:
        return f"Dockerfile:{line_of(df, needle)}"

    assert at("AS builder") in _locs(run, "CFG-100", "DL3007")
    assert _locs(run, "CFG-102") == {at("USER root")}
    assert {f.rule for f in fails(res(run, "CFG-102"))} == {"DL3002"}
    assert any(f.status is Status.PASS and "stage frontend" in f.message
               for f in res(run, "CFG-102").findings)
    assert _locs(run, "CFG-104") == {at("OPENAI_API_KEY")}
    assert FAKE_KEY not in str(run.to_dict())
    assert _locs(run, "CFG-105", "DL3020") == {at("ADD backend/app")}
    assert _locs(run, "CFG-106") == {at("install.sh | sh")}
    assert any(f.rule == "DL4006" for f in res(run, "CFG-106").findings)
    hygiene = {(f.rule, f.location) for f in fails(res(run, "CFG-107"))}
    assert ("DL3015", at("apt-get install -y curl")) in hygiene
    assert ("DL3009", at("apt-get install -y curl")) in hygiene
    assert ("DL3042", at("RUN python3 -m venv")) in hygiene  # the RUN starts there
    assert _locs(run, "CFG-108", "DL3025") == {at("CMD /opt/venv")}
    # backend/app holds a local .env and the ignore file no longer excludes it
    assert _locs(run, "CFG-109") == {at("ADD backend/app")}
    assert ".env" in fails(res(run, "CFG-109"))[0].message


def test_build_tools_in_the_final_image(tmp_path: Path) -> None:
    """CFG-101: a full language image is reported at its FROM, compilers left in the image at
    their RUN; a slim image that only installs wheels, and compilers removed by the RUN that
    installed them, are fine. CFG-103: no HEALTHCHECK at the FROM of the final stage."""
    repo = ref_copy(tmp_path)
    for f in repo.glob("docker-compose*.yml"):
        f.unlink()
    df = repo / "Dockerfile"
    wheels = ("FROM python:3.12-slim\nCOPY . /app\nRUN pip install --no-cache-dir -r "
              "/app/backend/requirements.txt\nUSER 1000\nCMD [\"python\", \"-m\", \"app\"]\n")
    df.write_text(wheels, encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-101", "CFG-103"])
    assert res(run, "CFG-101").status is Status.PASS, describe(res(run, "CFG-101"))
    assert _locs(run, "CFG-103") == {"Dockerfile:1"}
    df.write_text(wheels.replace("python:3.12-slim", "python:3.12"), encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101")
    assert {f.location for f in fails(r)} == {"Dockerfile:1"} and "full" in fails(r)[0].message
    df.write_text(wheels.replace("COPY . /app\n", "COPY . /app\nRUN apt-get update && "
                                 "apt-get install -y --no-install-recommends gcc libpq-dev\n"),
                  encoding="utf-8")
    assert _locs(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101") == {"Dockerfile:3"}
    df.write_text(wheels.replace("RUN pip install", "RUN apk add --no-cache --virtual .build "
                                 "gcc musl-dev && pip install").replace(
        "requirements.txt\n", "requirements.txt && apk del .build\n"), encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101")
    assert r.status is Status.PASS, describe(r)


def test_compose_rules(flawed: tuple[AuditRun, Path]) -> None:
    run, repo = flawed
    dc = repo / "docker-compose.yml"
    lines = dc.read_text(encoding="utf-8").splitlines()

    def service_line(name: str) -> str:
        return f"docker-compose.yml:{lines.index(f'  {name}:') + 1}"

    def at(needle: str) -> str:
        return f"docker-compose.yml:{line_of(dc, needle)}"

    # the healthcheck: key sits right above "disable: true"
    assert _locs(run, "CFG-150") == {f"docker-compose.yml:{line_of(dc, 'disable: true') - 1}"}
    api_depends = lines.index("    depends_on:", lines.index("  api:")) + 1
    assert _locs(run, "CFG-151") == {f"docker-compose.yml:{api_depends}"}
    assert _locs(run, "CFG-152") == {service_line("redis")}
    assert _locs(run, "CFG-153") == {at("privileged: true")}
    pg_ports = _locs(run, "CFG-154")
    assert at('"5432:5432"') in pg_ports
    assert "docker-compose.override.yml:4" in pg_ports  # only visible after the merge
    assert any("own Compose merge" in f.message for f in fails(res(run, "CFG-154")))
    assert _locs(run, "CFG-155") == {at("image: redis:latest")}
    assert _locs(run, "CFG-156") == {at("Literal-Pg-Pass-42")}
    assert "Literal-Pg-Pass-42" not in str(run.to_dict())
    assert _locs(run, "CFG-157") == {service_line("postgres")}
    assert _locs(run, "CFG-158") == {service_line("frontend")}
    assert _locs(run, "CFG-159") == {"docker-compose.yml:1"}


def test_reset_tag_and_override_merge(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    append(repo / "docker-compose.yml", "")
    (repo / "docker-compose.override.yml").write_text(
        "services:\n  postgres:\n    ports: [\"0.0.0.0:5432:5432\"]\n  api:\n"
        "    depends_on: !reset {}\n", encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-151", "CFG-154"])
    assert _locs(run, "CFG-154") == {"docker-compose.override.yml:3"}
    # depends_on reset: the api still names postgres in DATABASE_URL, so the wait is missing
    assert any("api uses postgres" in f.message for f in fails(res(run, "CFG-151")))


def test_missing_healthcheck_covered_by_compose_is_warn(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    df = repo / "Dockerfile"
    text = df.read_text(encoding="utf-8")
    api_at = text.index("FROM runtime AS api")
    hc_at = text.index("HEALTHCHECK", api_at)
    cmd_at = text.index("CMD [", hc_at)
    df.write_text(text[:hc_at] + text[cmd_at:], encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-103"]), "CFG-103")
    assert r.status is Status.WARN, describe(r)
    warns = [f for f in r.findings if f.status is Status.WARN]
    assert len(warns) == 1 and "stage api" in warns[0].message
    assert "Compose service api built from it" in warns[0].message


def test_dockerignore_of_the_compose_build_context(tmp_path: Path) -> None:
    """CFG-109 judges the ignore file Docker applies: with the build context ./backend the
    repository root's .dockerignore does not count."""
    repo = tmp_path / "repo"
    (repo / "backend").mkdir(parents=True)
    (repo / "compose.yaml").write_text("services:\n  api:\n    build: ./backend\n", encoding="utf-8")
    (repo / ".dockerignore").write_text(".env*\n.git\nnode_modules\n", encoding="utf-8")
    (repo / "backend/Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n",
                                             encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-109"]), "CFG-109")
    assert r.status is Status.FAIL, describe(r)
    assert fails(r)[0].location == "backend/Dockerfile:2"
    assert "whole build context backend and there is no .dockerignore" in fails(r)[0].message
    assert "(built by api)" in fails(r)[0].message
    (repo / "backend/.dockerignore").write_text(".env*\n.git\nnode_modules\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-109"]), "CFG-109")
    assert r.status is Status.PASS and r.findings[0].location == "backend/.dockerignore", describe(r)


def test_build_tools_removed_without_autoremove_stay(tmp_path: Path) -> None:
    """CFG-101: ``apt-get remove gcc build-essential`` in the installing RUN removes the named
    packages only — the compilers they pulled in, and a ``-dev`` package not named, stay;
    ``purge --auto-remove`` of every build package leaves nothing."""
    repo = ref_copy(tmp_path)
    for f in repo.glob("docker-compose*.yml"):
        f.unlink()
    df = repo / "Dockerfile"
    base = ("FROM python:3.12-slim\nCOPY . /app\nRUN apt-get update && apt-get install -y "
            "--no-install-recommends gcc libpq-dev build-essential && pip install --no-cache-dir "
            "-r /app/backend/requirements.txt && apt-get remove -y gcc build-essential && "
            "rm -rf /var/lib/apt/lists/*\nUSER 1000\nCMD [\"python\", \"-m\", \"app\"]\n")
    df.write_text(base, encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101")
    assert {f.location for f in fails(r)} == {"Dockerfile:3"}, describe(r)
    assert "gcc, build-essential removed without autoremove" in fails(r)[0].message
    df.write_text(base.replace("apt-get remove -y gcc build-essential",
                               "apt-get purge -y --auto-remove gcc libpq-dev build-essential"),
                  encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101")
    assert r.status is Status.PASS, describe(r)
    # compilers in an apk virtual group removed again, a -dev library kept beside them: fine
    df.write_text(base.replace(
        "apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev "
        "build-essential", "apk add --no-cache --virtual build-deps gcc musl-dev && apk add "
        "--no-cache postgresql-dev").replace("apt-get remove -y gcc build-essential",
                                             "apk del build-deps"), encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-101"]), "CFG-101")
    assert r.status is Status.PASS, describe(r)


def test_pip_accepts_the_no_cache_prefix(tmp_path: Path) -> None:
    """``pip install --no-cache`` is pip's unambiguous prefix of ``--no-cache-dir``."""
    repo = tmp_path / "r"
    repo.mkdir()
    df = repo / "Dockerfile"
    df.write_text("FROM python:3.12-slim\nCOPY wheels /wheels\nRUN pip install --no-cache "
                  "/wheels/*\nRUN pip install -r requirements.txt\nUSER 1000\n",
                  encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-107"]), "CFG-107")
    assert {(f.rule, f.location) for f in fails(r)} == {("DL3042", "Dockerfile:4")}, describe(r)
