"""Where SQL text comes from, by data flow inside one function (issue 18, RDY-008): a string built
by an f-string, ``%`` formatting, ``.format()`` or concatenation — inline or through variables
(``q = "..." % x; cur.execute(q)``) — that reaches a call executing SQL (DB-API ``execute`` /
``executemany`` / ``executescript`` of sqlite3, psycopg, aiopg; asyncpg ``fetch*``/``execute``;
SQLAlchemy ``text()`` / ``exec_driver_sql``; Django ``raw()`` / ``extra()`` / ``RawSQL``).

Strings made only of constants (literals, module constants, ``ALL_CAPS`` names, a model's
``__tablename__``, loop variables over constant lists) stay constant; values passed as parameters
(``execute(sql, params)``) are not part of the SQL text. The flow is intra-procedural and in
statement order: a value from a function parameter or another function's result is *unknown*,
never reported. Not a check module."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.checks.readiness._scan import PyModule, call_name

#: calls whose first argument (or ``extra()``'s where/select/tables) is SQL text without doubt
SQL_SINKS = frozenset({"text", "raw", "RawSQL", "extra", "exec_driver_sql", "executescript"})
#: calls that execute SQL when their argument looks like SQL (names shared with other APIs)
MAYBE_SINKS = frozenset({"execute", "executemany", "fetch", "fetchrow", "fetchval", "mogrify"})
_SQL_WORDS = re.compile(
    r"\b(select|insert\s+into|update\s+\w+\s+set|delete\s+from|where|order\s+by|group\s+by|"
    r"create\s+(table|index)|drop\s+(table|index)|alter\s+table|truncate|values|limit|offset|"
    r"like|join)\b",
    re.I,
)
_CONST_NAME = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
ORM_LIBS = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy", "django", "tortoise", "peewee",
            "fastcrud", "ormar", "pony", "piccolo", "databases", "gino")
_ORM_CALL = re.compile(
    r"(^|\.)(select|query|filter|filter_by|scalars|get_or_create|update_or_create|"
    r"bulk_create|get_multi|get_joined)$|\.objects\.\w+$"
)
_TEXT_NAMES = ("text", "sqlalchemy.text", "sa.text", "sql.text", "expression.text")
_EXEC = MAYBE_SINKS | {"exec_driver_sql"}


@dataclass(frozen=True)
class Val:
    """What a string expression is: ``const`` (only constants), ``dynamic`` (built from a value
    that is not constant, at ``line`` by ``how``), ``unknown`` (a parameter, a call result)."""

    kind: str
    line: int = 0
    how: str = ""
    text: str = ""  # the constant parts (to tell SQL from other strings)

    @property
    def stringy(self) -> bool:
        return self.kind in ("const", "dynamic")


UNKNOWN = Val("unknown")


def _join(a: Val, b: Val, line: int, how: str) -> Val:
    """Two parts of one string: dynamic when a part is not constant."""
    text = a.text + " " + b.text
    if a.kind == "dynamic":
        return Val("dynamic", a.line, a.how, text)
    if b.kind == "dynamic":
        return Val("dynamic", b.line, b.how, text)
    if a.kind == "const" and b.kind == "const":
        return Val("const", 0, "", text)
    return Val("dynamic", line, how, text)


class Env:
    """Names bound in a function (over the module's constants)."""

    def __init__(self, parent: Env | None = None) -> None:
        self.vals: dict[str, Val] = {}
        self.const_lists: set[str] = set()
        self.parent = parent

    def get(self, name: str) -> Val | None:
        if name in self.vals:
            return self.vals[name]
        return self.parent.get(name) if self.parent else None

    def is_const_list(self, name: str) -> bool:
        return name in self.const_lists or bool(self.parent and self.parent.is_const_list(name))


def _const_value(node: ast.expr, env: Env) -> bool:
    """A formatted value that cannot carry input: a literal, a constant name, a table name."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        v = env.get(node.id)
        return (v is not None and v.kind == "const") or bool(_CONST_NAME.match(node.id))
    if isinstance(node, ast.Attribute):
        return node.attr in ("__tablename__", "__table__", "_meta", "db_table") or bool(
            _CONST_NAME.match(node.attr)
        )
    return False


def classify(node: ast.expr | None, env: Env) -> Val:
    """What the string expression ``node`` is, given the names bound so far."""
    if node is None:
        return UNKNOWN
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Constant):
        return Val("const", 0, "", node.value) if isinstance(node.value, str) else UNKNOWN
    if isinstance(node, ast.Name):
        return env.get(node.id) or UNKNOWN
    if isinstance(node, ast.JoinedStr):
        text = " ".join(v.value for v in node.values if isinstance(v, ast.Constant)
                        and isinstance(v.value, str))
        values = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        varying = [v for v in values if not (_const_value(v, env) or classify(v, env).kind == "const")]
        if not varying:
            return Val("const", 0, "", text)
        return Val("dynamic", getattr(varying[0], "lineno", line), "an f-string", text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = classify(node.left, env), classify(node.right, env)
        if not (left.stringy or right.stringy):
            return UNKNOWN
        if right.kind == "unknown" and _const_value(node.right, env):
            right = Val("const")
        if left.kind == "unknown" and _const_value(node.left, env):
            left = Val("const")
        if right.kind == "unknown":
            right = Val("dynamic", getattr(node.right, "lineno", line), "concatenation")
        if left.kind == "unknown":
            left = Val("dynamic", getattr(node.left, "lineno", line), "concatenation")
        return _join(left, right, line, "concatenation")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = classify(node.left, env)
        if not left.stringy:
            return UNKNOWN
        args = node.right.elts if isinstance(node.right, ast.Tuple) else (
            [v for v in node.right.values if v is not None]
            if isinstance(node.right, ast.Dict) else [node.right])
        varying = [a for a in args if not (_const_value(a, env) or classify(a, env).kind == "const")]
        right = Val("dynamic", getattr(varying[0], "lineno", line), "% formatting") if varying \
            else Val("const")
        return _join(left, right, line, "% formatting")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format":
            base = classify(node.func.value, env)
            if not base.stringy:
                return UNKNOWN  # e.g. psycopg's sql.SQL(...).format(sql.Identifier(...)): composed safely
            args = list(node.args) + [k.value for k in node.keywords]
            varying = [a for a in args
                       if not (_const_value(a, env) or classify(a, env).kind == "const")]
            right = Val("dynamic", getattr(varying[0], "lineno", line), ".format()") if varying \
                else Val("const")
            return _join(base, right, line, ".format()")
        if node.func.attr in ("strip", "lower", "upper", "rstrip", "lstrip", "replace"):
            return classify(node.func.value, env)
    if isinstance(node, ast.IfExp):
        a, b = classify(node.body, env), classify(node.orelse, env)
        if "dynamic" in (a.kind, b.kind):
            return a if a.kind == "dynamic" else b
        return a if a.kind == b.kind == "const" else UNKNOWN
    if isinstance(node, ast.Call) and call_name(node).split(".")[-1] == "text" and node.args:
        return classify(node.args[0], env)  # stmt = text(...): the SQL inside
    return UNKNOWN


@dataclass(frozen=True)
class SqlSite:
    """A call that executes SQL text and where its text came from."""

    module: PyModule
    call: ast.Call
    sink: str  # dotted call name
    val: Val
    arg: ast.expr

    @property
    def location(self) -> str:
        return self.module.line(self.call)

    @property
    def built_at(self) -> str:
        return f"{self.module.rel}:{self.val.line}"


@dataclass
class Flow:
    sites: list[SqlSite] = field(default_factory=list)
    orm: list[str] = field(default_factory=list)  # locations of ORM query expressions


def _sql_args(call: ast.Call) -> list[ast.expr]:
    name = call_name(call).split(".")[-1]
    if name == "extra":
        out: list[ast.expr] = []
        for k in call.keywords:
            if k.arg in ("where", "select", "tables", "order_by") and isinstance(
                k.value, ast.List | ast.Tuple | ast.Dict
            ):
                out += (k.value.values if isinstance(k.value, ast.Dict) else k.value.elts)
        return [a for a in out if a is not None]
    return call.args[:1]


def _assign(target: ast.expr, value: ast.expr, env: Env) -> None:
    if isinstance(target, ast.Name):
        env.vals[target.id] = classify(value, env)
        if isinstance(value, ast.List | ast.Tuple) and all(
            _const_value(e, env) for e in value.elts
        ):
            env.const_lists.add(target.id)
    elif isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List):
        for t, v in zip(target.elts, value.elts, strict=False):
            _assign(t, v, env)


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    """Calls in a statement's own expressions (not in nested functions or blocks)."""
    stack: list[ast.AST] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Call):
            yield n
        for child in ast.iter_child_nodes(n):
            if isinstance(child, ast.stmt | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            stack.append(child)


class _Walker:
    def __init__(self, module: PyModule, flow: Flow, orm_module: bool) -> None:
        self.module, self.flow, self.orm_module = module, flow, orm_module

    def body(self, stmts: list[ast.stmt], env: Env) -> None:
        for st in stmts:
            self.stmt(st, env)

    def stmt(self, st: ast.stmt, env: Env) -> None:
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
            self.body(st.body, Env(env))
            return
        if isinstance(st, ast.ClassDef):
            self.body(st.body, Env(env))
            return
        self.stmt_calls(st, env)
        if isinstance(st, ast.Assign):
            for t in st.targets:
                _assign(t, st.value, env)
        elif isinstance(st, ast.AnnAssign) and st.value is not None:
            _assign(st.target, st.value, env)
        elif isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name):
            if isinstance(st.op, ast.Add):
                prev = env.get(st.target.id) or UNKNOWN
                env.vals[st.target.id] = _join(prev, classify(st.value, env), st.lineno,
                                               "concatenation") if prev.stringy else UNKNOWN
        elif isinstance(st, ast.For | ast.AsyncFor) and isinstance(st.target, ast.Name):
            it = st.iter
            const = (isinstance(it, ast.List | ast.Tuple) and all(_const_value(e, env)
                                                                  for e in it.elts)) or (
                isinstance(it, ast.Name) and (env.is_const_list(it.id) or bool(
                    _CONST_NAME.match(it.id))))
            env.vals[st.target.id] = Val("const") if const else UNKNOWN
        for name in ("body", "orelse", "finalbody"):
            block = getattr(st, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                self.body(block, env)
        for handler in getattr(st, "handlers", []) or []:
            self.body(handler.body, env)
        for case in getattr(st, "cases", []) or []:
            self.body(case.body, env)

    def stmt_calls(self, st: ast.stmt, env: Env) -> None:
        calls = list(_calls(st))
        # execute(text(...)): one site at the execute call, the text() inside is its SQL
        wrapped = {id(c.args[0]) for c in calls if call_name(c).split(".")[-1] in _EXEC
                   and c.args and _is_text(c.args[0])}
        for call in calls:
            if id(call) not in wrapped:
                self.call(call, env)

    def call(self, call: ast.Call, env: Env) -> None:
        name = call_name(call)
        last = name.split(".")[-1]
        if self.orm_module and _ORM_CALL.search(name):
            self.flow.orm.append(self.module.line(call))
        if last not in SQL_SINKS and last not in MAYBE_SINKS:
            return
        if last == "text" and not _is_text(call):
            return  # a method called text() of something else
        if last in ("raw", "extra") and not self.orm_module:
            return
        for arg in _sql_args(call):
            val = classify(arg, env)
            if val.kind == "unknown":
                if isinstance(arg, ast.Call) and self.orm_module and not _is_text(arg):
                    self.flow.orm.append(self.module.line(call))  # execute(select(...))
                continue
            if last in MAYBE_SINKS and not _SQL_WORDS.search(val.text):
                continue  # not SQL (an executor, a template ...)
            self.flow.sites.append(SqlSite(self.module, call, name, val, arg))


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and call_name(node) in _TEXT_NAMES


def _module_env(mod: PyModule) -> Env:
    env = Env()
    for st in mod.tree.body:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                _assign(t, st.value, env)
        elif isinstance(st, ast.AnnAssign) and st.value is not None:
            _assign(st.target, st.value, env)
    return env


def _uses_orm(mod: PyModule) -> bool:
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in ORM_LIBS
                                                for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] in ORM_LIBS:
            return True
    return ".objects." in mod.text


def sql_flow(modules: list[PyModule]) -> Flow:
    """Every SQL execution site of ``modules`` with the origin of its text, and the ORM query
    expressions seen (for the ORM-only verdict)."""
    flow = Flow()
    for mod in modules:
        _Walker(mod, flow, _uses_orm(mod)).body(mod.tree.body, Env(_module_env(mod)))
    return flow
