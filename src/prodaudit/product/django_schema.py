"""Django models against the model state their migrations build, read from source (what
``makemigrations --check`` compares, without importing the project). Per app (a directory with a
``migrations`` package): the operations of its migrations replayed in dependency order
(``CreateModel``, ``AddField``, ``RemoveField``, ``RenameField``, ``DeleteModel``,
``RenameModel``), and the concrete fields its ``models.py`` / ``models/`` classes declare,
abstract bases of the repository included. Anything not followed (custom operations,
``SeparateDatabaseAndState``, squashed migrations, bases outside the repository and Django,
multi-table inheritance, proxies, unmanaged models) marks the model or the app unknown."""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from prodaudit.product.alembic_replay import Where

NEUTRAL_OPS = frozenset({
    "AlterField", "AlterModelOptions", "AlterModelManagers", "AlterUniqueTogether",
    "AlterIndexTogether", "AlterModelTable", "AlterModelTableComment", "AlterOrderWithRespectTo",
    "AddIndex", "RemoveIndex", "RenameIndex", "AddConstraint", "RemoveConstraint", "RunPython",
    "RunSQL",  # changes the database, not the model state makemigrations compares
})
#: class attributes that are fields although their type does not end with "Field"
FIELD_CALLS = frozenset({"ForeignKey", "TaggableManager"})
#: abstract models of django.contrib.auth and the fields they give a model
CONTRIB_BASES = {
    "AbstractBaseUser": ("password", "last_login"),
    "PermissionsMixin": ("is_superuser", "groups", "user_permissions"),
    "AbstractUser": ("password", "last_login", "is_superuser", "groups", "user_permissions",
                     "username", "first_name", "last_name", "email", "is_staff", "is_active",
                     "date_joined"),
}
#: fields that never appear in migrations
VIRTUAL_FIELDS = frozenset({"GenericForeignKey", "GenericRelation"})


@dataclass
class DjangoModel:
    name: str  # as written (compared lower-cased)
    where: Where
    fields: dict[str, Where] = field(default_factory=dict)


