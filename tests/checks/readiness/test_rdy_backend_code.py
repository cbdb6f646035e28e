"""RDY-001–009 on a mutated copy of the reference target (the problem) and on a copy without
it; RDY-005 on a started copy whose notes router breaks REST conventions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdy_helpers import (
    assert_status,
    copy_mvp,
    edit,
    messages,
    mvp,
    run_rdy,
    started,
    write,
)

from prodaudit.model import Status
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]

APP = Path("backend/app")


def test_rdy001_structure(mvp: Path) -> None:
    assert_status(run_rdy("RDY-001", repo=mvp)["RDY-001"], Status.PASS)
    for name in ("notes", "users", "admin", "llm"):
        path = mvp / APP / "routers" / f"{name}.py"
        path.write_text(path.read_text() + "\nimport os\nDEBUG_X = os.getenv('X_DEBUG')\n")
    r = run_rdy("RDY-001", repo=mvp)["RDY-001"]
    assert_status(r, Status.WARN)
    assert "not centralised" in messages(r) and "routers/notes.py" in messages(r)


def test_rdy002_exception_handlers(mvp: Path) -> None:
    assert_status(run_rdy("RDY-002", repo=mvp)["RDY-002"], Status.PASS)
    catch_all = "        except Exception as exc:\n            await self._internal_error"
    edit(mvp / APP / "errors.py", catch_all, catch_all.replace("Exception", "RuntimeError"))
    write(mvp / APP / "quota.py", "class QuotaExceededError(Exception):\n    pass\n\n\n"
          "def charge() -> None:\n    raise QuotaExceededError('over quota')\n")
    r = run_rdy("RDY-002", repo=mvp)["RDY-002"]
    assert_status(r, Status.FAIL)
    assert "no catch-all" in messages(r)
    assert "QuotaExceededError" in messages(r) and "backend/app/quota.py:6" in messages(r)


def test_rdy003_logging(mvp: Path) -> None:
    assert_status(run_rdy("RDY-003", repo=mvp)["RDY-003"], Status.PASS)
    edit(mvp / APP / "routers" / "notes.py", "    note = Note(owner_id=user.id",
         "    print('creating note for', user.id)\n    note = Note(owner_id=user.id")
    edit(mvp / APP / "logging_setup.py", "root.setLevel(level)", "root.setLevel(logging.DEBUG)")
    r = run_rdy("RDY-003", repo=mvp)["RDY-003"]
    assert_status(r, Status.FAIL)
    text = messages(r)
    assert "print()" in text and "backend/app/routers/notes.py" in text
    assert "hard-coded to DEBUG" in text


def test_rdy004_fk_index(mvp: Path) -> None:
    r = run_rdy("RDY-004", repo=mvp)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "Note.owner_id" in messages(r)
    edit(mvp / APP / "models.py", 'Index("ix_notes_owner_id_created_at", "owner_id", "created_at")',
         'Index("ix_notes_created_at", "created_at", "owner_id")')
    r = run_rdy("RDY-004", repo=mvp)["RDY-004"]
    assert_status(r, Status.FAIL)
    assert "foreign key Note.owner_id" in messages(r)
    assert any(f.location.startswith("backend/app/models.py:") for f in r.findings)


MIDDLEWARE_EXTRA = """
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.example.com"])
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=["127.0.0.1"])
    return app
