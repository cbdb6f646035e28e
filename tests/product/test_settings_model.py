"""The settings model (issue 16): environment reads of every reader library, static values,
settings wherever they live, frontend reads, documentation and infrastructure sources, and
other production deployments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from product_helpers import context, write

import prodaudit.product.compose as compose_mod
from prodaudit.product.deploy_paths import other_production_deployment
from prodaudit.product.envdocs import doc_variables
from prodaudit.product.envgraph import build_graph, frontend_reads
from prodaudit.product.infraenv import infra_env
from prodaudit.product.pysettings import live_settings_classes, settings_model
from prodaudit.product.pyvalues import Composed, Duration, env_read, evaluate


@pytest.fixture(autouse=True)
def no_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_mod, "compose_cli_reason", lambda: "not needed here")


def _expr(text: str) -> ast.expr:
    node = ast.parse(text, mode="eval").body
    return node


@pytest.mark.parametrize(("code", "name", "default", "strict"), [
    ('os.getenv("A", "x")', "A", "x", False),
    ('os.environ.get("A")', "A", None, False),
    ('os.environ["A"]', "A", None, True),
    ('config("A", cast=bool, default=True)', "A", True, False),
    ('config("A", "dflt")', "A", "dflt", False),  # python-decouple: default second
    ('config("A", bool)', "A", None, True),  # starlette: cast second
    ('env.bool("A", default=False)', "A", False, False),
    ('env.list("A", [])', "A", [], False),
    ('env("A")', "A", None, True),
    ("env.db()", "DATABASE_URL", None, True),
])
def test_env_read_shapes(code: str, name: str, default: object, strict: bool) -> None:
    read = env_read(_expr(code), {"config", "env"})
    assert read is not None and read.name == name and read.strict is strict
    value = evaluate(read.default, {}, set()) if read.default is not None else None
    assert value == default
    assert env_read(_expr(code.replace("config(", "other(").replace("env.", "other.")
                          .replace("env(", "other(")), {"config", "env"}) is None \
        or code.startswith("os.")


def test_only_the_process_environment_is_read_as_variables(tmp_path: Path) -> None:
    """``os.environ`` and names bound from ``os`` are the process environment; a request's or a
    WSGI call's ``environ`` is not."""
    repo = write(tmp_path / "r", {
        "app/views.py": (
            "import os\nfrom flask import request\n\n\ndef get_user():\n"
            "    token = request.headers.environ['HTTP_AUTHORIZATION']\n"
            "    ip = request.environ.get('REMOTE_ADDR')\n"
            "    return token, ip, os.environ['A_KEY'], 'E_KEY' in os.environ\n"),
        "app/wsgi.py": ("def application(environ, start_response):\n"
                        "    return environ['PATH_INFO']\n"),
        "app/conf.py": ("import os as _os\nfrom os import environ\nfrom os import environ as E\n"
                        "\nB = environ['B_KEY']\nC = E.get('C_KEY')\nD = _os.environ['D_KEY']\n"
                        "_os.environ.setdefault('F_KEY', 'x')\n"),
    })
    graph = build_graph(context(repo, tmp_path))
    names = set(graph.vars)
    assert {"A_KEY", "B_KEY", "C_KEY", "D_KEY", "E_KEY", "F_KEY"} <= names, sorted(names)
    assert not names & {"HTTP_AUTHORIZATION", "REMOTE_ADDR", "PATH_INFO"}, sorted(names)
    assert graph.vars["A_KEY"].reads[0].line == 8 and graph.vars["B_KEY"].reads[0].line == 5
    assert env_read(_expr("request.headers.environ['HTTP_AUTHORIZATION']"), set()) is None
    assert env_read(_expr("environ['X']"), set()) is None  # unbound: a WSGI argument
    assert env_read(_expr("environ['X']"), {"@environ:environ"}) is not None


def test_static_values() -> None:
    scope: dict[str, object] = {"HOST": "redis", "PORT": 6379}
    assert evaluate(_expr("60 * 24 * 8"), scope, set()) == 11520
    assert evaluate(_expr("timedelta(days=7)"), scope, set()) == Duration(604800)
    assert evaluate(_expr('f"redis://{HOST}:{PORT}/0"'), scope, set()) == "redis://redis:6379/0"
    composed = evaluate(_expr('f"redis://{host}:{PORT}"'), scope, set())
    assert isinstance(composed, Composed) and composed == "redis://{host}:6379"
    assert evaluate(_expr('int(os.environ.get("X") or "15")'), scope, set()) == 15
    assert evaluate(_expr('not os.getenv("PROD")'), scope, set()) is True
    assert evaluate(_expr('os.getenv("ENV", "development") == "development"'), scope, set())


