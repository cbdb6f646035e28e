"""Dockerfile shapes of issue 16 on small repositories: floating base tags (CFG-100), server
images (CFG-102/103), unverified downloads (CFG-106), what a build copies from its context
(CFG-109) and an image without its application (CFG-112)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, write

from prodaudit.model import Status


def test_floating_base_tag(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"Dockerfile": "FROM python:alpine3.8\nFROM debian:bookworm\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-100"]), "CFG-100")
    assert {f.location for f in fails(r)} == {"Dockerfile:1"}, describe(r)
    assert "floating tag" in fails(r)[0].message and not fails(r)[0].rule


def test_server_images_built_by_compose(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "compose.yaml": "services:\n  db:\n    build:\n      context: .\n"
                        "      dockerfile: Dockerfile.db\n",
        "Dockerfile.db": "FROM postgres:16.4-alpine\nENV POSTGRES_DB=app\n"
                         "COPY schema.sql /docker-entrypoint-initdb.d/\n",
        "schema.sql": "CREATE TABLE t (id int);\n",
    })
    run = run_cfg(repo, tmp_path, only=["CFG-102", "CFG-103", "CFG-109"])
    root = res(run, "CFG-102")
    assert root.status is Status.PASS and "drops root" in root.findings[0].message, describe(root)
    hc = res(run, "CFG-103")
    assert hc.status is Status.SKIP or all(f.status is Status.SKIP for f in hc.findings), describe(hc)
    assert "CFG-150" in " ".join(f.message for f in hc.findings) + hc.reason
    assert res(run, "CFG-109").status is Status.PASS  # named files only


def test_unverified_download(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"Dockerfile": (
        "FROM python:3.12-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends wget \\\n"
        "    && wget -O /usr/bin/wait-for https://raw.githubusercontent.com/x/y/master/wait-for \\\n"
        "    && chmod +x /usr/bin/wait-for && rm -rf /var/lib/apt/lists/*\n"
        "RUN curl -fsSL https://example.com/tool.tgz -o /tmp/tool.tgz \\\n"
        "    && echo 'abc  /tmp/tool.tgz' | sha256sum -c - && tar xzf /tmp/tool.tgz -C /opt\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-106"]), "CFG-106")
    assert {f.location for f in fails(r)} == {"Dockerfile:2"}, describe(r)
    assert "without verifying a checksum" in fails(r)[0].message


def test_what_the_build_context_gives_the_image(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "compose.yaml": "services:\n  api:\n    build: ./api\n    env_file: [api/prod.env]\n"
                        "  web:\n    build: ./web\n",
        "api/Dockerfile": "FROM python:3.12-slim\nCOPY requirements.txt /tmp/\nCOPY . /app\n",
        "api/.dockerignore": ".git\n**/__pycache__\n",
        "api/requirements.txt": "fastapi==0.115.0\n", "api/main.py": "",
        "web/Dockerfile": "FROM node:20-alpine\nCOPY package.json /app/\nCOPY src /app/src\n",
        "web/package.json": "{}", "web/src/index.js": "",
        ".env.example": "X=\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-109"]), "CFG-109")
    assert {f.location for f in fails(r)} == {"api/Dockerfile:3"}, describe(r)
    assert "copies .env" in fails(r)[0].message and "api/prod.env" in fails(r)[0].evidence
    (repo / "api/.dockerignore").write_text(".git\n*.env\n.env*\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-109"]), "CFG-109")
    assert r.status is Status.PASS, describe(r)  # web copies named paths without node_modules


def test_image_without_its_application(tmp_path: Path) -> None:
    dockerfile = ("FROM python:3.12-slim AS builder\nCOPY . /src\nRUN pip install /src\n"
                  "FROM python:3.12-slim\nCOPY --from=builder /usr/local/lib/python3.12/site-packages"
                  " /usr/local/lib/python3.12/site-packages\nWORKDIR /code\n"
                  "CMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]\n")
    repo = write(tmp_path / "r", {"Dockerfile": dockerfile, "app/main.py": "",
                                  "requirements.txt": "uvicorn==0.30.0\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-112"]), "CFG-112")
    assert {f.location for f in fails(r)} == {"Dockerfile:6"}, describe(r)  # the WORKDIR
    assert "serves 'app'" in fails(r)[0].message
    # the project installed as a package that provides `app`
    (repo / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n',
                                         encoding="utf-8")
    (repo / "Dockerfile").write_text(dockerfile.replace("pip install /src", "pip install ."),
                                     encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-112"]), "CFG-112")
    assert r.status is Status.PASS and "installed as a package" in r.findings[0].message, \
        describe(r)
