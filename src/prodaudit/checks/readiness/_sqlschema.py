"""Foreign keys and indexes declared in SQL schema files (``CREATE TABLE``, ``ALTER TABLE ... ADD
FOREIGN KEY``, ``CREATE INDEX``), read as text for RDY-004. Not a check module."""

from __future__ import annotations

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
