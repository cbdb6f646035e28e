"""Start-up guards on secret settings: settings code that refuses to start when a setting holds a
placeholder (``if value == "changethis": raise ValueError(...)``), one of a set of weak values
(``if SECRET_KEY in {"secret", "changeme"}``), or a value shorter than N (``len(v) < 32``) or
empty (``if not settings.JWT_SECRET``). The test names the setting directly
(``self.SECRET_KEY``, ``settings.SECRET_KEY``, ``os.getenv("SECRET_KEY")``), through a pydantic
validator's fields (``@field_validator("SECRET_KEY")``), or through a helper's parameter and the
calls that pass it the setting (the full-stack FastAPI template's ``_check_default_secret(
"SECRET_KEY", self.SECRET_KEY)`` from a ``@model_validator``). Read where settings are checked:
module level, a settings class's methods, validators, and start-up functions
(``check_*``/``validate_*``/``ensure_*``, ``lifespan``, ``create_app``). A guard *refuses* when
a ``raise`` (or ``sys.exit``) follows the test in production — a ``raise`` only in a
development-only branch does not count (``prodaudit.product.devguard``) — and only *warns*
when it logs or ``warnings.warn``s instead. Not a check module: CFG-020 and CFG-021 cite these
guards."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.devguard import in_production, setting_name
from prodaudit.product.pyindex import Function, PyModule, py_index

if TYPE_CHECKING:
    from prodaudit.context import Context

_STARTUP = re.compile(r"^_?(check|validate|ensure|enforce|verify|assert|require)|startup|"
                      r"lifespan|create_app|on_start", re.I)
_SETTINGS_BASE = re.compile(r"Settings|BaseModel|Config")
_WARN = re.compile(r"(^|\.)(warn|warning|warnings\.warn)$")
_EXIT = re.compile(r"(^|\.)(exit|_exit|abort)$")


@dataclass(frozen=True)
class SecretGuard:
    """One test of a setting's value at start-up and what follows it."""

    name: str  # the setting (as written: SECRET_KEY)
    loc: str  # path:line of the test
    refuses: bool  # a raise follows in production; False: it only warns
    values: frozenset[str]  # literal values the test rejects
    min_length: int  # rejects shorter values (0: no length test)
    empty: bool  # rejects an empty value
    scope: str = ""  # "unless `ENVIRONMENT == 'local'`" when the raise is in a production branch
    #: (variable, values, inside): the raise is skipped when the variable's value is (inside) or
    #: is not (not inside) among the values — ``("ENVIRONMENT", {"local"}, True)``
    off_when: tuple[str, frozenset[str], bool] = ("", frozenset(), True)

    def skipped_with(self, env: dict[str, str]) -> str:
        """``"ENVIRONMENT=local"`` when ``env`` sets the scope's variable so that the raise is
        skipped (the application only warns with these values), or ''."""
        var, values, inside = self.off_when
        value = next((v for k, v in env.items() if var and k.upper() == var.upper()), None)
        if value is None or (value.strip().lower() in values) != inside:
            return ""
        return f"{var}={value}"

    def rejects(self, value: str) -> bool:
        return value in self.values or len(value) < self.min_length or \
            (self.empty and not value.strip())

    @property
    def describe(self) -> str:
        """``refuses it at start-up unless `ENVIRONMENT == 'local'` (config.py:18)`` / ``only
        warns about it at start-up (config.py:18)``."""
        what = "refuses it at start-up" if self.refuses else "only warns about it at start-up"
        return f"{what}{' ' + self.scope if self.scope else ''} ({self.loc})"


@dataclass
class _Test:
    subject: ast.expr
    values: set[str]
    min_length: int = 0
    empty: bool = False


