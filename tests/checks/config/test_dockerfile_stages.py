"""Which stages of a multi-stage Dockerfile ship (CFG-101/102/103/107/111/112): the last stage
and Compose ``build.target`` stages of services that are not development-only; a builder stage
whose output is only ``COPY --from``-ed, and a stage only development services build, are not
judged as images."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, warns, write

from prodaudit.model import Status

DOCKERFILE = (
    "FROM node:20-bookworm-slim AS assets\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends build-essential\n"
    "COPY . /app\n"
    "RUN npm run build\n"
    "CMD [\"bash\"]\n"
    "FROM python:3.12-slim AS app\n"
    "COPY --from=assets /app/public /public\n"
    "COPY . /app\n"
    "USER 1000\n"
    "CMD [\"gunicorn\", \"app:app\"]\n")
WEB = ("services:\n  web:\n    build:\n      context: .\n      target: app\n"
       "    healthcheck:\n      test: [\"CMD\", \"true\"]\n")


def _repo(tmp_path: Path, js: str) -> Path:
    return write(tmp_path / "r", {"Dockerfile": DOCKERFILE, "compose.yaml": WEB + js,
                                  "app.py": "app = None\n", "package.json": "{}\n"})


def test_assets_stage_of_a_development_service_is_a_builder(tmp_path: Path) -> None:
    js = ("  js:\n    build:\n      context: .\n      target: assets\n"
          "    command: npm run dev\n    volumes:\n      - .:/app\n")
    run = run_cfg(_repo(tmp_path, js), tmp_path, only=["CFG-101", "CFG-103"])
    tools = res(run, "CFG-101")
    assert tools.status is Status.PASS, describe(tools)
    hc = res(run, "CFG-103")
    assert hc.status is Status.WARN and not fails(hc), describe(hc)
    assert [f.location for f in warns(hc)] == ["Dockerfile:6"]
    assert "service web built from it" in warns(hc)[0].message


def test_assets_stage_a_production_service_builds_ships(tmp_path: Path) -> None:
    js = ("  js:\n    build:\n      context: .\n      target: assets\n"
          "    command: npm run build\n")
    run = run_cfg(_repo(tmp_path, js), tmp_path, only=["CFG-101", "CFG-103"])
    tools = res(run, "CFG-101")
    assert [f.location for f in fails(tools)] == ["Dockerfile:2"], describe(tools)
    assert "stage assets" in fails(tools)[0].message
    hc = res(run, "CFG-103")
    assert [f.location for f in fails(hc)] == ["Dockerfile:1"], describe(hc)
    msg = fails(hc)[0].message
    assert "stage assets" in msg and "service web (stage app)" in msg
    assert "has a healthcheck" not in msg
    assert [f.location for f in warns(hc)] == ["Dockerfile:6"]


DEV_STAGE = (
    "FROM python:3.12-slim AS dev\n"
    "ENV FLASK_DEBUG=1\n"
    "CMD [\"flask\", \"run\", \"--host\", \"0.0.0.0\"]\n"
    "FROM python:3.12-slim AS app\n"
    "COPY . /app\n"
    "WORKDIR /app\n"
    "USER 1000\n"
    "CMD [\"gunicorn\", \"app:app\"]\n")
ONLY = ["CFG-102", "CFG-111", "CFG-112"]


def _dev_repo(tmp_path: Path, name: str, dev: str) -> Path:
    compose = WEB + "  dev:\n    build:\n      context: .\n      target: dev\n" + dev
    return write(tmp_path / name, {"Dockerfile": DEV_STAGE, "compose.yaml": compose,
                                   "app.py": "app = None\n"})


def test_a_stage_only_a_development_service_builds_is_not_judged(tmp_path: Path) -> None:
    """Root, a debug switch and no application in a stage a development service builds (it
    bind-mounts the source over the image) are that service's business, not production's."""
    run = run_cfg(_dev_repo(tmp_path, "r", "    volumes:\n      - .:/app\n"), tmp_path, only=ONLY)
    for cid in ONLY:
        r = res(run, cid)
        assert not fails(r) and "stage dev" not in str(r.findings), (cid, describe(r))
    assert res(run, "CFG-102").status is Status.PASS
    # the same stage built by a service with no development trait ships: each check judges it
    run = run_cfg(_dev_repo(tmp_path, "p", "    restart: always\n"), tmp_path, only=ONLY)
    assert [f.location for f in fails(res(run, "CFG-102"))] == ["Dockerfile:1"]
    assert [f.location for f in fails(res(run, "CFG-111"))] == ["Dockerfile:2"]