"""


def test_rdy006_middleware(mvp: Path) -> None:
    main = mvp / APP / "main.py"
    last = "    app.add_middleware(RequestContextMiddleware, metrics=metrics)\n"
    edit(main, last + "    return app\n", last + MIDDLEWARE_EXTRA)
    r = run_rdy("RDY-006", repo=mvp)["RDY-006"]
    assert_status(r, Status.PASS)
    assert "GZipMiddleware" in messages(r)
    # the rate limiter moved outside CORS: its 429s and preflights lose the CORS headers
    limiter = ("    app.add_middleware(DefaultRateLimitMiddleware, limiter=limiter, "
               "settings=settings)\n")
    cors = "    app.add_middleware(CORSMiddleware, settings=settings)\n"
    edit(main, limiter, "")
    edit(main, cors, cors + limiter)
    r = run_rdy("RDY-006", repo=mvp)["RDY-006"]
    assert_status(r, Status.FAIL)
    assert "DefaultRateLimitMiddleware" in messages(r) and "outside" in messages(r)


def test_rdy006_missing_middleware_warns(mvp: Path) -> None:
    assert_status(run_rdy("RDY-006", repo=mvp)["RDY-006"], Status.PASS)
    main = mvp / APP / "main.py"
    edit(main, "    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)\n", "")
    trusted = ("        app.add_middleware(\n            TrustedHostMiddleware, "
               "allowed_hosts=settings.allowed_hosts, www_redirect=False\n        )\n")
    edit(main, trusted, "        pass\n")
    r = run_rdy("RDY-006", repo=mvp)["RDY-006"]
    assert_status(r, Status.WARN)
    assert "compression" in messages(r) and "trusted hosts" in messages(r)


def test_rdy007_blocking_call(mvp: Path) -> None:
    assert_status(run_rdy("RDY-007", repo=mvp)["RDY-007"], Status.PASS)
    write(mvp / APP / "routers" / "slow.py",
          "import time\n\nfrom fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
          "@router.get('/slow')\nasync def slow() -> dict[str, str]:\n    time.sleep(2)\n"
          "    return {}\n")
    r = run_rdy("RDY-007", repo=mvp)["RDY-007"]
    assert_status(r, Status.WARN)
    assert "time.sleep" in messages(r) and "backend/app/routers/slow.py:10" in messages(r)


def test_rdy008_sql_strings(mvp: Path) -> None:
    assert_status(run_rdy("RDY-008", repo=mvp)["RDY-008"], Status.PASS)
    write(mvp / APP / "search.py",
          "from sqlalchemy import text\n\n\ndef search(db, q: str):\n"
          "    return db.execute(text(f\"SELECT * FROM notes WHERE title = '{q}'\"))\n")
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]
    assert_status(r, Status.FAIL)
    assert "backend/app/search.py:5" in messages(r)


def test_rdy009_raw_body(mvp: Path) -> None:
    assert_status(run_rdy("RDY-009", repo=mvp)["RDY-009"], Status.PASS)
    write(mvp / APP / "routers" / "raw.py",
          "from fastapi import APIRouter, Request\n\nrouter = APIRouter()\n\n\n"
          "@router.post('/raw')\nasync def raw(request: Request) -> dict[str, str]:\n"
          "    data = await request.json()\n    return {'n': str(len(data))}\n")
    r = run_rdy("RDY-009", repo=mvp)["RDY-009"]
    assert_status(r, Status.WARN)
    assert "request.json" in messages(r)



def test_rdy009_app_factory_serves_the_routers_of_a_sibling_package(tmp_path: Path) -> None:
    """The FastAPI app is built in app/core/setup.py; its routes live in app/api/: the backend
    is app/, not the factory's own folder (which holds no route)."""
    factory = ("from fastapi import APIRouter, FastAPI\n\n\n"
               "def create_application(router: APIRouter) -> FastAPI:\n"
               "    application = FastAPI()\n    application.include_router(router)\n"
               "    return application\n")
    api = ("from fastapi import APIRouter, Request\n\nrouter = APIRouter()\n\n\n"
           "@router.post('/items')\nasync def create(request: Request) -> dict[str, str]:\n"
           "    data = await request.json()\n    return {'n': str(len(data))}\n")
    main = ("from .api.items import router\nfrom .core.setup import create_application\n\n"
            "app = create_application(router)\n")
    for rel, text in {"app/__init__.py": "", "app/core/__init__.py": "",
                      "app/core/setup.py": factory, "app/api/__init__.py": "",
                      "app/api/items.py": api, "app/main.py": main}.items():
        write(tmp_path / rel, text)
    r = run_rdy("RDY-009", repo=tmp_path)["RDY-009"]
    assert_status(r, Status.WARN)
    assert "app/api/items.py:8" in messages(r)

# ---- live: RDY-005 (and RDY-061 in test_rdy_documentation) -----------------------------------


