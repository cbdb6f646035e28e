"""CFG-034 beyond FastAPI: Flask docs extensions and Django REST framework docs views."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

FLASK = '''\
from apifairy import APIFairy
from flask import Flask

apifairy = APIFairy()


def create_app():
    app = Flask(__name__)
    app.config.from_object("config.Config")
    apifairy.init_app(app)
    return app
'''


def test_flask_apifairy_and_drf_docs_views_warn(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"api/app.py": FLASK, "proj/urls.py": (
        "from django.urls import path\nfrom drf_spectacular.views import SpectacularSwaggerView\n"
        "urlpatterns = [path('docs/', SpectacularSwaggerView.as_view())]\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"]), "CFG-034")
    assert set(problems(r)) == {"api/app.py:10", "proj/urls.py:3"}, describe(r)
    assert r.status is Status.WARN


def test_flask_docs_ui_switched_off_passes(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"api/app.py": FLASK,
                              "config.py": "class Config:\n    APIFAIRY_UI_PATH = None\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"]), "CFG-034")
    assert r.status is Status.PASS, describe(r)
