"""Alembic projects read without importing them (AST), and ``alembic`` runs against a scratch
PostgreSQL database in a subprocess. Not a check module."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from prodaudit.checks.api import Context, Skip
from prodaudit.checks.deployment._common import rel
from prodaudit.checks.deployment._run_objects import interrupted_exit
from prodaudit.product.database import connect, error_line, is_postgres, sqlalchemy_url
from prodaudit.pysource import parse_tree

SCRATCH_PREFIX = "prodaudit_scratch_"
RESULT_MARK = "PRODAUDIT-ALEMBIC-RESULT "
DESTRUCTIVE_OPS = {
    "drop_table": "drops a table",
    "drop_column": "drops a column",
}
DESTRUCTIVE_SQL = ("DROP TABLE", "DROP COLUMN", "TRUNCATE", "DELETE FROM", " TYPE ")


@dataclass(frozen=True)
class Revision:
    rev: str
    down: tuple[str, ...]
    path: Path
    line: int
    has_downgrade: bool
    downgrade_note: str  # why it does not count as a downgrade
    destructive: tuple[tuple[int, str], ...]  # (line, what) inside upgrade()


@dataclass
class AlembicProject:
    ini: Path
    script_location: Path
    version_dirs: list[Path]
    revisions: list[Revision] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def by_rev(self) -> dict[str, Revision]:
        return {r.rev: r for r in self.revisions}

    @property
    def heads(self) -> list[Revision]:
        referenced = {d for r in self.revisions for d in r.down}
        return [r for r in self.revisions if r.rev not in referenced]

    @property
    def dangling(self) -> list[tuple[Revision, str]]:
        known = self.by_rev
        return [(r, d) for r in self.revisions for d in r.down if d not in known]


def find_ini(ctx: Context) -> Path:
    """The alembic.ini of the target (configured, else the shallowest in the repository)."""
    if ctx.cfg.database.alembic_ini is not None:
        ini = ctx.cfg.database.alembic_ini
        ini = ini if ini.is_absolute() else ctx.repo / ini
        if not ini.is_file():
            raise Skip(f"database.alembic_ini {ini} not found")
        return ini
    found = sorted(ctx.files.matching(names=("alembic.ini",)), key=lambda p: (p.count("/"), p))
    if not found:
        raise Skip("no alembic.ini in the repository (only alembic migrations are verified); "
                   "set database.alembic_ini")
    return ctx.repo / found[0]


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _module_value(tree: ast.Module, name: str) -> tuple[bool, Any, int]:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name) and t.id == name:
                    return True, _literal(stmt.value), stmt.lineno
        elif (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
              and stmt.target.id == name):
            return True, _literal(stmt.value), stmt.lineno
    return False, None, 0


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            return stmt
    return None


def _empty_body(fn: ast.FunctionDef) -> str:
    """Why the function body does nothing ('' when it does something)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body or all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(
            s.value, ast.Constant) and s.value.value is Ellipsis) for s in body):
        return "downgrade() is empty"
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        return "downgrade() only raises (declared irreversible)"
    return ""


def _destructive(fn: ast.FunctionDef | None) -> tuple[tuple[int, str], ...]:
    if fn is None:
        return ()
    out: list[tuple[int, str]] = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr = node.func.attr
        args = [_literal(a) for a in node.args]
        names = ", ".join(str(a) for a in args if isinstance(a, str))
        if attr in DESTRUCTIVE_OPS:
            out.append((node.lineno, f"{attr}({names}) {DESTRUCTIVE_OPS[attr]}"))
        elif attr == "alter_column" and any(k.arg == "type_" for k in node.keywords):
            out.append((node.lineno, f"alter_column({names}, type_=...) changes a column type"))
        elif attr == "execute" and args and isinstance(args[0], str):
            sql = " ".join(args[0].upper().split())
            hit = next((k.strip() for k in DESTRUCTIVE_SQL if k in sql), None)
            if hit and (hit != "TYPE" or "ALTER" in sql):
                out.append((node.lineno, f"execute() runs SQL with {hit}: {args[0].strip()[:80]}"))
    return tuple(sorted(out))