@pytest.fixture(scope="module")
def rest_flawed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceTarget]:
    """A started copy whose notes router uses a verb path, a 200 on create and no summary, and
    whose metrics have no latency histogram."""
    root = copy_mvp(tmp_path_factory.mktemp("rest") / "mvp")
    notes = root / APP / "routers" / "notes.py"
    edit(notes, '@router.post(\n    "",\n    status_code=status.HTTP_201_CREATED,',
         '@router.post(\n    "/createNote",\n    status_code=status.HTTP_200_OK,')
    edit(notes, 'summary="Create a note",', "")
    # and its metrics lose the request-latency histogram (renamed to a size metric)
    edit(root / APP / "metrics.py", '"http_request_duration_seconds"', '"http_response_size"')
    yield from started(root)


def test_rdy005_rest_conventions_hardened(hardened_target: ReferenceTarget) -> None:
    r = run_rdy("RDY-005", target=hardened_target)["RDY-005"]
    assert_status(r, Status.PASS)


def test_rdy005_rest_conventions_flawed(rest_flawed: ReferenceTarget) -> None:
    r = run_rdy(["RDY-005", "RDY-061"], target=rest_flawed)
    assert_status(r["RDY-005"], Status.WARN)
    text = messages(r["RDY-005"])
    assert "verb in path segment 'createNote'" in text
    assert "POST /notes/createNote" in text
    # the same started copy serves the API-documentation test (one target for both)
    assert_status(r["RDY-061"], Status.FAIL)
    assert any(f.location == "POST /notes/createNote" and "function name" in f.message
               for f in r["RDY-061"].findings)


def test_rdy054_metrics_without_latency(rest_flawed: ReferenceTarget) -> None:
    r = run_rdy("RDY-054", target=rest_flawed)["RDY-054"]
    assert_status(r, Status.FAIL)
    assert "no request latency histogram" in messages(r)
    assert "request counter" not in messages(r)  # the counter is still there


def test_rdy004_django_models(tmp_path: Path) -> None:
    """Django indexes every ForeignKey unless db_index=False; an abstract base is not a model."""
    write(tmp_path / "shop" / "models.py",
          "from django.db import models\n\n\nclass Base(models.Model):\n"
          "    created = models.DateTimeField(auto_now_add=True)\n\n    class Meta:\n"
          "        abstract = True\n\n\nclass Customer(Base):\n"
          "    name = models.CharField(max_length=80)\n\n\n"
          "class Order(Base):\n    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)\n")
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "2 model(s)" in messages(r) and "Order.customer" in messages(r)
    edit(tmp_path / "shop" / "models.py", "on_delete=models.CASCADE)",
         "on_delete=models.CASCADE, db_index=False)")
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.FAIL)
    assert "Order.customer has db_index=False" in messages(r)
    assert any(f.location == "shop/models.py:16" for f in r.findings)


FLASK_APP = """from flask import Flask
from werkzeug.exceptions import HTTPException

app = Flask(__name__)


class QuotaError(Exception):
    pass


@app.errorhandler(HTTPException)
def http_error(error):
    return {"message": error.name}, error.code


@app.route("/charge", methods=["POST"])
def charge():
    raise QuotaError("over quota")
"""


def test_rdy002_flask(tmp_path: Path) -> None:
    """Flask: a handler for werkzeug's HTTPException is the catch-all (unhandled errors arrive as
    InternalServerError), as is a handler for 500; handlers for app exceptions only are not."""
    write(tmp_path / "app.py", FLASK_APP)
    r = run_rdy("RDY-002", repo=tmp_path)["RDY-002"]
    assert_status(r, Status.PASS)
    assert "HTTPException" in messages(r) and "app.py:11" in messages(r)
    edit(tmp_path / "app.py", "@app.errorhandler(HTTPException)", "@app.errorhandler(QuotaError)")
    r = run_rdy("RDY-002", repo=tmp_path)["RDY-002"]
    assert_status(r, Status.FAIL)
    assert "no catch-all" in messages(r)
    edit(tmp_path / "app.py", "@app.route(", "@app.errorhandler(500)\ndef crashed(error):\n"
         "    return {'message': 'internal error'}, 500\n\n\n@app.route(")
    assert_status(run_rdy("RDY-002", repo=tmp_path)["RDY-002"], Status.PASS)


