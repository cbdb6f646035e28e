"""RDY-004: database models define primary keys and index their foreign keys (``ast``)."""

from __future__ import annotations

import ast

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import (
    broken_sources,
)
from prodaudit.checks.readiness._scan import PyModule, call_name, py_sources
from prodaudit.checks.readiness._sqlschema import alembic_schema, covered, sql_schema

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


def _core_tables(mods: list[PyModule]) -> list[tuple[str, str, set[str], bool,
                                                     list[tuple[str, str]]]]:
    """SQLAlchemy Core tables, ``Table("name", metadata, Column(...), ...)`` with at least one
    ``Column``: (table, location, indexed leading columns, has a primary key, foreign-key
    columns with their location). ``Index``/``UniqueConstraint``/``PrimaryKeyConstraint``
    inside the ``Table`` and ``Index("ix", table.c.col)`` elsewhere in the modules count."""
    out = []
    by_var: dict[str, tuple[str, set[str]]] = {}  # variable -> (table, its indexed columns)
    for m in mods:
        if "Table" not in m.text:
            continue
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.Assign | ast.AnnAssign):
                continue
            value = node.value
            if not (isinstance(value, ast.Call) and call_name(value).split(".")[-1] == "Table"
                    and len(value.args) >= 2 and isinstance(value.args[0], ast.Constant)
                    and isinstance(value.args[0].value, str)):
                continue
            cols = [a for a in value.args[2:] if isinstance(a, ast.Call)
                    and call_name(a).split(".")[-1] in ("Column", "mapped_column")]
            if not cols:
                continue
            indexed: set[str] = set()
            has_pk = False
            fk_cols: list[tuple[str, str]] = []
            for a in value.args[2:]:
                if not isinstance(a, ast.Call):
                    continue
                kind = call_name(a).split(".")[-1]
                if kind in ("Index", "UniqueConstraint", "PrimaryKeyConstraint"):
                    indexed.update(_first_cols(a))
                    has_pk = has_pk or kind == "PrimaryKeyConstraint"
                    continue
                if kind == "ForeignKeyConstraint" and a.args and isinstance(a.args[0], ast.List) \
                        and a.args[0].elts and isinstance(a.args[0].elts[0], ast.Constant):
                    fk_cols.append((str(a.args[0].elts[0].value), m.line(a)))
                    continue
                if a not in cols or not a.args or not isinstance(a.args[0], ast.Constant):
                    continue
                name = str(a.args[0].value)
                if _truthy(_kw(a, "primary_key")):
                    has_pk = True
                    indexed.add(name)
                if _truthy(_kw(a, "index")) or _truthy(_kw(a, "unique")):
                    indexed.add(name)
                if any(isinstance(x, ast.Call) and call_name(x).endswith("ForeignKey")
                       for x in a.args):
                    fk_cols.append((name, m.line(a)))
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name):
                by_var[target.id] = (str(value.args[0].value), indexed)
            out.append((str(value.args[0].value), m.line(value), indexed, has_pk, fk_cols))
    for m in mods:  # Index("ix_chats_user_id", chats.c.user_id) beside the table
        if "Index" not in m.text:
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, ast.Call) and call_name(node).split(".")[-1] == "Index" and \
                    len(node.args) >= 2 and isinstance(node.args[1], ast.Attribute) and \
                    isinstance(node.args[1].value, ast.Attribute) and \
                    node.args[1].value.attr == "c" and \
                    isinstance(node.args[1].value.value, ast.Name) and \
                    node.args[1].value.value.id in by_var:
                by_var[node.args[1].value.value.id][1].add(node.args[1].attr)
    return out


def _judge_core_tables(core: list[tuple[str, str, set[str], bool, list[tuple[str, str]]]],
                       fks: list[str]) -> list[Finding]:
    """Findings for the Core tables (their foreign keys are appended to ``fks``)."""
    out = []
    for table, loc, indexed, has_pk, fk_cols in core:
        if not has_pk:
            out.append(failed(f"table {table} declares no primary key", location=loc))
        for col, col_loc in fk_cols:
            fks.append(f"{table}.{col}")
            if col not in indexed:
                out.append(failed(f"foreign key {table}.{col} is not the leading column of any "
                                  "index", location=col_loc))
    return out


