"""The database dialect an engine setup names, read from source text (unit tests of parsing)."""

from __future__ import annotations

import ast

import pytest

from prodaudit.product.dbdialect import (
    django_engine_dialect,
    engine_dialect,
    expr_dialect,
    scheme_dialect,
)


def _call(src: str) -> tuple[ast.Call, ast.Module]:
    tree = ast.parse(src)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", getattr(n.func, "attr", "")).startswith("create_")]
    return calls[0], tree


@pytest.mark.parametrize(("src", "dialect"), [
    ("create_engine('sqlite:///' + path.join(basedir, '..', 'database.db'), echo=True)", "sqlite"),
    ("create_engine(f'sqlite:///{DB_PATH}')", "sqlite"),
    ("create_async_engine('sqlite+aiosqlite:///./app.db')", "sqlite"),
    ("create_engine('sqlite:///{}'.format(p))", "sqlite"),
    ("create_engine('sqlite:///%s' % p)", "sqlite"),
    ("create_engine(url='sqlite://')", "sqlite"),
    ("URL = 'sqlite:///' + BASE\nengine = create_engine(URL)", "sqlite"),
    ("create_engine('postgresql+psycopg://u:p@db/app')", "postgresql"),
    ("create_engine(f'postgres://{user}:{pw}@{host}/app')", "postgresql"),
    ("create_engine('mysql+pymysql://' + creds)", "mysql"),
])
def test_known_dialects(src: str, dialect: str) -> None:
    call, tree = _call(src)
    found = engine_dialect(call, tree)
    assert found is not None and found.name == dialect
    assert found.is_sqlite is (dialect == "sqlite")


@pytest.mark.parametrize("src", [
    "create_engine(settings.DATABASE_URL)",
    "create_engine(f'{scheme}://{host}/db')",
    "create_engine(prefix + 'sqlite:///x')",
    "create_engine('{}://x'.format(scheme))",
    "URL = 'sqlite://'\nURL = other\nengine = create_engine(URL)",  # bound twice: unknown
    "create_engine(**options)",
    # a getenv default is only known with the deployment's settings (a Context)
    "create_engine(os.getenv('DATABASE_URL', 'sqlite:///app.db'))",
    "create_engine(os.environ['DATABASE_URL'])",
])
def test_unknown_stays_unknown(src: str) -> None:
    call, tree = _call(src)
    assert engine_dialect(call, tree) is None


def test_flask_sqlalchemy_uri_and_django_engine() -> None:
    assign = ast.parse("app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///' + db_file").body[0]
    assert isinstance(assign, ast.Assign)
    found = expr_dialect(assign.value)
    assert found is not None and found.is_sqlite
    databases = ast.parse("{'ENGINE': 'django.db.backends.sqlite3', 'NAME': BASE / 'db'}").body[0]
    assert isinstance(databases, ast.Expr) and isinstance(databases.value, ast.Dict)
    engine = databases.value.values[0]
    found = django_engine_dialect(engine)
    assert found is not None and found.name == "sqlite"
    pg = django_engine_dialect(ast.Constant("django.db.backends.postgresql"))
    assert pg is not None and pg.name == "postgresql"
    assert django_engine_dialect(ast.Constant("custom_backend.engine")) is None
    assert scheme_dialect("not a url") is None