def test_rdy002_django(tmp_path: Path) -> None:
    """Django: the default handler500 is the catch-all unless DEBUG = True shows tracebacks; DRF's
    EXCEPTION_HANDLER covers the classes it tests."""
    write(tmp_path / "proj" / "settings.py",
          "DEBUG = False\nINSTALLED_APPS = ['rest_framework']\n"
          "REST_FRAMEWORK = {'EXCEPTION_HANDLER': 'proj.errors.handler'}\n")
    write(tmp_path / "proj" / "errors.py",
          "from rest_framework.views import exception_handler\n\n"
          "from proj.services import ApplicationError\n\n\n"
          "def handler(exc, ctx):\n    if isinstance(exc, ApplicationError):\n        return None\n"
          "    return exception_handler(exc, ctx)\n")
    write(tmp_path / "proj" / "services.py",
          "from django.db import transaction\n\n\nclass ApplicationError(Exception):\n    pass\n\n\n"
          "def book():\n    raise ApplicationError('no seat')\n")
    r = run_rdy("RDY-002", repo=tmp_path)["RDY-002"]
    assert_status(r, Status.PASS)
    assert "Django's default handler500" in r.findings[0].location or "ApplicationError" in messages(r)
    edit(tmp_path / "proj" / "settings.py", "DEBUG = False", "DEBUG = True")
    r = run_rdy("RDY-002", repo=tmp_path)["RDY-002"]
    assert_status(r, Status.FAIL)


DB_MODULE = """from app.extensions import db

Model = db.Model
Column = db.Column


class SurrogatePK(object):
    __table_args__ = {"extend_existing": True}

    id = db.Column(db.Integer, primary_key=True)


class Cycle(Loop):
    pass


class Loop(Cycle):
    pass
"""

USER_MODULE = """from app.database import Column, Model, SurrogatePK, db
from .stamps import Stamped


class User(SurrogatePK, Model):
    __tablename__ = "users"
    username = Column(db.String(80), unique=True)


class Tag(Stamped, Model):
    __tablename__ = "tags"
    name = Column(db.String(80))


class Odd(Cycle, Model):
    __tablename__ = "odd"
    name = Column(db.String(80))
"""


def test_rdy004_primary_key_inherited_from_a_mixin(tmp_path: Path) -> None:
    """A primary key a mixin of the repository declares (imported from another module, two
    levels deep) counts; a base class that declares none does not, and a cycle of bases ends."""
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "extensions.py", "from flask_sqlalchemy import SQLAlchemy\n"
          "db = SQLAlchemy()\n")
    write(tmp_path / "app" / "database.py", DB_MODULE)
    write(tmp_path / "app" / "user" / "__init__.py", "")
    write(tmp_path / "app" / "user" / "stamps.py",
          "from app.database import SurrogatePK, db\n\n\nclass Stamped(SurrogatePK):\n"
          "    created = db.Column(db.DateTime)\n")
    write(tmp_path / "app" / "user" / "models.py", USER_MODULE)
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.FAIL)
    fails = [f for f in r.findings if f.status is Status.FAIL]
    assert [f.message for f in fails] == ["model Odd declares no primary key"]
    assert fails[0].location == "app/user/models.py:15"
    edit(tmp_path / "app" / "user" / "models.py", "class Odd(Cycle, Model):",
         "class Odd(SurrogatePK, Cycle, Model):")
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "3 model(s)" in messages(r)
    assert "User from SurrogatePK (app/database.py:7)" in messages(r)
    assert "Tag from SurrogatePK (app/database.py:7)" in messages(r)  # via Stamped


DJANGO_BASE = """INSTALLED_APPS = ["django.contrib.auth", "shop"]
ROOT_URLCONF = "site.urls"
MIDDLEWARE = []
"""
DJANGO_PROD = """from .base import *  # noqa

DEBUG = False

LOGGING = {
    "version": 1,
    "formatters": {"json": {"()": "pythonjsonlogger.jsonlogger.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
"""


