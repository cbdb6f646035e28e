"""RDY-010–014 and RDY-016 on small repositories made in tmp_path: one with the problem (FAIL or
WARN at path:line), one with the safe shape (PASS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdy_helpers import assert_status, messages, problem_locs, run_rdy, write_repo

from prodaudit.model import Status

FLASK_SSTI = """from flask import Flask, render_template_string, request

app = Flask(__name__)


@app.errorhandler(404)
def not_found(error):
    return render_template_string(f"{error}: {request.path}")
"""
FLASK_SSTI_SAFE = FLASK_SSTI.replace('f"{error}: {request.path}"',
                                     '"{{ e }}: {{ p }}", e=error, p=request.path')


def test_rdy010_template_from_request(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"app.py": FLASK_SSTI})
    r = run_rdy("RDY-010", repo=bad)["RDY-010"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app.py:8"}
    good = write_repo(tmp_path / "good", {"app.py": FLASK_SSTI_SAFE})
    assert_status(run_rdy("RDY-010", repo=good)["RDY-010"], Status.PASS)


HELPER = """from urllib.request import urlopen


def download(url: str) -> bytes:
    with urlopen(url) as response:
        return response.read()


def blob(url: str) -> bytes:
    return download(url)
"""
VIEW = """from flask import Flask, request

from util import blob

app = Flask(__name__)


class Form:
    def __init__(self, data):
        self.data = data


@app.route("/image", methods=["POST"])
def image():
    form = Form(request.form)
    return blob(form.data["url"])


@app.route("/logo")
def logo():
    return blob("https://cdn.example.com/logo.png")
"""


def test_rdy011_url_from_request_through_helpers(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"util.py": HELPER, "app.py": VIEW})
    r = run_rdy("RDY-011", repo=bad)["RDY-011"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"util.py:5"}
    assert "app.py:16" in " ".join(f.evidence for f in r.findings)
    safe_view = VIEW.replace('return blob(form.data["url"])', "return blob(CDN)").replace(
        "app = Flask", "CDN = 'https://cdn.example.com/x.png'\napp = Flask")
    good = write_repo(tmp_path / "good", {"util.py": HELPER, "app.py": safe_view})
    assert_status(run_rdy("RDY-011", repo=good)["RDY-011"], Status.PASS)


def test_rdy011_config_lookup_with_route_param_is_not_tainted(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"app.py": (
        "import requests\nfrom flask import Flask, current_app\n\napp = Flask(__name__)\n\n\n"
        "@app.route('/oauth/<provider>', methods=['POST'])\ndef oauth(provider):\n"
        "    data = current_app.config['PROVIDERS'].get(provider)\n"
        "    return requests.post(data['token_url'], data={'p': provider}).json()\n")})
    assert_status(run_rdy("RDY-011", repo=repo)["RDY-011"], Status.PASS)


COOKIE = """from base64 import b64decode
from pickle import loads

from flask import Flask, g, request

app = Flask(__name__)


@app.before_request
def prefs():
    raw = request.cookies.get("prefs")
    g.prefs = loads(b64decode(raw)) if raw else {}
"""


def test_rdy012_pickle_of_cookie(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"app.py": COOKIE})
    r = run_rdy("RDY-012", repo=bad)["RDY-012"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app.py:12"}
    good = write_repo(tmp_path / "good", {"app.py": COOKIE.replace(
        "from pickle import loads", "from json import loads")})
    assert_status(run_rdy("RDY-012", repo=good)["RDY-012"], Status.PASS)


def test_rdy012_fastapi_body_to_yaml_load(tmp_path: Path) -> None:
    src = ("import yaml\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
           "@app.post('/import')\nasync def imp(doc: str) -> dict:\n"
           "    return yaml.load(doc, Loader=yaml.Loader)\n")
    r = run_rdy("RDY-012", repo=write_repo(tmp_path / "bad", {"main.py": src}))["RDY-012"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"main.py:9"}
    safe = src.replace("Loader=yaml.Loader", "Loader=yaml.SafeLoader")
    assert_status(run_rdy("RDY-012", repo=write_repo(tmp_path / "ok", {"main.py": safe}))["RDY-012"],
                  Status.PASS)


def test_rdy013_md5_password(tmp_path: Path) -> None:
    src = ("from hashlib import md5\n\n\nclass User:\n    pwd_hash = ''\n\n"
           "    def check_password(self, password: str) -> bool:\n"
           "        return self.pwd_hash == md5(password.encode()).hexdigest()\n\n"
           "    def avatar(self, email: str) -> str:\n"
           "        return md5(email.encode()).hexdigest()\n")
    r = run_rdy("RDY-013", repo=write_repo(tmp_path / "bad", {"user.py": src}))["RDY-013"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"user.py:8"}  # the gravatar digest of the e-mail is not judged
    safe = src.replace("md5(password.encode()).hexdigest()", "bcrypt_check(password)")
    assert_status(run_rdy("RDY-013", repo=write_repo(tmp_path / "ok", {"user.py": safe}))["RDY-013"],
                  Status.PASS)


ERRORS = """from flask import Blueprint
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from flask import current_app

