"""What a schema class lets a client write, read statically: the fields a Django REST framework
serializer accepts (``Meta.fields`` entries, ``"__all__"`` and ``exclude`` over the project's
model, declared fields; ``read_only_fields`` (``= fields`` too), ``extra_kwargs`` ``read_only``,
``read_only=True``, ``ReadOnlyField``/``SerializerMethodField``/``HiddenField`` left out), a
pydantic/SQLModel model (annotated fields; a ``Literal`` that admits no privileged value left out)
or a marshmallow schema loads (``dump_only`` left out; an auto schema's model fields). Fields the
schema's own code deals with (a validator names them, ``validate``/``create`` pops them) are left
out, and a serializer whose own ``create``/``update`` picks what it saves writes none.
``used_attributes`` says which fields a handler copies out of a validated body. Project base
classes are followed. Used by ``prodaudit.product.request_schemas``. Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.product.endpoint_model import dotted
from prodaudit.product.pyindex import PyModule, walk
from prodaudit.product.pyvalues import keyword_value
from prodaudit.product.responses import (
    Classes,
    is_true,
    meta_of,
    model_fields,
    project_bases,
    string_list,
)

#: serializer fields a client never writes
_READ_ONLY_FIELD = re.compile(r"(ReadOnlyField|SerializerMethodField|HiddenField)$")
_PRIVILEGED_VALUE = re.compile(r"admin|staff|super|owner|root|moderator|manager", re.I)
_MAX_DEPTH = 6

Field = tuple[str, str]  # (field name, "path:line" where it is made writable)


@dataclass(frozen=True)
class InputShape:
    """One input schema of a write endpoint: its kind, class name, where it is declared, the
    fields a client may write (name, ``path:line``), and the model it writes (DRF
    ``Meta.model``; ``""``)."""

    kind: str  # "serializer" | "request model" | "schema"
    name: str
    loc: str
    fields: tuple[Field, ...]
    model: str = ""


def _kind(cls: ast.ClassDef, classes: Classes, depth: int = 0) -> str:
    """What a schema class is, from the library class it derives from (a project base is
    followed, whatever its name: ``class BaseSchema(BaseModel)`` is pydantic)."""
    for b in cls.bases:
        name = dotted(b)
        parent = [p for _m, p in classes.get(name.rsplit(".", 1)[-1], []) if p is not cls][:1]
        if parent:
            found = _kind(parent[0], classes, depth + 1) if depth < _MAX_DEPTH else ""
        elif name.endswith("Serializer"):
            found = "serializer"
        elif re.search(r"Schema$", name):
            found = "schema"
        elif re.search(r"(^|\.)(BaseModel|SQLModel)$", name):
            found = "request model"
        else:
            found = ""
        if found:
            return found
    return ""


def _assigned_fields(cls: ast.ClassDef) -> list[tuple[str, ast.Call, int]]:
    return [(t.id, n.value, n.lineno) for n in cls.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
            for t in n.targets if isinstance(t, ast.Name) and t.id not in ("Meta", "Config")]


def _extra_flagged(meta: dict[str, ast.expr], flag: str) -> set[str]:
    """``extra_kwargs = {"is_staff": {"read_only": True}}``: the names with ``flag`` true."""
    extra = meta.get("extra_kwargs")
    out: set[str] = set()
    if isinstance(extra, ast.Dict):
        for k, v in zip(extra.keys, extra.values, strict=False):
            if isinstance(k, ast.Constant) and isinstance(v, ast.Dict) and any(
                    isinstance(kk, ast.Constant) and kk.value == flag and is_true(vv)
                    for kk, vv in zip(v.keys, v.values, strict=False)):
                out.add(str(k.value))
    return out


def _meta_fields(mod: PyModule, meta: dict[str, ast.expr], classes: Classes) -> dict[str, str]:
    """The fields ``Meta.fields``/``exclude`` select: each listed name at its own line,
    ``"__all__"`` and ``exclude`` the project model's fields at the ``fields``/``exclude``
    line (where the fix goes)."""
    model = dotted(meta["model"]).rsplit(".", 1)[-1] if "model" in meta else ""
    node = meta.get("fields")
    listed = string_list(node)
    out: dict[str, str] = {}
    if model and (listed == ["__all__"] or (listed is None and "exclude" in meta)):
        excluded = set(string_list(meta.get("exclude")) or [])
        line = (node or meta["exclude"]).lineno
        out.update({f: f"{mod.rel}:{line}" for f, _ in model_fields(model, classes)
                    if f not in excluded})
    elif node is not None:  # a list, or ``Base.Meta.fields + ["is_staff"]``: the names in it
        out.update({e.value: f"{mod.rel}:{e.lineno}" for e in ast.walk(node)
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)})
    return out


def _read_only(meta: dict[str, ast.expr]) -> set[str]:
    """``read_only_fields`` (``= fields`` and concatenations followed) and ``extra_kwargs``
    ``read_only``."""
    out = _extra_flagged(meta, "read_only")
    node = meta.get("read_only_fields")
    for n in ast.walk(node) if node is not None else []:
        if isinstance(n, ast.Name) and n.id in meta and n.id != "read_only_fields":
            out.update(e.value for e in ast.walk(meta[n.id])
                       if isinstance(e, ast.Constant) and isinstance(e.value, str))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.add(n.value)
    return out


def _serializer(mod: PyModule, cls: ast.ClassDef, classes: Classes, depth: int = 0,
                declared_only: bool = False) -> dict[str, str]:
    """The writable fields of a DRF serializer (a base's ``Meta`` counts only when the class
    declares none)."""
    meta = meta_of(cls)
    own_meta = "fields" in meta or "exclude" in meta
    out: dict[str, str] = {}
    for _m, parent in project_bases(cls, classes, depth + 1) if depth < _MAX_DEPTH else []:
        out.update(_serializer(_m, parent, classes, depth + 1, declared_only or own_meta))
    blocked = _read_only(meta)
    if not declared_only:
        out.update(_meta_fields(mod, meta, classes))
    for name, call, line in _assigned_fields(cls):
        if is_true(keyword_value(call, "read_only")) or \
                _READ_ONLY_FIELD.search(dotted(call.func)):
            blocked.add(name)
        else:
            out[name] = f"{mod.rel}:{line}"
    return {f: loc for f, loc in out.items() if f not in blocked}


def _marshmallow(mod: PyModule, cls: ast.ClassDef, classes: Classes, depth: int = 0
                 ) -> dict[str, str]:
    """The fields a marshmallow schema loads (``dump_only`` left out; an auto schema's model
    fields)."""
    out: dict[str, str] = {}
    for _m, parent in project_bases(cls, classes, depth + 1) if depth < _MAX_DEPTH else []:
        out.update(_marshmallow(_m, parent, classes, depth + 1))
    meta = meta_of(cls)
    blocked = set(string_list(meta.get("dump_only")) or []) | \
        set(string_list(meta.get("dump_only_fields")) or [])
    if "model" in meta and any(re.search(r"(Auto|Model)Schema$", dotted(b)) for b in cls.bases):
        out.update(_meta_fields(mod, {**meta, "fields": meta.get("fields") or
                                      ast.Constant("__all__", lineno=meta["model"].lineno)},
                                classes))
    for name, call, line in _assigned_fields(cls):
        if is_true(keyword_value(call, "dump_only")):
            blocked.add(name)
        else:
            out[name] = f"{mod.rel}:{line}"
    only = string_list(meta.get("fields"))
    return {f: loc for f, loc in out.items() if f not in blocked
            and (not only or only == ["__all__"] or f in only)}


def _closed_literal(annotation: ast.expr) -> bool:
    """``role: Literal["user", "viewer"]``: the client may only send values without privilege."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Subscript) and dotted(node.value).endswith("Literal"):
            values = [ast.unparse(e) for e in ast.walk(node.slice) if isinstance(e, ast.Constant)]
            return bool(values) and not any(_PRIVILEGED_VALUE.search(v) for v in values)
    return False


