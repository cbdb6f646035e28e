"""CFG-172..175: CSRF protection, session rotation at login, mass assignment and public
Cache-Control on authenticated responses (small repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

AIOHTTP_APP = '''\
from aiohttp.web import Application
from aiohttp_session import session_middleware


def init():
    app = Application(
        middlewares=[
            session_middleware,
            # csrf_middleware,
            error_middleware,
        ]
    )
    return app
'''
AIOHTTP_VIEWS = '''\
from aiohttp_session import get_session


async def index(request):
    session = await get_session(request)
    if request.method == "POST":
        data = await request.post()
        user = await User.get_by_username(data["username"])
        if user and user.check_password(data["password"]):
            session["user_id"] = user.id
    return {}
'''
AIOHTTP_VIEWS_SAFE = AIOHTTP_VIEWS.replace("session = await get_session(request)",
                                           "session = await new_session(request)")
FLASK_FORMS = '''\
from wtforms import Form, StringField


class NoteForm(Form):
    text = StringField("Text")
'''
FLASK_ROUTES = '''\
from flask import request
from flask_login import login_required
from app import app


@app.route("/notes", methods=["POST"])
@login_required
def add_note():
    form = NoteForm(request.form)
    return "ok"
'''
DJANGO_SETTINGS = '''\
INSTALLED_APPS = ["django.contrib.sessions"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
'''
DJANGO_VIEWS = '''\
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def transfer(request):
    request.user.account.send(request.POST["to"], request.POST["amount"])
    return HttpResponse("ok")


@csrf_exempt
def stripe_webhook(request):
    verify_signature(request.body, request.headers["Stripe-Signature"])
    return HttpResponse("ok")
'''
MASS = '''\
from flask import request
from flask_login import login_required, current_user
from app import app, db


@app.route("/account", methods=["POST"])
@login_required
def update_account():
    values = {k: v for k, v in request.form.items() if k != "password"}
    current_user.__dict__.update(values)
    db.session.commit()


@app.route("/items", methods=["POST"])
@login_required
def create_item():
    db.session.add(Item(**request.get_json()))


@app.route("/items/<int:item_id>", methods=["PATCH"])
@login_required
def patch_item(item_id):
    item = Item.query.filter_by(id=item_id, user_id=current_user.id).first()
    for key, value in request.json.items():
        setattr(item, key, value)
'''
MASS_MODELS = "class Item(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
MASS_SAFE = '''\
from flask import request
from flask_login import login_required, current_user
from app import app, db


@app.route("/items", methods=["POST"])
@login_required
def create_item():
    data = ItemSchema(**request.get_json())
    db.session.add(Item(name=data.name, user_id=current_user.id))


@app.route("/account", methods=["POST"])
@login_required
def update_account():
    data = AccountSchema().load(request.form)
    current_user.email = data["email"]
    db.session.commit()
'''
CACHE = '''\
from fastapi import FastAPI, Depends
from starlette.middleware.base import BaseHTTPMiddleware

app = FastAPI()


class ClientCache(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["Cache-Control"] = f"public, max-age={self.max_age}"
        return response


@app.get("/me")
async def me(user=Depends(get_current_user)):
    return user
'''


def _run(tmp_path: Path, files: dict[str, str], check: str) -> object:
    return res(run_cfg(repo_of(tmp_path, files), tmp_path, only=[check]), check)


def test_aiohttp_commented_out_csrf_middleware_fails(tmp_path: Path) -> None:
    files = {"app/app.py": AIOHTTP_APP, "app/views.py": AIOHTTP_VIEWS}
    r = _run(tmp_path, files, "CFG-172")
    assert set(problems(r)) == {ln(AIOHTTP_APP, "# csrf_middleware", "app/app.py")}, describe(r)
    safe = AIOHTTP_APP.replace("# csrf_middleware", "csrf_middleware")
    r = _run(tmp_path / "b", {**files, "app/app.py": safe}, "CFG-172")
    assert r.status is Status.PASS, describe(r)


def test_flask_plain_wtforms_without_csrfprotect_fails(tmp_path: Path) -> None:
    files = {"forms/note.py": FLASK_FORMS, "routes.py": FLASK_ROUTES}
    r = _run(tmp_path, files, "CFG-172")
    assert set(problems(r)) == {ln(FLASK_FORMS, "class NoteForm", "forms/note.py")}, describe(r)
    r = _run(tmp_path / "b", {**files, "app.py": "from flask_wtf.csrf import CSRFProtect\n"
                                                 "CSRFProtect(app)\n"}, "CFG-172")
    assert r.status is Status.PASS, describe(r)


def test_django_missing_csrf_middleware_and_csrf_exempt_fail(tmp_path: Path) -> None:
    files = {"proj/settings.py": DJANGO_SETTINGS, "shop/views.py": DJANGO_VIEWS}
    r = _run(tmp_path, files, "CFG-172")
    assert set(problems(r)) == {"proj/settings.py:2", "shop/views.py:4"}, describe(r)
    settings = DJANGO_SETTINGS.replace(
        '    "django.contrib.auth', '    "django.middleware.csrf.CsrfViewMiddleware",\n'
        '    "django.contrib.auth')
    r = _run(tmp_path / "b", {"proj/settings.py": settings,
                              "shop/views.py": "def transfer(request):\n    return 1\n"},
             "CFG-172")
    assert r.status is Status.PASS, describe(r)


def test_login_without_session_rotation_fails(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/views.py": AIOHTTP_VIEWS}, "CFG-173")
    assert set(problems(r)) == {ln(AIOHTTP_VIEWS, 'session["user_id"]', "app/views.py")}, \
        describe(r)
    r = _run(tmp_path / "b", {"app/views.py": AIOHTTP_VIEWS_SAFE}, "CFG-173")
    assert r.status is Status.PASS, describe(r)


def test_mass_assignment_shapes_fail(tmp_path: Path) -> None:
    r = _run(tmp_path, {"routes.py": MASS, "models.py": MASS_MODELS}, "CFG-174")
    assert set(problems(r)) == {ln(MASS, "__dict__.update", "routes.py"),
                                ln(MASS, "Item(**", "routes.py"),
                                ln(MASS, "setattr(item", "routes.py")}, describe(r)
    r = _run(tmp_path / "b", {"routes.py": MASS_SAFE, "models.py": MASS_MODELS}, "CFG-174")
    assert r.status is Status.PASS, describe(r)


def test_public_cache_control_middleware_fails(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/main.py": CACHE}, "CFG-175")
    assert set(problems(r)) == {ln(CACHE, '"Cache-Control"', "app/main.py")}, describe(r)
    scoped = CACHE.replace('        response.headers["Cache-Control"]',
                           '        if request.url.path.startswith("/static"):\n'
                           '            response.headers["Cache-Control"]')
    r = _run(tmp_path / "s", {"app/main.py": scoped}, "CFG-175")
    assert r.status is Status.PASS, describe(r)
    safe = CACHE.replace('f"public, max-age={self.max_age}"', '"private, no-store"')
    r = _run(tmp_path / "b", {"app/main.py": safe}, "CFG-175")
    assert r.status is Status.PASS, describe(r)
    r = _run(tmp_path / "c", {"app/main.py": CACHE.replace("user=Depends(get_current_user)", "")},
             "CFG-175")
    assert r.status is Status.SKIP, describe(r)  # nothing authenticated to leak