def _literals(node: ast.AST, consts: dict[str, ast.expr]) -> set[str] | None:
    """The string literals of ``"x"``, ``("x", "y")``, ``{...}``, or a module name bound to
    one (``WEAK = {"secret", "changeme"}``), or None."""
    if isinstance(node, ast.Name) and node.id in consts:
        node = consts[node.id]
    elts = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    out = {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return out if len(out) == len(elts) else None


def _tests(test: ast.AST, consts: dict[str, ast.expr]) -> list[_Test]:
    """The value tests of an ``if``: ``x == "lit"``, ``x in {...}``, ``len(x) < N``, ``not x``
    (operands of ``and``/``or`` too)."""
    if isinstance(test, ast.BoolOp):
        return [t for v in test.values for t in _tests(v, consts)]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and setting_name(test.operand):
        return [_Test(test.operand, set(), empty=True)]
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return []
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, ast.Eq | ast.In):
        lits = _literals(right, consts)
        if lits is not None and setting_name(left):
            return [_Test(left, lits, empty="" in lits)]
        lits = _literals(left, consts)
        if lits is not None and setting_name(right) and isinstance(op, ast.Eq):
            return [_Test(right, lits, empty="" in lits)]
    if isinstance(op, ast.Lt | ast.LtE) and isinstance(left, ast.Call) and \
            isinstance(left.func, ast.Name) and left.func.id == "len" and left.args and \
            isinstance(right, ast.Constant) and isinstance(right.value, int):
        return [_Test(left.args[0], set(), right.value + (1 if isinstance(op, ast.LtE) else 0))]
    return []


Outcome = tuple[str, str, tuple[str, frozenset[str], bool]]
_ALWAYS: tuple[str, frozenset[str], bool] = ("", frozenset(), True)


def _switch(test: ast.expr, raise_in_body: bool) -> tuple[str, frozenset[str], bool]:
    """(variable, values, inside) of ``VAR == "local"``/``VAR in (...)``/``!=``: when the raise
    in the body (or else) is skipped."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return _ALWAYS
    lits = _literals(test.comparators[0], {})
    var = setting_name(test.left)
    op = test.ops[0]
    if lits is None or not var or not isinstance(op, ast.Eq | ast.In | ast.NotEq | ast.NotIn):
        return _ALWAYS
    positive = isinstance(op, ast.Eq | ast.In)
    # the raise runs when the test is (body) / is not (else) true; skipped otherwise
    return var, frozenset(v.lower() for v in lits), positive != raise_in_body


def _outcome(body: list[ast.stmt]) -> Outcome:
    """("refuses"|"warns"|"", scope, when the raise is skipped) of a branch: a ``raise``/
    ``sys.exit`` certainly reached in production (a nested ``if`` on the environment followed
    into its production branch only), else a warning (``warnings.warn``, ``logger.warning``)
    anywhere in it."""
    warns = False
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(stmt, ast.Raise):
            return "refuses", "", _ALWAYS
        if isinstance(stmt, ast.If):
            value = in_production(stmt.test)
            test = ast.unparse(stmt.test)[:60]
            for branch, live, scope in ((stmt.body, value is True, f"when `{test}`"),
                                        (stmt.orelse, value is False, f"unless `{test}`")):
                kind, inner, off = _outcome(branch)
                if live and kind == "refuses":
                    return kind, inner or scope, off if inner else _switch(
                        stmt.test, branch is stmt.body)
                warns = warns or kind == "warns"
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if _EXIT.search(name) and "sys" in name:
                    return "refuses", "", _ALWAYS
                warns = warns or bool(_WARN.search(name))
    return ("warns" if warns else ""), "", _ALWAYS


def _params(fn: Function) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args]


def _validator_fields(fn: Function) -> list[str]:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and "validator" in ast.unparse(dec.func):
            return [a.value for a in dec.args if isinstance(a, ast.Constant)
                    and isinstance(a.value, str)]
    return []


def _passed(mod: PyModule, fn: Function, param: str) -> list[str]:
    """The settings the calls of helper ``fn`` in ``mod`` pass as ``param``
    (``self._check_default_secret("SECRET_KEY", self.SECRET_KEY)``)."""
    params = _params(fn)
    method = bool(params) and params[0] in ("self", "cls")
    index = params.index(param) - (1 if method else 0)
    out = []
    for call in mod.calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else \
            call.func.id if isinstance(call.func, ast.Name) else ""
        if name != fn.name:
            continue
        arg = call.args[index] if 0 <= index < len(call.args) else next(
            (k.value for k in call.keywords if k.arg == param), None)
        key = setting_name(arg) if arg is not None else ""
        if key and key not in params:
            out.append(key)
    return out


def _names(mod: PyModule, fn: Function | None, subject: ast.expr) -> list[str]:
    key = setting_name(subject)
    if fn is None or key not in _params(fn):
        return [key] if key else []
    fields = _validator_fields(fn)
    value_params = [p for p in _params(fn) if p not in ("self", "cls")]
    if fields and value_params and key == value_params[0]:
        return fields
    return _passed(mod, fn, key)


def _scopes(mod: PyModule) -> list[tuple[Function | None, list[ast.stmt]]]:
    """(function, body) where settings are checked: module level, settings classes' methods,
    validators, start-up functions."""
    top = [s for s in mod.tree.body if not isinstance(
        s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    out: list[tuple[Function | None, list[ast.stmt]]] = [(None, top)]
    for fn in mod.functions:
        if _validator_fields(fn) or _STARTUP.search(fn.name) or \
                any("validator" in ast.unparse(d) for d in fn.decorator_list):
            out.append((fn, fn.body))
    for cls in mod.classes:
        if _SETTINGS_BASE.search(" ".join(ast.unparse(b) for b in cls.bases)):
            out += [(fn, fn.body) for fn in cls.body
                    if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)]
    return out


def _ifs(body: list[ast.stmt]) -> list[ast.If]:
    out: list[ast.If] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.If):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _bound(mod: PyModule) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` bindings."""
    return {t.id: stmt.value for stmt in mod.tree.body if isinstance(stmt, ast.Assign)
            for t in stmt.targets if isinstance(t, ast.Name)}


