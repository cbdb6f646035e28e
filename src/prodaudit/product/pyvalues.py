"""Static values of Python settings code: how a variable is read from the environment, and what
an expression evaluates to without running it. Not a check module.

Environment reads understood (``env_read``): ``os.getenv("X", d)``, ``os.environ.get("X", d)``,
``os.environ["X"]``, ``"X" in os.environ`` (``os`` or names bound from it: ``from os import
environ``; never a request's ``.environ``); starlette's and python-decouple's
``config("X", default=d, cast=bool)``; django-environ's and environs' ``env("X", default=d)``,
``env.bool("X", d)``, ``env.list(...)``, ``env.db()`` (``DATABASE_URL``) ... — through any name
bound to ``Config(...)``, ``Env(...)``, ``environ.Env(...)``, ``AutoConfig(...)`` in the module,
or imported from a module that binds it (``from config.env import env``), or ``decouple.config``.

The evaluator (``evaluate``) folds literals, arithmetic, string concatenation and f-strings
(unknown parts stay visible as ``{expr}`` in a :class:`Composed` string), ``timedelta(...)``
(a :class:`Duration`), enum members, names bound earlier in the same scope, ``int()``/``str()``/
``bool()`` conversions (the builtin's truth: any non-empty string is true, ``bool("0")`` too),
``SecretStr("x")``, ``Field(default=...)`` and environment reads (their
default; ``None`` when they have none). Anything else is :data:`UNKNOWN`.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

READER_FACTORIES = frozenset({"Env", "Config", "AutoConfig", "RepositoryEnv", "Environ"})
READER_IMPORTS = {"decouple": frozenset({"config"}), "environs": frozenset({"env"})}
READER_METHODS = frozenset({
    "str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "db", "db_url",
    "cache", "cache_url", "email", "email_url", "search_url", "path", "decimal", "datetime",
    "date", "timedelta", "time", "log_level", "enum", "uuid", "get_value", "bytes", "secret",
})  # fmt: skip
DEFAULT_VARS = {"db": "DATABASE_URL", "db_url": "DATABASE_URL", "cache": "CACHE_URL",
                "cache_url": "CACHE_URL", "email": "EMAIL_URL", "email_url": "EMAIL_URL",
                "search_url": "SEARCH_URL"}
CAST_NAMES = frozenset({"bool", "int", "float", "str", "list", "tuple", "dict", "Csv", "SecretStr",
                        "Secret", "CommaSeparatedStrings", "URL", "Path"})
_TIMEDELTA_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                    "milliseconds": 0.001, "microseconds": 0.000001}
MAX_DEPTH = 30


class _Unknown:
    """A value the static evaluator cannot know."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


class Composed(str):
    """A string with unknown parts written as ``{expr}`` (an f-string of runtime values)."""

    __slots__ = ()


@dataclass(frozen=True)
class Duration:
    seconds: float

    def __str__(self) -> str:
        return str(dt.timedelta(seconds=self.seconds))


@dataclass(frozen=True)
class EnvRead:
    """One read of an environment variable."""

    name: str
    line: int
    default: ast.expr | None  # the default expression (None: no default)
    has_default: bool
    cast: str = ""  # "bool", "int" ... when the reader casts
    strict: bool = False  # raises when the variable is unset (``os.environ["X"]``, ``env("X")``)


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def is_environ(node: ast.AST, readers: set[str] | frozenset[str] = frozenset()) -> bool:
    """The process environment: ``os.environ`` (``os`` or a name ``import os as X`` binds), or a
    name ``from os import environ`` binds (``readers`` carries the bindings, see
    :func:`bound_readers`). Not any other ``.environ``: ``request.environ``,
    ``request.headers.environ`` and a WSGI ``environ`` argument are a request's."""
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return isinstance(node.value, ast.Name) and (
            node.value.id == "os" or OS_ALIAS + node.value.id in readers)
    return isinstance(node, ast.Name) and ENVIRON_ALIAS + node.id in readers


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


# ---------------------------------------------------------------------------- env readers
#: markers in a readers set (never an identifier): ``import os as X`` binds ``X``, ``from os
#: import environ as E`` binds ``E`` to the process environment
OS_ALIAS = "@os:"
ENVIRON_ALIAS = "@environ:"


