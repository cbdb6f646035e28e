"""Backup and restore, rehearsed (issue 18): the project's backup command (or ``pg_dump``) runs
against a scratch PostgreSQL database that holds the project's schema (its Alembic migrations)
plus a probe table with rows; the dump is restored into a second scratch database and both
are compared table by table, row count by row count. Both databases are always dropped."""

from __future__ import annotations

import gzip
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prodaudit.checks.api import Context, Skip
from prodaudit.observe import Ran, child_env, find_tool, run_bounded, workspace
from prodaudit.product.database import (
    connect,
    create_scratch,
    drop_scratch,
    libpq_url,
    scratch_server,
    server_label,
    sqlalchemy_url,
)
from prodaudit.targetvenv import VenvError, build_env, given_env

PROBE_TABLE = "prodaudit_backup_probe"
PROBE_ROWS = 3
MAX_TABLES = 200
_DUMP_SKIP = (".sha256", ".md5", ".log", ".lock", ".partial")


@dataclass
class BackupRun:
    command: str = ""
    restore: str = ""
    server: str = ""
    schema: str = ""  # how the source schema was built
    dump: str = ""  # file name and size
    source: dict[str, int] = field(default_factory=dict)  # table -> rows
    restored: dict[str, int] = field(default_factory=dict)
    failure: str = ""  # the step that failed, and why
    log: str = ""
    dropped: bool = False


def pg_env(url: str) -> dict[str, str]:
    """libpq variables for ``url``, so a script calling plain ``pg_dump`` reaches it."""
    p = urlsplit(libpq_url(url))
    env = {"PGHOST": p.hostname or "127.0.0.1", "PGPORT": str(p.port or 5432),
           "PGDATABASE": p.path.lstrip("/")}
    if p.username:
        env["PGUSER"] = unquote(p.username)
    if p.password:
        env["PGPASSWORD"] = unquote(p.password)
    return env


def _alembic_python(ctx: Context, project: Path) -> Path:
    if ctx.cfg.database.python is not None:
        return ctx.cfg.database.python
    try:
        if ctx.cfg.readiness.target_venv is not None:
            return given_env(ctx.cfg.readiness.target_venv).python
        r = ctx.cfg.readiness
        return build_env(project, ctx.repo, cache=r.venv_cache_dir, timeout=r.venv_build_timeout_seconds,
                         wheelhouse=r.wheelhouse).python
    except VenvError:
        return Path(sys.executable)


def build_schema(ctx: Context, copy: Path, url: str, run: BackupRun) -> None:
    """The project's schema (``alembic upgrade head`` of its first Alembic project) and the
    probe table with rows, in the source scratch database."""
    systems = ctx.migrations().of("alembic") + ctx.migrations().of("flask-migrate")
    ini = next((copy / s.config for s in systems if s.config.endswith(".ini")), None)
    if ini is not None and ini.is_file():
        python = _alembic_python(ctx, ctx.repo / ini.parent.relative_to(copy))
        env = child_env({"DATABASE_URL": sqlalchemy_url(url), ctx.cfg.database.url_env: sqlalchemy_url(url),
                         "PYTHONPATH": str(ini.parent)})
        ran = run_bounded([python, "-m", "alembic", "-c", ini, "upgrade", "head"], cwd=ini.parent,
                          timeout=ctx.cfg.database.migration_timeout_seconds, env=env)
        rel = ini.relative_to(copy).as_posix()
        run.schema = f"alembic upgrade head ({rel}) " + ("succeeded" if ran.ok else "FAILED")
        if not ran.ok:
            run.log += ran.tail(1500)
    else:
        run.schema = "no Alembic migrations: probe table only"
    with connect(url) as conn:
        conn.execute(f"CREATE TABLE {PROBE_TABLE} (id integer PRIMARY KEY, note text NOT NULL)")
        for i in range(1, PROBE_ROWS + 1):
            conn.execute(f"INSERT INTO {PROBE_TABLE} VALUES (%s, %s)", (i, f"row {i}"))  # noqa: S608


def table_rows(url: str) -> dict[str, int]:
    """schema.table -> exact row count of every user table (at most MAX_TABLES)."""
    from psycopg import sql

    out: dict[str, int] = {}
    with connect(url) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema') ORDER BY 1, 2 LIMIT %s", (MAX_TABLES,)).fetchall()
        for schema, table in tables:
            q = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            row = conn.execute(q).fetchone()
            out[f"{schema}.{table}"] = int(row[0]) if row else 0
    return out


def backup_command(ctx: Context, copy: Path, out: Path, url: str) -> list[str]:
    """The configured backup command, the repository's backup script, or ``pg_dump``."""
    if ctx.cfg.readiness.backup_command:
        return shlex.split(ctx.cfg.readiness.backup_command)
    script = next((s for s in backup_scripts(ctx)), None)
    if script is not None:
        return ["bash", str(copy / script)]
    pg_dump = find_tool("pg_dump")
    if pg_dump is None:
        raise Skip("pg_dump is not installed (Debian postgresql-client)")
    return [str(pg_dump), "--format=custom", "--no-owner", "--no-privileges", "-f",
            str(out / "pg_dump.dump"), f"--dbname={libpq_url(url)}"]


