"""The tables and columns SQLAlchemy models declare, read from source without importing it:
declarative classes (``__tablename__``, ``Column``/``mapped_column``/``Mapped[...]``, column
names given as the first string argument, columns inherited from mixins and abstract bases
defined in the repository, single-table inheritance) and ``Table("name", metadata, ...)``
objects, and SQLModel ``table=True`` classes (the table is ``__tablename__`` or the class name
lowercased, SQLModel's default; every annotated field of the class and of its SQLModel bases is a
column unless it is a ``Relationship``/``ClassVar``/private, ``Field(sa_column=Column("name"))``
naming it; a repository base whose ``declared_attr`` ``__tablename__`` returns ``cls.__name__``,
as it is or ``.lower()``, names the tables of its subclasses). What cannot be read for sure
(other ``declared_attr``, ``__table__``, bases outside the
repository and the ORM, reflection, several metadata) marks the table, or everything, unknown
with the reason."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

from prodaudit.product.alembic_replay import Where, column_name
from prodaudit.product.endpoint_model import class_attr

COLUMN_CALLS = frozenset({"Column", "mapped_column"})
WRAPPERS = frozenset({"deferred"})  # deferred(Column(...)) is a column
NOT_COLUMNS = frozenset({
    "relationship", "relation", "backref", "dynamic_loader", "column_property", "synonym",
    "composite", "association_proxy", "query_expression", "hybrid_property", "ClassVar",
    "foreign", "remote", "Index", "UniqueConstraint", "CheckConstraint", "PrimaryKeyConstraint",
    "ForeignKeyConstraint", "property", "classmethod", "staticmethod", "query_property",
    "registry", "scoped_session", "sessionmaker",
})
RELATION_ANNOTATIONS = frozenset({"WriteOnlyMapped", "DynamicMapped"})
ORM_PACKAGES = ("sqlalchemy", "flask_sqlalchemy", "alchemical", "flask_alchemical", "sqlmodel")
PLAIN_BASES = frozenset({"object", "Generic", "ABC", "Protocol"})
ROOT_FACTORIES = frozenset({"declarative_base", "generate_base", "SQLAlchemy"})
REFLECTION = frozenset({"automap_base", "DeferredReflection"})


@dataclass
class ModelTable:
    name: str
    where: Where
    columns: dict[str, Where] = field(default_factory=dict)


@dataclass
class ModelSchema:
    tables: dict[str, ModelTable] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)  # mapped classes whose table is unknown


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_call(node: ast.expr | None, names: frozenset[str]) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in names


@dataclass
class _Class:
    rel: str
    node: ast.ClassDef
    origins: dict[str, str]  # imported name -> module of that file

    def own(self, key: str) -> ast.expr | None:
        return class_attr(self.node, key)

    def declares(self, key: str) -> bool:
        return self.own(key) is not None or any(
            isinstance(s, ast.FunctionDef) and s.name == key for s in self.node.body)

    @property
    def abstract(self) -> bool:
        value = self.own("__abstract__")
        return isinstance(value, ast.Constant) and value.value is True


def _generated_name(fn: ast.FunctionDef, class_name: str) -> str | None:
    """What a ``__tablename__`` function returns for ``class_name``: ``cls.__name__`` as it is or
    ``.lower()``; None for any other body."""
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    value = body[0].value
    lower = False
    if isinstance(value, ast.Call) and not value.args and isinstance(value.func, ast.Attribute) \
            and value.func.attr == "lower":
        value, lower = value.func.value, True
    if isinstance(value, ast.Attribute) and value.attr == "__name__" and \
            isinstance(value.value, ast.Name) and fn.args.args and \
            value.value.id == fn.args.args[0].arg:
        return class_name.lower() if lower else class_name
    return None


def _member_column(stmt: ast.stmt) -> tuple[str, str | None, str] | None:
    """(attribute, column name or None when unreadable, why) of one class statement; None when
    the statement declares no column."""
    value: ast.expr | None
    ann: ast.expr | None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
            isinstance(stmt.targets[0], ast.Name):
        attr, value, ann = stmt.targets[0].id, stmt.value, None
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        attr, value, ann = stmt.target.id, stmt.value, stmt.annotation
    else:
        return None
    if attr.startswith("__"):
        return None
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):  # "Mapped[int]"
        text = ann.value
        try:
            ann = ast.parse(text, mode="eval").body
        except SyntaxError:
            return attr, None, f"annotation {text!r} is not read"
    if _is_call(value, WRAPPERS) and isinstance(value, ast.Call) and value.args:
        value = value.args[0]
    if isinstance(value, ast.Call) and _name(value.func) in COLUMN_CALLS:
        name = column_name(value)
        literal_first = value.args and isinstance(value.args[0], ast.Constant)
        has_name_kw = any(k.arg == "name" for k in value.keywords)
        return attr, (name if (literal_first or has_name_kw) else attr), ""
    mapped = ann is not None and _name(ann) == "Mapped"
    if ann is not None and _name(ann) in RELATION_ANNOTATIONS:
        return None
    if isinstance(value, ast.Call) and _name(value.func) in NOT_COLUMNS:
        return None
    if mapped and value is None:
        return attr, attr, ""
    if isinstance(value, ast.Call) and (mapped or _name(value.func)[:1].islower()):
        return attr, None, f"{attr} = {_name(value.func)}(...) may declare a column"
    return None


def _sqlmodel_field(stmt: ast.stmt) -> tuple[str, str | None, str] | None:
    """(attribute, column name or None when unreadable, why) of one statement of an SQLModel
    class; None when it declares no column (relationships, class variables, private and
    non-annotated attributes, methods)."""
    if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
        return None
    attr, value, ann = stmt.target.id, stmt.value, stmt.annotation
    if attr.startswith("_") or _name(ann) == "ClassVar" or \
            (isinstance(ann, ast.Constant) and str(ann.value).startswith("ClassVar")):
        return None
    if isinstance(value, ast.Call) and _name(value.func) in NOT_COLUMNS | {"Relationship"}:
        return None
    if isinstance(value, ast.Call) and _name(value.func) == "Field":
        sa = next((k.value for k in value.keywords if k.arg == "sa_column"), None)
        if sa is not None:
            if isinstance(sa, ast.Call) and _name(sa.func) in COLUMN_CALLS:
                literal_first = sa.args and isinstance(sa.args[0], ast.Constant)
                has_name_kw = any(k.arg == "name" for k in sa.keywords)
                return attr, (column_name(sa) if (literal_first or has_name_kw) else attr), ""
            return attr, None, f"{attr}: sa_column is not a Column(...) call"
    return attr, attr, ""


def _table_kw(cls: _Class) -> bool:
    """``class X(SQLModel, table=True)``."""
    return any(k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in cls.node.keywords)


class _Reader:
    def __init__(self, modules: Sequence[tuple[str, ast.Module]]) -> None:
        self.schema = ModelSchema()
        self.classes: dict[str, list[_Class]] = {}
        self.roots: list[str] = []  # where each declarative base / metadata root is made
        self.root_names: set[str] = set()
        for rel, tree in modules:
            self.module(rel, tree)

    def module(self, rel: str, tree: ast.Module) -> None:
        origins: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    origins[a.asname or a.name] = node.module or ""
            elif isinstance(node, ast.Call) and _name(node.func) in REFLECTION | {"reflect"}:
                self.schema.blocked.append(f"{rel}:{node.lineno}: reflection "
                                           f"({_name(node.func)}): the models come from the "
                                           "database")
            elif isinstance(node, ast.keyword) and node.arg in ("autoload", "autoload_with"):
                self.schema.blocked.append(f"{rel}: a table is reflected ({node.arg})")
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                self.classes.setdefault(stmt.name, []).append(_Class(rel, stmt, origins))
                bases = {_name(b) for b in stmt.bases}
                decorated = {_name(d) for d in stmt.decorator_list}
                if bases & {"DeclarativeBase", "DeclarativeBaseNoMeta"} or \
                        "as_declarative" in decorated:
                    self.roots.append(f"{rel}:{stmt.lineno}")
                    self.root_names.add(stmt.name)
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                self.assignment(rel, stmt)

    def assignment(self, rel: str, stmt: ast.Assign) -> None:
        call = stmt.value
        assert isinstance(call, ast.Call)
        func = _name(call.func)
        if func in ROOT_FACTORIES:
            self.roots.append(f"{rel}:{stmt.lineno}")
            self.root_names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif func == "Table" and call.args:
            self.table_object(rel, call)

    def table_object(self, rel: str, call: ast.Call) -> None:
        name = column_name(call) if isinstance(call.args[0], ast.Constant) else None
        if name is None:
            self.schema.blocked.append(f"{rel}:{call.lineno}: Table() with a name that is not "
                                       "a literal")
            return
        table = ModelTable(name, Where(rel, call.lineno))
        for arg in call.args[2:]:
            if _is_call(arg, frozenset({"Column"})) and isinstance(arg, ast.Call):
                col = column_name(arg)
                if col is None:
                    self.schema.unknown[name] = f"{rel}:{arg.lineno}: a column name that is " \
                                                "not a literal"
                else:
                    table.columns[col] = Where(rel, arg.lineno)
            elif not isinstance(arg, ast.Call):
                self.schema.unknown[name] = f"{rel}:{call.lineno}: Table() argument not read"
        self.add(table)

    def add(self, table: ModelTable) -> None:
        if table.name in self.schema.tables:
            first = self.schema.tables[table.name].where
            self.schema.unknown.setdefault(table.name, f"declared twice ({first} and "
                                                       f"{table.where})")
            return
        self.schema.tables[table.name] = table

    def resolve(self, base: ast.expr, cls: _Class) -> _Class | str | None:
        """A repository class, '' for a base that adds no column, None when unknown."""
        name = _name(base)
        found = self.classes.get(name, [])
        local = [c for c in found if c.rel == cls.rel]
        if len(found) == 1 or len(local) == 1:
            return (local or found)[0]
        if found:
            return None  # several classes of that name: which one is not known
        origin = cls.origins.get(name, "")
        if name in PLAIN_BASES or name in self.root_names or \
                origin.split(".")[0] in ORM_PACKAGES or \
                (isinstance(base, ast.Attribute) and name == "Model"):
            return ""
        return None

    def lineage(self, cls: _Class, seen: frozenset[str] = frozenset(), *, sqlmodel: bool = False
                ) -> tuple[list[_Class], str]:
        """The repository classes ``cls`` inherits from (nearest first) and why the chain is
        unknown ('' when known); ``sqlmodel``: ``cls`` is read as an SQLModel table."""
        out: list[_Class] = []
        for base in cls.node.bases:
            got = self.resolve(base, cls)
            if got is None:
                return out, f"base {ast.unparse(base)} of {cls.node.name} is not resolved"
            if isinstance(got, _Class) and got.node.name not in seen:
                out.append(got)
                more, why = self.lineage(got, seen | {cls.node.name}, sqlmodel=sqlmodel)
                out += more
                if why:
                    return out, why
        for kw in cls.node.keywords:
            if kw.arg == "table" and not sqlmodel:
                return out, f"{cls.node.name} is an SQLModel table (its fields are not read here)"
        return out, ""

    def sqlmodel_table(self, cls: _Class) -> None:
        """An SQLModel ``table=True`` class: its table and the fields of it and its bases."""
        where = Where(cls.rel, cls.node.lineno)
        name = cls.own("__tablename__")
        chain, why = self.lineage(cls, sqlmodel=True)
        if name is None:
            tname = self.inherited_tablename(cls, chain)
            if tname is None:
                self.schema.unnamed.append(f"{where}: {cls.node.name} (__tablename__ generated "
                                           "by a base class, not read)")
                return
        elif isinstance(name, ast.Constant) and isinstance(name.value, str):
            tname = name.value
        else:
            self.schema.unnamed.append(f"{where}: {cls.node.name} (__tablename__ not a literal)")
            return
        table = ModelTable(tname, where)
        for c in [cls, *chain]:
            if why:
                break
            if c is not cls and _table_kw(c):
                why = f"{where}: {cls.node.name} inherits from the table {c.node.name}: not compared"
                break
            for stmt in c.node.body:
                got = _sqlmodel_field(stmt)
                if got is None:
                    continue
                attr, col, reason = got
                if col is None:
                    why = f"{c.rel}:{stmt.lineno}: {reason}"
                    break
                table.columns.setdefault(col, Where(c.rel, stmt.lineno))
        self.add(table)
        if why:
            self.schema.unknown[table.name] = why

    def sqlmodel_data_class(self, cls: _Class) -> bool:
        """``cls`` derives from ``sqlmodel.SQLModel`` (directly or through repository classes)."""
        for c in [cls, *self.lineage(cls, sqlmodel=True)[0]]:
            if any(c.origins.get(_name(b), "").split(".")[0] == "sqlmodel" for b in c.node.bases):
                return True
        return False

    @staticmethod
    def inherited_tablename(cls: _Class, chain: list[_Class]) -> str | None:
        """The table name of an SQLModel class without its own ``__tablename__``: SQLModel's
        default (the class name lowercased) unless a repository base declares it; a
        ``declared_attr`` that returns ``cls.__name__`` or ``cls.__name__.lower()`` is read,
        anything else is None (not read)."""
        names: set[str | None] = set()
        for base in chain:
            fn = next((s for s in base.node.body if isinstance(s, ast.FunctionDef)
                       and s.name == "__tablename__"), None)
            if fn is None:
                continue  # a literal on a table base: the subclass inherits a table (not compared)
            names.add(_generated_name(fn, cls.node.name))
        if not names:
            return cls.node.name.lower()
        return names.pop() if len(names) == 1 else None  # None: one is not read, or they differ

    def columns(self, cls: _Class, table: ModelTable) -> str:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                    _name(d) == "declared_attr" or (isinstance(d, ast.Attribute) and
                    _name(d.value) == "declared_attr") for d in stmt.decorator_list):
                return f"{cls.rel}:{stmt.lineno}: {stmt.name} is a declared_attr"
            got = _member_column(stmt)
            if got is None:
                continue
            attr, col, why = got
            if col is None:
                return f"{cls.rel}:{stmt.lineno}: {why or attr + ': column name not read'}"
            table.columns.setdefault(col, Where(cls.rel, stmt.lineno))
        return ""

    def mapped(self, cls: _Class) -> None:
        name = cls.own("__tablename__")
        where = Where(cls.rel, cls.node.lineno)
        if cls.declares("__table__"):
            self.schema.blocked.append(f"{where}: {cls.node.name} maps a __table__ object")
            return
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            self.schema.unnamed.append(f"{where}: {cls.node.name} (__tablename__ not a literal)")
            return
        table = ModelTable(name.value, where)
        chain, why = self.lineage(cls)
        why = why or self.columns(cls, table)
        inherited = set()  # joined inheritance: a mapped parent's columns stay in its table
        for base in chain:
            if base.declares("__tablename__") and not base.abstract:
                inherited |= {id(base)} | {id(c) for c in self.lineage(base)[0]}
        for base in chain:
            if why:
                break
            if id(base) not in inherited:
                why = self.columns(base, table)
        self.add(table)
        if why:
            self.schema.unknown[table.name] = why

    def single_table_child(self, cls: _Class) -> None:
        chain, why = self.lineage(cls)
        parent = next((c for c in chain if c.declares("__tablename__") and not c.abstract), None)
        if parent is None:
            table_kw = any(k.arg == "table" for k in cls.node.keywords)  # SQLModel, table=True
            maybe = bool(why) and any(_member_column(s) for s in cls.node.body)
            if table_kw or maybe or not why and any(
                    c.node.name in self.root_names for c in chain) or \
                    any(_name(b) == "Model" and isinstance(b, ast.Attribute)
                        for b in cls.node.bases):
                self.schema.unnamed.append(f"{cls.rel}:{cls.node.lineno}: {cls.node.name} "
                                           "(no __tablename__: the name is generated)")
            return
        tname = parent.own("__tablename__")
        if isinstance(tname, ast.Constant) and isinstance(tname.value, str):
            self.schema.unknown.setdefault(
                tname.value, why or f"{cls.rel}:{cls.node.lineno}: single-table inheritance "
                                    f"({cls.node.name}) is not compared")

    def read(self) -> ModelSchema:
        for group in self.classes.values():
            for cls in group:
                if cls.abstract or cls.node.name in self.root_names:
                    continue
                if _table_kw(cls):
                    self.sqlmodel_table(cls)
                elif self.sqlmodel_data_class(cls):
                    continue  # an SQLModel class without table=True maps no table
                elif cls.declares("__tablename__") or cls.declares("__table__"):
                    self.mapped(cls)
                else:
                    self.single_table_child(cls)
        if len(self.roots) > 1:
            self.schema.blocked.append("several declarative bases or SQLAlchemy() objects "
                                       f"({', '.join(self.roots[:4])}): several metadata")
        return self.schema


def model_tables(modules: Sequence[tuple[str, ast.Module]]) -> ModelSchema:
    """The tables of the models in ``modules`` (repository-relative path, tree)."""
    return _Reader(modules).read()