def module_guards(mod: PyModule) -> list[SecretGuard]:
    """The guards of one module; a module-level name read from the environment is guarded under
    the variable's name too (``SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]``)."""
    out: list[SecretGuard] = []
    seen: set[int] = set()
    consts = _bound(mod)
    for fn, body in _scopes(mod):
        for node in _ifs(body):
            tests = _tests(node.test, consts) if id(node) not in seen else []
            seen.add(id(node))
            if not tests:
                continue
            kind, scope, off = _outcome(node.body)
            if not kind:
                continue
            for t in tests:
                names = _names(mod, fn, t.subject)
                names += [v for n in names if isinstance(consts.get(n), ast.Call | ast.Subscript)
                          and (v := setting_name(consts[n])) and v != n]
                for name in dict.fromkeys(names):
                    out.append(SecretGuard(name, f"{mod.rel}:{node.lineno}", kind == "refuses",
                                           frozenset(t.values), t.min_length, t.empty, scope,
                                           off))
    return out


def secret_guards(ctx: Context) -> dict[str, list[SecretGuard]]:
    """Upper-cased setting name -> the start-up guards on its value, across application code."""

    def build() -> dict[str, list[SecretGuard]]:
        out: dict[str, list[SecretGuard]] = {}
        for mod in py_index(ctx):
            text = mod.text
            if "raise" not in text and "warn" not in text and "exit" not in text:
                continue
            for g in module_guards(mod):
                out.setdefault(g.name.upper(), []).append(g)
        return out

    return ctx.memo("product:secret_guards", build)


def guard_for(ctx: Context, name: str, value: str) -> SecretGuard | None:
    """The guard that rejects ``value`` of setting ``name`` (a refusing one first), or None."""
    hits = [g for g in secret_guards(ctx).get(name.upper(), []) if g.rejects(value)]
    return next((g for g in hits if g.refuses), hits[0] if hits else None)
