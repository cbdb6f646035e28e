"""Development-only guards (``prodaudit.product.devguard``) and the routes the endpoint model
marks development-only through them: FastAPI routers, Flask blueprints and Django URL patterns
registered only outside production."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from product_helpers import context, write

from prodaudit.product.devguard import in_production
from prodaudit.product.endpoints import dev_endpoints, dev_note, endpoints


@pytest.mark.parametrize(("test", "value"), [
    ('settings.ENVIRONMENT == "local"', False),
    ('settings.ENVIRONMENT in ("dev", "development")', False),
    ("settings.ENVIRONMENT == Environment.LOCAL", False),
    ('os.getenv("ENV") != "production"', False),
    ('os.environ.get("APP_ENV", "dev").lower() == "dev"', False),
    ("settings.DEBUG", False),
    ("app.debug", False),
    ('app.config["DEBUG"]', False),
    ("app.testing and x", False),
    ('settings.ENVIRONMENT != "production"', False),
    ('settings.ENVIRONMENT == "production"', True),
    ('settings.ENVIRONMENT != "local"', True),
    ("not settings.DEBUG", True),
    ('settings.ENVIRONMENT == "staging"', None),
    ("settings.FEATURE_X", None),
    ('settings.DEBUG or settings.ENVIRONMENT == "staging"', None),
    ('"local" in settings.ENVIRONMENT', None),
])
def test_value_of_a_test_in_production(test: str, value: bool | None) -> None:
    assert in_production(ast.parse(test, mode="eval").body) is value


API_MAIN = '''\
from fastapi import APIRouter

from app.api.routes import items, private
from app.core.config import settings

api_router = APIRouter()
api_router.include_router(items.router)

if settings.ENVIRONMENT == "local":
    api_router.include_router(private.router)
'''
PRIVATE = '''\
from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["private"], prefix="/private")


class PrivateUserCreate(BaseModel):
    email: str
    password: str


@router.post("/users/")
def create_user(user_in: PrivateUserCreate, session: SessionDep):
    user = User(email=user_in.email)
    session.add(user)
    session.commit()
    return user
'''
ITEMS = '''\
from fastapi import APIRouter

router = APIRouter(prefix="/items")


@router.get("/")
def read_items(current_user: CurrentUser):
    return []
'''


def test_fastapi_router_included_only_in_local_development(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {"app/api/main.py": API_MAIN,
                                     "app/api/routes/private.py": PRIVATE,
                                     "app/api/routes/items.py": ITEMS})
    ctx = context(repo, tmp_path)
    assert [e.func.name for e in endpoints(ctx)] == ["read_items"]
    dev = dev_endpoints(ctx)
    assert [e.func.name for e in dev] == ["create_user"]
    assert dev[0].dev_only == "`if settings.ENVIRONMENT == 'local'` (app/api/main.py:9)"
    assert "POST /private/users/ (create_user)" in dev_note(ctx)


def test_router_included_unconditionally_too_is_live(tmp_path: Path) -> None:
    main = API_MAIN + "\napi_router.include_router(private.router)\n"
    repo = write(tmp_path / "repo", {"app/api/main.py": main,
                                     "app/api/routes/private.py": PRIVATE,
                                     "app/api/routes/items.py": ITEMS})
    ctx = context(repo, tmp_path)
    assert {e.func.name for e in endpoints(ctx)} == {"read_items", "create_user"}
    assert dev_endpoints(ctx) == [] and dev_note(ctx) == ""


def test_production_branch_of_an_environment_test_is_live(tmp_path: Path) -> None:
    main = API_MAIN.replace('== "local"', '!= "production"') + \
        'else:\n    api_router.include_router(items.router, prefix="/v2")\n'
    repo = write(tmp_path / "repo", {"app/api/main.py": main,
                                     "app/api/routes/private.py": PRIVATE,
                                     "app/api/routes/items.py": ITEMS})
    ctx = context(repo, tmp_path)
    assert [e.func.name for e in endpoints(ctx)] == ["read_items"]
    assert [e.func.name for e in dev_endpoints(ctx)] == ["create_user"]


def test_nested_router_of_a_development_only_router(tmp_path: Path) -> None:
    main = ("from fastapi import FastAPI\nfrom app.api.main import api_router\n"
            "from app.core.config import settings\napp = FastAPI()\n"
            "if settings.DEBUG:\n    app.include_router(api_router)\n")
    repo = write(tmp_path / "repo", {"app/main.py": main,
                                     "app/api/main.py": API_MAIN.replace(
                                         'if settings.ENVIRONMENT == "local":\n    ', ""),
                                     "app/api/routes/private.py": PRIVATE,
                                     "app/api/routes/items.py": ITEMS})
    ctx = context(repo, tmp_path)
    assert endpoints(ctx) == []
    assert {e.dev_only for e in dev_endpoints(ctx)} == {"`if settings.DEBUG` (app/main.py:5)"}


def test_flask_blueprint_registered_only_in_debug(tmp_path: Path) -> None:
    app = ('from flask import Flask\nfrom .views import debug_bp, api\n\n'
           'def create_app():\n    app = Flask(__name__)\n    app.register_blueprint(api.bp)\n'
           '    if app.debug:\n        app.register_blueprint(debug_bp)\n    return app\n')
    views = ('from flask import Blueprint\ndebug_bp = Blueprint("debug", __name__)\n'
             'bp = Blueprint("api", __name__)\n\n@debug_bp.route("/seed", methods=["POST"])\n'
             'def seed():\n    db.session.add(X())\n\n@bp.route("/ping")\ndef ping():\n'
             '    return "ok"\n')
    repo = write(tmp_path / "repo", {"web/__init__.py": app, "web/views.py": views})
    ctx = context(repo, tmp_path)
    assert [e.func.name for e in endpoints(ctx)] == ["ping"]
    assert [e.dev_only for e in dev_endpoints(ctx)] == ["`if app.debug` (web/__init__.py:7)"]


def test_django_urlpatterns_added_under_debug(tmp_path: Path) -> None:
    urls = ('from django.conf import settings\nfrom django.urls import path\nfrom . import views\n'
            'urlpatterns = [path("notes/", views.notes)]\n'
            'if settings.DEBUG:\n    urlpatterns += [path("seed/", views.seed)]\n'
            'else:\n    urlpatterns += [path("health/", views.health)]\n')
    views = ("def notes(request):\n    ...\n\ndef seed(request):\n    ...\n\n"
             "def health(request):\n    ...\n")
    repo = write(tmp_path / "repo", {"site/urls.py": urls, "site/views.py": views})
    ctx = context(repo, tmp_path)
    assert {e.func.name for e in endpoints(ctx)} == {"notes", "health"}
    assert [e.dev_only for e in dev_endpoints(ctx)] == ["`if settings.DEBUG` (site/urls.py:5)"]