errors = Blueprint("errors", __name__)


@errors.app_errorhandler(IntegrityError)
def integrity(error):
    return {
        "message": "Database integrity error",
        "description": str(error.orig),
    }, 400


@errors.app_errorhandler(SQLAlchemyError)
def db_error(error):
    if current_app.config["DEBUG"]:
        return {"description": str(error)}, 500
    return {"message": "Database error"}, 500
"""
VIEWS = """import sys
import traceback


def detail(request, isbn):
    try:
        return lookup(isbn)
    except LookupError:
        return Response(traceback.format_exception(*sys.exc_info()))
    except ValueError as e:
        return Response({"error": str(e)}, status=400)
"""


def test_rdy014_exception_text_in_responses(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"api/errors.py": ERRORS, "api/views.py": VIEWS})
    r = run_rdy("RDY-014", repo=bad)["RDY-014"]
    assert_status(r, Status.FAIL)
    # the debug-only branch and the text of a validation error are not judged
    assert problem_locs(r) == {"api/errors.py:12", "api/views.py:9"}
    good = write_repo(tmp_path / "good", {
        "api/errors.py": ERRORS.replace('"description": str(error.orig),', ""),
        "api/views.py": VIEWS.replace("traceback.format_exception(*sys.exc_info())",
                                      '{"error": "not found"}')})
    assert_status(run_rdy("RDY-014", repo=good)["RDY-014"], Status.PASS)


SCHEMAS = """from typing import Annotated

from pydantic import BaseModel, Field


class UserCreate(BaseModel):
    email: str
    password: Annotated[str, Field(pattern=r"^.{8,}|[0-9]+|[a-z]+$")]


class UserLogin(BaseModel):
    email: str
    password: str
"""
MARSHMALLOW = """from marshmallow import Schema, fields, validate


class ResetSchema(Schema):
    new_password = fields.String(required=True, validate=validate.Length(min=3))
"""
SIGNUP = """from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

r = APIRouter()


@r.post("/signup")
async def signup(form_data: OAuth2PasswordRequestForm = Depends()):
    return create(form_data.username, form_data.password)
"""


def test_rdy016_weak_password_rules(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"app/schemas.py": SCHEMAS, "app/reset.py": MARSHMALLOW,
                                   "app/auth.py": SIGNUP})
    r = run_rdy("RDY-016", repo=bad)["RDY-016"]
    assert_status(r, Status.WARN)
    # the login model is not judged; the unanchored alternation accepts 'a'
    assert problem_locs(r) == {"app/schemas.py:8", "app/reset.py:5", "app/auth.py:8"}
    assert "accepts 'a'" in messages(r)
    good = write_repo(tmp_path / "good", {
        "app/schemas.py": SCHEMAS.replace('pattern=r"^.{8,}|[0-9]+|[a-z]+$"', "min_length=12"),
        "app/reset.py": MARSHMALLOW.replace("min=3", "min=10"),
        "app/auth.py": SIGNUP.replace("    return create", "    if len(form_data.password) < 12:"
                                      "\n        raise ValueError\n    return create")})
    r = run_rdy("RDY-016", repo=good)["RDY-016"]
    assert_status(r, Status.PASS)


INHERITED = """from pydantic import BaseModel, Field


class AccountLogin(BaseModel):
    email: str
    password: str


class AccountRegister(AccountLogin):
    username: str
"""


def test_rdy016_password_inherited_from_a_login_model(tmp_path: Path) -> None:
    """A sign-up model that inherits ``password`` from the login model sets a password: the
    login model is not judged, so the inherited field went unchecked."""
    bad = write_repo(tmp_path / "bad", {"app/schemas.py": INHERITED})
    r = run_rdy("RDY-016", repo=bad)["RDY-016"]
    assert_status(r, Status.WARN)
    assert problem_locs(r) == {"app/schemas.py:9"}
    assert "AccountRegister.password (inherited from AccountLogin, line 6): no minimum " \
        "length: accepts 'a'" in messages(r)
    good = write_repo(tmp_path / "good", {"app/schemas.py": INHERITED.replace(
        "    username: str\n", "    username: str\n    password: str = Field(min_length=12)\n")})
    r = run_rdy("RDY-016", repo=good)["RDY-016"]
    assert_status(r, Status.PASS)
    assert "AccountRegister.password" in messages(r)
    # a base judged on its own is reported once, at its field, not again at each subclass
    judged = write_repo(tmp_path / "judged", {"app/schemas.py": INHERITED.replace(
        "AccountLogin", "AccountBase")})
    r = run_rdy("RDY-016", repo=judged)["RDY-016"]
    assert problem_locs(r) == {"app/schemas.py:6"}, messages(r)


def test_rdy016_skips_without_password_inputs(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"app.py": "def hello() -> str:\n    return 'hi'\n"})
    assert_status(run_rdy("RDY-016", repo=repo)["RDY-016"], Status.SKIP)


SYNC_DB = """from fastapi import APIRouter, Depends

