"""RDY-017 accepts the route the deployment's own health check requests (an ``up/`` app
included in the root URLconf and probed by ``curl -f localhost:8000/up``) and ``/up`` as a whole
path; RDY-040 counts a Django app's ``tests.py``. Each with a repository that has the problem."""

from __future__ import annotations

from pathlib import Path

from rdy_helpers import assert_status, messages, problem_locs, run_rdy, write_repo

from prodaudit.model import Status

URLS = """from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("up/", include("up.urls")),
    path("", include("pages.urls")),
    path("admin/", admin.site.urls),
]
"""
UP_URLS = """from django.urls import path

from up import views

urlpatterns = [
    path("", views.index, name="index"),
    path("databases", views.databases, name="databases"),
]
"""
COMPOSE = """services:
  web:
    build: .
    healthcheck:
      test: "${WEB_HEALTHCHECK_TEST:-curl -f localhost:8000/up}"
"""
APP_TESTS = """from django.test import TestCase


class ViewTests(TestCase):
    def test_home_page(self):
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
"""


def test_route_probed_by_the_compose_healthcheck_passes(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "good", {"src/config/urls.py": URLS, "src/up/urls.py": UP_URLS,
                                     "compose.yaml": COMPOSE})
    r = run_rdy("RDY-017", repo=repo)["RDY-017"]
    assert_status(r, Status.PASS)
    assert "'up/'" in messages(r) and "compose.yaml:4" in messages(r)


def test_unprobed_app_named_up_fails_and_bare_up_passes(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"src/config/urls.py": URLS.replace('"up/"', '"upload/"'),
                                   "src/up/urls.py": UP_URLS})
    r = run_rdy("RDY-017", repo=bad)["RDY-017"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"src/config/urls.py:4"}
    flask = ("from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/up')\n"
             "def up():\n    return ''\n")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path / "flask", {"app.py": flask}))["RDY-017"]
    assert_status(r, Status.PASS)
    vote = flask.replace("'/up'", "'/posts/<int:pid>/up'")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path / "vote", {"app.py": vote}))["RDY-017"]
    assert_status(r, Status.FAIL)  # an upvote is not a probe


def test_django_app_tests_module_counts(tmp_path: Path) -> None:
    views = "def home(request):\n    return None\n"
    good = write_repo(tmp_path / "good", {"pages/views.py": views, "pages/tests.py": APP_TESTS})
    r = run_rdy("RDY-040", repo=good)["RDY-040"]
    assert_status(r, Status.PASS)
    assert "unittest 1" in messages(r)
    bad = write_repo(tmp_path / "bad", {"pages/views.py": views, "pages/checks.py": APP_TESTS})
    assert_status(run_rdy("RDY-040", repo=bad)["RDY-040"], Status.FAIL)