def test_settings_model_and_dead_classes(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "app/config.py": ("from pydantic_settings import BaseSettings\n"
                          "class Used(BaseSettings):\n    jwt_secret: str = 'x'\n"
                          "class Unused(BaseSettings):\n    other_secret: str = 'y'\n"
                          "settings = Used()\n"),
        "app/flask_app.py": ("app.config['SECRET_KEY'] = 'k'\napp.config.update(DEBUG=True)\n"
                             "app.secret_key = 'k2'\nself.debug = True\n"),
        "web/src/api.ts": "const { VITE_API_URL } = import.meta.env;\n",
    })
    ctx = context(repo, tmp_path)
    names = {(s.name, s.scope) for s in settings_model(ctx).settings}
    assert {("jwt_secret", "class Used"), ("SECRET_KEY", "app.config"), ("DEBUG", "app.config")} \
        <= names
    assert ("DEBUG", "app.config") in names and not any(n == "debug" for n, _ in names)
    assert live_settings_classes(ctx) == {"Used"}
    graph = build_graph(ctx)
    assert "JWT_SECRET" in graph.vars and "OTHER_SECRET" not in graph.vars
    assert graph.vars["VITE_API_URL"].reads[0].kind == "frontend"


def test_frontend_reads() -> None:
    text = ("const a = import.meta.env.VITE_A;\nconst b = import.meta.env?.VITE_B;\n"
            "const { VITE_C, VITE_D: d = 1, MODE } = import.meta.env;\n"
            "const e = process.env['REACT_APP_E'];\n")
    assert sorted(frontend_reads(text)) == [("REACT_APP_E", 4), ("VITE_A", 1), ("VITE_B", 2),
                                            ("VITE_C", 3), ("VITE_D", 3)]


def test_documentation_blocks_and_tables() -> None:
    text = ("Set this:\n\n```\nPOSTGRES_PASSWORD=\"your_password\"\nexport API_KEY=x\n```\n\n"
            "| name | meaning |\n|---|---|\n| `LOG_LEVEL` | verbosity |\n\n"
            "Mention of SECRET_KEY in prose is not documentation.\n")
    assert doc_variables(text) == [("POSTGRES_PASSWORD", 4), ("API_KEY", 5), ("LOG_LEVEL", 10)]


def test_infrastructure_sets_variables(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "infra/app.bicep": "env: [\n  {\n    name: 'RUNNING_IN_PRODUCTION'\n    value: 'true'\n"
                           "  }\n]\nsku: { name: 'S0' }\n",
        "deploy/k8s.yaml": ("spec:\n  containers:\n    - name: api\n      env:\n"
                            "        - name: DATABASE_URL\n          valueFrom:\n"),
        "main.tf": 'resource "x" "y" {\n  environment = {\n    LOG_LEVEL = "info"\n  }\n}\n',
        "app.json": '{"env": {"SECRET_KEY": {"generator": "secret"}}}\n',
    })
    env = infra_env(context(repo, tmp_path))
    assert set(env) == {"RUNNING_IN_PRODUCTION", "DATABASE_URL", "LOG_LEVEL", "SECRET_KEY"}
    assert env["RUNNING_IN_PRODUCTION"][0] == ("infra/app.bicep", 3, "true")


def test_other_production_deployment(tmp_path: Path) -> None:
    compose = "services:\n  api:\n    build: .\n"
    alone = write(tmp_path / "alone", {"docker-compose.yml": compose})
    assert other_production_deployment(context(alone, tmp_path)) == ""
    heroku = write(tmp_path / "heroku", {"docker-compose.yml": compose,
                                         "Procfile": "web: gunicorn app:app\n"})
    assert other_production_deployment(context(heroku, tmp_path)) == "Procfile"
    image = write(tmp_path / "image", {"docker-compose.yml": compose,
                                       "docker/production.Dockerfile": "FROM python:3.12\n"})
    assert other_production_deployment(context(image, tmp_path)) == "docker/production.Dockerfile"