r = APIRouter()


def get_user_by_email(db, email):
    return db.query(User).filter(User.email == email).first()


def authenticate(db, email, password):
    user = get_user_by_email(db, email)
    return user if pwd_context.verify(password, user.hashed_password) else None


@r.post("/token")
async def login(db=Depends(get_db), email: str = "", password: str = ""):
    user = authenticate(db, email, password)
    return {"user": user.id}


@r.get("/me")
async def me(db=Depends(get_async_db)):
    return await db.execute(select(User))
"""


def test_rdy007_blocking_through_project_functions(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"app/auth.py": SYNC_DB})
    r = run_rdy("RDY-007", repo=bad)["RDY-007"]
    assert_status(r, Status.WARN)
    # login calls a sync helper that queries a sync session and verifies with passlib; the
    # awaited AsyncSession call in /me is not blocking
    assert problem_locs(r) == {"app/auth.py:17"}
    assert "pwd_context.verify" in messages(r)
    good = write_repo(tmp_path / "good", {"app/auth.py": SYNC_DB.replace(
        "async def login", "def login")})
    assert_status(run_rdy("RDY-007", repo=good)["RDY-007"], Status.PASS)


def test_rdy007_bcrypt_in_async_def(tmp_path: Path) -> None:
    src = ("import bcrypt\n\n\nasync def verify(plain: str, hashed: str) -> bool:\n"
           "    return bcrypt.checkpw(plain.encode(), hashed.encode())\n")
    r = run_rdy("RDY-007", repo=write_repo(tmp_path / "bad", {"security.py": src}))["RDY-007"]
    assert_status(r, Status.WARN)
    assert problem_locs(r) == {"security.py:5"}
    safe = src.replace("return bcrypt.checkpw(plain.encode(), hashed.encode())",
                       "return await asyncio.to_thread(bcrypt.checkpw, plain.encode(), "
                       "hashed.encode())")
    assert_status(run_rdy("RDY-007", repo=write_repo(tmp_path / "ok", {"security.py": safe}))[
        "RDY-007"], Status.PASS)


AIOHTTP_APP = """import aiohttp_jinja2
from aiohttp import web
from jinja2 import PackageLoader


def init() -> web.Application:
    app = web.Application()
    aiohttp_jinja2.setup(app, loader=PackageLoader("app", "templates"),
                         autoescape=False)
    return app
"""
HOME = """{% extends "base.html" %}
{% block content %}
  {% for note in notes %}
    <p>{{ note.text | safe }}</p>
    <div>{{ note.body_html|safe }}</div>
  {% endfor %}
{% endblock %}
"""


def test_rdy015_template_escaping(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"app/main.py": AIOHTTP_APP, "app/templates/home.html": HOME})
    r = run_rdy("RDY-015", repo=bad)["RDY-015"]
    assert_status(r, Status.FAIL)
    # the *_html field is taken as pre-rendered
    assert problem_locs(r) == {"app/main.py:9", "app/templates/home.html:4"}
    good = write_repo(tmp_path / "good", {
        "app/main.py": AIOHTTP_APP.replace(",\n                         autoescape=False", ""),
        "app/templates/home.html": HOME.replace("note.text | safe", "note.text")})
    assert_status(run_rdy("RDY-015", repo=good)["RDY-015"], Status.PASS)


def test_rdy015_request_data_as_markup(tmp_path: Path) -> None:
    src = ("from flask import Flask, request\nfrom markupsafe import Markup\n\n"
           "app = Flask(__name__)\n\n\n@app.route('/hello')\ndef hello():\n"
           "    return Markup('<b>' + request.args['name'] + '</b>')\n")
    r = run_rdy("RDY-015", repo=write_repo(tmp_path / "bad", {"app.py": src}))["RDY-015"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app.py:9"}
    safe = src.replace("Markup('<b>' + request.args['name'] + '</b>')",
                       "Markup('<b>{}</b>').format(request.args['name'])")
    assert_status(run_rdy("RDY-015", repo=write_repo(tmp_path / "ok", {"app.py": safe}))["RDY-015"],
                  Status.PASS)


SCHEMA_SQL = """-- schema
CREATE TABLE students (
  id SERIAL PRIMARY KEY,
  name TEXT NOT NULL
);

CREATE TABLE marks (
  id SERIAL PRIMARY KEY,
  student_id INTEGER NOT NULL REFERENCES students (id),
  course_id INTEGER NOT NULL,
  points INTEGER NOT NULL,
  CONSTRAINT marks_course FOREIGN KEY (course_id) REFERENCES courses(id)
);