@pytest.mark.parametrize("variant", ["json", "plain", "none"])
def test_rdy003_django_logging_setting(tmp_path: Path, variant: str) -> None:
    """Django's LOGGING setting configures logging (Django passes it to dictConfig); a JSON
    formatter named in it is structured. Without any, the finding points at the production
    settings module, not at an unrelated file."""
    prod = {"json": DJANGO_PROD,
            "plain": DJANGO_PROD.replace('{"()": "pythonjsonlogger.jsonlogger.JsonFormatter"}',
                                         '{"format": "%(levelname)s %(message)s"}'),
            "none": DJANGO_PROD.split("LOGGING")[0]}[variant]
    write(tmp_path / "shop" / "__init__.py", "")
    write(tmp_path / "shop" / "context_processors.py", "def site(request):\n    return {}\n")
    write(tmp_path / "site" / "__init__.py", "")
    write(tmp_path / "site" / "settings" / "__init__.py", "")
    write(tmp_path / "site" / "settings" / "base.py", DJANGO_BASE)
    write(tmp_path / "site" / "settings" / "production.py", prod)
    r = run_rdy("RDY-003", repo=tmp_path)["RDY-003"]
    if variant == "json":
        assert_status(r, Status.PASS)
        assert "logging configured at site/settings/production.py:5" in messages(r)
    elif variant == "plain":
        assert_status(r, Status.FAIL)
        assert [(f.message, f.location) for f in r.findings] == [
            ("logging is configured but not structured: no JSON formatter",
             "site/settings/production.py:5")]
    else:
        assert_status(r, Status.FAIL)
        assert "logging is never configured" in messages(r)
        assert r.findings[0].location == "site/settings/production.py"


def test_rdy003_unconfigured_points_at_the_app(tmp_path: Path) -> None:
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "helpers.py", "def twice(x):\n    return 2 * x\n")
    write(tmp_path / "app" / "main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
          "@app.get('/items')\ndef items():\n    return []\n")
    r = run_rdy("RDY-003", repo=tmp_path)["RDY-003"]
    assert_status(r, Status.FAIL)
    assert r.findings[0].location == "app/main.py:3" and "never configured" in messages(r)


def test_rdy002_missing_catch_all_points_at_the_app_creation(tmp_path: Path) -> None:
    """Without any handler the FAIL points where the app is created (where the catch-all goes),
    not at the first web module; a handler for Exception passes."""
    write(tmp_path / "app" / "deps.py", "from fastapi import Depends, HTTPException\n\n\n"
          "def current_user():\n    raise HTTPException(status_code=401)\n")
    main = write(tmp_path / "app" / "main.py", "from fastapi import FastAPI\n\nfrom app import deps\n\n"
                 "app = FastAPI(title='x')\n\n\n@app.get('/')\nasync def root():\n    return {}\n")
    r = run_rdy("RDY-002", repo=tmp_path)["RDY-002"]
    assert_status(r, Status.FAIL)
    assert [f.location for f in r.findings] == ["app/main.py:5"], messages(r)
    main.write_text(main.read_text() + "\n\n@app.exception_handler(Exception)\n"
                    "async def crashed(request, exc):\n    return None\n")
    assert_status(run_rdy("RDY-002", repo=tmp_path)["RDY-002"], Status.PASS)


LOGURU = '''\
import logging
import sys

from loguru import logger


class InterceptHandler(logging.Handler):
    def emit(self, record):
        logger.opt(depth=6).log(record.levelname, record.getMessage())


def configure_logging(level):
    logging.getLogger().handlers = [InterceptHandler()]
    logger.configure(handlers=[{"sink": sys.stderr, "level": level{serialize}}])
'''


