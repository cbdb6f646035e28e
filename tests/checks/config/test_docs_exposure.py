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


SETTINGS = '''\
from typing import Any, Dict, Optional

from pydantic import BaseSettings


class AppSettings(BaseSettings):
    debug: bool = False
    docs_url: Optional[str] = {docs!r}
    redoc_url: Optional[str] = {docs!r}
    title: str = "service"

    @property
    def fastapi_kwargs(self) -> Dict[str, Any]:
        return {{
            "debug": self.debug,
            "docs_url": self.docs_url,
            "redoc_url": self.redoc_url,
            "title": self.title,
        }}
'''

MAIN = '''\
from fastapi import FastAPI

from app.settings import AppSettings


def get_application() -> FastAPI:
    settings = AppSettings()
    return FastAPI(**settings.fastapi_kwargs)
'''


def test_fastapi_kwargs_from_a_settings_property_are_resolved(tmp_path: Path) -> None:
    """``FastAPI(**settings.fastapi_kwargs)``: the property's dict names the settings fields,
    whose defaults decide (it used to count as 'gated' and PASS)."""
    repo = repo_of(tmp_path, {"app/settings.py": SETTINGS.format(docs="/docs"),
                              "app/main.py": MAIN})
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"]), "CFG-034")
    assert r.status is Status.WARN, describe(r)
    (msg,) = problems(r).values()
    assert set(problems(r)) == {"app/main.py:8"}, describe(r)
    assert "docs_url = '/docs' by default (app/settings.py:8)" in msg, msg
    # the deployment switches the docs off through the field's variable
    env = tmp_path / "prod.env"
    env.write_text("DOCS_URL=\nREDOC_URL=\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-034"], env_file=env), "CFG-034")
    assert r2.status is Status.PASS, describe(r2)


def test_fastapi_kwargs_with_docs_off_by_default_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/settings.py": SETTINGS.format(docs=None),
                              "app/main.py": MAIN})
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"]), "CFG-034")
    assert r.status is Status.PASS, describe(r)


def test_unresolved_fastapi_kwargs_skip(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/main.py": (
        "from fastapi import FastAPI\n\nfrom somewhere import make_kwargs\n\n"
        "app = FastAPI(**make_kwargs())\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"]), "CFG-034")
    assert r.status is Status.SKIP, describe(r)
    assert "app/main.py:5" in r.reason, describe(r)
