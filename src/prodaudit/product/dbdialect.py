"""The database dialect an application's engine setup names, read statically from the source:
the URL of ``create_engine``/``create_async_engine``, a Flask-SQLAlchemy
``SQLALCHEMY_DATABASE_URI``, a Django ``DATABASES`` ``ENGINE``. Not a check module.

Known when the source says it: a string literal (``"postgresql://..."``), a concatenation or an
f-string whose literal prefix names the scheme (``'sqlite:///' + path``, ``f"sqlite:///{p}"``,
``"sqlite:///{}".format(p)``, ``"sqlite:///%s" % p``), a module-level name bound once to such an
expression, an environment read's default (``os.getenv("X", "sqlite:///...")``) only when no
deployment sets ``X`` (the profile's env file, Compose, a Dockerfile ``ENV``, infrastructure
manifests), a Django backend (``'django.db.backends.sqlite3'``). Anything else is unknown
(``None``): callers keep their behaviour for an unknown database. The pool class an engine uses
outside the tests (:func:`production_poolclass`) is read from its ``poolclass=`` argument.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.context import Context
from prodaudit.product.pyvalues import env_read

MAX_DEPTH = 8
ENGINE_FUNCS = ("create_engine", "create_async_engine")
_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql", "psql": "postgresql",
            "sqlite3": "sqlite", "mariadb": "mysql"}
_DJANGO_BACKENDS = {"sqlite3": "sqlite", "postgresql": "postgresql",
                    "postgresql_psycopg2": "postgresql", "postgis": "postgresql",
                    "mysql": "mysql", "oracle": "oracle", "spatialite": "sqlite"}


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite", "postgresql", "mysql" ...
    how: str  # what in the source names it, for a finding's message

    @property
    def is_sqlite(self) -> bool:
        """A local file (or in-memory) database: no server, no connection pool to size."""
        return self.name == "sqlite"


def scheme_dialect(text: str) -> str | None:
    """The dialect of a URL or URL prefix (``postgresql+psycopg://``→``postgresql``); None when
    the text does not start with a ``scheme://``."""
    scheme, sep, _ = text.partition("://")
    if not sep or not scheme:
        return None
    name = scheme.split("+", 1)[0].strip().lower()
    if not name.replace("_", "").isalnum():
        return None
    return _ALIASES.get(name, name)


def django_backend_dialect(engine: str) -> str | None:
    """The dialect of a Django ``ENGINE`` (``django.db.backends.sqlite3``→``sqlite``,
    ``django.contrib.gis.db.backends.postgis``→``postgresql``); None for a third-party one."""
    if ".backends." not in engine:
        return None
    return _DJANGO_BACKENDS.get(engine.rsplit(".", 1)[-1])


def module_bindings(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound exactly once by a plain or annotated assignment."""
    seen: dict[str, list[ast.expr]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                seen.setdefault(t.id, []).append(value)
    return {k: v[0] for k, v in seen.items() if len(v) == 1}


def _prefix(node: ast.expr) -> ast.expr | None:
    """The leftmost piece of a string-building expression."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return node.left
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return node.func.value
    return None


def expr_dialect(node: ast.expr | None, scope: dict[str, ast.expr] | None = None,
                 ctx: Context | None = None, depth: int = 0) -> Dialect | None:
    """The dialect of a database URL expression, when the source names it (see the module
    docstring); ``scope``: module-level bindings for names, ``ctx``: to tell whether the
    deployment sets a variable whose default names the dialect (without it a default is
    unknown)."""
    if node is None or depth > MAX_DEPTH:
        return None
    scope = scope or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = scheme_dialect(node.value)
        return Dialect(name, f"URL {node.value.partition('://')[0]}://") if name else None
    if isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            name = scheme_dialect(first.value)
            return Dialect(name, f"URL {first.value.partition('://')[0]}://") if name else None
        return None
    left = _prefix(node)
    if left is not None:
        if isinstance(node, ast.Call) or (isinstance(node, ast.BinOp)
                                          and isinstance(node.op, ast.Mod)):
            # a template: only its literal text before the first placeholder names the scheme
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                head = left.value.split("{", 1)[0].split("%", 1)[0]
                name = scheme_dialect(head)
                return Dialect(name, f"URL {head.partition('://')[0]}://") if name else None
            return None
        return expr_dialect(left, scope, ctx, depth + 1)
    if isinstance(node, ast.Name) and node.id in scope:
        return expr_dialect(scope[node.id], scope, ctx, depth + 1)
    read = env_read(node, set())
    if read is not None:
        return _env_default(read.name, read.default, scope, ctx, depth)
    return None


def _env_default(name: str, default: ast.expr | None, scope: dict[str, ast.expr],
                 ctx: Context | None, depth: int) -> Dialect | None:
    if default is None or ctx is None:
        return None
    from prodaudit.product.effective import deployment_sets

    if deployment_sets(ctx, name):
        return None  # the deployment chooses the database
    found = expr_dialect(default, scope, ctx, depth + 1)
    if found is None:
        return None
    return Dialect(found.name, f"{found.how} (the default of {name}, which no deployment sets)")


def engine_url(call: ast.Call) -> ast.expr | None:
    """The URL argument of ``create_engine(url, ...)``/``create_engine(url=...)``."""
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "url"), None)


def engine_dialect(call: ast.Call, tree: ast.Module | None = None,
                   ctx: Context | None = None) -> Dialect | None:
    """The dialect of a ``create_engine``/``create_async_engine`` call in module ``tree``."""
    scope = module_bindings(tree) if tree is not None else {}
    return expr_dialect(engine_url(call), scope, ctx)


def django_engine_dialect(node: ast.expr | None) -> Dialect | None:
    """The dialect of a Django ``DATABASES`` ``'ENGINE'`` value (a string literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = django_backend_dialect(node.value)
        return Dialect(name, f"ENGINE {node.value}") if name else None
    return None


_TEST_MODE = re.compile(r"test", re.I)


def _true_under_tests(test: ast.expr) -> bool | None:
    """Whether a condition that names a test mode is true when the tests run (``MODE ==
    "testing"``, ``settings.TESTING``), false (``!=``, ``not in``), or unknown (None)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _true_under_tests(test.operand)
        return None if inner is None else not inner
    if not _TEST_MODE.search(ast.unparse(test)):
        return None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op = test.ops[0]
        if isinstance(op, ast.Eq | ast.In | ast.Is):
            return True
        return False if isinstance(op, ast.NotEq | ast.NotIn | ast.IsNot) else None
    return True if isinstance(test, ast.Name | ast.Attribute | ast.Call) else None


def production_poolclass(call: ast.Call) -> str:
    """The ``poolclass=`` an engine call uses outside the tests, as written (``''`` when none is
    given): of ``NullPool if settings.MODE == "testing" else QueuePool`` the ``QueuePool``; a
    conditional on anything else is returned whole."""
    value = next((k.value for k in call.keywords if k.arg == "poolclass"), None)
    if value is None:
        return ""
    if isinstance(value, ast.IfExp):
        under_tests = _true_under_tests(value.test)
        if under_tests is not None:
            value = value.orelse if under_tests else value.body
    return ast.unparse(value)
