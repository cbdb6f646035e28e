"""RDY-060 recognises the section names real READMEs use for running the product ("Getting
started", "How to use", "Run it", "Helpful commands for local development") (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdy_helpers import assert_status, messages, run_rdy

from prodaudit.model import Status


@pytest.mark.parametrize("run_heading", ["Getting started", "How to use", "Run it",
                                         "Helpful commands for local development"])
def test_real_run_sections_count(tmp_path: Path, run_heading: str) -> None:
    (tmp_path / "README.md").write_text(
        f"# Product\n\n## Installation\n\n`pip install .`\n\n## {run_heading}\n\n"
        "`uvicorn app:app`\n\n## Deployment\n\n`docker compose up -d`\n", encoding="utf-8")
    r = run_rdy("RDY-060", repo=tmp_path)["RDY-060"]
    assert_status(r, Status.PASS)
    assert run_heading in messages(r) or "Installation" in messages(r)


def test_no_run_section_fails(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# Product\n\n## Architecture\n\nBoxes.\n\n## Deployment\n\nHelm.\n", encoding="utf-8")
    r = run_rdy("RDY-060", repo=tmp_path)["RDY-060"]
    assert_status(r, Status.FAIL)
    assert "setup, run section" in messages(r)


def test_a_development_section_with_setup_steps_is_the_setup(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# Product\n\n## Want to use this project?\n\n### Development\n\n"
        "1. Rename *.env.dev-sample* to *.env.dev*.\n1. Build the images and run the containers:\n"
        "\n    ```sh\n    $ docker-compose up -d --build\n    ```\n\n### Production\n\n"
        "1. Build and run:\n\n    ```sh\n    $ docker-compose -f docker-compose.prod.yml up -d\n"
        "    ```\n", encoding="utf-8")
    r = run_rdy("RDY-060", repo=tmp_path)["RDY-060"]
    assert_status(r, Status.PASS)
    assert "setup → 'Development'" in messages(r)


def test_a_development_section_without_setup_steps_is_not_the_setup(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# Product\n\n## Development\n\nRun `uvicorn app:app --reload`.\n\n"
        "## Production\n\n`docker compose up -d`\n", encoding="utf-8")
    r = run_rdy("RDY-060", repo=tmp_path)["RDY-060"]
    assert_status(r, Status.FAIL)
    assert "no setup section" in messages(r)


def test_a_production_section_with_commands_is_a_deployment_procedure(tmp_path: Path) -> None:
    readme = ("# Product\n\n## Development\n\n`docker compose up --build`\n\n### Production\n\n"
              "1. Copy *.env.prod-sample* to *.env.prod* and set the values.\n"
              "1. Build the images and run the containers:\n\n    ```sh\n"
              "    $ docker-compose -f docker-compose.prod.yml up -d --build\n    ```\n")
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    r = run_rdy("RDY-069", repo=tmp_path)["RDY-069"]
    assert_status(r, Status.PASS)
    assert "README.md:7" in messages(r) or "Production" in messages(r), messages(r)
    # a heading that merely contains the word is not one
    (tmp_path / "README.md").write_text(readme.replace("### Production",
                                                       "### Production dependencies"),
                                        encoding="utf-8")
    assert_status(run_rdy("RDY-069", repo=tmp_path)["RDY-069"], Status.FAIL)


def test_a_docker_heading_is_deployment_only_when_it_says_production(tmp_path: Path) -> None:
    readme = ("# Lab\n\n## Installation\n\n`pip install -r requirements.txt`\n\n## Usage\n\n"
              "`python manage.py runserver`\n\n## Docker Container\n\n"
              "Run it locally:\n\n```\ndocker build -t lab .\ndocker run -p 8000:8000 lab\n```\n")
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    r = run_rdy("RDY-060", repo=tmp_path)["RDY-060"]
    assert_status(r, Status.FAIL)
    assert "no deploy section" in messages(r)
    (tmp_path / "README.md").write_text(readme.replace(
        "Run it locally:", "The production image runs behind the load balancer:"),
        encoding="utf-8")
    assert_status(run_rdy("RDY-060", repo=tmp_path)["RDY-060"], Status.PASS)
