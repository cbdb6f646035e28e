"""Compose shapes of issue 16 on small repositories: exposure (CFG-153 socket at the mount,
CFG-154 internal services by role, CFG-160 admin UIs), floating tags (CFG-155), database
credentials (CFG-161), source bind mounts (CFG-162) and development-only projects."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, locs, res, run_cfg, warns, write

from prodaudit.model import Status

PROD = """\
services:
  api:
    build: ./api
    ports: ["127.0.0.1:8000:8000"]
    volumes:
      - ./config/app.toml:/etc/app.toml:ro
  db:
    build:
      context: ./db
  cache:
    image: redis:alpine
    command: redis-server --appendonly yes
  mq:
    image: rabbitmq:3.13-management
    ports:
      - "15672:15672"
  flower:
    image: mher/flower:2.0
    command: celery flower --port=5555
    ports:
      - 5555:5555
  pgadmin:
    image: dpage/pgadmin4:8
    profiles: [debug]
    ports: ["5050:80"]
  proxy:
    image: traefik:v3.1
    command: --api.insecure=true --providers.docker
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
"""


def _repo(tmp_path: Path, compose: str = PROD, **extra: str) -> Path:
    return write(tmp_path / "r", {
        "docker-compose.yml": compose,
        "api/Dockerfile": "FROM python:3.12-slim\nCOPY app /app\nCMD [\"uvicorn\", \"app:app\"]\n",
        "api/app/__init__.py": "",
        "db/Dockerfile": "FROM postgres:16.4\nENV POSTGRES_DB=shop\n",
        "config/app.toml": "debug = false\n",
        **extra,
    })


def _line(repo: Path, needle: str, nth: int = 1) -> str:
    lines = (repo / "docker-compose.yml").read_text(encoding="utf-8").splitlines()
    hits = [i for i, ln in enumerate(lines, 1) if needle in ln]
    return f"docker-compose.yml:{hits[nth - 1]}"


def test_exposure(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    run = run_cfg(repo, tmp_path, only=["CFG-153", "CFG-154", "CFG-155", "CFG-160"])
    sock = res(run, "CFG-153")
    assert {f.location for f in fails(sock)} == {_line(repo, "docker.sock")}, describe(sock)
    ports = res(run, "CFG-154")  # the broker's management port; admin UIs are CFG-160's
    assert {f.location for f in fails(ports)} == {_line(repo, '"15672:15672"')}, describe(ports)
    assert "queue service mq" in fails(ports)[0].message
    pins = res(run, "CFG-155")
    assert {f.location for f in fails(pins)} == {_line(repo, "redis:alpine")}, describe(pins)
    assert "floating tag" in fails(pins)[0].message
    ui = res(run, "CFG-160")
    assert {f.location for f in fails(ui)} == {_line(repo, "5555:5555"),
                                               _line(repo, "--api.insecure")}, describe(ui)
    assert any("without authentication" in f.message and "flower" in f.message for f in fails(ui))
    assert "pgadmin" not in " ".join(f.message for f in fails(ui) + warns(ui))  # behind a profile


def test_admin_ui_with_a_login_or_unpublished_is_warn(tmp_path: Path) -> None:
    compose = ("services:\n  flower:\n    image: mher/flower:2.0\n    command: celery flower "
               "--basic_auth=${FLOWER_USER}:${FLOWER_PASSWORD}\n    ports: [\"5555:5555\"]\n"
               "  adminer:\n    image: adminer:4\n")
    repo = _repo(tmp_path, compose)
    r = res(run_cfg(repo, tmp_path, only=["CFG-160"]), "CFG-160")
    assert r.status is Status.WARN, describe(r)
    assert locs(r) == {_line(repo, "5555:5555"), _line(repo, "image: adminer")}
    clean = _repo(tmp_path / "c", "services:\n  api:\n    image: ghcr.io/acme/api:1.0\n")
    r = res(run_cfg(clean, tmp_path, only=["CFG-160"]), "CFG-160")
    assert r.status is Status.PASS, describe(r)


def test_database_credentials(tmp_path: Path) -> None:
    compose = ("services:\n  db:\n    build: ./db\n  pg:\n    image: postgres:16\n"
               "    environment:\n      POSTGRES_PASSWORD: ${PG_PASSWORD:?set it}\n"
               "      POSTGRES_HOST_AUTH_METHOD: trust\n  mongo:\n    image: mongo:7.0\n"
               "  cache:\n    image: redis:7.4\n  safe-cache:\n    image: redis:7.4\n"
               "    command: [\"redis-server\", \"--requirepass\", \"${REDIS_PASSWORD:?}\"]\n")
    repo = _repo(tmp_path, compose, **{"config/settings.yaml":
                                       "database:\n  host: db\n  user: app\n  password: postgres\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {
        "db/Dockerfile:2",  # no POSTGRES_PASSWORD where the server's environment is set
        _line(repo, "POSTGRES_HOST_AUTH_METHOD"), _line(repo, "mongo:", 1),
        _line(repo, "  cache:"), "config/settings.yaml:4"}
    conf = next(f for f in fails(r) if f.location == "config/settings.yaml:4")
    assert "database.password is a well-known default" in conf.message
    assert "redis" in next(f for f in fails(r) if "cache" in f.message).message.lower()
    ok = _repo(tmp_path / "ok", "services:\n  db:\n    image: postgres:16\n    environment:\n"
                                "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}\n")
    assert res(run_cfg(ok, tmp_path, only=["CFG-161"]), "CFG-161").status is Status.PASS


def test_an_absent_env_file_is_not_judged(tmp_path: Path) -> None:
    """An absent env_file without an example: the server is not judged, so the check SKIPs
    (it PASSed, counting the server as one that requires a password)."""
    repo = _repo(tmp_path, "services:\n  db:\n    image: postgres:16\n    env_file: [.env]\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.SKIP, describe(r)
    assert "db (env_file .env absent)" in r.reason, describe(r)
    # the example the deployer copies to .env is judged instead
    (repo / ".env.example").write_text("SECRET_KEY=change-me\nDEBUG=False\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.WARN, describe(r)
    assert locs(r) == {_line(repo, "env_file")}, describe(r)
    assert "(.env from .env.example) sets one" in warns(r)[0].message
    (repo / ".env.example").write_text("POSTGRES_PASSWORD=\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.SKIP, describe(r)  # the deployer fills it in: not judged


def test_an_absent_env_file_is_judged_by_its_example_or_not_verified(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "services:\n  db:\n    image: postgres:16\n    env_file: [.env]\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.SKIP, describe(r)  # nothing tells what .env would set
    assert "db (env_file .env absent)" in r.reason, describe(r)
    # the committed example the deployer copies tells it
    (repo / ".env-sample").write_text("POSTGRES_USER=app\nPOSTGRES_PASSWORD=\n",
                                      encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.SKIP, describe(r)  # an empty slot the deployer fills in
    assert "db (env_file .env absent)" in r.reason, describe(r)  # it names the absent file
    (repo / ".env-sample").write_text("POSTGRES_PASSWORD=change-me-on-deploy\n",
                                      encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.PASS, describe(r)
    (repo / ".env").write_text("POSTGRES_PASSWORD=\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert {f.location for f in fails(r)} == {".env:1"} and "empty" in fails(r)[0].message


def test_source_bind_mounts(tmp_path: Path) -> None:
    compose = ("services:\n  api:\n    build: ./api\n    volumes:\n      - ./api:/code\n"
               "      - ./config/app.toml:/etc/app.toml:ro\n      - data:/var/data\n"
               "  worker:\n    build: ./api\n    command: celery -A app worker\n"
               "    volumes: [\".:/srv\"]\nvolumes:\n  data:\n")
    repo = _repo(tmp_path, compose)
    r = res(run_cfg(repo, tmp_path, only=["CFG-162"]), "CFG-162")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {_line(repo, "./api:/code"), _line(repo, ".:/srv")}
    ok = _repo(tmp_path / "ok", "services:\n  api:\n    build: ./api\n    volumes:\n"
                                "      - ./config/app.toml:/etc/app.toml:ro\n")
    assert res(run_cfg(ok, tmp_path, only=["CFG-162"]), "CFG-162").status is Status.PASS


def test_development_only_projects(tmp_path: Path) -> None:
    compose = "services:\n  app:\n    build: ./api\n    volumes:\n      - ./api:/code\n"
    readme = ("This repo includes a `docker-compose.yaml` for local development which creates a "
              "volume for the app code.\n")
    repo = write(tmp_path / "r", {"docker-compose.yaml": compose, "README.md": readme,
                                  "api/Dockerfile": "FROM python:3.12-slim\nCOPY . /code\n",
                                  "api/main.py": ""})
    run = run_cfg(repo, tmp_path, only=["CFG-150", "CFG-152", "CFG-158", "CFG-162"])
    for cid in ("CFG-150", "CFG-152", "CFG-158", "CFG-162"):
        r = res(run, cid)
        assert r.status is Status.SKIP and "README.md:1" in r.reason, describe(r)
    (repo / "README.md").write_text("Run it with docker compose.\n", encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-152", "CFG-162"])
    assert res(run, "CFG-152").status is Status.FAIL and res(run, "CFG-162").status is Status.FAIL


def test_built_assets_and_dashboards_with_a_login(tmp_path: Path) -> None:
    compose = ("services:\n  web:\n    build: ./web\n    volumes:\n      - ./web/dist:/usr/share/"
               "nginx/html:ro\n  grafana:\n    image: grafana/grafana:11.2.0\n    ports: "
               "[\"3000:3000\"]\n  prometheus:\n    image: prom/prometheus:v2.53.0\n    ports: "
               "[\"9090:9090\"]\n")
    repo = _repo(tmp_path, compose, **{"web/Dockerfile": "FROM nginx:1.27\n",
                                       "web/dist/app.js": "console.log(1)\n"})
    run = run_cfg(repo, tmp_path, only=["CFG-154", "CFG-162"])
    assert res(run, "CFG-162").status is Status.PASS, describe(res(run, "CFG-162"))
    assert {f.location for f in fails(res(run, "CFG-154"))} == {_line(repo, "9090:9090")}


def test_a_well_known_default_server_password_fails(tmp_path: Path) -> None:
    """``POSTGRES_PASSWORD: postgres`` is a password, but the one every scanner tries first."""
    compose = ("services:\n  db:\n    image: postgres:16\n    environment:\n"
               "      POSTGRES_USER: app\n      POSTGRES_PASSWORD: postgres\n"
               "  sql:\n    image: mysql:8.4\n    env_file: [db.env]\n")
    repo = _repo(tmp_path, compose, **{"db.env": "MYSQL_DATABASE=app\nMYSQL_ROOT_PASSWORD=root\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {_line(repo, "POSTGRES_PASSWORD"), "db.env:2"}
    assert "POSTGRES_PASSWORD is a well-known default" in fails(r)[0].message
    assert not any("postgres" in str(f.evidence) for f in fails(r))  # the value is masked
    ok = _repo(tmp_path / "ok", compose.replace("POSTGRES_PASSWORD: postgres",
                                                "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}"),
               **{"db.env": "MYSQL_ROOT_PASSWORD=k2V9-rT4q-Zm8w\n"})
    r = res(run_cfg(ok, tmp_path, only=["CFG-161"]), "CFG-161")
    assert r.status is Status.PASS, describe(r)
