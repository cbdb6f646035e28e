"""DEP-050–059: the production database: connection, pool settings, foreign-key indexes, TLS."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.database import (
    CONNECT_TIMEOUT_S,
    connect,
    database_url,
    error_line,
    is_local_host,
    is_postgres,
    url_host,
)
from prodaudit.product.dbdialect import engine_dialect, production_poolclass
from prodaudit.pysource import python_tree

POOL_KEYS = ("pool_size", "max_overflow", "pool_pre_ping")
ENGINE_FUNCS = ("create_engine", "create_async_engine")
#: keywords of engine-creating wrappers that carry the engine's options as a dict
ENGINE_OPTIONS = ("engine_args", "engine_options", "engine_kwargs")
SKIP_PARTS = ("alembic/", "migrations/", "tests/", "test/", "examples/", "docs/")
FK_WITHOUT_INDEX_SQL = """
SELECT c.conrelid::regclass::text AS table_name,
       c.conname,
       array_to_string(ARRAY(
           SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
           ORDER BY k.n), ', ') AS columns
FROM pg_constraint c
JOIN pg_namespace ns ON ns.oid = c.connamespace
WHERE c.contype = 'f'
  AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey
  )
ORDER BY 1, 2
"""
FK_COUNT_SQL = """
SELECT count(*) FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace
WHERE c.contype = 'f' AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def _loc(ctx: Context) -> str:
    return f"env {ctx.cfg.database.url_env}"


@check("DEP-050", "The production DATABASE_URL connects", severity=Severity.CRITICAL,
       needs=("database",), checklist=("P.1.3", "4.2.2"), evidence=Evidence.OBSERVED)
def connects(ctx: Context) -> list[Finding]:
    """A connection with the audited ``DATABASE_URL`` succeeds and answers ``SELECT 1``.

    Remediation: fix host, port, database name, user and password in ``DATABASE_URL``; check
    that the application's network can reach the database and that the role may log in.
    """
    url = database_url(ctx)
    if not is_postgres(url):
        if url.startswith("sqlite"):
            return [warned(f"{ctx.cfg.database.url_env} is SQLite: a file database is not suited "
                           "to a production deployment with several workers or replicas",
                           location=_loc(ctx),
                           remediation=f"use a server database in production: point "
                           f"``{ctx.cfg.database.url_env}`` at PostgreSQL "
                           "(``postgresql+psycopg://user:PASSWORD@host:5432/app``) and re-run the "
                           "audit, which then verifies the connection")]
        raise Skip(f"only PostgreSQL connections are verified (got {url.split(':', 1)[0]})")
    import psycopg

    try:
        with connect(url, timeout=CONNECT_TIMEOUT_S) as conn:
            row = conn.execute("SELECT version(), current_database(), current_user").fetchone()
    except psycopg.Error as exc:
        first = error_line(exc, url)
        return [failed(f"cannot connect with {ctx.cfg.database.url_env}: {first}",
                       location=_loc(ctx))]
    assert row is not None
    version = str(row[0]).split(" on ")[0]
    return [passed(f"connected to {row[1]} as {row[2]} ({version})", location=_loc(ctx))]


@dataclass(frozen=True)
class EngineCall:
    path: str
    line: int
    func: str
    keys: frozenset[str]
    star: bool  # **kwargs passed: settings may come from elsewhere
    nullpool: bool
    sqlite: str = ""  # what in the source says the engine opens SQLite ("": not known to)


