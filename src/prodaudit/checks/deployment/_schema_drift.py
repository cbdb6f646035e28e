"""Models against migrations without a database (DEP-045's fallback): the Alembic chain replayed
from source (:mod:`prodaudit.product.alembic_replay`) against the tables the SQLAlchemy models
declare (:mod:`prodaudit.product.orm_tables`). Not a check module."""

from __future__ import annotations

import ast
import posixpath
import re

from prodaudit.checks.api import Context, Evidence, Finding, Skip, failed, passed, skipped, warned
from prodaudit.checks.deployment._alembic import AlembicProject
from prodaudit.checks.deployment._common import rel
from prodaudit.product.alembic_replay import MigratedSchema, RevisionSource, replay
from prodaudit.product.orm_tables import ModelSchema, model_tables
from prodaudit.product.pyindex import PyModule, py_index
from prodaudit.pysource import parse_python

#: names one of which a module must use to hold models, mixins or a declarative base
MODEL_NAMES = frozenset({"__tablename__", "Column", "mapped_column", "Mapped", "Table",
                         "declarative_base", "DeclarativeBase", "declared_attr", "SQLAlchemy",
                         "SQLModel"})
MAX_REASONS = 4
#: a class statement with SQLModel's ``table=True`` keyword
_SQLMODEL_TABLE = re.compile(r"^\s*class\s+\w+\s*\([^)]*\btable\s*=\s*True", re.M)


def migrated_schema(ctx: Context, proj: AlembicProject, no_db: str) -> MigratedSchema:
    sources: list[RevisionSource] = []
    for r in proj.revisions:
        text = ctx.read(rel(ctx, r.path)) or r.path.read_text(encoding="utf-8", errors="replace")
        parsed = parse_python(text, str(r.path))
        if parsed.tree is None or "skipped" in parsed.note:
            raise Skip(f"{no_db}; the static comparison needs every revision, and "
                       f"{rel(ctx, r.path)} cannot be parsed ({parsed.note or 'no tree'})")
        tree = parsed.tree
        sources.append(RevisionSource(r.rev, r.down, rel(ctx, r.path), tree))
    return replay(sources)


def _in_scope(ctx: Context, proj: AlembicProject) -> list[PyModule]:
    root = rel(ctx, proj.ini.parent)
    root = "" if root in (".", "") else root.rstrip("/") + "/"
    script = rel(ctx, proj.script_location).rstrip("/") + "/"
    return [m for m in py_index(ctx)
            if m.rel.startswith(root) and not m.rel.startswith(script)]


def declared_models(ctx: Context, proj: AlembicProject) -> ModelSchema:
    """The models under the directory of ``alembic.ini`` (tests and the migrations excluded):
    modules that use the ORM, SQLModel ``table=True`` classes that derive from repository bases
    only, and the modules that define the classes the models inherit from."""
    scope = _in_scope(ctx, proj)
    chosen = [m for m in scope if m.names & MODEL_NAMES or
              (m.has("classes") and _SQLMODEL_TABLE.search(m.text))]
    picked = {m.rel for m in chosen}
    bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
             for m in chosen for c in m.classes for b in c.bases}
    bases.discard("")
    chosen += [m for m in scope if m.rel not in picked and m.has("classes")
               and any(f"class {b}" in m.text for b in bases)]
    return model_tables([(m.rel, m.tree) for m in chosen])


def _reasons(items: list[str]) -> str:
    more = f" (+{len(items) - MAX_REASONS} more)" if len(items) > MAX_REASONS else ""
    return "; ".join(items[:MAX_REASONS]) + more


def _column_findings(name: str, models: ModelSchema, migrated: MigratedSchema,
                     how: str) -> list[Finding]:
    model, made = models.tables[name], migrated.tables[name]
    out: list[Finding] = []
    for col, where in made.columns.items():
        if col not in model.columns:
            out.append(failed(f"the migrations give table {name!r} a column {col!r} that the "
                              f"model ({model.where}) does not declare", location=str(where),
                              evidence=how))
    for col, where in model.columns.items():
        if col not in made.columns:
            out.append(failed(f"the model declares column {name}.{col} that no migration "
                              f"creates (table created at {made.where})", location=str(where),
                              evidence=how))
    return out


def static_comparison(ctx: Context, proj: AlembicProject, no_db: str) -> list[Finding]:
    """Findings of the source comparison; ``no_db`` says why the database run did not happen."""
    how = (f"decided from the source, not by autogenerate ({no_db}): the upgrade() operations of "
           f"{len(proj.revisions)} revisions replayed in revision order, compared with the "
           "tables and columns the SQLAlchemy models declare (names only: types, indexes and "
           "constraints are not compared)")
    location = rel(ctx, proj.ini)
    if proj.problems:
        names = ", ".join(rel(ctx, p) for p, _ in proj.problems)
        raise Skip(f"{no_db}; the static comparison needs every revision, and {names} cannot "
                   "be parsed")
    env = ctx.read(rel(ctx, proj.script_location / "env.py")) or ""
    if "include_object" in env or "include_name" in env:
        raise Skip(f"{no_db}; env.py filters what autogenerate compares (include_object/"
                   "include_name): the static comparison does not know which tables it keeps")
    migrated = migrated_schema(ctx, proj, no_db)
    models = declared_models(ctx, proj)
    blocked = migrated.blocked + models.blocked
    if blocked:
        raise Skip(f"{no_db}; the static comparison cannot follow: {_reasons(blocked)}")
    if not models.tables:
        raise Skip(f"{no_db}; no SQLAlchemy model with a literal __tablename__ (nor SQLModel "
                   f"table=True class) under "
                   f"{posixpath.dirname(location) or '.'}")
    unknown = {**migrated.unknown, **models.unknown}
    out: list[Finding] = []
    compared: list[str] = []
    for name, model in sorted(models.tables.items()):
        if name in unknown:
            continue
        if name not in migrated.tables:
            out.append(failed(f"model table {name!r} is created by no migration",
                              location=str(model.where), evidence=how))
            continue
        out += _column_findings(name, models, migrated, how)
        compared.append(name)
    if not models.unnamed:
        for name, made in sorted(migrated.tables.items()):
            if name not in models.tables and name not in unknown:
                out.append(warned(f"the migrations create table {name!r} that no model "
                                  "declares (autogenerate would drop it)",
                                  location=str(made.where), evidence=how))
    not_compared = [f"{t}: {why}" for t, why in sorted(unknown.items())
                    if t in models.tables or t in migrated.tables]
    not_compared += [f"{u}: table name unknown" for u in models.unnamed]
    if not_compared:
        out.append(skipped(f"not compared statically: {_reasons(not_compared)}",
                           location=location))
    elif not out:
        out.append(passed(f"all {len(compared)} model tables match the migrated schema column "
                          f"by column ({', '.join(compared[:8])})", location=location,
                          evidence=how, level=Evidence.PARSED))
    return out