#: how many base classes deep inherited columns are followed
_BASE_DEPTH = 6


def _dotted(rel: str) -> str:
    mod = rel[: -len(".py")].replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


class _Classes:
    """Class definitions of the application modules, by name, and each module's imports of a
    name (``from pkg.mod import Name``, relative imports too): how a base class named in one
    module is found in the module that defines it."""

    def __init__(self, mods: list[PyModule]) -> None:
        self.by_name: dict[str, list[tuple[PyModule, ast.ClassDef]]] = {}
        for m in mods:
            for node in m.tree.body:
                if isinstance(node, ast.ClassDef):
                    self.by_name.setdefault(node.name, []).append((m, node))

    def _source_module(self, m: PyModule, name: str) -> str | None:
        """The dotted module ``m`` imports ``name`` from, or None."""
        for node in m.tree.body:
            if not isinstance(node, ast.ImportFrom):
                continue
            if not any((a.asname or a.name) == name and a.name == name for a in node.names):
                continue
            if node.level:
                pkg = _dotted(m.rel).split(".")
                pkg = pkg[: len(pkg) - node.level] if not m.rel.endswith("__init__.py") \
                    else pkg[: len(pkg) - node.level + 1]
                return ".".join(pkg + ([node.module] if node.module else []))
            return node.module
        return None

    def resolve(self, m: PyModule, base: ast.expr) -> tuple[PyModule, ast.ClassDef] | None:
        """The repository class ``base`` (a base-class expression in ``m``) names: one defined
        in ``m`` itself, one ``m`` imports from a module of the repository, or the only class of
        that name in the repository; None when it is not the repository's or is ambiguous."""
        name = call_name(base).split(".")[-1]
        found = self.by_name.get(name, [])
        if not name or not found:
            return None
        local = [(mm, c) for mm, c in found if mm is m]
        if local:
            return local[0]
        src = self._source_module(m, name)
        if src is not None:
            hits = [(mm, c) for mm, c in found
                    if _dotted(mm.rel) == src or _dotted(mm.rel).endswith("." + src)]
            if len(hits) == 1:
                return hits[0]
        return found[0] if len(found) == 1 else None

    def inherited(self, m: PyModule, cls: ast.ClassDef) -> tuple[set[str], list[str]]:
        """(indexed columns, locations of primary-key declarations) the repository's base
        classes and mixins of ``cls`` contribute — followed ``_BASE_DEPTH`` levels deep, each
        class once."""
        indexed: set[str] = set()
        pk_at: list[str] = []
        seen = {id(cls)}
        todo = [(m, b, 1) for b in cls.bases]
        while todo:
            mod, base, depth = todo.pop(0)
            hit = self.resolve(mod, base)
            if hit is None or id(hit[1]) in seen or depth > _BASE_DEPTH:
                continue
            seen.add(id(hit[1]))
            bmod, bcls = hit
            b_indexed, b_pk, _ = _model_columns(bmod, bcls)
            indexed |= b_indexed
            if b_pk:
                pk_at.append(f"{bcls.name} ({bmod.line(bcls)})")
            todo += [(bmod, b, depth + 1) for b in bcls.bases]
        return indexed, pk_at


def _is_table_model(cls: ast.ClassDef) -> bool:
    """A SQLAlchemy/SQLModel class mapped to a table: ``__tablename__`` or ``table=True``."""
    body_names = {t.id for s in cls.body if isinstance(s, ast.Assign)
                  for t in s.targets if isinstance(t, ast.Name)}
    return "__tablename__" in body_names or \
        any(k.arg == "table" and _truthy(k.value) for k in cls.keywords)


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



def _sql_foreign_keys(ctx: Context, have_models: bool, fks: list[str],
                      findings: list[Finding]) -> int:
    """RDY-004 over SQL files, else (no ORM model either) the Alembic revisions: appends their
    foreign keys and the unindexed ones' findings; returns how many tables they create."""
    sql_fks, sql_indexed, sql_tables = sql_schema(ctx)
    if not have_models and not sql_tables:  # the schema lives only in the Alembic revisions
        sql_fks, sql_indexed, sql_tables = alembic_schema(ctx)
    for fk in sql_fks:
        fks.append(f"{fk.table}({', '.join(fk.columns)})")
        if not covered(fk, sql_indexed):
            findings.append(failed(f"foreign key {fk.table}({', '.join(fk.columns)}) is not the "
                                   "leading column of any index", location=fk.location))
    return sql_tables