@pytest.mark.parametrize("variant", ["plain", "json", "debug"])
def test_rdy003_loguru_and_handlers_assignment(tmp_path: Path, variant: str) -> None:
    """Logging configured through loguru's ``logger.configure`` and a ``.handlers = [...]``
    assignment is configuration (it read 'never configured'); ``serialize=True`` is JSON."""
    level = "logging.DEBUG" if variant == "debug" else "level"
    serialize = ', "serialize": True' if variant == "json" else ""
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "logs.py", LOGURU.replace("{serialize}", serialize)
          .replace('"level": level', f'"level": {level}'))
    write(tmp_path / "app" / "main.py", "from fastapi import FastAPI\n\nfrom app.logs import "
          "configure_logging\n\nconfigure_logging(20)\napp = FastAPI()\n")
    r = run_rdy("RDY-003", repo=tmp_path)["RDY-003"]
    if variant == "json":
        assert_status(r, Status.PASS)
        assert "logging configured at app/logs.py:13; structured formatter at app/logs.py:14" \
            in messages(r)
        return
    assert_status(r, Status.FAIL)
    assert "never configured" not in messages(r)
    if variant == "plain":
        assert [(f.message, f.location) for f in r.findings] == [
            ("logging is configured but not structured: no JSON formatter", "app/logs.py:13")]
    else:
        assert "hard-coded to DEBUG: logging.DEBUG" in messages(r)
        assert any(f.location == "app/logs.py:14" for f in r.findings)


CORE_TABLES = """from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table

metadata = MetaData()

owners = Table(
    "owners", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String, unique=True),
)

pets = Table(
    "pets", metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("owners.id", ondelete="CASCADE")),
    Column("name", String),
)

visits = Table(
    "visits", metadata,
    Column("pet_id", Integer, ForeignKey("pets.id")),
)
"""


def test_rdy004_sqlalchemy_core_tables(tmp_path: Path) -> None:
    """``Table("name", metadata, Column(...))`` declares tables like a mapped class: a table
    without a primary key and an unindexed foreign key fail at their lines."""
    write(tmp_path / "app" / "tables.py", CORE_TABLES)
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.FAIL)
    locs = {f.location for f in r.findings if f.status is Status.FAIL}
    assert locs == {"app/tables.py:14", "app/tables.py:18", "app/tables.py:20"}, messages(r)
    assert "foreign key pets.owner_id is not the leading column" in messages(r)
    assert "table visits declares no primary key" in messages(r)
    fixed = CORE_TABLES.replace('ForeignKey("owners.id", ondelete="CASCADE"))',
                                'ForeignKey("owners.id", ondelete="CASCADE"), index=True)') \
        .replace('Column("pet_id", Integer, ForeignKey("pets.id")),',
                 'Column("pet_id", Integer, ForeignKey("pets.id"), primary_key=True),')
    write(tmp_path / "app" / "tables.py", fixed + 'Index("ix_pets_name", pets.c.name)\n')
    r = run_rdy("RDY-004", repo=tmp_path)["RDY-004"]
    assert_status(r, Status.PASS)
    assert "3 model(s)" in messages(r) and "pets.owner_id" in messages(r)


def test_rdy003_print_in_a_helper_the_routes_import(tmp_path: Path) -> None:
    """A print() in a CRUD module the FastAPI module imports serves requests too; a seed script
    nobody imports is not judged."""
    write(tmp_path / "backend" / "main.py",
          "import logging\n\nfrom fastapi import FastAPI\n\nimport crud\n\n"
          "logging.basicConfig(level=logging.INFO)\napp = FastAPI()\n\n\n"
          "@app.post('/users')\nasync def create(email: str) -> dict:\n"
          "    return crud.create_user(email)\n")
    write(tmp_path / "backend" / "crud.py",
          "def create_user(email: str) -> dict:\n    print('created', email)\n"
          "    return {'email': email}\n")
    write(tmp_path / "backend" / "seed.py", "import crud\n\nprint(crud.create_user('a@b.c'))\n")
    r = run_rdy("RDY-003", repo=tmp_path)["RDY-003"]
    prints = [f for f in r.findings if "print()" in f.message]
    assert [f.location for f in prints] == ["backend/crud.py:2"], messages(r)
    assert "seed.py" not in messages(r)
    write(tmp_path / "backend" / "crud.py",
          "import logging\n\nlog = logging.getLogger(__name__)\n\n\n"
          "def create_user(email: str) -> dict:\n    log.info('user created')\n"
          "    return {'email': email}\n")
    r = run_rdy("RDY-003", repo=tmp_path)["RDY-003"]
    assert not [f for f in r.findings if "print()" in f.message], messages(r)