def bound_readers(nodes: Iterable[ast.AST]) -> set[str]:
    """Names bound to an environment reader (``env = environ.Env()``) among ``nodes`` (a
    module's assignments and imports), and the markers of names bound from ``os`` (``import os
    as X``, ``from os import environ``: :data:`OS_ALIAS`, :data:`ENVIRON_ALIAS`)."""
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and _name(node.value.func) in READER_FACTORIES:
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import):
            out |= {OS_ALIAS + a.asname for a in node.names if a.name == "os" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            out |= {ENVIRON_ALIAS + (a.asname or a.name) for a in node.names
                    if a.name == "environ"}
        elif isinstance(node, ast.ImportFrom) and node.module in READER_IMPORTS:
            out |= {a.asname or a.name for a in node.names
                    if a.name in READER_IMPORTS[node.module]}
    return out


def module_readers(nodes: Iterable[ast.AST], repo_readers: set[str]) -> set[str]:
    """Reader names usable in a module (``nodes``: its assignments and imports): bound there,
    or imported from another module of the repository that binds them."""
    nodes = list(nodes)
    out = bound_readers(nodes)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module not in READER_IMPORTS:
            out |= {a.asname or a.name for a in node.names if a.name in repo_readers}
    return out


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    """The value of ``call``'s keyword argument ``name``, if given."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def env_read(node: ast.AST, readers: set[str]) -> EnvRead | None:
    """The environment read ``node`` performs, if any (see the module docstring)."""
    if isinstance(node, ast.Subscript) and is_environ(node.value, readers) \
            and isinstance(node.ctx, ast.Load):
        key = _str(node.slice)
        return EnvRead(key, node.lineno, None, False, strict=True) \
            if key and key.isidentifier() else None
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    key = _str(node.args[0]) if node.args else _str(keyword_value(node, "var") or keyword_value(node, "key"))
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in readers:
        if f.attr not in READER_METHODS:
            return None
        key = key or DEFAULT_VARS.get(f.attr)
        dflt = node.args[1] if len(node.args) > 1 else keyword_value(node, "default")
        return _read(key, node, dflt, f.attr, strict=dflt is None)
    if key is None:
        return None
    if _name(f) == "getenv" or (isinstance(f, ast.Attribute) and f.attr == "get"
                                and is_environ(f.value, readers)):
        dflt = node.args[1] if len(node.args) > 1 else keyword_value(node, "default")
        return _read(key, node, dflt, "")
    if isinstance(f, ast.Name) and f.id in readers:
        dflt = keyword_value(node, "default")
        cast = keyword_value(node, "cast")
        if dflt is None and len(node.args) > 1:
            second = node.args[1]
            if _name(second) in CAST_NAMES:
                cast = second
            else:
                dflt = second  # python-decouple: config("X", default, cast=...)
        return _read(key, node, dflt, _name(cast) if cast is not None else "",
                     strict=dflt is None)
    return None


def _read(key: str | None, node: ast.Call, dflt: ast.expr | None, cast: str,
          strict: bool = False) -> EnvRead | None:
    if not key or not key.isidentifier():
        return None
    return EnvRead(key, node.lineno, dflt, dflt is not None, cast, strict)


def env_set(node: ast.AST, readers: set[str] | frozenset[str] = frozenset()
            ) -> tuple[str, int] | None:
    """``os.environ.setdefault("X", v)`` or ``os.environ["X"] = v``: the code sets X itself."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "setdefault" and is_environ(node.func.value, readers) \
            and node.args:
        key = _str(node.args[0])
        return (key, node.lineno) if key and key.isidentifier() else None
    if isinstance(node, ast.Assign):
        for t in node.targets:
            if isinstance(t, ast.Subscript) and is_environ(t.value, readers):
                key = _str(t.slice)
                if key and key.isidentifier():
                    return key, node.lineno
    return None


# ---------------------------------------------------------------------------- evaluation
class EnumNS(dict[str, Any]):
    """The members of an ``Enum`` class bound in the evaluated scope."""


def enum_members(cls: ast.ClassDef) -> EnumNS | None:
    if not any(_name(b).endswith("Enum") for b in cls.bases):
        return None
    ns = EnumNS()
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            ns[stmt.targets[0].id] = evaluate(stmt.value, {}, set())
    return ns


def evaluate(node: ast.AST | None, scope: dict[str, Any], readers: set[str],
             depth: int = 0) -> Any:
    """The static value of ``node`` (see the module docstring); UNKNOWN when not static."""
    if node is None or depth > MAX_DEPTH:
        return UNKNOWN
    read = env_read(node, readers)
    if read is not None:
        if read.default is None:
            return None
        value = evaluate(read.default, scope, readers, depth + 1)
        return _cast(value, read.cast)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return scope.get(node.id, UNKNOWN)
    if isinstance(node, ast.Attribute):
        owner = evaluate(node.value, scope, readers, depth + 1)
        if isinstance(owner, EnumNS):
            return owner.get(node.attr, UNKNOWN)
        return UNKNOWN
    if isinstance(node, ast.JoinedStr):
        return _joined(node, scope, readers, depth)
    if isinstance(node, ast.BinOp):
        return _binop(node, scope, readers, depth)
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, scope, readers, depth + 1)
        if isinstance(node.op, ast.USub) and isinstance(v, int | float) \
                and not isinstance(v, bool):
            return -v
        if isinstance(node.op, ast.Not) and v is not UNKNOWN:
            return not v
        return UNKNOWN
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        v = UNKNOWN
        for value in node.values:
            v = evaluate(value, scope, readers, depth + 1)
            if v is UNKNOWN:
                return UNKNOWN
            if v:
                return v
        return v
    if isinstance(node, ast.Call):
        return _call(node, scope, readers, depth)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return _compare(node, scope, readers, depth)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        values = [evaluate(v, scope, readers, depth + 1) for v in node.values]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN if all(v is UNKNOWN or v for v in values) else False
        return all(values)
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for k, v in zip(node.keys, node.values, strict=False):
            key = _str(k)
            if key is not None:
                out[key] = evaluate(v, scope, readers, depth + 1)
        return out
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [evaluate(e, scope, readers, depth + 1) for e in node.elts]
    return UNKNOWN


