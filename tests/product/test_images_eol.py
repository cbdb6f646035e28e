"""Image references (pinning, carried versions), the end-of-life table (its release lines and the
six-month window), the versions a repository deploys, and the table's refresh script (its pure
functions only: tests never call endoflife.date)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import tomllib
from pathlib import Path

import pytest
from product_helpers import context, write

import prodaudit.product.compose as compose_mod
from prodaudit.config import PROJECT_ROOT
from prodaudit.product.eol import Cycle, eol_table, judge, parse_table
from prodaudit.product.images import carried, parse_image
from prodaudit.product.runtimes import runtime_uses


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


@pytest.mark.parametrize(("ref", "pinning"), [
    ("redis", "none"), ("mher/flower", "none"), ("postgres:latest", "latest"),
    ("redis:alpine", "floating"), ("python:alpine3.8", "floating"), ("node:lts", "floating"),
    ("rabbitmq:alpine", "floating"), ("postgres:14.1", "versioned"),
    ("python:3.12-slim-bookworm", "versioned"), ("traefik:v3.1", "versioned"),
    ("debian:bookworm", "versioned"), ("ubuntu:jammy", "versioned"),
    ("pgvector/pgvector:pg16", "versioned"),
    ("ghcr.io/astral-sh/uv:python3.11-bookworm-slim", "versioned"),
    ("registry.example.com:5000/team/api:1.4.2", "versioned"),
    ("postgres@sha256:" + "a" * 64, "digest"),
])
def test_image_pinning(ref: str, pinning: str) -> None:
    img = parse_image(ref)
    assert img is not None and img.pinning == pinning, (ref, img)


def test_unresolvable_references() -> None:
    assert parse_image("scratch") is None and parse_image("${BASE_IMAGE}") is None
    assert parse_image("") is None


@pytest.mark.parametrize(("ref", "expected"), [
    ("python:3.8", {("python", "3.8")}),
    ("python:3.10-slim-bookworm", {("python", "3.10"), ("debian", "12")}),
    ("python:alpine3.8", {("alpine", "3.8")}),
    ("postgres:9.6.15-alpine", {("postgresql", "9.6.15")}),
    ("postgis/postgis:13-3.1", {("postgresql", "13")}),
    ("node:12", {("nodejs", "12")}),
    ("nginx:1.17", {("nginx", "1.17")}),
    ("alpine:3.6", {("alpine", "3.6")}),
    ("debian:bullseye-slim", {("debian", "11")}),
    ("ghcr.io/astral-sh/uv:python3.11-bookworm-slim", {("python", "3.11"), ("debian", "12")}),
    ("redis:alpine", set()),
])
def test_carried_versions(ref: str, expected: set[tuple[str, str]]) -> None:
    img = parse_image(ref)
    assert img is not None
    assert {(c.product, c.version) for c in carried(img)} == expected


def test_full_language_images() -> None:
    assert parse_image("python:3.11").full and parse_image("node:12").full  # type: ignore[union-attr]
    assert not parse_image("python:3.11-slim").full  # type: ignore[union-attr]
    assert not parse_image("node:20-alpine").full  # type: ignore[union-attr]
    assert not parse_image("postgres:16").full  # type: ignore[union-attr]


def test_the_shipped_table_has_its_source_and_date() -> None:
    raw = (PROJECT_ROOT / "src/prodaudit/data/end-of-life.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    assert data["meta"]["source"] == "https://endoflife.date"
    dt.date.fromisoformat(data["meta"]["retrieved"])
    assert "scripts/refresh_eol.py" in raw
    table = eol_table()
    assert table.source == "https://endoflife.date"
    for product in ("python", "nodejs", "postgresql", "alpine", "debian", "django", "nginx"):
        assert table.products[product], product


@pytest.mark.parametrize(("product", "version", "cycle"), [
    ("python", "3.8.10", "3.8"), ("python", "3.10", "3.10"), ("postgresql", "9.6.15", "9.6"),
    ("postgresql", "14.1", "14"), ("nodejs", "20.18.1", "20"), ("django", "1.11.7", "1.11"),
    ("mysql", "8", "8.4"),  # a bare major takes the newest line it names
    ("python", "3.99", None), ("python", "pypy", None),
])
def test_release_lines(product: str, version: str, cycle: str | None) -> None:
    found = eol_table().cycle(product, version)
    assert (found.cycle if found else None) == cycle


def test_judge_the_six_month_window() -> None:
    c = Cycle("python", "Python", "3.10", dt.date(2026, 10, 31))
    assert judge(c, dt.date(2026, 11, 1)) == "eol"
    assert judge(c, dt.date(2026, 10, 31)) == "eol"
    assert judge(c, dt.date(2026, 6, 1)) == "soon"
    assert judge(c, dt.date(2026, 1, 1)) == "supported"
    assert judge(Cycle("nginx", "nginx", "1.29", None), dt.date(2030, 1, 1)) == "supported"


def test_versions_the_repository_deploys(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "Dockerfile": "FROM node:12 AS build\nRUN npm ci\nFROM python:3.8-slim\n"
                      "RUN apk add --no-cache python python-dev\nCOPY --from=build /dist /app/static\n"
                      "CMD [\"python\", \"-m\", \"app\"]\n",
        "compose.yaml": "services:\n  db:\n    image: postgres:12\n  api:\n    build: .\n",
        ".python-version": "3.9.18\n",
        "runtime.txt": "python-3.12.4\n",
        "pyproject.toml": '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.7,<3.9"\n',
        "frontend/package.json": '{"name": "f", "engines": {"node": "14.x"}}\n',
        "requirements.txt": "Django==3.2.25\n",
    })
    uses = {(u.product, u.version, u.location, u.build_only)
            for u in runtime_uses(context(repo, tmp_path))}
    assert ("nodejs", "12", "Dockerfile:1", True) in uses  # a build stage
    assert ("python", "3.8", "Dockerfile:3", False) in uses
    assert ("python", "2.7", "Dockerfile:4", False) in uses  # the distribution's python package
    assert ("postgresql", "12", "compose.yaml:3", False) in uses
    assert ("python", "3.9.18", ".python-version:1", False) in uses
    assert ("python", "3.12.4", "runtime.txt:1", False) in uses
    assert ("python", "3.8", "pyproject.toml:4", False) in uses  # the newest it allows
    assert ("nodejs", "14", "frontend/package.json:1", False) in uses
    assert ("django", "3.2.25", "requirements.txt:1", False) in uses


def test_unbounded_specifiers_are_not_judged(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "pyproject.toml": '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.8"\n',
        "package.json": '{"name": "f", "engines": {"node": ">=12"}}\n',
    })
    assert runtime_uses(context(repo, tmp_path)) == []


def _refresh_module() -> object:
    spec = importlib.util.spec_from_file_location("refresh_eol", PROJECT_ROOT / "scripts/refresh_eol.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_refresh_script_converts_the_api_answer() -> None:
    mod = _refresh_module()
    answer = [{"cycle": "3.13", "eol": "2029-10-31"}, {"cycle": "3.8", "eol": "2024-10-07"},
              {"cycle": "3.14", "eol": False}, {"cycle": "2.6", "eol": True}]
    cycles = mod.cycles_from_api(answer)  # type: ignore[attr-defined]
    assert cycles == [("3.8", "2024-10-07"), ("3.13", "2029-10-31"), ("3.14", False)]
    text = mod.render("# header\n", "2030-01-01", {"python": ("Python", cycles)})  # type: ignore[attr-defined]
    table = parse_table(tomllib.loads(text))
    assert table.retrieved == "2030-01-01"
    assert [c.cycle for c in table.products["python"]] == ["3.8", "3.13", "3.14"]
    assert table.products["python"][-1].eol is None
