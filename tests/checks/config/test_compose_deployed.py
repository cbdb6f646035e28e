"""The production profile audits the Compose files the repository's own deployment runs: a
deploy workflow with ``docker compose -f docker-compose.yml`` leaves the development override
out (CFG-031, CFG-154 PASS, naming the command); without it the override is merged (FAIL at
the override's lines)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, locs, res, run_cfg, write

from prodaudit.model import Status

BASE = ("services:\n  api:\n    image: example/api:1.2.3\n"
        "    command: uvicorn app.main:app --host 0.0.0.0 --workers 2\n"
        "  db:\n    image: postgres:16.4\n")
OVERRIDE = ("services:\n  api:\n    command: uvicorn app.main:app --host 0.0.0.0 --reload\n"
            "  db:\n    ports:\n      - \"5432:5432\"\n")
WORKFLOW = ("name: Deploy to Production\non:\n  release:\n    types: [published]\njobs:\n"
            "  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
            "      - run: docker compose -f docker-compose.yml --project-name ${{ secrets.STACK }}"
            " build\n"
            "      - run: docker compose -f docker-compose.yml --project-name ${{ secrets.STACK }}"
            " up -d\n")
ONLY = ["CFG-031", "CFG-154"]


def _repo(tmp_path: Path, **extra: str) -> Path:
    return write(tmp_path / "r", {"docker-compose.yml": BASE,
                                  "docker-compose.override.yml": OVERRIDE, **extra})


def test_deploy_workflow_without_the_override_audits_the_deployed_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{".github/workflows/deploy-production.yml": WORKFLOW})
    run = run_cfg(repo, tmp_path, only=ONLY)
    for cid in ONLY:
        r = res(run, cid)
        assert r.status is Status.PASS, describe(r)
        assert "files as deployed by .github/workflows/deploy-production.yml:11" in \
            r.findings[0].message, describe(r)
        assert not any("override" in f.location for f in r.findings)


def test_without_a_deployment_command_the_override_is_merged(tmp_path: Path) -> None:
    run = run_cfg(_repo(tmp_path), tmp_path, only=ONLY)
    assert res(run, "CFG-154").status is Status.FAIL
    assert locs(res(run, "CFG-154")) == {"docker-compose.override.yml:6"}
    assert "docker-compose.override.yml:3" in locs(res(run, "CFG-031"))


def test_a_deployment_that_uses_the_override_keeps_it(tmp_path: Path) -> None:
    wf = WORKFLOW.replace("-f docker-compose.yml --project",
                          "-f docker-compose.yml -f docker-compose.override.yml --project")
    run = run_cfg(_repo(tmp_path, **{".github/workflows/deploy.yml": wf}), tmp_path, only=ONLY)
    assert locs(res(run, "CFG-154")) == {"docker-compose.override.yml:6"}


def test_the_development_profile_keeps_compose_default_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{".github/workflows/deploy-production.yml": WORKFLOW})
    run = run_cfg(repo, tmp_path, only=["CFG-154"], profile="development")
    assert locs(res(run, "CFG-154")) == {"docker-compose.override.yml:6"}


DEV_STACK = ("services:\n  web:\n    build: ./app\n"
             "    command: python manage.py runserver 0.0.0.0:8000\n"
             "    volumes:\n      - ./app/:/usr/src/app/\n")
PROD_STACK = ("services:\n  web:\n    build: ./app\n"
              "    command: gunicorn site.wsgi:application --bind 0.0.0.0:8000\n")
README = ("# Site\n\n### Development\n\n1. Build and run:\n\n    ```sh\n"
          "    $ docker-compose up -d --build\n    ```\n\n### Production\n\n"
          "1. Build the images and run the containers:\n\n    ```sh\n"
          "    $ docker-compose -f docker-compose.prod.yml up -d --build\n    ```\n")
APP = {"app/Dockerfile": "FROM python:3.12-slim\n", "app/manage.py": "import os\n"}


def test_a_standalone_production_file_the_readme_deploys_is_the_stack(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"docker-compose.yml": DEV_STACK,
                                  "docker-compose.prod.yml": PROD_STACK, "README.md": README,
                                  **APP})
    run = run_cfg(repo, tmp_path, only=["CFG-031", "CFG-162"])
    for cid in ("CFG-031", "CFG-162"):
        r = res(run, cid)
        assert r.status is Status.PASS, describe(r)
        assert "files as deployed by README.md:16" in " ".join(
            f.message for f in r.findings), describe(r)
    # no production section and no production variant: the default file is what runs, and its
    # dev server fails (with a variant, the variant replaces a development default stack:
    # tests/checks/config/test_compose_production_variant.py)
    plain = write(tmp_path / "plain", {"docker-compose.yml": DEV_STACK,
                                       "README.md": README.split("### Production")[0], **APP})
    run = run_cfg(plain, tmp_path, only=["CFG-031", "CFG-162"])
    assert "docker-compose.yml:4" in locs(res(run, "CFG-031"))
    assert res(run, "CFG-162").status is Status.FAIL


def test_the_image_only_the_replaced_default_file_builds_is_not_judged(tmp_path: Path) -> None:
    prod = PROD_STACK.replace("    build: ./app\n",
                              "    build:\n      context: ./app\n      dockerfile: Dockerfile.prod\n")
    files = {"docker-compose.yml": DEV_STACK, "docker-compose.prod.yml": prod, "README.md": README,
             "app/manage.py": "import os\n",
             "app/Dockerfile": "FROM python:3.12-slim\nCOPY . .\nCMD [\"python\", \"manage.py\"]\n",
             "app/Dockerfile.prod": "FROM python:3.12-slim\nRUN useradd app\nCOPY . .\n"
                                    "USER app\nCMD [\"gunicorn\", \"site.wsgi\"]\n"}
    r = res(run_cfg(write(tmp_path / "r", files), tmp_path, only=["CFG-102"]), "CFG-102")
    assert r.status is Status.PASS, describe(r)
    assert [f.location for f in r.findings] == ["app/Dockerfile.prod:4"], describe(r)
    # nothing replaces docker-compose.yml (no deployment command, no production variant): its
    # image is judged
    plain_files = {k: v for k, v in files.items() if k != "docker-compose.prod.yml"}
    plain = write(tmp_path / "plain", {**plain_files,
                                       "README.md": README.split("### Production")[0]})
    r = res(run_cfg(plain, tmp_path, only=["CFG-102"]), "CFG-102")
    assert r.status is Status.FAIL and locs(r) == {"app/Dockerfile:1"}, describe(r)