#: methods that hand a model's or a dict's whole content on
_WHOLE_ATTRS = frozenset({"dict", "model_dump", "json", "model_dump_json", "copy", "model_copy",
                          "__dict__", "items", "keys", "values"})


def used_attributes(fn: ast.AST, name: str) -> set[str] | None:
    """The attributes handler ``fn`` reads of ``name`` (``user_in.email``), or None when it
    hands ``name`` on whole (``crud.create(user_in)``, ``**user_in.model_dump()``,
    ``for k, v in data.items()``)."""
    parents = {id(c): n for n in walk(fn) for c in ast.iter_child_nodes(n)}
    picked: set[str] = set()
    for node in walk(fn):
        if not (isinstance(node, ast.Name) and node.id == name and
                isinstance(node.ctx, ast.Load)):
            continue
        up = parents.get(id(node))
        if isinstance(up, ast.Attribute) and up.attr not in _WHOLE_ATTRS:
            picked.add(up.attr)
        elif isinstance(up, ast.Subscript) and isinstance(up.slice, ast.Constant):
            picked.add(str(up.slice.value))
        else:
            return None
    return picked


def passes_whole(fn: ast.AST, name: str) -> bool:
    return used_attributes(fn, name) is None


def _pydantic(mod: PyModule, cls: ast.ClassDef, classes: Classes, depth: int = 0
              ) -> dict[str, str]:
    out: dict[str, str] = {}
    for _m, parent in project_bases(cls, classes, depth + 1) if depth < _MAX_DEPTH else []:
        out.update(_pydantic(_m, parent, classes, depth + 1))
    for n in cls.body:
        if not (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)):
            continue
        name = n.target.id
        if name == "model_config" or name.startswith("_") or \
                "ClassVar" in ast.unparse(n.annotation):
            continue
        if _closed_literal(n.annotation):
            out.pop(name, None)
        else:
            out[name] = f"{mod.rel}:{n.lineno}"
    return out