ALTER TABLE ONLY reviews ADD CONSTRAINT fk_course FOREIGN KEY (course_id) REFERENCES courses(id);
CREATE INDEX reviews_course_idx ON reviews USING btree (course_id, created_at);
"""


def test_rdy004_foreign_keys_in_sql_files(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"migrations/000-init.sql": SCHEMA_SQL})
    r = run_rdy("RDY-004", repo=bad)["RDY-004"]
    assert_status(r, Status.FAIL)
    # reviews.course_id leads an index; the two foreign keys of marks do not
    assert problem_locs(r) == {"migrations/000-init.sql:9", "migrations/000-init.sql:12"}
    good = write_repo(tmp_path / "good", {"migrations/000-init.sql": SCHEMA_SQL + (
        "CREATE INDEX marks_student ON marks (student_id);\n"
        "CREATE INDEX IF NOT EXISTS marks_course ON marks (course_id, points);\n")})
    r = run_rdy("RDY-004", repo=good)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "marks(student_id)" in messages(r)


ALEMBIC_ENV = "from alembic import context\n\ncontext.configure()\n"
ALEMBIC_REVISION = """import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def create_members_table():
    op.create_table(
        "members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), index=True),
    )
    op.create_primary_key("pk_links", "links", ["member_id", "tag"])


def upgrade():
    create_members_table()
    op.create_table(
        "links",
        sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("tag", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["tag"], ["tags.tag"]),
    )
    op.create_index("ix_members_team", "members", ["team_id", "id"])


def downgrade():
    op.drop_table("links")
    op.drop_table("members")
"""


def test_rdy004_foreign_keys_in_alembic_revisions(tmp_path: Path) -> None:
    """A schema written only in Alembic revisions (no ORM model): upgrade()'s create_table,
    create_index and create_primary_key are read, helpers upgrade() calls included; a
    composite primary key covers its leading column only."""
    files = {"alembic.ini": "[alembic]\nscript_location = migrations\n",
             "migrations/env.py": ALEMBIC_ENV,
             "migrations/versions/0001_init.py": ALEMBIC_REVISION}
    bad = write_repo(tmp_path / "bad", files)
    r = run_rdy("RDY-004", repo=bad)["RDY-004"]
    assert_status(r, Status.FAIL)
    # team_id leads ix_members_team, owner_id has index=True, member_id leads pk_links
    assert problem_locs(r) == {"migrations/versions/0001_init.py:13",
                        "migrations/versions/0001_init.py:25"}, messages(r)
    assert "foreign key members(user_id) is not the leading column" in messages(r)
    assert "foreign key links(tag)" in messages(r)
    good = write_repo(tmp_path / "good", {**files, "migrations/versions/0001_init.py": (
        ALEMBIC_REVISION.replace('    op.create_index("ix_members_team"',
                                 '    op.create_index("ix_members_user", "members", ["user_id"])\n'
                                 '    op.create_index(index_name="ix_links_tag", '
                                 'table_name="links", columns=["tag"])\n'
                                 '    op.create_index("ix_members_team"'))})
    r = run_rdy("RDY-004", repo=good)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "members(user_id)" in messages(r) and "links(tag)" in messages(r)


AUTH_TS = """import decodeJwt from 'jwt-decode';

export const login = async (data: { access_token: string }) => {
  const decoded = decodeJwt(data.access_token);
  localStorage.setItem('theme', 'dark');
  localStorage.setItem('token', data.access_token);
  localStorage.setItem('permissions', decoded.permissions);
  // localStorage.setItem('token', old);
  window.sessionStorage['refresh_token'] = data.refresh;
};
"""


def test_rdy027_tokens_in_web_storage(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"frontend/src/auth.ts": AUTH_TS})
    r = run_rdy("RDY-027", repo=bad)["RDY-027"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"frontend/src/auth.ts:6"}
    assert "1 more" in messages(r)  # the sessionStorage write; theme, permissions, comment not
    safe = AUTH_TS.replace("  localStorage.setItem('token', data.access_token);\n", "").replace(
        "  window.sessionStorage['refresh_token'] = data.refresh;\n", "  memory.token = x;\n")
    good = write_repo(tmp_path / "good", {"frontend/src/auth.ts": safe})
    assert_status(run_rdy("RDY-027", repo=good)["RDY-027"], Status.PASS)


DJANGO_URLS = """from django.contrib import admin
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    re_path(r"^health/", include("health.urls", namespace="health")),
]
"""
AIOHTTP_ROUTES = """from aiohttp.web import Application

from app import views


def setup_routes(app: Application) -> None:
    app.router.add_route("GET", r"/", views.index)
    app.router.add_get("/students/", views.students)
