"""Foreign keys and indexes declared in SQL schema files (``CREATE TABLE``, ``ALTER TABLE ... ADD
FOREIGN KEY``, ``CREATE INDEX``), read as text, and in the ``upgrade()`` of Alembic revisions
(``op.create_table``, ``op.create_index`` ...), read with ``ast``, for RDY-004. Not a check
module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.checks.api import Context
from prodaudit.checks.readiness._scan import BUILD_PARTS, is_test_path, parts

_IDENT = r'(?:"[^"]+"|`[^`]+`|[\w$]+)(?:\.(?:"[^"]+"|`[^`]+`|[\w$]+))?'
_CREATE_TABLE = re.compile(rf"\bCREATE\s+(?:UNLOGGED\s+|TEMP(?:ORARY)?\s+)?TABLE\s+"
                           rf"(?:IF\s+NOT\s+EXISTS\s+)?(?P<t>{_IDENT})\s*\(", re.I)
_ALTER_ADD = re.compile(rf"\bALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?(?P<t>{_IDENT})\s+"
                        rf"ADD\s+(?:CONSTRAINT\s+{_IDENT}\s+)?(?P<kind>PRIMARY\s+KEY|UNIQUE|"
                        rf"FOREIGN\s+KEY)\s*\((?P<cols>[^)]*)\)", re.I)
_CREATE_INDEX = re.compile(rf"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?"
                           rf"(?:IF\s+NOT\s+EXISTS\s+)?(?:{_IDENT}\s+)?ON\s+(?:ONLY\s+)?"
                           rf"(?P<t>{_IDENT})\s*(?:USING\s+\w+\s*)?\((?P<cols>[^)]*)\)", re.I)
_TABLE_KEY = re.compile(r"^(?:CONSTRAINT\s+\S+\s+)?(?P<kind>PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY)"
                        r"\s*\((?P<cols>[^)]*)\)", re.I)


@dataclass(frozen=True)
class SqlForeignKey:
    table: str
    columns: tuple[str, ...]
    location: str


def _name(ident: str) -> str:
    return ident.split(".")[-1].strip('"`').lower()


def _cols(text: str) -> tuple[str, ...]:
    return tuple(_name(c.strip().split()[0]) for c in text.split(",") if c.strip())


def _split_top(body: str) -> list[tuple[int, str]]:
    """(offset, text) of the comma-separated items of a CREATE TABLE body."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append((start, body[start:i]))
            start = i + 1
    out.append((start, body[start:]))
    return out


def _body_end(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def sql_schema(ctx: Context) -> tuple[list[SqlForeignKey], set[tuple[str, tuple[str, ...]]], int]:
    """Foreign keys, indexed column lists (table, leading columns) and the number of tables
    created by the repository's SQL files (tests and build output left out)."""
    fks: list[SqlForeignKey] = []
    indexed: set[tuple[str, tuple[str, ...]]] = set()
    tables = 0
    for rel in ctx.files.matching(".sql"):
        if BUILD_PARTS & set(parts(rel)) or is_test_path(rel):
            continue
        raw = ctx.read(rel) or ""
        text = re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), raw)

        def line(pos: int, rel: str = rel, text: str = text) -> str:
            return f"{rel}:{text.count(chr(10), 0, pos) + 1}"

        for mt in _CREATE_TABLE.finditer(text):
            tables += 1
            table, body_start = _name(mt.group("t")), mt.end()
            body = text[body_start:_body_end(text, body_start)]
            for off, item in _split_top(body):
                lead = len(item) - len(item.lstrip())
                item_s, pos = item.strip(), body_start + off + lead
                key = _TABLE_KEY.match(item_s)
                if key:
                    cols = _cols(key.group("cols"))
                    if key.group("kind").upper().startswith("FOREIGN"):
                        fks.append(SqlForeignKey(table, cols, line(pos)))
                    else:
                        indexed.add((table, cols))
                    continue
                col = _name(item_s.split()[0]) if item_s else ""
                if re.search(r"\bREFERENCES\b", item_s, re.I):
                    fks.append(SqlForeignKey(table, (col,), line(pos)))
                if re.search(r"\bPRIMARY\s+KEY\b|\bUNIQUE\b", item_s, re.I):
                    indexed.add((table, (col,)))
        for mt in _ALTER_ADD.finditer(text):
            table, cols = _name(mt.group("t")), _cols(mt.group("cols"))
            if mt.group("kind").upper().startswith("FOREIGN"):
                fks.append(SqlForeignKey(table, cols, line(mt.start())))
            else:
                indexed.add((table, cols))
        for mt in _CREATE_INDEX.finditer(text):
            indexed.add((_name(mt.group("t")), _cols(mt.group("cols"))))
    return fks, indexed, tables