@dataclass
class DjangoApp:
    label: str
    root: str
    migrated: dict[str, DjangoModel] = field(default_factory=dict)  # lower name -> model
    declared: dict[str, DjangoModel] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # lower name -> reason
    blocked: list[str] = field(default_factory=list)
    loose: bool = False  # a model class may be missing from what was read


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kw(call: ast.Call, index: int, key: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == key:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def _migration(tree: ast.Module) -> tuple[list[str], ast.expr | None, bool]:
    """(names of same-app dependencies, the operations list, squashed) of a migration module."""
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration":
            deps: list[str] = []
            ops: ast.expr | None = None
            squashed = False
            for item in stmt.body:
                if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                    key = item.targets[0].id
                    if key == "dependencies" and isinstance(item.value, ast.List | ast.Tuple):
                        deps += [e.elts[1].value for e in item.value.elts
                                 if isinstance(e, ast.Tuple) and len(e.elts) == 2
                                 and isinstance(e.elts[1], ast.Constant)
                                 and isinstance(e.elts[1].value, str)
                                 and isinstance(e.elts[0], ast.Constant)]
                    elif key == "operations":
                        ops = item.value
                    elif key == "replaces":
                        squashed = True
            return deps, ops, squashed
    return [], None, False


def replay_app(app: DjangoApp, migrations: Sequence[tuple[str, ast.Module]]) -> None:
    """Fill ``app.migrated`` from its migration modules (repository path, tree)."""
    by_name = {posixpath.basename(rel)[:-3]: (rel, tree) for rel, tree in migrations}
    info = {name: _migration(tree) for name, (_, tree) in by_name.items()}
    done: list[str] = []
    pending = {n: {d for d in info[n][0] if d in by_name} for n in by_name}
    while pending:
        ready = sorted(n for n, deps in pending.items() if not deps)
        if not ready:
            app.blocked.append(f"{app.root}/migrations: circular dependencies")
            return
        for n in ready:
            done.append(n)
            del pending[n]
        for deps in pending.values():
            deps.difference_update(ready)
    for n in done:
        rel, _ = by_name[n]
        _, ops, squashed = info[n]
        if squashed:
            app.blocked.append(f"{rel}: a squashed migration (replaces)")
            return
        if not isinstance(ops, ast.List | ast.Tuple):
            app.blocked.append(f"{rel}: operations is not a literal list")
            return
        for op in ops.elts:
            _operation(app, rel, op)


def _model_fields(call: ast.Call) -> list[tuple[str, int]] | None:
    fields = _kw(call, 1, "fields")
    if not isinstance(fields, ast.List | ast.Tuple):
        return None
    out = []
    for e in fields.elts:
        name = _str(e.elts[0]) if isinstance(e, ast.Tuple) and e.elts else None
        if name is None:
            return None
        out.append((name, e.lineno))
    return out


def _operation(app: DjangoApp, rel: str, op: ast.expr) -> None:
    kind = _name(op.func) if isinstance(op, ast.Call) else ""
    if not isinstance(op, ast.Call) or not kind:
        app.blocked.append(f"{rel}:{op.lineno}: an operation the replay cannot read")
        return
    if kind in NEUTRAL_OPS:
        return
    where = Where(rel, op.lineno)
    if kind == "CreateModel":
        name, fields = _str(_kw(op, 0, "name")), _model_fields(op)
        if name is None or fields is None:
            app.blocked.append(f"{where}: CreateModel the replay cannot read")
            return
        app.migrated[name.lower()] = DjangoModel(name, where,
                                                 {f: Where(rel, line) for f, line in fields})
        options = _kw(op, 2, "options")
        if isinstance(options, ast.Dict) and any(
                _str(k) in ("proxy", "managed") for k in options.keys if k is not None):
            app.unknown[name.lower()] = f"{where}: a proxy or unmanaged model"
        return
    model_key = "name" if kind in ("DeleteModel",) else "model_name"
    if kind == "RenameModel":
        old, new = _str(_kw(op, 0, "old_name")), _str(_kw(op, 1, "new_name"))
        if old is None or new is None or old.lower() not in app.migrated:
            app.blocked.append(f"{where}: RenameModel the replay cannot follow")
            return
        moved = app.migrated.pop(old.lower())
        moved.name = new
        app.migrated[new.lower()] = moved
        return
    target = _str(_kw(op, 0, model_key))
    model = app.migrated.get(target.lower()) if target else None
    if model is None:
        app.blocked.append(f"{where}: {kind} on a model the replay does not know")
        return
    if kind == "DeleteModel":
        del app.migrated[model.name.lower()]
    elif kind == "AddField" and _str(_kw(op, 1, "name")) is not None:
        model.fields[str(_str(_kw(op, 1, "name")))] = where
    elif kind == "RemoveField" and _str(_kw(op, 1, "name")) is not None:
        model.fields.pop(str(_str(_kw(op, 1, "name"))), None)
    elif kind == "RenameField" and _str(_kw(op, 1, "old_name")) and _str(_kw(op, 2, "new_name")):
        model.fields.pop(str(_str(_kw(op, 1, "old_name"))), None)
        model.fields[str(_str(_kw(op, 2, "new_name")))] = where
    else:
        app.blocked.append(f"{where}: migrations.{kind} is not replayed")


# ---- models ----------------------------------------------------------------------------
def _meta(cls: ast.ClassDef, key: str) -> bool:
    for stmt in cls.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            for item in stmt.body:
                if isinstance(item, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == key for t in item.targets):
                    return not (isinstance(item.value, ast.Constant) and
                                item.value.value in (False, True) and
                                bool(item.value.value) is (key == "managed"))
    return False


def _fields(rel: str, cls: ast.ClassDef) -> tuple[dict[str, Where], str]:
    out: dict[str, Where] = {}
    for stmt in cls.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
            continue
        attr, func = stmt.targets[0].id, _name(stmt.value.func)
        if func in VIRTUAL_FIELDS:
            continue
        if func.endswith("Field") or func in FIELD_CALLS:
            out[attr] = Where(rel, stmt.lineno)
        elif not (func.endswith("Manager") or func == "as_manager" or attr.startswith("_")):
            return out, f"{rel}:{stmt.lineno}: {attr} = {func}(...) may be a field"
    return out, ""


@dataclass
class _Cls:
    rel: str
    node: ast.ClassDef
    origins: dict[str, str]


ClassIndex = dict[str, list["_Cls"]]


def class_index(modules: Sequence[tuple[str, ast.Module]]) -> ClassIndex:
    """Module-level classes of ``modules`` (repository path, tree) by name: built once, shared
    by every app (models inherit across apps)."""
    classes: ClassIndex = {}
    for rel, tree in modules:
        origins = {a.asname or a.name: n.module or "" for n in ast.walk(tree)
                   if isinstance(n, ast.ImportFrom) for a in n.names}
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                classes.setdefault(stmt.name, []).append(_Cls(rel, stmt, origins))
    return classes


def read_models(app: DjangoApp, own: set[str], classes: ClassIndex) -> None:
    """Fill ``app.declared`` from the classes of the app's modules (paths ``own``)."""
    for group in classes.values():
        for c in group:
            if c.rel in own:
                _declare(app, c, classes)


def _lineage(c: _Cls, classes: dict[str, list[_Cls]], depth: int = 0
             ) -> tuple[bool, list[_Cls], str]:
    """(a Django model, abstract repository bases, why unknown)."""
    is_model, chain = False, list[_Cls]()
    for base in c.node.bases:
        name = _name(base)
        found = classes.get(name, [])
        if name == "Model" and (isinstance(base, ast.Attribute) or
                                c.origins.get(name, "").startswith("django.db")):
            is_model = True
        elif len(found) == 1 and depth < 10:
            parent = found[0]
            sub_model, sub_chain, why = _lineage(parent, classes, depth + 1)
            if sub_model and not _meta(parent.node, "abstract"):
                return True, chain, f"multi-table inheritance from {name} is not compared"
            is_model = is_model or sub_model
            chain += [parent, *sub_chain]
            if why:
                return is_model, chain, why
        elif found:
            return is_model, chain, f"several classes named {name}"
        elif name in CONTRIB_BASES and c.origins.get(name, "").startswith("django.contrib.auth"):
            is_model = True
        elif c.origins.get(name, "").split(".")[0] not in ("django", "typing", "abc", ""):
            return True, chain, f"base {name} (from {c.origins[name]}) is not read"
        elif name not in ("object", "Generic", "ABC"):
            return True, chain, f"base {name} is not resolved"
    return is_model, chain, ""


def _declare(app: DjangoApp, c: _Cls, classes: dict[str, list[_Cls]]) -> None:
    is_model, chain, why = _lineage(c, classes)
    if not is_model or _meta(c.node, "abstract"):
        return
    model = DjangoModel(c.node.name, Where(c.rel, c.node.lineno))
    key = c.node.name.lower()
    if why and key not in app.migrated:
        return  # a form, serializer, manager ... or a model read nowhere: nothing is claimed
    for base in (c, *chain):
        for b in base.node.bases:
            if _name(b) in CONTRIB_BASES and \
                    base.origins.get(_name(b), "").startswith("django.contrib.auth"):
                for name in CONTRIB_BASES[_name(b)]:
                    model.fields.setdefault(name, Where(base.rel, base.node.lineno))
    if _meta(c.node, "proxy") or _meta(c.node, "managed"):
        app.unknown.setdefault(key, f"{model.where}: a proxy or unmanaged model")
    for part in (c, *chain):
        fields, bad = _fields(part.rel, part.node)
        for name, where in fields.items():
            model.fields.setdefault(name, where)
        why = why or bad
    if why:
        app.unknown.setdefault(key, why)
    if key in app.declared:
        app.unknown.setdefault(key, f"declared twice ({app.declared[key].where}, {model.where})")
    app.declared[key] = model
