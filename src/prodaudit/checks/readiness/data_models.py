"""RDY-004: database models define primary keys and index their foreign keys (``ast``)."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import (
    broken_sources,
)
from prodaudit.checks.readiness._scan import PyModule, call_name, py_sources

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
    if models == 0:
        raise Skip("no ORM model (class with __tablename__ or SQLModel table=True) found")
    if not findings:
        findings.append(
            passed(
                f"{models} model(s) with primary keys; foreign keys indexed: "
                f"{', '.join(fks) or 'none declared'}"
            )
        )
    return findings