def _engine_options(call: ast.Call) -> frozenset[str] | None:
    """The keys of the engine options a wrapper passes to the engine it creates
    (``SQLAlchemyMiddleware(db_url=..., engine_args={...})``, Flask-SQLAlchemy's
    ``SQLAlchemy(engine_options={...})``); None when the call passes none as a literal dict."""
    for kw in call.keywords:
        if kw.arg in ENGINE_OPTIONS and isinstance(kw.value, ast.Dict):
            return frozenset(k.value for k in kw.value.keys
                             if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return None


def _engine_calls(ctx: Context) -> list[EngineCall]:
    calls: list[EngineCall] = []
    for rel_path in ctx.files.matching(".py"):
        if any(part in rel_path for part in SKIP_PARTS):
            continue
        text = ctx.read(rel_path)
        if not text or not any(f in text for f in (*ENGINE_FUNCS, *ENGINE_OPTIONS)):
            continue
        tree = python_tree(ctx, rel_path, text)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else (
                node.func.id if isinstance(node.func, ast.Name) else "")
            options = _engine_options(node)
            if options is not None:
                if name == "add_middleware" and node.args:  # app.add_middleware(Middleware, ...)
                    name = ast.unparse(node.args[0]).split(".")[-1]
                calls.append(EngineCall(rel_path, node.lineno, name, options, False, False))
                continue
            if name not in ENGINE_FUNCS:
                continue
            keys = frozenset(k.arg for k in node.keywords if k.arg)
            nullpool = "NullPool" in production_poolclass(node)
            dialect = engine_dialect(node, tree, ctx)
            calls.append(EngineCall(rel_path, node.lineno, name, keys,
                                    any(k.arg is None for k in node.keywords), nullpool,
                                    dialect.how if dialect and dialect.is_sqlite else ""))
    return calls


@check("DEP-051", "Connection pool settings are explicit in the engine setup",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.2.3", "7.3.3"), evidence=Evidence.PARSED)
def pool_settings(ctx: Context) -> list[Finding]:
    """The application's ``create_engine`` call sets ``pool_size``, ``max_overflow`` and
    ``pool_pre_ping`` (read from the source with the AST; migration and test code is ignored),
    or a wrapper that creates the engine passes them as a literal dict (``engine_args=`` of
    ``SQLAlchemyMiddleware``, ``engine_options=`` of Flask-SQLAlchemy). An engine with
    ``NullPool`` is left out, unless it is chosen only for the tests (``NullPool if
    settings.MODE == "testing" else QueuePool``).
    An engine whose URL the source shows to be SQLite (a ``sqlite://`` literal, a concatenation
    or f-string starting with one, an environment default no deployment overrides) is left out:
    a file database has no server connections to pool; SKIP when only such engines exist.

    SQLAlchemy's defaults (5 + 10 connections per process, no pre-ping) multiply by workers and
    replicas and can exceed the server's ``max_connections``; without pre-ping the first request
    after a database restart or an idle timeout fails with a dead connection.

    Remediation: ``create_engine(url, pool_size=..., max_overflow=..., pool_pre_ping=True,
    pool_recycle=1800)`` sized so that workers × replicas × (pool_size + max_overflow) stays
    below the server's ``max_connections``.
    """
    found = [c for c in _engine_calls(ctx) if not c.nullpool]
    calls = [c for c in found if not c.sqlite]
    if found and not calls:
        c = found[0]
        raise Skip(f"every engine opens SQLite ({c.path}:{c.line}, {c.sqlite}): pooling settings "
                   "are for a server database")
    if not calls:
        raise Skip("no create_engine()/create_async_engine() call in the application code")
    complete = [c for c in calls if set(POOL_KEYS) <= c.keys]
    if complete:
        c = complete[0]
        return [passed(f"{c.func}() sets {', '.join(POOL_KEYS)}", location=f"{c.path}:{c.line}")]
    best = max(calls, key=lambda c: len(set(POOL_KEYS) & c.keys))
    missing = [k for k in POOL_KEYS if k not in best.keys]
    listing = "\n".join(f"{c.path}:{c.line} {c.func}({', '.join(sorted(c.keys)) or ''}"
                        f"{', **kwargs' if c.star else ''})" for c in calls)
    if best.star:
        return [warned(f"{best.func}() passes **kwargs; {', '.join(missing)} not visible in the "
                       "call", location=f"{best.path}:{best.line}", evidence=listing)]
    return [failed(f"no engine setup sets all pool settings; missing {', '.join(missing)}",
                   location=f"{best.path}:{best.line}", evidence=listing)]


@check("DEP-052", "Foreign-key columns are indexed", severity=Severity.MEDIUM,
       needs=("database",), checklist=("3.2.2", "7.3.4"), evidence=Evidence.OBSERVED)
def fk_indexes(ctx: Context) -> list[Finding]:
    """Every foreign key in the production database has an index whose leading columns are the
    key's columns (PostgreSQL catalog query).

    PostgreSQL indexes primary keys, not referencing columns: joins on the key and every delete
    of a parent row (``ON DELETE CASCADE`` or the FK check) scan the child table.

    Remediation: ``CREATE INDEX CONCURRENTLY ix_<table>_<column> ON <table> (<column>)`` in a
    migration (``op.create_index(..., postgresql_concurrently=True)`` outside a transaction).
    """
    url = database_url(ctx)
    if not is_postgres(url):
        raise Skip("foreign-key indexes are checked on PostgreSQL only")
    import psycopg

    try:
        with connect(url, timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SET statement_timeout = 15000")
            count_row = conn.execute(FK_COUNT_SQL).fetchone()
            rows = conn.execute(FK_WITHOUT_INDEX_SQL).fetchall()
            tables_row = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema')").fetchone()
    except psycopg.Error as exc:
        first = error_line(exc, url)
        raise Skip(f"cannot query the catalog: {first}") from None
    total = int(count_row[0]) if count_row else 0
    if not tables_row or int(tables_row[0]) == 0:
        raise Skip("the database has no tables yet (not migrated): nothing to verify")
    if not rows:
        return [passed(f"all {total} foreign keys have an index on their columns",
                       location=_loc(ctx))]
    return [failed(f"foreign key {name} on {table}({cols}) has no index", location=f"table {table}",
                   evidence=f"constraint {name}: {table}({cols})\nfix: CREATE INDEX CONCURRENTLY "
                   f"ON {table} ({cols});") for table, name, cols in rows]


@check("DEP-053", "Database connections to remote hosts use TLS (sslmode)",
       severity=Severity.HIGH, needs=("database",), checklist=("P.1.3",),
       references=("CWE-319",), evidence=Evidence.OBSERVED)
def sslmode(ctx: Context) -> list[Finding]:
    """A ``DATABASE_URL`` that points at a non-local host sets ``sslmode=verify-full`` (or at
    least ``require``). Loopback, Unix sockets and single-label service names on a private
    container network (``postgres``) need none.

    Without ``sslmode`` libpq uses ``prefer``: an attacker on the path can downgrade to
    plaintext and read credentials and data.

    Remediation: append ``?sslmode=verify-full&sslrootcert=/path/ca.pem`` to ``DATABASE_URL``
    (managed databases document their CA bundle).
    """
    url = database_url(ctx)
    if not is_postgres(url):
        raise Skip("sslmode applies to PostgreSQL URLs only")
    host = url_host(url)
    mode = (parse_qs(urlsplit(url).query).get("sslmode") or [""])[0]
    if is_local_host(host):
        return [passed(f"host {host or '(socket)'} is local or on a private service network: "
                       f"TLS not required (sslmode {mode or 'unset'})", location=_loc(ctx))]
    if mode == "verify-full":
        return [passed(f"sslmode=verify-full for remote host {host}", location=_loc(ctx))]
    if mode in ("require", "verify-ca"):
        return [warned(f"sslmode={mode} for remote host {host}: encrypted, but the host name is "
                       "not verified (use verify-full)", location=_loc(ctx))]
    return [failed(f"remote database host {host} with sslmode {mode or 'unset (prefer)'}: the "
                   "connection may be plaintext", location=_loc(ctx))]