"""


def test_rdy017_health_route(tmp_path: Path) -> None:
    django = write_repo(tmp_path / "django", {"config/urls.py": DJANGO_URLS})
    r = run_rdy("RDY-017", repo=django)["RDY-017"]
    assert_status(r, Status.FAIL)  # an app called health is not a probe
    assert problem_locs(r) == {"config/urls.py:7"}
    plain = write_repo(tmp_path / "plain", {"config/urls.py": DJANGO_URLS.replace(
        '    re_path(r"^health/", include("health.urls", namespace="health")),\n', "")})
    r = run_rdy("RDY-017", repo=plain)["RDY-017"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"config/urls.py:4"}  # the root URLconf's urlpatterns
    aio = write_repo(tmp_path / "aio", {"app/routes.py": AIOHTTP_ROUTES})
    r = run_rdy("RDY-017", repo=aio)["RDY-017"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app/routes.py:7"}
    good = write_repo(tmp_path / "good", {"app/routes.py": AIOHTTP_ROUTES.replace(
        '    app.router.add_get("/students/"', '    app.router.add_get("/healthz", views.ok)\n'
        '    app.router.add_get("/students/"')})
    r = run_rdy("RDY-017", repo=good)["RDY-017"]
    assert_status(r, Status.PASS)
    assert "/healthz" in messages(r)


def test_rdy017_fastapi_router_and_library(tmp_path: Path) -> None:
    src = ("from fastapi import APIRouter, FastAPI\n\napp = FastAPI()\nrouter = APIRouter()\n\n\n"
           "@router.get('/items')\nasync def items() -> list[int]:\n    return []\n")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path / "bad", {"main.py": src}))["RDY-017"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"main.py:3"}
    lib = src + "\n\nfrom fastapi_health import health\napp.add_api_route('/x', health([]))\n"
    assert_status(run_rdy("RDY-017", repo=write_repo(tmp_path / "lib", {"main.py": lib}))["RDY-017"],
                  Status.PASS)
    assert_status(run_rdy("RDY-017", repo=write_repo(tmp_path / "none", {"x.py": "A = 1\n"}))[
        "RDY-017"], Status.SKIP)


def test_rdy017_probe_at_a_blueprint_prefix(tmp_path: Path) -> None:
    """A Flask blueprint mounted at ``/up`` (``url_prefix``) whose routes are ``/`` and
    ``/databases`` is the probe (Rails' and Kamal's ``/up``); it FAILed as "no probe route"."""
    views = ("from flask import Blueprint\n\nup = Blueprint('up', __name__, url_prefix='/up')\n\n\n"
             "@up.get('/')\ndef index():\n    return ''\n\n\n"
             "@up.get('/databases')\ndef databases():\n    return ''\n")
    app = ("from flask import Flask\n\nfrom web.up import up\n\n\ndef create_app():\n"
           "    app = Flask(__name__)\n    app.register_blueprint(up)\n    return app\n")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path / "up", {"web/up.py": views, "web/app.py": app,
                                                        "web/__init__.py": ""}))["RDY-017"]
    assert_status(r, Status.PASS)
    assert "'/up/'" in messages(r) and "3 routes declared" not in messages(r)
    other = views.replace("url_prefix='/up'", "url_prefix='/votes'")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path / "votes", {"web/up.py": other, "web/app.py": app,
                                                           "web/__init__.py": ""}))["RDY-017"]
    assert_status(r, Status.FAIL)  # /votes/ and /votes/databases are no probes


CHAT = """import fastapi
import pydantic

from .globals import clients

router = fastapi.APIRouter()


class Message(pydantic.BaseModel):
    content: str
    role: str = "user"


class ChatRequest(pydantic.BaseModel):
    messages: list[Message]


@router.post("/chat")
async def chat(body: ChatRequest) -> dict:
    messages = [{"role": "system", "content": "Be nice."}] + body.messages
    r = await clients["openai"].chat.completions.create(model="m", messages=messages)
    return r.model_dump()
"""
SAFE_CHAT = CHAT.replace("import pydantic\n", "import pydantic\nfrom typing import Literal\n") \
    .replace('role: str = "user"', 'role: Literal["user", "assistant"] = "user"') \
    .replace("content: str", "content: str = pydantic.Field(max_length=8000)") \
    .replace("messages: list[Message]", "messages: list[Message] = pydantic.Field(max_length=40)")


def test_rdy018_rdy019_llm_request_models(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"api/chat.py": CHAT})
    res = run_rdy(["RDY-018", "RDY-019"], repo=bad)
    assert_status(res["RDY-018"], Status.FAIL)
    assert problem_locs(res["RDY-018"]) == {"api/chat.py:11"}
    assert_status(res["RDY-019"], Status.WARN)
    assert problem_locs(res["RDY-019"]) == {"api/chat.py:15"}  # the message list, once per model
    good = write_repo(tmp_path / "good", {"api/chat.py": SAFE_CHAT})
    res = run_rdy(["RDY-018", "RDY-019"], repo=good)
    assert_status(res["RDY-018"], Status.PASS)
    assert_status(res["RDY-019"], Status.PASS)
    plain = write_repo(tmp_path / "plain", {"api/items.py": "def f() -> int:\n    return 1\n"})
    assert_status(run_rdy("RDY-018", repo=plain)["RDY-018"], Status.SKIP)


def test_rdy018_pass_through_chat_has_no_prompt_to_override(tmp_path: Path) -> None:
    src = CHAT.replace('[{"role": "system", "content": "Be nice."}] + body.messages',
                       "body.messages")
    r = run_rdy("RDY-018", repo=write_repo(tmp_path, {"api/chat.py": src}))["RDY-018"]
    assert_status(r, Status.PASS)
    assert "no system prompt" in messages(r)


FLASK_CHAT = """from flask import Flask, request
from openai import OpenAI

