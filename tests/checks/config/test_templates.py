"""Unrendered project templates (cookiecutter, copier, ``django-admin startproject --template``):
their modules are read with the placeholders as names, one that does not parse even so is
"template not rendered" (never a syntax ERROR), and CFG-005 says once that the repository is a
template. A real syntax error of a normal module is still an ERROR."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg, write

from prodaudit.model import Status

BASE = '''\
import os
{% if use_celery %}
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
{% endif %}
ROOT_URLCONF = "{{ project_name }}.urls"
INSTALLED_APPS = ["django.contrib.auth"]
JWT_SECRET = os.getenv("JWT_SECRET", "dev-secret-from-another-file")
'''
URLS = '''\
from django.urls import path
from {{ project_name }}.views import home

urlpatterns = [path("", home)]
'''


def test_django_template_modules_are_judged_at_their_lines(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "project_name/settings/base.py": BASE,
        "project_name/urls.py": URLS,
        "project_name/flags.py": "DEBUG = {% if debug %}True{% else %}False{% endif %}\n",
        "requirements.txt": "django==5.2.1\n",
    })
    run = run_cfg(repo, tmp_path, only=["CFG-005", "CFG-023"])
    r5 = res(run, "CFG-005")
    assert r5.status is Status.WARN, describe(r5)
    assert not [f for f in r5.findings if f.status is Status.ERROR], describe(r5)
    (unrendered,) = [f for f in r5.findings if "template not rendered" in f.message]
    assert unrendered.location == "project_name/flags.py:1"
    assert "render it first" in unrendered.message
    notes = [f for f in r5.findings if "unrendered Django startproject project template" in
             f.message]
    assert len(notes) == 1, describe(r5)  # said once
    assert "2 Python module(s) read with their placeholders as names" in notes[0].message
    # the problem inside the templated module is found at its own path:line
    r23 = res(run, "CFG-023")
    assert any(f.status is Status.FAIL and f.location == "project_name/settings/base.py:7"
               for f in r23.findings), describe(r23)


def test_cookiecutter_template_that_parses_passes_with_the_note(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "cookiecutter.json": '{"project_slug": "shop"}\n',
        "{{cookiecutter.project_slug}}/app/config.py":
            'import os\nfrom {{ cookiecutter.project_slug }}.db import engine\n'
            'API_KEY = os.getenv("API_KEY", "")\n',
        "{{cookiecutter.project_slug}}/app/main.py": 'print("{{ cookiecutter.project_slug }}")\n',
    })
    r5 = res(run_cfg(repo, tmp_path, only=["CFG-005"]), "CFG-005")
    assert r5.status is Status.PASS, describe(r5)
    (f,) = r5.findings
    assert "unrendered cookiecutter project template (cookiecutter.json)" in f.message
    assert "1 Python module(s) read with their placeholders as names" in f.message


def test_a_normal_repository_has_no_template_note_and_keeps_its_errors(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "app/settings.py": 'import os\nGREETING = f"{{name}}"\nAPI_KEY = os.getenv("API_KEY", "")\n',
        "app/broken.py": 'X = {"a": 1\nY = f"{{x}}"\n',
    })
    r5 = res(run_cfg(repo, tmp_path, only=["CFG-005"]), "CFG-005")
    assert r5.status is Status.ERROR, describe(r5)
    assert any(f.status is Status.ERROR and f.location.startswith("app/broken.py")
               for f in r5.findings), describe(r5)
    assert not any("template" in f.message for f in r5.findings), describe(r5)


COOKIE_BASE = '''\
DEBUG = True
ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
INSTALLED_APPS = ["django.contrib.auth"]
{% if cookiecutter.use_celery == "y" %}
CELERY_TASK_ALWAYS_EAGER = False
{% endif %}
'''


def test_star_imports_inside_a_templated_folder_are_followed(tmp_path: Path) -> None:
    """``from .base import *`` in ``{{cookiecutter.project_slug}}/settings/production.py``:
    production replaces base's DEBUG, so base's development value is not what runs."""
    slug = "{{cookiecutter.project_slug}}"
    files = {
        "cookiecutter.json": '{"project_slug": "shop", "use_celery": "y"}\n',
        f"{slug}/{slug}/__init__.py": "",
        f"{slug}/{slug}/settings/__init__.py": "",
        f"{slug}/{slug}/settings/base.py": COOKIE_BASE,
        f"{slug}/{slug}/settings/production.py": "from .base import *  # noqa\n\nDEBUG = False\n",
    }
    repo = write(tmp_path / "good", files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.PASS, describe(r)
    assert f"replaced at {slug}/{slug}/settings/production.py:3" in r.findings[0].message
    # production that keeps base's DEBUG = True runs it
    files[f"{slug}/{slug}/settings/production.py"] = "from .base import *  # noqa\n\nX = 1\n"
    repo = write(tmp_path / "bad", files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert r.status is Status.FAIL, describe(r)
    assert any(f.location == f"{slug}/{slug}/settings/base.py:1" for f in r.findings
               if f.status is Status.FAIL), describe(r)


COMPOSE = '''\
services:
  web:
    image: "{{ cookiecutter.project_slug }}-web:1.0"
    ports:
      - {{cookiecutter.port}}:80
{% if cookiecutter.use_postgres == "y" %}
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: hunter2-but-longer
{% endif %}
'''


def test_template_compose_file_is_judged_not_an_error(tmp_path: Path) -> None:
    slug = "{{cookiecutter.project_slug}}"
    files = {"cookiecutter.json": '{"project_slug": "shop", "port": "8000"}\n',
             f"{slug}/docker-compose.yml": COMPOSE}
    run = run_cfg(write(tmp_path / "tpl", files), tmp_path, only=["CFG-005", "CFG-156"])
    r5 = res(run, "CFG-005")
    assert r5.status is Status.PASS, describe(r5)
    r156 = res(run, "CFG-156")
    assert any(f.status is Status.FAIL and f.location == f"{slug}/docker-compose.yml:10"
               for f in r156.findings), describe(r156)
    # a template's Compose file that does not load even rendered: not rendered, not an ERROR
    files[f"{slug}/docker-compose.yml"] = COMPOSE.replace("    ports:\n", "    ports: {{\n")
    run = run_cfg(write(tmp_path / "broken", files), tmp_path, only=["CFG-005", "CFG-156"])
    r5 = res(run, "CFG-005")
    assert not [f for f in r5.findings if f.status is Status.ERROR], describe(r5)
    assert any(f.status is Status.WARN and "template not rendered" in f.message
               and f.location.startswith(f"{slug}/docker-compose.yml:") for f in r5.findings)
    r156 = res(run, "CFG-156")
    assert r156.status is Status.SKIP and "template not rendered" in r156.findings[0].message, \
        describe(r156)
