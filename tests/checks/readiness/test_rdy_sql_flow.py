"""RDY-008 by data flow (issue 18): SQL text built by formatting, concatenation or an f-string —
inline or through variables — that reaches an execute call FAILs with the building line and the
execute line, for every driver family; parameterised and constant SQL and ORM-only code pass.
Run on a copy of the reference target with one module added, and on the field-corpus projects
whose manifests record string-built SQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest_services import require_service
from helpers import describe
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status

__all__ = ["mvp"]

MOD = Path("backend/app/dao.py")

#: (name, module text, lines that must carry a FAIL finding)
UNSAFE = [
    ("sqlite3-percent-variable",
     "import sqlite3\n\n\ndef find(name):\n    con = sqlite3.connect('x.db')\n"
     "    query = \"SELECT * FROM users WHERE name = '%s'\" % name\n"
     "    return con.execute(query).fetchall()\n", {6, 7}),
    ("psycopg2-concatenation-inline",
     "import psycopg2\n\n\ndef find(conn, name):\n    cur = conn.cursor()\n"
     "    cur.execute(\"SELECT id FROM users WHERE name = '\" + name + \"'\")\n"
     "    return cur.fetchall()\n", {6}),
    ("asyncpg-fstring-variable",
     "import asyncpg\n\n\nasync def find(conn: asyncpg.Connection, uid):\n"
     "    q = f\"SELECT * FROM notes WHERE owner_id = {uid}\"\n"
     "    return await conn.fetch(q)\n", {5, 6}),
    ("aiopg-format-then-augmented",
     "from aiopg.connection import Connection\n\n\nasync def search(conn: Connection, term, order):\n"
     "    q = 'SELECT id FROM notes WHERE title LIKE %s'\n"
     "    q += ' ORDER BY {}'.format(order)\n"
     "    async with conn.cursor() as cur:\n        await cur.execute(q, (term,))\n", {6, 8}),
    ("sqlalchemy-text-variable",
     "from sqlalchemy import text\n\n\ndef count(session, table):\n"
     "    stmt = text('SELECT count(*) FROM ' + table)\n"
     "    return session.execute(stmt).scalar()\n", {5, 6}),
    ("sqlalchemy-exec-driver-sql",
     "def purge(conn, days):\n"
     "    conn.exec_driver_sql(f\"DELETE FROM notes WHERE age > {days}\")\n", {2}),
    ("django-raw-and-extra",
     "from django.db.models.expressions import RawSQL\nfrom notes.models import Note\n\n\n"
     "def by_month(month):\n    return Note.objects.raw(\n"
     "        'SELECT * FROM notes WHERE month=%s' % month)\n\n\n"
     "def recent(days):\n    return Note.objects.extra(where=[f\"age < {days}\"])\n\n\n"
     "def annotate(col):\n    return Note.objects.annotate(v=RawSQL('SELECT ' + col, ()))\n",
     {6, 7, 11, 15}),
]

SAFE = [
    ("parameterised",
     "import sqlite3\n\n\ndef find(con: sqlite3.Connection, name):\n"
     "    return con.execute('SELECT * FROM users WHERE name = ?', (name,)).fetchall()\n"),
    ("constant-fragments-with-params",
     "from aiopg.connection import Connection\n\n\nasync def page(conn: Connection, limit=None):\n"
     "    q = 'SELECT id, name FROM students'\n    params = {}\n    if limit is not None:\n"
     "        q += ' LIMIT %(limit)s'\n        params['limit'] = limit\n"
     "    async with conn.cursor() as cur:\n        await cur.execute(q, params)\n"),
    ("module-constants-and-table-names",
     "from sqlalchemy import text\nfrom app.models import Note\n\nTABLE = 'notes'\n"
     "COLUMNS = ('id', 'title')\n\n\ndef cleanup(session, ids):\n"
     "    session.execute(text(f\"DELETE FROM {TABLE} WHERE id = ANY(:ids)\"), {'ids': ids})\n"
     "    session.execute(text(f\"ANALYZE {Note.__tablename__}\"))\n"
     "    for col in COLUMNS:\n        session.execute(text(f\"SELECT max({col}) FROM notes\"))\n"),
    ("psycopg-sql-composition",
     "from psycopg import sql\n\n\ndef count(cur, table):\n"
     "    cur.execute(sql.SQL('SELECT count(*) FROM {}').format(sql.Identifier(table)))\n"),
]


@pytest.mark.parametrize(("name", "code", "lines"), UNSAFE, ids=[u[0] for u in UNSAFE])
def test_string_built_sql_fails_with_both_lines(mvp: Path, name: str, code: str,
                                                lines: set[int]) -> None:
    write(mvp / MOD, code)
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]
    assert_status(r, Status.FAIL)
    flagged = {int(f.location.rsplit(":", 1)[1]) for f in r.findings
               if f.status is Status.FAIL and f.location.startswith(str(MOD))}
    assert flagged == lines, describe(r)


@pytest.mark.parametrize(("name", "code"), SAFE, ids=[s[0] for s in SAFE])
def test_constant_and_parameterised_sql_passes(mvp: Path, name: str, code: str) -> None:
    write(mvp / MOD, code)
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.PARSED
    assert "all with constant SQL" in messages(r) or "ORM" in messages(r)


def test_orm_only_access_passes(mvp: Path) -> None:
    """Queries that are all ORM expressions are a PASS that says so, not a SKIP; a repository
    without any database access is SKIP."""
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]  # the reference target: constant SQL + ORM
    assert_status(r, Status.PASS)
    assert "all with constant SQL" in messages(r) and "ORM query expression(s)" in messages(r)
    shutil.rmtree(mvp / "backend")
    write(mvp / "app" / "crud.py",
          "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\n\n"
          "from app.models import Note\n\n\n"
          "def notes_of(db: Session, owner: int):\n"
          "    return db.execute(select(Note).where(Note.owner_id == owner)).scalars()\n\n\n"
          "def first(db: Session, title: str):\n"
          "    return db.query(Note).filter(Note.title == title).first()\n")
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]
    assert_status(r, Status.PASS)
    assert "ORM-only access" in messages(r) and "app/crud.py:8" in messages(r)
    (mvp / "app" / "crud.py").write_text("def add(a, b):\n    return a + b\n")
    r = run_rdy("RDY-008", repo=mvp)["RDY-008"]
    assert r.status is Status.SKIP and "no SQL execution call and no ORM query" in r.reason


FIELD = Path(__file__).resolve().parents[4] / "shared" / "field"
#: projects whose manifests record string-built SQL, with the (path, line) facts
FIELD_SQL = {
    "manuelz120__extremely-vulnerable-flask-app": {("routes/account.py", 33),
                                                   ("routes/signup.py", 15), ("routes/signup.py", 17)},
    "anxolerd__dvpwa": {("sqli/dao/student.py", 43), ("sqli/dao/student.py", 45)},
    "payatu__Tiredful-API": {("Tiredful-API/health/views.py", 46),
                             ("Tiredful-API/health/views.py", 47),
                             ("Tiredful-API/health/views.py", 57)},
}


@pytest.mark.parametrize("project", sorted(FIELD_SQL))
def test_field_projects_with_string_built_sql_fail(tmp_path: Path, project: str) -> None:
    require_service("field corpus", (FIELD / project).is_dir(), f"{FIELD / project} is absent")
    repo = shutil.copytree(FIELD / project, tmp_path / project)
    r = run_rdy("RDY-008", repo=repo)["RDY-008"]
    assert_status(r, Status.FAIL)
    flagged = {(f.location.rsplit(":", 1)[0], int(f.location.rsplit(":", 1)[1]))
               for f in r.findings if f.status is Status.FAIL}
    assert flagged == FIELD_SQL[project], describe(r)