app = Flask(__name__)
client = OpenAI()
SYSTEM = "You answer questions about our product only."


@app.post("/api/chat")
def chat():
    data = request.get_json()
    {build}
    r = client.chat.completions.create(model="m", messages=messages)
    return {{"answer": r.choices[0].message.content}}
"""


@pytest.mark.parametrize(("build", "status"), [
    ('messages = [{"role": "system", "content": SYSTEM}] + data["messages"]', Status.FAIL),
    ('messages = [{"role": "system", "content": SYSTEM}, *data.get("history", [])]',
     Status.FAIL),
    ('messages = [{"role": "system", "content": SYSTEM}]\n'
     '    messages.extend(data["messages"])', Status.FAIL),
    ('messages = [{"role": "system", "content": SYSTEM}]\n'
     '    messages += [{"role": m["role"], "content": m["content"]} for m in data["messages"]]',
     Status.FAIL),
    # the server's own roles: the client only sends text
    ('messages = [{"role": "system", "content": SYSTEM}, '
     '{"role": "user", "content": data["prompt"]}]', Status.PASS),
    ('messages = [{"role": "system", "content": SYSTEM}] + '
     '[{"role": "user", "content": m} for m in data["questions"]]', Status.PASS),
    ('messages = [{"role": "system", "content": SYSTEM}] + '
     '[m for m in data["messages"] if m["role"] in ("user", "assistant")]', Status.PASS),
])
def test_rdy018_roles_from_an_untyped_body(tmp_path: Path, build: str, status: Status) -> None:
    src = FLASK_CHAT.format(build=build)
    r = run_rdy("RDY-018", repo=write_repo(tmp_path, {"app.py": src}))["RDY-018"]
    assert_status(r, status)
    if status is Status.FAIL:
        call = next(n for n, line in enumerate(src.splitlines(), 1) if "completions" in line)
        assert problem_locs(r) == {f"app.py:{call}"}
        assert "the client chooses their roles" in messages(r)
    else:
        assert "1 LLM call(s) with messages built from an untyped request body" in messages(r)


def test_rdy018_fastapi_dict_body_and_pass_through(tmp_path: Path) -> None:
    src = CHAT.replace("async def chat(body: ChatRequest) -> dict:",
                       "async def chat(body: dict) -> dict:").replace(
        "body.messages", 'body["messages"]')
    src = src.split("class Message")[0] + "@router" + src.split("@router", 1)[1]
    r = run_rdy("RDY-018", repo=write_repo(tmp_path / "dict", {"api/chat.py": src}))["RDY-018"]
    assert_status(r, Status.FAIL)
    assert "passes messages built from the request body" in messages(r)
    own = src.replace('[{"role": "system", "content": "Be nice."}] + body["messages"]',
                      'body["messages"]')
    r = run_rdy("RDY-018", repo=write_repo(tmp_path / "own", {"api/chat.py": own}))["RDY-018"]
    assert_status(r, Status.PASS)  # no system prompt of the server's to override
    assert "no system prompt" in messages(r)
    helper = src.replace('[{"role": "system", "content": "Be nice."}] + body["messages"]',
                         "build_messages(body)")
    r = run_rdy("RDY-018", repo=write_repo(tmp_path / "helper", {"api/chat.py": helper}))
    assert_status(r["RDY-018"], Status.SKIP)  # a helper of its own may set the roles: not judged


def test_rdy068_backup_doc_only_for_products_that_keep_data(tmp_path: Path) -> None:
    stateless = write_repo(tmp_path / "stateless", {
        "README.md": "# Chat proxy\n\n## Run it\n\n`uvicorn app:app`\n",
        "app.py": "import httpx\n\n\nasync def chat(q: str) -> str:\n    return q\n"})
    assert_status(run_rdy("RDY-068", repo=stateless)["RDY-068"], Status.SKIP)
    stateful = write_repo(tmp_path / "stateful", {
        "README.md": "# Notes\n\n## Run it\n\n`uvicorn app:app`\n",
        "app.py": "DATABASE_URL = 'postgresql+psycopg://db/notes'\n"})
    assert_status(run_rdy("RDY-068", repo=stateful)["RDY-068"], Status.FAIL)


LOGGING = """import logging.config

import structlog
from environ import Env

env = Env()
LOGGING_FORMAT = env("LOGGING_FORMAT", default="dev")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")

