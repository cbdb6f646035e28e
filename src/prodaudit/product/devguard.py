"""Code that never runs in production: the branch of an ``if`` whose test is false there. A
test is false in production when it reads a debug-like switch (``settings.DEBUG``,
``app.debug``, ``app.config["DEBUG"]``, ``app.testing``, ``os.getenv("DEBUG")``) or compares an
environment-like setting with development values (``settings.ENVIRONMENT == "local"``,
``os.getenv("ENV") in ("dev", "development")``, ``ENVIRONMENT == Environment.LOCAL``) or
against production (``os.getenv("ENV") != "production"``); its ``else`` is the development-only
branch when the test is true in production (``if not settings.DEBUG:``, ``if
settings.ENVIRONMENT == "production":``, ``if settings.ENVIRONMENT != "local":``). ``and`` is
false in production when one operand is, ``or`` when every operand is. Staging and other values
say nothing. The one reader of such guards: the product's route model marks the routes,
routers, blueprints and URL patterns registered only there (``prodaudit.product.endpoints``).
Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.product.devswitches import DEBUG_NAME_RE, DEV_VALUES, ENV_NAME_RE
from prodaudit.product.pyindex import PyModule

_TESTING_NAME = re.compile(r"^(TESTING|TEST_MODE|IS_TESTING)$", re.I)
PROD_VALUES = frozenset({"production", "prod", "live"})
_READ_FUNCS = re.compile(r"(^|\.)(getenv|get|config|env|bool|str|get_value)$")
_CASE_CALLS = frozenset({"lower", "upper", "strip", "casefold", "get_secret_value"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})


@dataclass(frozen=True)
class DevBranch:
    """The lines of a branch that runs only outside production, and the test that says so."""

    path: str
    line: int  # the ``if``
    start: int
    end: int
    test: str
    orelse: bool  # the ``else`` of a test that is true in production

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def describe(self) -> str:
        where = "the else of " if self.orelse else ""
        return f"{where}`if {self.test}` ({self.loc})"


def setting_name(node: ast.AST) -> str:
    """The setting an expression reads: ``DEBUG``, ``settings.ENVIRONMENT``, ``self.SECRET_KEY``,
    ``app.config["ENV"]``, ``os.getenv("ENV", "dev").lower()``, ``x.get_secret_value()`` -> its
    last name, or ''."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in _CASE_CALLS and not node.args:
        return setting_name(node.func.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
            isinstance(node.slice.value, str):
        return node.slice.value
    if isinstance(node, ast.Call) and node.args and _READ_FUNCS.search(ast.unparse(node.func)) \
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return ""


def _debug_like(name: str) -> bool:
    return bool(DEBUG_NAME_RE.match(name) or _TESTING_NAME.match(name))


def _values(node: ast.AST) -> set[str] | None:
    """Lower-cased literal values of a comparison's other side (``"local"``, ``("dev",
    "local")``, an enum member ``Environment.LOCAL``), or None."""
    elts = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    out: set[str] = set()
    for e in elts:
        if isinstance(e, ast.Constant) and isinstance(e.value, str | bool | int):
            out.add(str(e.value).strip().lower())
        elif isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name | ast.Attribute):
            out.add(e.attr.lower())
        else:
            return None
    return out or None


def _compare(node: ast.Compare) -> bool | None:
    if len(node.ops) != 1:
        return None
    left, right, op = node.left, node.comparators[0], node.ops[0]
    name, values = setting_name(left), _values(right)
    if not name or values is None:
        name, values = setting_name(right), _values(left)
        if isinstance(op, ast.In | ast.NotIn):
            return None  # ``"local" in settings.ENVIRONMENT``: not a value test
    if not name or values is None:
        return None
    positive = isinstance(op, ast.Eq | ast.In | ast.Is)
    if not positive and not isinstance(op, ast.NotEq | ast.NotIn | ast.IsNot):
        return None
    if _debug_like(name):
        truthy = values - _FALSE_WORDS
        if truthy and truthy == values:
            on = False  # DEBUG == True is false in production
        elif not truthy:
            on = True  # DEBUG == False is true in production
        else:
            return None
    elif ENV_NAME_RE.match(name):
        if values <= DEV_VALUES:
            on = False
        elif values <= PROD_VALUES:
            on = True
        else:
            return None
    else:
        return None
    return on if positive else not on


def in_production(test: ast.AST) -> bool | None:
    """The value ``test`` has in production: False (its body never runs there), True (its
    ``else`` never runs there), or None (unknown, or it depends on more than the environment)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = in_production(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.Compare):
        return _compare(test)
    if isinstance(test, ast.BoolOp):
        parts = [in_production(v) for v in test.values]
        if isinstance(test.op, ast.And):
            return False if False in parts else True if all(p is True for p in parts) else None
        return True if True in parts else False if all(p is False for p in parts) else None
    name = setting_name(test)
    return False if name and _debug_like(name) else None


def dev_branches(mod: PyModule) -> list[DevBranch]:
    """Every branch of ``mod`` that runs only outside production."""
    out: list[DevBranch] = []
    for node in mod.ifs:
        value = in_production(node.test)
        branch = node.body if value is False else node.orelse if value is True else []
        if branch:
            out.append(DevBranch(mod.rel, node.lineno, branch[0].lineno,
                                 branch[-1].end_lineno or branch[-1].lineno,
                                 ast.unparse(node.test)[:100], value is True))
    return out


def guard_at(branches: list[DevBranch], line: int) -> str:
    """The guard among ``branches`` (one module's) that keeps ``line`` out of production (its
    description), or ''."""
    hits = [b for b in branches if b.start <= line <= b.end]
    return min(hits, key=lambda b: b.end - b.start).describe if hits else ""