def parse_revision(path: Path) -> Revision | None:
    tree = parse_tree(path.read_text(encoding="utf-8", errors="replace"), str(path))
    if tree is None:  # a problem of the project (DEP-040 names it), not "not a revision"
        raise SyntaxError("not Python any supported grammar can read")
    ok, rev, line = _module_value(tree, "revision")
    if not ok or not isinstance(rev, str):
        return None
    _, down, _ = _module_value(tree, "down_revision")
    if isinstance(down, str):
        downs: tuple[str, ...] = (down,)
    elif isinstance(down, list | tuple):
        downs = tuple(str(d) for d in down if d)
    else:
        downs = ()
    dfn = _function(tree, "downgrade")
    note = "no downgrade() function" if dfn is None else _empty_body(dfn)
    return Revision(rev=rev, down=downs, path=path, line=line, has_downgrade=not note,
                    downgrade_note=note, destructive=_destructive(_function(tree, "upgrade")))


def load_project(ini: Path) -> AlembicProject:
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    try:
        parser.read(ini, encoding="utf-8")
    except configparser.Error as exc:
        raise Skip(f"{ini}: unreadable alembic.ini: {exc}") from None
    section = "alembic"
    if not parser.has_section(section) or not parser.has_option(section, "script_location"):
        raise Skip(f"{ini}: no [alembic] script_location")
    loc = parser.get(section, "script_location")
    if ":" in loc and not Path(loc).is_absolute():
        raise Skip(f"{ini}: package-style script_location {loc!r} is not supported; "
                   "point database.alembic_ini at a file-based layout")
    script = Path(loc) if Path(loc).is_absolute() else ini.parent / loc
    dirs = [script / "versions"]
    if parser.has_option(section, "version_locations"):
        raw = parser.get(section, "version_locations")
        sep = parser.get(section, "path_separator", fallback="space")
        splitter = {"os": os.pathsep, "space": None, "newline": "\n", ":": ":", ";": ";"}
        parts = raw.split(splitter.get(sep, ",")) if sep != "space" else raw.split()
        dirs = [Path(p) if Path(p).is_absolute() else ini.parent / p for p in parts if p.strip()]
    proj = AlembicProject(ini=ini, script_location=script, version_dirs=dirs)
    for d in dirs:
        for path in sorted(d.glob("*.py")) if d.is_dir() else []:
            try:
                r = parse_revision(path)
            except (SyntaxError, UnicodeDecodeError, OSError) as exc:
                proj.problems.append((path, f"cannot parse: {exc}"))
                continue
            if r is not None:
                proj.revisions.append(r)
    return proj


def project(ctx: Context) -> AlembicProject:
    return ctx.memo("deployment:alembic", lambda: load_project(find_ini(ctx)))


def loc(ctx: Context, r: Revision) -> str:
    return f"{rel(ctx, r.path)}:{r.line}"


# ---- running alembic ---------------------------------------------------------------------
_RUNNER = r"""
import contextlib, io, json, os, sys, traceback
from alembic import command
from alembic.config import Config
ini, steps_wanted = sys.argv[1], sys.argv[2].split(",")
url = os.environ["PRODAUDIT_ALEMBIC_URL"]
cfg = Config(ini)
cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
cfg.attributes["database_url"] = url
steps = []
for step in steps_wanted:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            if step == "upgrade":
                command.upgrade(cfg, "head")
            elif step == "downgrade":
                command.downgrade(cfg, "base")
            elif step == "check":
                command.check(cfg)
        steps.append({"step": step, "ok": True, "out": buf.getvalue()[-3000:]})
    except KeyboardInterrupt:  # Ctrl-C reached the runner too: the audit ends, no result
        raise
    except BaseException as exc:
        steps.append({"step": step, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                      "trace": traceback.format_exc()[-3000:], "out": buf.getvalue()[-3000:]})
        if step != "check":
            break
print("PRODAUDIT-ALEMBIC-RESULT " + json.dumps(steps), flush=True)
"""


@dataclass(frozen=True)
class StepResult:
    step: str
    ok: bool
    error: str = ""
    trace: str = ""
    out: str = ""