structlog.configure(processors=[structlog.processors.JSONRenderer()])
logging.config.dictConfig({"version": 1, "root": {"level": LOG_LEVEL}})
"""


def test_rdy003_plain_log_format_by_default(tmp_path: Path) -> None:
    bad = write_repo(tmp_path / "bad", {"config/logging.py": LOGGING})
    r = run_rdy("RDY-003", repo=bad)["RDY-003"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"config/logging.py:7"}
    good = write_repo(tmp_path / "good", {"config/logging.py": LOGGING.replace('default="dev"',
                                                                         'default="json"')})
    assert_status(run_rdy("RDY-003", repo=good)["RDY-003"], Status.PASS)


def test_rdy103_debug_routes(tmp_path: Path) -> None:
    files = {
        "api/urls.py": ('from django.urls import include, path\n\nurlpatterns = [\n'
                        '    path("users/", include(("app.users.urls", "users"))),\n'
                        '    path("errors/", include(("app.errors.urls", "errors"))),\n]\n'),
        "app/users/urls.py": ('from django.urls import path\n\nurlpatterns = [\n'
                              '    path("", UserList.as_view()),\n]\n'),
        "app/errors/urls.py": ('from django.urls import path\n\nurlpatterns = [\n'
                               '    path("trigger/", Trigger.as_view()),\n'
                               '    path("trigger/exception/", Boom.as_view()),\n]\n'),
        "app/main.py": ("from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                        "@app.get('/debug/crash')\nasync def crash() -> None:\n"
                        "    raise RuntimeError('boom')\n\n\nif DEBUG:\n"
                        "    @app.get('/debug/env')\n    async def env() -> dict:\n"
                        "        return {}\n"),
    }
    r = run_rdy("RDY-103", repo=write_repo(tmp_path / "bad", files))["RDY-103"]
    assert_status(r, Status.WARN)
    # the errors app once at its include; the route under `if DEBUG:` is not judged
    assert problem_locs(r) == {"api/urls.py:5", "app/main.py:6"}
    files["api/urls.py"] = files["api/urls.py"].replace(
        '    path("errors/", include(("app.errors.urls", "errors"))),\n', "")
    del files["app/errors/urls.py"]
    files["app/main.py"] = files["app/main.py"].replace("/debug/crash", "/items")
    assert_status(run_rdy("RDY-103", repo=write_repo(tmp_path / "good", files))["RDY-103"],
                  Status.PASS)


def test_rdy011_fixed_host_with_request_path_is_not_ssrf(tmp_path: Path) -> None:
    src = ("import httpx\nimport requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
           "API = 'https://api.example.com'\n\n\n"
           "@app.get('/users/{uid}')\nasync def user(uid: str, q: str) -> dict:\n"
           "    url = f'{API}/users/{uid}'\n    requests.get(url)\n"
           "    httpx.get('https://api.example.com/search?q=' + q)\n"
           "    return requests.get(q).json()\n")
    r = run_rdy("RDY-011", repo=write_repo(tmp_path / "bad", {"main.py": src}))["RDY-011"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"main.py:14"}  # only the fetch of the client's own URL
    safe = src.replace("    return requests.get(q).json()\n", "    return {}\n")
    assert_status(run_rdy("RDY-011", repo=write_repo(tmp_path / "ok", {"main.py": safe}))["RDY-011"],
                  Status.PASS)


def test_rdy017_routes_added_by_call(tmp_path: Path) -> None:
    src = ("from flask import Flask\n\napp = Flask(__name__)\n\n\ndef ok() -> str:\n"
           "    return 'ok'\n\n\n@app.route('/items')\ndef items() -> str:\n    return ''\n\n\n"
           "app.add_url_rule('/healthz', view_func=ok)\n")
    r = run_rdy("RDY-017", repo=write_repo(tmp_path, {"app.py": src}))["RDY-017"]
    assert_status(r, Status.PASS)
    assert "/healthz" in messages(r)


DEV_MAIN = """from fastapi import APIRouter

from app.api.routes import private, users
from app.core.config import settings

api_router = APIRouter()
api_router.include_router(users.router)
if settings.ENVIRONMENT == "local":
    api_router.include_router(private.router)
"""
DEV_PRIVATE = """from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/private")


class PrivateUserCreate(BaseModel):
    email: str
    password: str


@router.post("/users/")
def create_user(user_in: PrivateUserCreate, session: SessionDep):
    return save(user_in)
"""
DEV_USERS = """from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(prefix="/users")


class UserRegister(BaseModel):
    email: str
    password: str = Field(min_length=8, max_length=40)


@router.post("/signup")
def register_user(user_in: UserRegister, session: SessionDep):
    return save(user_in)
