"""The schema an Alembic migration chain produces, read without running it: the ``upgrade()``
operations of every revision replayed in revision order (``down_revision`` chain), tables and
columns only. Whatever the replay cannot follow (SQL in ``op.execute``, names that are not
literals, operations under ``if``/``for``, unknown ``op`` calls) marks the affected table, or the
whole schema, as unknown with the reason — never a guess."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: op calls that change no table or column name
NEUTRAL_OPS = frozenset({
    "create_index", "drop_index", "create_foreign_key", "create_unique_constraint",
    "create_check_constraint", "create_primary_key", "create_exclude_constraint",
    "drop_constraint", "bulk_insert", "f", "get_bind", "get_context", "inline_literal",
    "create_table_comment", "drop_table_comment", "run_async",
    "implementation_for", "invoke",
})
_DDL = re.compile(r"\b(CREATE|ALTER|DROP|RENAME)\s+(TABLE|VIEW)\b|\bRENAME\s+(COLUMN|TO)\b", re.I)
_DDL_TABLE = re.compile(r"\b(?:TABLE|VIEW)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?"
                        r"[\"`]?(?:\w+[\"`]?\.[\"`]?)?(\w+)", re.I)


@dataclass(frozen=True)
class Where:
    rel: str
    line: int

    def __str__(self) -> str:
        return f"{self.rel}:{self.line}"


@dataclass
class MigratedTable:
    name: str
    where: Where
    columns: dict[str, Where] = field(default_factory=dict)


@dataclass
class MigratedSchema:
    """Tables after the last revision; ``unknown`` tables (name → reason) and ``blocked``
    reasons (the whole schema cannot be trusted) say what the replay could not follow."""

    tables: dict[str, MigratedTable] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    revisions: int = 0


@dataclass(frozen=True)
class RevisionSource:
    rev: str
    down: tuple[str, ...]
    rel: str
    tree: ast.Module


def revision_order(revs: Sequence[RevisionSource]) -> list[RevisionSource] | None:
    """Parents before children (ties by revision id); None when the graph has a cycle."""
    by_rev = {r.rev: r for r in revs}
    pending = {r.rev: {d for d in r.down if d in by_rev} for r in revs}
    out: list[RevisionSource] = []
    while pending:
        ready = sorted(rev for rev, deps in pending.items() if not deps)
        if not ready:
            return None
        for rev in ready:
            out.append(by_rev[rev])
            del pending[rev]
        for deps in pending.values():
            deps.difference_update(ready)
    return out


def _str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _callee(node) in ("f", "quoted_name") and node.args:
        return _str(node.args[0])  # op.f("ix_...") / quoted_name("x", True)
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _receiver(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return ""


def column_name(call: ast.Call) -> str | None:
    """The name of ``Column("name", ...)`` / ``Column(..., name="name")``."""
    for kw in call.keywords:
        if kw.arg == "name":
            return _str(kw.value)
    return _str(call.args[0]) if call.args else None


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if len(call.args) > index else None


class _Replay:
    def __init__(self, schema: MigratedSchema) -> None:
        self.s = schema
        self.rel = ""
        self.functions: dict[str, ast.FunctionDef] = {}

    def taint(self, table: str | None, why: str) -> None:
        if table is None:
            self.s.blocked.append(why)
        else:
            self.s.unknown.setdefault(table, why)

    def revision(self, src: RevisionSource) -> None:
        self.rel = src.rel
        self.functions = {f.name: f for f in src.tree.body if isinstance(f, ast.FunctionDef)}
        upgrade = self.functions.get("upgrade")
        if upgrade is None:
            return
        if _dispatches(upgrade):  # the multi-database template: upgrade_<engine>() per engine
            for fn in src.tree.body:
                if isinstance(fn, ast.FunctionDef) and fn.name.startswith("upgrade_"):
                    self.body(fn.body, None, {"upgrade", fn.name}, plain=True)
            return
        self.body(upgrade.body, None, {"upgrade"}, plain=True)

    def body(self, stmts: Iterable[ast.stmt], batch: tuple[str, str] | None,
             seen: set[str], plain: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.With | ast.AsyncWith):
                self.with_block(stmt, batch, seen, plain)
            elif isinstance(stmt, ast.Expr | ast.Assign | ast.AnnAssign | ast.Return) and \
                    isinstance(stmt.value, ast.Call):
                self.call(stmt.value, batch, seen, plain)
            elif isinstance(stmt, ast.Pass | ast.Import | ast.ImportFrom | ast.Expr):
                continue
            else:  # if/for/while/try...: operations inside run or not, the replay cannot tell
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Call) and _receiver(node) in ("op", *self.batches(batch)):
                        self.call(node, batch, seen, plain=False)

    @staticmethod
    def batches(batch: tuple[str, str] | None) -> tuple[str, ...]:
        return (batch[1],) if batch else ()

    def with_block(self, stmt: ast.With | ast.AsyncWith, batch: tuple[str, str] | None,
                   seen: set[str], plain: bool) -> None:
        for item in stmt.items:
            ctx = item.context_expr
            if isinstance(ctx, ast.Call) and _callee(ctx) == "batch_alter_table":
                table = _str(_arg(ctx, 0, "table_name"))
                alias = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else ""
                if table is None:
                    self.taint(None, f"{self.rel}:{ctx.lineno}: batch_alter_table with a "
                                     "table name that is not a literal")
                    return
                self.body(stmt.body, (table, alias), seen, plain)
                return
        self.body(stmt.body, batch, seen, plain)

    def call(self, call: ast.Call, batch: tuple[str, str] | None, seen: set[str],
             plain: bool) -> None:
        name, recv = _callee(call), _receiver(call)
        if isinstance(call.func, ast.Name) and name in self.functions and name not in seen:
            self.body(self.functions[name].body, batch, seen | {name}, plain)
            return
        if batch is not None and recv == batch[1]:
            self.op(name, call, batch[0], plain)
        elif recv == "op":
            self.op(name, call, None, plain)
        elif name == "execute":  # op.get_bind().execute(...), conn.execute(...)
            self.op_execute(call, None, 1, Where(self.rel, call.lineno))
        elif not isinstance(call.func, ast.Attribute) and name != "print":
            self.taint(None, f"{self.rel}:{call.lineno}: upgrade() calls "
                             f"{ast.unparse(call.func)[:60]}(), which the replay cannot follow")

    def op(self, name: str, call: ast.Call, table: str | None, plain: bool) -> None:
        where = Where(self.rel, call.lineno)
        shift = 0 if table is not None else 1
        if table is None and name not in ("execute", "rename_table") and name not in NEUTRAL_OPS:
            table = _str(_arg(call, 0, "table_name"))
            if table is None:
                self.taint(None, f"{where}: op.{name} with a table name that is not a literal")
                return
        if not plain and name not in NEUTRAL_OPS:
            self.taint(table, f"{where}: op.{name} runs conditionally or in a loop")
            return
        handler = getattr(self, f"op_{name}", None)
        if handler is not None:
            handler(call, table, shift, where)
        elif name not in NEUTRAL_OPS:
            self.taint(table, f"{where}: op.{name} is not replayed")

    def op_create_table(self, call: ast.Call, table: str, shift: int, where: Where) -> None:
        made = MigratedTable(table, where)
        for arg in call.args[1:]:
            if isinstance(arg, ast.Call) and _callee(arg) == "Column":
                col = column_name(arg)
                if col is None:
                    self.taint(table, f"{self.rel}:{arg.lineno}: a column name that is not a "
                                      "literal")
                    continue
                made.columns[col] = Where(self.rel, arg.lineno)
            elif not isinstance(arg, ast.Call) or not _callee(arg).endswith("Constraint"):
                self.taint(table, f"{self.rel}:{arg.lineno}: create_table argument the replay "
                                  "cannot read")
        self.s.tables[table] = made
        self.s.unknown.pop(table, None)

    def op_drop_table(self, call: ast.Call, table: str, shift: int, where: Where) -> None:
        self.s.tables.pop(table, None)
        self.s.unknown.pop(table, None)

    def op_rename_table(self, call: ast.Call, table: str | None, shift: int, where: Where) -> None:
        old, new = _str(_arg(call, 0, "old_table_name")), _str(_arg(call, 1, "new_table_name"))
        if old is None or new is None:
            self.taint(None, f"{where}: rename_table with names that are not literals")
            return
        if old in self.s.tables:
            made = self.s.tables.pop(old)
            made.name = new
            self.s.tables[new] = made
        if old in self.s.unknown:
            self.s.unknown[new] = self.s.unknown.pop(old)

    def _table(self, table: str, where: Where) -> MigratedTable | None:
        made = self.s.tables.get(table)
        if made is None and table not in self.s.unknown:
            self.taint(table, f"{where}: alters table {table!r}, which no earlier revision "
                              "creates")
        return made

    def op_add_column(self, call: ast.Call, table: str, shift: int, where: Where) -> None:
        col = _arg(call, shift, "column")
        name = column_name(col) if isinstance(col, ast.Call) else None
        if name is None:
            self.taint(table, f"{where}: add_column with a column the replay cannot read")
            return
        made = self._table(table, where)
        if made is not None:
            made.columns[name] = where

    def op_drop_column(self, call: ast.Call, table: str, shift: int, where: Where) -> None:
        name = _str(_arg(call, shift, "column_name"))
        if name is None:
            self.taint(table, f"{where}: drop_column with a name that is not a literal")
            return
        made = self._table(table, where)
        if made is not None:
            made.columns.pop(name, None)

    def op_alter_column(self, call: ast.Call, table: str, shift: int, where: Where) -> None:
        new = _arg(call, 10_000, "new_column_name")
        if new is None:
            return
        old, new_name = _str(_arg(call, shift, "column_name")), _str(new)
        if old is None or new_name is None:
            self.taint(table, f"{where}: alter_column renames with names that are not literals")
            return
        made = self._table(table, where)
        if made is not None and old in made.columns:
            made.columns.pop(old)
            made.columns[new_name] = where

    def op_execute(self, call: ast.Call, table: str | None, shift: int, where: Where) -> None:
        sql = _str(call.args[0]) if call.args else None
        if isinstance(call.args[0] if call.args else None, ast.Call) and call.args:
            inner = call.args[0]
            if isinstance(inner, ast.Call) and _callee(inner) == "text" and inner.args:
                sql = _str(inner.args[0])
        if sql is None and call.args and _data_statement(call.args[0]):
            return  # table(...).update().values(...): rows change, names do not
        if sql is None:
            self.taint(None, f"{where}: op.execute() with SQL that is not a literal")
            return
        if not _DDL.search(sql):
            return  # data changes, indexes, extensions: no table or column name changes
        names = _DDL_TABLE.findall(sql)
        if not names:
            self.taint(None, f"{where}: op.execute() runs DDL the replay cannot follow")
        for name in names:
            self.taint(name, f"{where}: op.execute() changes {name!r} with SQL")


def _data_statement(node: ast.expr) -> bool:
    """An SQLAlchemy ``insert()``/``update()``/``delete()`` expression (a data change)."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("insert", "update", "delete"):
            return True
        node = node.func.value
    return isinstance(node, ast.Call) and _callee(node) in ("insert", "update", "delete")


def _dispatches(fn: ast.FunctionDef) -> bool:
    """``upgrade(engine_name)`` calling ``globals()["upgrade_%s" % engine_name]()``."""
    return bool(fn.args.args) and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "globals"
        for n in ast.walk(fn))


def replay(revisions: Sequence[RevisionSource]) -> MigratedSchema:
    """The schema after every revision of ``revisions`` (in any order; sorted here)."""
    schema = MigratedSchema(revisions=len(revisions))
    ordered = revision_order(revisions)
    if ordered is None:
        schema.blocked.append("the revision graph is circular")
        return schema
    run = _Replay(schema)
    for src in ordered:
        run.revision(src)
    return schema