def backup_scripts(ctx: Context) -> list[str]:
    """Shell scripts of the repository that run pg_dump (and are not restore scripts)."""
    out = []
    for rel in ctx.files.files:
        if rel.endswith((".sh", ".bash")) and "node_modules" not in rel:
            text = ctx.read(rel) or ""
            if "pg_dump" in text and "restore" not in rel.rsplit("/", 1)[-1].lower():
                out.append(rel)
    return sorted(out, key=lambda r: ("backup" not in r.lower(), r.count("/"), r))


def find_dump(out: Path) -> Path | None:
    files = [p for p in out.rglob("*") if p.is_file() and p.stat().st_size > 0
             and not p.name.endswith(_DUMP_SKIP)]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def restore(ctx: Context, dump: Path, url: str, cwd: Path) -> Ran:
    """The configured restore command, else pg_restore (custom/tar/directory dumps) or psql
    (plain SQL, gzip'ed or not)."""
    timeout = ctx.cfg.readiness.backup_timeout_seconds
    env = child_env(pg_env(url))
    if ctx.cfg.readiness.restore_command:
        cmd = [a.replace("{dump}", str(dump)).replace("{database_url}", libpq_url(url))
               for a in shlex.split(ctx.cfg.readiness.restore_command)]
        return run_bounded(cmd, cwd=cwd, timeout=timeout, env=env)
    pg_restore, psql = find_tool("pg_restore"), find_tool("psql")
    if pg_restore is None or psql is None:
        raise Skip("pg_restore/psql are not installed (Debian postgresql-client)")
    listing = run_bounded([pg_restore, "--list", dump], cwd=cwd, timeout=60, env=env)
    if listing.ok:
        return run_bounded([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
                            f"--dbname={libpq_url(url)}", dump], cwd=cwd, timeout=timeout, env=env)
    sql_text: str | None = None
    if dump.name.endswith(".gz"):
        with gzip.open(dump, "rt", errors="replace") as fh:
            sql_text = fh.read()
    cmd = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={libpq_url(url)}"]
    if sql_text is None:
        cmd += ["-f", str(dump)]
    return run_bounded(cmd, cwd=cwd, timeout=timeout, env=env, stdin=sql_text)


def rehearse(ctx: Context) -> BackupRun:
    """Backup → restore → compare, on two scratch databases that are always dropped."""
    server = scratch_server(ctx)
    run = BackupRun(server=server_label(server))
    source = target = ""
    dropped: list[bool] = []
    try:
        with workspace(ctx.repo) as copy:
            out = copy.parent / "backups"
            out.mkdir()
            source = create_scratch(server)
            build_schema(ctx, copy, source, run)
            run.source = table_rows(source)
            _backup_and_restore(ctx, copy, out, source, run)
            if not run.failure:
                target = create_scratch(server)
                _restore_into(ctx, copy, out, target, run)
    except ValueError as exc:
        raise Skip(f"backup not rehearsed: {exc}") from None
    finally:
        dropped = [drop_scratch(server, u) for u in (source, target) if u]
        run.dropped = all(dropped)
    return run


def _backup_and_restore(ctx: Context, copy: Path, out: Path, source: str, run: BackupRun) -> None:
    env = child_env({**pg_env(source), "DATABASE_URL": libpq_url(source),
                     ctx.cfg.database.url_env: libpq_url(source), "BACKUP_DIR": str(out)})
    cmd = backup_command(ctx, copy, out, source)
    ran = run_bounded(cmd, cwd=copy, timeout=ctx.cfg.readiness.backup_timeout_seconds, env=env)
    run.command = ran.command.replace(str(copy.parent), "<workspace>").replace(libpq_url(source), "<scratch>")
    run.log += ran.tail(1500).replace(str(copy.parent), "<workspace>")
    if not ran.ok:
        run.failure = ("the backup command timed out" if ran.timed_out else
                       f"the backup command failed (exit code {ran.returncode})")


def _restore_into(ctx: Context, copy: Path, out: Path, target: str, run: BackupRun) -> None:
    dump = find_dump(out)
    if dump is None:
        run.failure = "the backup command succeeded but wrote no dump file (BACKUP_DIR was set)"
        return
    run.dump = f"{dump.name} ({dump.stat().st_size} bytes)"
    ran = restore(ctx, dump, target, copy)
    run.restore = ran.command.replace(str(copy.parent), "<workspace>").replace(
        libpq_url(target), "<scratch-2>")
    run.log += "\n" + ran.tail(1500).replace(str(copy.parent), "<workspace>")
    if not ran.ok:
        run.failure = f"the restore failed (exit code {ran.returncode})"
        return
    run.restored = table_rows(target)