@check(
    "RDY-004",
    "Database models define primary keys and index their foreign keys",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.4", "3.2.2", "7.3.4"),
    evidence=Evidence.PARSED,
)
def model_indexes(ctx: Context) -> list[Finding]:
    """Every ORM model (SQLAlchemy/SQLModel class with ``__tablename__``) has a primary key — its
    own, or one a base class or mixin of the repository declares (``class User(SurrogatePK,
    Model)``; bases are followed by name across modules through their imports, a few levels
    deep) — and
    every foreign-key column is the leading column of an index (``index=True``, ``unique=True``,
    primary key, or the first column of an ``Index``/``UniqueConstraint`` in ``__table_args__``).
    SQLAlchemy Core tables (``Table("name", metadata, Column(...), ...)``) are judged the same
    way, an ``Index("ix", table.c.column)`` beside the table included.
    Schemas written in SQL files (``CREATE TABLE`` with ``REFERENCES``/``FOREIGN KEY``, ``ALTER
    TABLE ... ADD FOREIGN KEY``) are judged the same way against their ``PRIMARY KEY``,
    ``UNIQUE`` and ``CREATE INDEX`` statements. A schema that exists only in Alembic revisions
    (no ORM model, no SQL file: raw-SQL projects) is judged from their ``upgrade()``:
    ``op.create_table`` columns (``ForeignKey``, ``primary_key``/``unique``/``index``) and
    constraints, ``op.add_column``, ``op.create_index``/``create_primary_key``/
    ``create_unique_constraint``/``create_foreign_key`` (a composite primary key covers only its
    leading column).
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
    classes = _Classes(py_sources(ctx).app)
    inherited_pk: list[str] = []
    for m in py_sources(ctx).app:
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            if not _is_table_model(cls):
                continue
            models += 1
            indexed, has_pk, fk_cols = _model_columns(m, cls)
            if not has_pk:
                b_indexed, pk_at = classes.inherited(m, cls)
                indexed |= b_indexed
                if pk_at:
                    has_pk = True
                    inherited_pk.append(f"{cls.name} from {pk_at[0]}")
            if not has_pk:
                findings.append(failed(f"model {cls.name} declares no primary key",
                                       location=m.line(cls)))
            fks += [f"{cls.name}.{col}" for col, _ in fk_cols]
            findings += [failed(f"foreign key {cls.name}.{col} is not the leading column of any "
                                "index", location=loc) for col, loc in fk_cols if col not in indexed]
    core = _core_tables(py_sources(ctx).app)
    models += len(core)
    findings += _judge_core_tables(core, fks)
    for m, cls in _django_model_classes(py_sources(ctx).app):
        models += 1  # Django adds an "id" primary key unless a field declares one
        fks += [f"{cls.name}.{st.targets[0].id}" for st in cls.body if isinstance(st, ast.Assign)
                and isinstance(st.value, ast.Call) and isinstance(st.targets[0], ast.Name)
                and call_name(st.value).split(".")[-1] in ("ForeignKey", "OneToOneField")]
        findings += [failed(f"foreign key {cls.name}.{col} has db_index=False and no index "
                            "leads with it", location=loc)
                     for col, loc in _django_unindexed_fks(m, cls)]
    models += _sql_foreign_keys(ctx, bool(models), fks, findings)
    if models == 0:
        raise Skip("no ORM model (SQLAlchemy/SQLModel class with __tablename__ or table=True, "
                   "SQLAlchemy Core Table, Django models.Model), SQL CREATE TABLE or Alembic "
                   "op.create_table found")
    if not findings:
        findings.append(
            passed(
                f"{models} model(s) with primary keys"
                + (f" (inherited: {', '.join(inherited_pk[:5])})" if inherited_pk else "")
                + f"; foreign keys indexed: {', '.join(fks) or 'none declared'}"
            )
        )
    return findings