"""


def test_rdy016_inputs_of_local_only_routes_are_not_judged(tmp_path: Path) -> None:
    files = {"app/api/main.py": DEV_MAIN, "app/api/routes/private.py": DEV_PRIVATE,
             "app/api/routes/users.py": DEV_USERS}
    r = run_rdy("RDY-016", repo=write_repo(tmp_path / "dev", files))["RDY-016"]
    assert_status(r, Status.PASS)
    assert "PrivateUserCreate.password (only development-only routes: `if " \
           "settings.ENVIRONMENT == 'local'` (app/api/main.py:8))" in messages(r)
    live = DEV_MAIN.replace('if settings.ENVIRONMENT == "local":\n    ', "")
    r = run_rdy("RDY-016", repo=write_repo(tmp_path / "live", {**files, "app/api/main.py": live}))
    assert_status(r["RDY-016"], Status.WARN)
    assert problem_locs(r["RDY-016"]) == {"app/api/routes/private.py:9"}


def test_rdy103_debug_router_mounted_only_in_local_development(tmp_path: Path) -> None:
    debug = ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
             "@router.get('/debug/crash')\nasync def crash() -> None:\n    raise RuntimeError\n")
    main = ("from fastapi import FastAPI\n\nfrom app import debug\nfrom app.config import settings"
            "\n\napp = FastAPI()\nif settings.ENVIRONMENT == 'local':\n"
            "    app.include_router(debug.router)\n\n\n@app.get('/items')\n"
            "async def items() -> list:\n    return []\n")
    files = {"app/debug.py": debug, "app/main.py": main}
    assert_status(run_rdy("RDY-103", repo=write_repo(tmp_path / "dev", files))["RDY-103"],
                  Status.PASS)
    files["app/main.py"] = main.replace("== 'local'", "!= 'local'")  # mounted in production
    r = run_rdy("RDY-103", repo=write_repo(tmp_path / "prod", files))["RDY-103"]
    assert_status(r, Status.WARN)
    assert problem_locs(r) == {"app/debug.py:6"}


def test_rdy007_unrendered_template_module_is_skipped_not_an_error(tmp_path: Path) -> None:
    src = ("import bcrypt\n\n\nasync def verify(plain: str, hashed: str) -> bool:\n"
           "    return bcrypt.checkpw(plain.encode(), hashed.encode())\n")
    files = {"app/security.py": src,
             "app/flags.py": "DEBUG = {% if debug %}True{% else %}False{% endif %}\n"}
    r = run_rdy("RDY-007", repo=write_repo(tmp_path / "tpl", files))["RDY-007"]
    assert_status(r, Status.WARN)  # the rest of the backend is still judged
    assert "app/security.py:5" in problem_locs(r)
    (skip,) = [f for f in r.findings if f.status is Status.SKIP]
    assert skip.location == "app/flags.py" and "template not rendered" in skip.message
    # a module no grammar reads (too many broken statements) is still an ERROR
    files["app/flags.py"] = "def f(:\n    pass\n" * 30
    r = run_rdy("RDY-007", repo=write_repo(tmp_path / "broken", files))["RDY-007"]
    assert any(f.status is Status.ERROR and f.location == "app/flags.py" for f in r.findings)


LLM_HELPER = '''import os

import httpx

KEY = os.getenv("LLM_API_KEY")
URL = "https://api.example-llm.test/v1/chat/completions"


async def ask_model(prompt: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(URL, headers={"Authorization": f"Bearer {KEY}"},
                              json={"model": "m", "messages": [{"role": "user", "content": prompt}]})
        return r.json()["choices"][0]["message"]["content"]
'''
ROOMS = '''from fastapi import APIRouter

from assistant import ask_model

router = APIRouter()


@router.get("/rooms")
async def rooms() -> list:
    return []


@router.post("/rooms/{room_id}/notes")
async def add_note(room_id: int, payload: dict) -> dict:
    answer = await ask_model(payload.get("text", ""))
    return {"answer": answer}
'''


def test_rdy019_llm_call_in_a_helper_module_and_an_untyped_body(tmp_path: Path) -> None:
    """The handler reaches the provider through the project's own helper (an HTTP request to an
    OpenAI-compatible URL): it is an LLM endpoint, and its ``payload: dict`` bounds nothing."""
    bad = write_repo(tmp_path / "bad", {"app/assistant.py": LLM_HELPER, "app/rooms.py": ROOMS})
    r = run_rdy("RDY-019", repo=bad)["RDY-019"]
    assert_status(r, Status.WARN)
    assert problem_locs(r) == {"app/rooms.py:14"}
    assert "add_note" in messages(r) and "payload: dict" in messages(r)
    typed = ROOMS.replace("from fastapi import APIRouter\n", "from fastapi import APIRouter\n"
                          "from pydantic import BaseModel, Field\n\n\nclass Note(BaseModel):\n"
                          "    text: str = Field(max_length=4000)\n") \
        .replace("payload: dict", "payload: Note").replace('payload.get("text", "")',
                                                           "payload.text")
    good = write_repo(tmp_path / "good", {"app/assistant.py": LLM_HELPER, "app/rooms.py": typed})
    r = run_rdy("RDY-019", repo=good)["RDY-019"]
    assert_status(r, Status.PASS)
    no_llm = LLM_HELPER.replace("https://api.example-llm.test/v1/chat/completions",
                                "https://billing.example.test/v1/invoices")
    plain = write_repo(tmp_path / "plain", {"app/assistant.py": no_llm, "app/rooms.py": ROOMS})
    assert_status(run_rdy("RDY-019", repo=plain)["RDY-019"], Status.SKIP)