@dataclass(frozen=True)
class ScratchRun:
    server: str  # host:port/scratch-db, no credentials
    steps: tuple[StepResult, ...]
    log: str  # alembic's stderr (its logger) and anything else the process printed
    dropped: bool
    failure: str = ""  # the process itself failed (timeout, crash before the result line)

    def get(self, step: str) -> StepResult | None:
        return next((s for s in self.steps if s.step == step), None)


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _server_label(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def scratch_server_url(ctx: Context) -> str:
    scratch = ctx.env_value(ctx.cfg.database.scratch_url_env)
    if scratch:
        ctx.redact.register_env({ctx.cfg.database.scratch_url_env: scratch})
        if not is_postgres(scratch):
            raise Skip(f"{ctx.cfg.database.scratch_url_env} is not a PostgreSQL URL")
        return scratch
    url = ctx.env_value(ctx.cfg.database.url_env)
    if not url:
        raise Skip(f"{ctx.cfg.database.url_env} not set and no {ctx.cfg.database.scratch_url_env}: "
                   "no PostgreSQL server for a scratch database")
    ctx.redact.register_env({ctx.cfg.database.url_env: url})
    if not ctx.cfg.allow_mutations:
        raise Skip(f"creating a scratch database on the server of {ctx.cfg.database.url_env} is a "
                   f"write: pass --allow-mutations or set {ctx.cfg.database.scratch_url_env}")
    if not is_postgres(url):
        raise Skip(f"{ctx.cfg.database.url_env} is not PostgreSQL ({url.split(':', 1)[0]}); set "
                   f"{ctx.cfg.database.scratch_url_env} to a PostgreSQL server for the scratch run")
    return url


@contextmanager
def scratch_database(server_url: str) -> Iterator[tuple[str, list[bool]]]:
    """Create a uniquely named database, yield (its URL, [dropped]), drop it afterwards."""
    import psycopg
    from psycopg import sql

    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    try:
        with connect(server_url, timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        first = error_line(exc, server_url)
        raise Skip(f"cannot create a scratch database on {_server_label(server_url)}: {first} "
                   "(the role needs CREATEDB)") from None
    dropped = [False]
    try:
        yield _with_db(server_url, name), dropped
    finally:
        try:
            with connect(server_url, timeout=5) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
            dropped[0] = True
        except psycopg.Error:
            dropped[0] = False


def run_alembic(
    ctx: Context, ini: Path, url: str, steps: list[str]
) -> tuple[list[StepResult], str, str]:
    """Run alembic steps in a subprocess (cwd: the ini's directory) → (steps, log, failure)."""
    python = str(ctx.cfg.database.python or sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}
    env.update({"PRODAUDIT_ALEMBIC_URL": sqlalchemy_url(url), ctx.cfg.database.url_env: url,
                "DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"})
    timeout = ctx.cfg.database.migration_timeout_seconds
    try:
        proc = subprocess.run([python, "-c", _RUNNER, str(ini), ",".join(steps)], cwd=ini.parent,
                              env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raw = exc.stderr or b""
        err = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        return [], err[-4000:], f"alembic did not finish within {timeout:.0f} s"
    except OSError as exc:
        return [], "", f"cannot run {python}: {exc}"
    if interrupted_exit(proc.returncode):  # the same Ctrl-C ended the runner: no finding
        raise KeyboardInterrupt
    results: list[StepResult] = []
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            results = [StepResult(**d) for d in json.loads(line[len(RESULT_MARK):])]
    failure = "" if results else f"alembic runner exited with {proc.returncode} and no result"
    log = (proc.stderr or "")[-4000:]
    return results, log, failure


def scratch_run(ctx: Context) -> ScratchRun:
    """upgrade head → autogenerate check → downgrade base → upgrade head, on a scratch database
    (memoised: DEP-041 and DEP-045 share one run)."""

    def build() -> ScratchRun:
        proj = project(ctx)
        if ctx.cfg.database.python is None and importlib.util.find_spec("alembic") is None:
            # the audit's interpreter runs alembic: without the extra the run cannot verify
            raise ModuleNotFoundError("No module named 'alembic'", name="alembic")
        server = scratch_server_url(ctx)
        with scratch_database(server) as (url, dropped):
            steps, log, failure = run_alembic(
                ctx, proj.ini, url, ["upgrade", "check", "downgrade", "upgrade"])
        label = _server_label(url)
        return ScratchRun(server=label, steps=tuple(_rename(steps)), log=log, dropped=dropped[0],
                          failure=failure)

    return ctx.memo("deployment:alembic-scratch", build)


def _rename(steps: list[StepResult]) -> list[StepResult]:
    """The second upgrade is the round trip's: name it apart."""
    out: list[StepResult] = []
    seen_upgrade = False
    for s in steps:
        if s.step == "upgrade" and seen_upgrade:
            s = StepResult("reupgrade", s.ok, s.error, s.trace, s.out)
        seen_upgrade = seen_upgrade or s.step == "upgrade"
        out.append(s)
    return out