def _methods(cls: ast.ClassDef, classes: Classes) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    chain = [cls] + [c for _m, c in project_bases(cls, classes, 1)]
    return [n for c in chain for n in c.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _input_methods(cls: ast.ClassDef, classes: Classes) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Methods that see the input: validators, ``create``/``update``, hooks (not the output's
    ``to_representation``, ``get_<field>`` or ``@post_dump``)."""
    return [m for m in _methods(cls, classes) if m.name != "to_representation"
            and not m.name.startswith("get_")
            and not any("dump" in ast.unparse(d) for d in m.decorator_list)]


def _handled(cls: ast.ClassDef, classes: Classes) -> set[str]:
    """Fields the schema's own code deals with: a validator names them (``validate_role``,
    ``@field_validator("role")``, ``@validates("role")``) or ``create``/``validate`` pops or
    sets them (``validated_data.pop("is_staff")``)."""
    out: set[str] = set()
    for m in _input_methods(cls, classes):
        if m.name.startswith("validate_"):
            out.add(m.name.removeprefix("validate_"))
        out.update(n.value for n in walk(m) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str))
    return out


def _saves_wholesale(cls: ast.ClassDef, classes: Classes) -> bool:
    """A DRF serializer saves every validated field: it has no ``create``/``update`` of its
    own, or one passes the validated data on whole (``**validated_data``,
    ``super().create(validated_data)``, a loop over its items)."""
    saves = [m for m in _methods(cls, classes) if m.name in ("create", "update")]
    return not saves or any(passes_whole(m, m.args.args[-1].arg) for m in saves
                            if len(m.args.args) > 1)


def input_shape(mod: PyModule, cls: ast.ClassDef, classes: Classes) -> InputShape | None:
    """The fields a client may write through schema class ``cls`` (None: not a schema): those
    the schema accepts, less those its own code deals with, and none when a serializer's own
    ``create``/``update`` picks what it saves."""
    kind = _kind(cls, classes)
    if not kind:
        return None
    reader = {"serializer": _serializer, "schema": _marshmallow}.get(kind, _pydantic)
    handled = _handled(cls, classes)
    fields = {f: loc for f, loc in reader(mod, cls, classes).items() if f not in handled}
    if kind == "serializer" and not _saves_wholesale(cls, classes):
        fields = {}
    meta = meta_of(cls)
    model = dotted(meta["model"]).rsplit(".", 1)[-1] if "model" in meta else ""
    return InputShape(kind, cls.name, f"{mod.rel}:{cls.lineno}", tuple(fields.items()), model)