def _compare(node: ast.Compare, scope: dict[str, Any], readers: set[str], depth: int) -> Any:
    left = evaluate(node.left, scope, readers, depth + 1)
    right = evaluate(node.comparators[0], scope, readers, depth + 1)
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    op = node.ops[0]
    if isinstance(left, str):
        left = left.lower()
    if isinstance(right, str):
        right = right.lower()
    elif isinstance(right, list):
        right = [r.lower() if isinstance(r, str) else r for r in right]
    try:
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
        if isinstance(op, ast.In):
            return left in right
        if isinstance(op, ast.NotIn):
            return left not in right
        if isinstance(op, ast.Is):
            return left is right
        if isinstance(op, ast.IsNot):
            return left is not right
    except TypeError:
        return UNKNOWN
    return UNKNOWN


def _cast(value: Any, cast: str) -> Any:
    if cast == "bool" and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    if cast == "int" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _joined(node: ast.JoinedStr, scope: dict[str, Any], readers: set[str], depth: int) -> Any:
    parts: list[str] = []
    composed = False
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value))
            continue
        inner = evaluate(v.value, scope, readers, depth + 1) \
            if isinstance(v, ast.FormattedValue) else UNKNOWN
        if isinstance(inner, str | int | float) and not isinstance(inner, bool) \
                and not (isinstance(v, ast.FormattedValue) and v.format_spec):
            parts.append(str(inner))
            composed = composed or isinstance(inner, Composed)
        else:
            parts.append("{" + ast.unparse(v.value if isinstance(v, ast.FormattedValue)
                                            else v)[:60] + "}")
            composed = True
    text = "".join(parts)
    return Composed(text) if composed else text


def _binop(node: ast.BinOp, scope: dict[str, Any], readers: set[str], depth: int) -> Any:
    left = evaluate(node.left, scope, readers, depth + 1)
    right = evaluate(node.right, scope, readers, depth + 1)
    num = (int, float)
    if isinstance(left, num) and isinstance(right, num) and not isinstance(left, bool) \
            and not isinstance(right, bool):
        try:
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.FloorDiv):
                return left // right
            if isinstance(node.op, ast.Div):
                return left / right
        except (ArithmeticError, ValueError):
            return UNKNOWN
        return UNKNOWN
    if isinstance(node.op, ast.Mult) and isinstance(left, Duration) and isinstance(right, num):
        return Duration(left.seconds * right)
    if isinstance(node.op, ast.Add) and (isinstance(left, str) or isinstance(right, str)):
        ls = left if isinstance(left, str) else "{" + ast.unparse(node.left)[:60] + "}"
        rs = right if isinstance(right, str) else "{" + ast.unparse(node.right)[:60] + "}"
        whole = ls + rs
        both = isinstance(left, str) and isinstance(right, str) and not isinstance(
            left, Composed) and not isinstance(right, Composed)
        return whole if both else Composed(whole)
    return UNKNOWN


def _call(node: ast.Call, scope: dict[str, Any], readers: set[str], depth: int) -> Any:
    fname = _name(node.func)
    args = [evaluate(a, scope, readers, depth + 1) for a in node.args[:2]]
    if fname == "timedelta":
        total = 0.0
        positional = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours",
                      "weeks")
        pairs = list(zip(positional, args, strict=False)) + [
            (k.arg or "", evaluate(k.value, scope, readers, depth + 1)) for k in node.keywords]
        for unit, v in pairs:
            if not isinstance(v, int | float) or isinstance(v, bool) or unit not in \
                    _TIMEDELTA_UNITS:
                return UNKNOWN
            total += v * _TIMEDELTA_UNITS[unit]
        return Duration(total)
    first = args[0] if args else UNKNOWN
    if fname in ("int", "float") and isinstance(first, str | int | float) \
            and not isinstance(first, bool):
        try:
            return int(first) if fname == "int" else float(first)
        except ValueError:
            return UNKNOWN
    if fname == "str" and isinstance(first, str | int | float):
        return str(first)
    if fname in ("SecretStr", "SecretBytes", "Secret"):
        return first
    if fname == "bool" and first is not UNKNOWN:
        if isinstance(node.func, ast.Name):  # the builtin: any non-empty string is true
            return bool(first)
        return _cast(first, "bool") if isinstance(first, str) else bool(first)
    if fname == "Field":
        dflt = node.args[0] if node.args else keyword_value(node, "default")
        if dflt is None or (isinstance(dflt, ast.Constant) and dflt.value is Ellipsis):
            return UNKNOWN
        return evaluate(dflt, scope, readers, depth + 1)
    return UNKNOWN
