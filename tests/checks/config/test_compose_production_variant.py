"""The production profile audits a repository's ``docker-compose.prod.yml`` when its default
``docker-compose.yml`` is a development stack no deployment command runs (small repositories
written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg
from test_settings_shapes import repo_of

from prodaudit.model import Status

DEV = ("services:\n  api:\n    build: ./api\n    command: uvicorn main:app --reload\n"
       "    volumes:\n      - ./api:/app\n  db:\n    image: postgres:16\n"
       "    ports:\n      - \"5432:5432\"\n")
PROD = ("services:\n  api:\n    build:\n      context: ./api\n      dockerfile: Dockerfile.prod\n"
        "    restart: unless-stopped\n  db:\n    image: postgres:16\n"
        "    restart: unless-stopped\n")
FILES = {"api/main.py": "app = None\n", "api/Dockerfile": "FROM python:3.12\nCMD [\"uvicorn\"]\n",
         "api/Dockerfile.prod": "FROM python:3.12\nCMD [\"gunicorn\", \"main:app\"]\n",
         "docker-compose.yml": DEV, "docker-compose.prod.yml": PROD}


def test_production_variant_is_judged_not_the_development_stack(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, FILES)
    r = res(run_cfg(repo, tmp_path, only=["CFG-152"]), "CFG-152")
    assert r.status is Status.PASS, describe(r)  # the dev stack has no restart policy
    r = res(run_cfg(repo, tmp_path / "b", only=["CFG-162"]), "CFG-162")
    assert not fails(r), describe(r)  # nor is its bind-mounted source production's


def test_production_variant_findings_point_into_it(tmp_path: Path) -> None:
    prod = PROD.replace("    restart: unless-stopped\n", "", 2)
    repo = repo_of(tmp_path, {**FILES, "docker-compose.prod.yml": prod})
    r = res(run_cfg(repo, tmp_path, only=["CFG-152"]), "CFG-152")
    assert sorted(f.location for f in fails(r)) == ["docker-compose.prod.yml:2",
                                                    "docker-compose.prod.yml:6"], describe(r)
    assert "production variant" in fails(r)[0].message


def test_dockerfile_only_the_development_stack_builds_is_not_an_entry_point(
        tmp_path: Path) -> None:
    dev_image = 'FROM python:3.12\nCMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--reload"]\n'
    files = {**FILES, "api/Dockerfile": dev_image,
             "docker-compose.yml": DEV.replace("    command: uvicorn main:app --reload\n", "")}
    r = res(run_cfg(repo_of(tmp_path, files), tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)
    files.pop("docker-compose.prod.yml")
    r = res(run_cfg(repo_of(tmp_path, files, "dev"), tmp_path / "b", only=["CFG-031"]), "CFG-031")
    assert [f.location for f in fails(r)] == ["api/Dockerfile:2"], describe(r)
