"""Populated SQLite databases committed to the repository (suite-private: CFG-040).

A database file in the repository carries whatever the developer's instance held: password
hashes, sessions, OAuth applications and tokens. Only table names and whether a table has rows
are read (never a value), through a read-only, immutable connection, bounded in size and in
tables.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.files import FileIndex

MAGIC = b"SQLite format 3\x00"
MAX_BYTES = 512 * 1024 * 1024
MAX_TABLES = 500
MAX_FILES = 50
SUFFIXES = (".sqlite", ".sqlite3", ".db", ".db3", ".s3db", ".sl3")
#: tables whose rows are credentials or authenticate someone
CREDENTIAL_TABLE_RE = re.compile(
    r"(^|_)(users?|accounts?|sessions?|tokens?|accesstoken|refreshtoken|oauth\w*|credentials?|"
    r"passwords?|api_?keys?|secrets?|authtoken\w*|application)(_|$|s$)", re.I)


@dataclass(frozen=True)
class CommittedDatabase:
    path: str
    tables: tuple[tuple[str, bool], ...]  # (credential-bearing table, has rows) — rows only

    @property
    def populated(self) -> list[str]:
        return [name for name, rows in self.tables if rows]


def _is_sqlite(full: str) -> bool:
    try:
        with open(full, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _tables(full: str) -> list[tuple[str, bool]] | None:
    """(table, has a row) for the credential-bearing tables, or None when unreadable."""
    uri = "file:" + full.replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' LIMIT ?", (MAX_TABLES,))]
        out = []
        for name in names:
            if not CREDENTIAL_TABLE_RE.search(name):
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            row = con.execute(f"SELECT 1 FROM {quoted} LIMIT 1").fetchone()  # noqa: S608
            out.append((name, row is not None))
        return out
    except sqlite3.Error:
        return None
    finally:
        con.close()


def committed_databases(files: FileIndex) -> list[CommittedDatabase]:
    """SQLite files of the index (tracked or not ignored) whose credential tables hold rows."""
    out: list[CommittedDatabase] = []
    seen = 0
    for rel in files.files:
        if not rel.lower().endswith(SUFFIXES):
            continue
        full = os.path.realpath(files.root / rel)
        if not files.inside(full):
            continue
        try:
            size = os.path.getsize(full)
        except OSError:
            continue
        if size < 512 or size > MAX_BYTES or not _is_sqlite(full):
            continue
        seen += 1
        if seen > MAX_FILES:
            break
        tables = _tables(full)
        if tables:
            db = CommittedDatabase(rel, tuple(tables))
            if db.populated:
                out.append(db)
    return out
