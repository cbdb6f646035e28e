"""RDY-004: database models define primary keys and index their foreign keys (``ast``)."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import (
    broken_sources,
)
from prodaudit.checks.readiness._scan import PyModule, call_name, py_sources
from prodaudit.checks.readiness._sqlschema import covered, sql_schema

# ---- RDY-004 models and indexes ---------------------------------------------------------------


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _truthy(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _first_cols(call: ast.Call) -> list[str]:
    """Leading column name(s) of Index(...)/UniqueConstraint(...)/PrimaryKeyConstraint(...)."""
    args = [a for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    name = call_name(call).split(".")[-1]
    if name == "Index":
        args = args[1:]
    return [str(args[0].value)] if args else []


def _model_columns(m: PyModule, cls: ast.ClassDef) -> tuple[set[str], bool, list[tuple[str, str]]]:
    """(indexed leading columns, has a primary key, foreign-key columns with their location)."""
    indexed: set[str] = set()
    has_pk = False
    fk_cols: list[tuple[str, str]] = []
    for stmt in cls.body:
        target: str | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            target, value = stmt.target.id, stmt.value
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        if target == "__table_args__" and value is not None:
            for c in ast.walk(value):
                if isinstance(c, ast.Call) and call_name(c).split(".")[-1] in (
                    "Index",
                    "UniqueConstraint",
                    "PrimaryKeyConstraint",
                ):
                    indexed.update(_first_cols(c))
                    if call_name(c).endswith("PrimaryKeyConstraint"):
                        has_pk = True
            continue
        if target is None or not isinstance(value, ast.Call):
            continue
        fname = call_name(value).split(".")[-1]
        if fname not in ("mapped_column", "Column", "Field"):
            continue
        if _truthy(_kw(value, "primary_key")):
            has_pk = True
            indexed.add(target)
        if _truthy(_kw(value, "index")) or _truthy(_kw(value, "unique")):
            indexed.add(target)
        is_fk = (
            any(
                isinstance(a, ast.Call) and call_name(a).endswith("ForeignKey")
                for a in value.args
            )
            or _kw(value, "foreign_key") is not None
        )
        if is_fk:
            fk_cols.append((target, m.line(stmt)))
    return indexed, has_pk, fk_cols


def _django_model_classes(mods: list[PyModule]) -> list[tuple[PyModule, ast.ClassDef]]:
    """Django models: classes deriving (through classes of the repository) from
    ``models.Model``, abstract ones (``Meta.abstract = True``) left out."""
    classes = [(m, c) for m in mods if "django" in m.text
               for c in ast.walk(m.tree) if isinstance(c, ast.ClassDef)]
    model_names = {"Model"}
    changed = True
    while changed:
        changed = False
        for _, c in classes:
            if c.name not in model_names and any(
                    call_name(b).split(".")[-1] in model_names for b in c.bases):
                model_names.add(c.name)
                changed = True
    return [(m, c) for m, c in classes if c.name in model_names and not _abstract(c)]


def _abstract(cls: ast.ClassDef) -> bool:
    meta = next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
    return meta is not None and any(
        isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "abstract"
                                          for t in s.targets) and _truthy(s.value)
        for s in meta.body)


def _django_unindexed_fks(m: PyModule, cls: ast.ClassDef) -> list[tuple[str, str]]:
    """Foreign keys declared with ``db_index=False`` that no ``Meta.indexes`` entry leads with
    (Django indexes every ForeignKey by default)."""
    meta_src = "".join(ast.unparse(n) for n in cls.body
                       if isinstance(n, ast.ClassDef) and n.name == "Meta")
    out = []
    for st in cls.body:
        if not (isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)
                and isinstance(st.value, ast.Call)):
            continue
        name = st.targets[0].id
        if call_name(st.value).split(".")[-1] == "ForeignKey" and \
                isinstance(_kw(st.value, "db_index"), ast.Constant) and \
                not _truthy(_kw(st.value, "db_index")) and \
                f"fields=['{name}'" not in meta_src and f'fields=["{name}"' not in meta_src:
            out.append((name, m.line(st)))
    return out


@check(
    "RDY-004",
    "Database models define primary keys and index their foreign keys",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.4", "3.2.2", "7.3.4"),
    evidence=Evidence.PARSED,
)
def model_indexes(ctx: Context) -> list[Finding]:
    """Every ORM model (SQLAlchemy/SQLModel class with ``__tablename__``) has a primary key, and
    every foreign-key column is the leading column of an index (``index=True``, ``unique=True``,
    primary key, or the first column of an ``Index``/``UniqueConstraint`` in ``__table_args__``).
    Schemas written in SQL files (``CREATE TABLE`` with ``REFERENCES``/``FOREIGN KEY``, ``ALTER
    TABLE ... ADD FOREIGN KEY``) are judged the same way against their ``PRIMARY KEY``,
    ``UNIQUE`` and ``CREATE INDEX`` statements.
    Django models get an ``id`` key and an index per ``ForeignKey`` by default: a ``ForeignKey``
    with ``db_index=False`` that no ``Meta.indexes`` entry leads with fails.

    PostgreSQL does not index foreign keys by itself: joins and ``ON DELETE CASCADE`` on an
    unindexed foreign key scan the whole child table, which is fast in development and slow in
    production.

    Remediation: add ``index=True`` to the foreign-key column (or a composite ``Index`` that starts
    with it) and a migration that creates the index.
    """
    findings = broken_sources(ctx)
    models = 0
    fks: list[str] = []
    for m in py_sources(ctx).app:
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            body_names = {
                t.id
                for s in cls.body
                if isinstance(s, ast.Assign)
                for t in s.targets
                if isinstance(t, ast.Name)
            }
            table_kw = any(k.arg == "table" and _truthy(k.value) for k in cls.keywords)
            if "__tablename__" not in body_names and not table_kw:
                continue
            models += 1
            indexed, has_pk, fk_cols = _model_columns(m, cls)
            if not has_pk:
                findings.append(
                    failed(f"model {cls.name} declares no primary key", location=m.line(cls))
                )
            for col, loc in fk_cols:
                fks.append(f"{cls.name}.{col}")
                if col not in indexed:
                    findings.append(
                        failed(
                            f"foreign key {cls.name}.{col} is not the leading column of any index",
                            location=loc,
                        )
                    )
    for m, cls in _django_model_classes(py_sources(ctx).app):
        models += 1  # Django adds an "id" primary key unless a field declares one
        fks += [f"{cls.name}.{st.targets[0].id}" for st in cls.body if isinstance(st, ast.Assign)
                and isinstance(st.value, ast.Call) and isinstance(st.targets[0], ast.Name)
                and call_name(st.value).split(".")[-1] in ("ForeignKey", "OneToOneField")]
        findings += [failed(f"foreign key {cls.name}.{col} has db_index=False and no index "
                            "leads with it", location=loc)
                     for col, loc in _django_unindexed_fks(m, cls)]
    sql_fks, sql_indexed, sql_tables = sql_schema(ctx)
    models += sql_tables
    for fk in sql_fks:
        fks.append(f"{fk.table}({', '.join(fk.columns)})")
        if not covered(fk, sql_indexed):
            findings.append(failed(f"foreign key {fk.table}({', '.join(fk.columns)}) is not the "
                                   "leading column of any index", location=fk.location))
    if models == 0:
        raise Skip("no ORM model (SQLAlchemy/SQLModel class with __tablename__ or table=True, "
                   "Django models.Model) or SQL CREATE TABLE found")
    if not findings:
        findings.append(
            passed(
                f"{models} model(s) with primary keys; foreign keys indexed: "
                f"{', '.join(fks) or 'none declared'}"
            )
        )
    return findings