def covered(fk: SqlForeignKey, indexed: set[tuple[str, tuple[str, ...]]]) -> bool:
    """An index whose leading columns are the foreign key's columns."""
    n = len(fk.columns)
    return any(t == fk.table and set(cols[:n]) == set(fk.columns) for t, cols in indexed)


Indexed = set[tuple[str, tuple[str, ...]]]
#: Alembic operations that index columns: name -> (table argument, columns argument) positions
_OP_INDEXES = {"create_index": (1, 2, "table_name", "columns"),
               "create_primary_key": (1, 2, "table_name", "columns"),
               "create_unique_constraint": (1, 2, "table_name", "columns")}


def _str(node: ast.expr | None) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def _strs(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(_str(e).lower() for e in node.elts if _str(e))
    return (_str(node).lower(),) if _str(node) else ()


def _arg(call: ast.Call, pos: int, name: str) -> ast.expr | None:
    kw = next((k.value for k in call.keywords if k.arg == name), None)
    return kw if kw is not None else (call.args[pos] if len(call.args) > pos else None)


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _table_items(table: str, items: list[ast.expr], where: str,
                 fks: list[SqlForeignKey], indexed: Indexed) -> None:
    """Columns and constraints of ``op.create_table``/``op.add_column`` on ``table``."""
    for item in items:
        if not isinstance(item, ast.Call):
            continue
        kind, line = _callee(item), f"{where}:{item.lineno}"
        if kind == "Column" and item.args and _str(item.args[0]):
            col = _str(item.args[0]).lower()
            if any(isinstance(a, ast.Call) and _callee(a) == "ForeignKey" for a in item.args):
                fks.append(SqlForeignKey(table, (col,), line))
            if any(k.arg in ("primary_key", "unique", "index") and isinstance(k.value, ast.Constant)
                   and k.value.value is True for k in item.keywords):
                indexed.add((table, (col,)))
        elif kind in ("PrimaryKeyConstraint", "UniqueConstraint"):
            indexed.add((table, tuple(_str(a).lower() for a in item.args if _str(a))))
        elif kind == "Index":
            indexed.add((table, tuple(_str(a).lower() for a in item.args[1:] if _str(a))))
        elif kind == "ForeignKeyConstraint" and item.args:
            fks.append(SqlForeignKey(table, _strs(item.args[0]), line))


def alembic_schema(ctx: Context) -> tuple[list[SqlForeignKey], Indexed, int]:
    """Foreign keys, indexed column lists and the number of tables the ``upgrade()`` of the
    repository's Alembic revisions create (``op.create_table`` with its ``Column``s and
    constraints, ``op.add_column``, ``op.create_index``/``create_primary_key``/
    ``create_unique_constraint``/``create_foreign_key``)."""
    fks: list[SqlForeignKey] = []
    indexed: Indexed = set()
    tables = 0
    systems = ctx.migrations().of("alembic") + ctx.migrations().of("flask-migrate")
    for rel in (f for system in systems for f in system.files):
        try:
            tree = ast.parse(ctx.read(rel) or "")
        except (SyntaxError, ValueError):
            continue
        upgrades = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "upgrade"]
        calls = [c for fn in upgrades for c in ast.walk(fn) if isinstance(c, ast.Call)]
        helpers = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        for c in list(calls):  # module helpers upgrade() calls (def create_users_table())
            if isinstance(c.func, ast.Name) and c.func.id in helpers and c.func.id != "upgrade":
                calls += [n for n in ast.walk(helpers[c.func.id]) if isinstance(n, ast.Call)]
        for c in calls:
            op = _callee(c) if isinstance(c.func, ast.Attribute) else ""
            if op == "create_table" and _str(_arg(c, 0, "table_name")):
                tables += 1
                _table_items(_str(_arg(c, 0, "table_name")).lower(), c.args[1:], rel, fks,
                             indexed)
            elif op == "add_column" and _str(_arg(c, 0, "table_name")):
                _table_items(_str(_arg(c, 0, "table_name")).lower(), c.args[1:2], rel, fks,
                             indexed)
            elif op in _OP_INDEXES:
                t_pos, c_pos, t_kw, c_kw = _OP_INDEXES[op]
                table = _str(_arg(c, t_pos, t_kw)).lower()
                cols = _strs(_arg(c, c_pos, c_kw))
                if table and cols:
                    indexed.add((table, cols))
            elif op == "create_foreign_key":
                table = _str(_arg(c, 1, "source_table")).lower()
                cols = _strs(_arg(c, 3, "local_cols"))
                if table and cols:
                    fks.append(SqlForeignKey(table, cols, f"{rel}:{c.lineno}"))
    return fks, indexed, tables
