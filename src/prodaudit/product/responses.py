"""What an endpoint answers with, read statically: the output schemas a handler declares or uses
and the fields each one reads out of the records — Django REST framework serializers (declared
fields, ``Meta.fields``/``exclude``/``"__all__"`` over the project's model, ``write_only`` and
``extra_kwargs`` left out; ``serializer_class``, ``self.OutputSerializer(obj)``,
``serializer_class=X`` and ``get_serializer``; a serializer built with ``data=`` is input),
FastAPI ``response_model=`` and return annotations (pydantic/SQLModel fields, ``exclude=True``
left out), marshmallow schemas (``schema.dump(...)``, ``@response(schema)``,
``@marshal_with``/``@blp.response``; ``load_only`` left out). Project base classes are followed.
Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.endpoint_model import Endpoint, dotted
from prodaudit.product.pyindex import PyModule, py_index, walk
from prodaudit.product.pyvalues import keyword_value

if TYPE_CHECKING:
    from prodaudit.context import Context

_SERIALIZER_BASE = re.compile(r"Serializer$")
_SCHEMA_BASE = re.compile(r"(^|\.)(Schema|SQLAlchemySchema|SQLAlchemyAutoSchema|ModelSchema|"
                          r"BaseModel|SQLModel)$")
_RESPONSE_DECORATOR = re.compile(r"(^|\.)(response|marshal_with|marshal_list_with|output)$")
#: Django's user models and the fields they add to a ``ModelSerializer`` with ``"__all__"``
_USER_BASES = {"AbstractUser": ("password", "is_staff", "is_superuser", "groups",
                                "user_permissions", "email", "username"),
               "AbstractBaseUser": ("password",), "PermissionsMixin": ("is_superuser", "groups",
                                                                       "user_permissions")}
_MAX_DEPTH = 6


@dataclass(frozen=True)
class Shape:
    """One output schema of an endpoint: its kind, class name, where it is declared, the fields
    it answers with (name, line), and the model it reads (DRF ``Meta.model``; ``""``)."""

    kind: str  # "serializer" | "response model" | "schema"
    name: str
    loc: str
    fields: tuple[tuple[str, int], ...]
    model: str = ""


Classes = dict[str, list[tuple[PyModule, ast.ClassDef]]]


def classes_by_name(ctx: Context) -> Classes:
    def build() -> Classes:
        out: Classes = {}
        for mod in py_index(ctx):
            for cls in mod.classes:
                out.setdefault(cls.name, []).append((mod, cls))
        return out

    result: Classes = ctx.memo("product:classes-by-name", build)
    return result


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def string_list(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def meta_of(cls: ast.ClassDef) -> dict[str, ast.expr]:
    meta = next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
    out: dict[str, ast.expr] = {}
    for n in meta.body if meta else []:
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            out[n.targets[0].id] = n.value
    return out


def project_bases(cls: ast.ClassDef, classes: Classes, depth: int) -> list[tuple[PyModule, ast.ClassDef]]:
    if depth > _MAX_DEPTH:
        return []
    out = []
    for b in cls.bases:
        name = dotted(b).rsplit(".", 1)[-1]
        out += [hit for hit in classes.get(name, []) if hit[1] is not cls][:1]
    return out


def model_fields(name: str, classes: Classes, depth: int = 0) -> list[tuple[str, int]]:
    """The fields of the project's model ``name`` (class attributes assigned a call, and the
    fields Django's user base classes add)."""
    out: list[tuple[str, int]] = []
    for _mod, cls in classes.get(name, [])[:1]:
        for n in cls.body:
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call):
                out += [(t.id, n.lineno) for t in n.targets if isinstance(t, ast.Name)]
            elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
                out.append((n.target.id, n.lineno))
        for b in cls.bases:
            base = dotted(b).rsplit(".", 1)[-1]
            out += [(f, cls.lineno) for f in _USER_BASES.get(base, ())]
        for _m, parent in project_bases(cls, classes, depth + 1):
            out += model_fields(parent.name, classes, depth + 1)
    return out


def _declared(cls: ast.ClassDef, hidden_kw: str) -> tuple[list[tuple[str, int]], set[str]]:
    """(fields declared in the class body, fields hidden from the output)."""
    shown: list[tuple[str, int]] = []
    hidden: set[str] = set()
    for n in cls.body:
        targets: list[str] = []
        value: ast.expr | None = None
        if isinstance(n, ast.Assign):
            targets = [t.id for t in n.targets if isinstance(t, ast.Name)]
            value = n.value
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            targets, value = [n.target.id], n.value
            if targets[0] == "model_config" or targets[0].startswith("_"):
                continue
        else:
            continue
        if isinstance(value, ast.Call) and (is_true(keyword_value(value, hidden_kw))
                                            or is_true(keyword_value(value, "exclude"))):
            hidden.update(targets)
        elif isinstance(n, ast.AnnAssign) or isinstance(value, ast.Call):
            shown += [(t, n.lineno) for t in targets if t not in ("Meta", "Config")]
    return shown, hidden


def shape_of(mod: PyModule, cls: ast.ClassDef, classes: Classes, depth: int = 0) -> Shape:
    """The output fields of a serializer/schema/model class (bases in the project followed)."""
    kind = "serializer" if any(_SERIALIZER_BASE.search(dotted(b)) for b in cls.bases) else \
        "schema" if any(re.search(r"Schema$", dotted(b)) for b in cls.bases) else "response model"
    hidden_kw = {"serializer": "write_only", "schema": "load_only"}.get(kind, "exclude")
    fields, hidden = _declared(cls, hidden_kw)
    meta = meta_of(cls)
    model = dotted(meta["model"]).rsplit(".", 1)[-1] if "model" in meta else ""
    listed = string_list(meta.get("fields"))
    if listed == ["__all__"] or (listed is None and "exclude" in meta and model):
        excluded = set(string_list(meta.get("exclude")) or [])
        fields += [(f, ln) for f, ln in model_fields(model, classes) if f not in excluded]
    elif listed:
        line = meta["fields"].lineno
        fields += [(f, line) for f in listed]
    extra = meta.get("extra_kwargs")
    if isinstance(extra, ast.Dict):
        for k, v in zip(extra.keys, extra.values, strict=False):
            if isinstance(k, ast.Constant) and isinstance(v, ast.Dict) and any(
                    isinstance(kk, ast.Constant) and kk.value in ("write_only", "load_only")
                    and is_true(vv) for kk, vv in zip(v.keys, v.values, strict=False)):
                hidden.add(str(k.value))
    hidden.update(string_list(meta.get("load_only")) or [])
    for _m, parent in project_bases(cls, classes, depth + 1):
        inherited = shape_of(_m, parent, classes, depth + 1)
        fields += list(inherited.fields)
        model = model or inherited.model
    seen: dict[str, int] = {}
    for f, ln in fields:
        if f not in hidden:
            seen.setdefault(f, ln)
    return Shape(kind, cls.name, f"{mod.rel}:{cls.lineno}", tuple(seen.items()), model)


def resolve_class(name: str, e: Endpoint, classes: Classes) -> tuple[PyModule, ast.ClassDef] | None:
    """A class called ``name``: nested in the endpoint's view class first, then its module, then
    anywhere in the project."""
    if e.view:
        view = next((c for c in e.module.classes if c.name == e.view), None)
        nested = next((n for n in view.body if isinstance(n, ast.ClassDef) and n.name == name),
                      None) if view else None
        if view and nested:
            return e.module, nested
    hits = classes.get(name, [])
    return next((h for h in hits if h[0] is e.module), hits[0] if hits else None)


def is_schema(cls: ast.ClassDef, classes: Classes, depth: int = 0) -> bool:
    if any(_SERIALIZER_BASE.search(dotted(b)) or _SCHEMA_BASE.search(dotted(b)) for b in cls.bases):
        return True
    return depth < _MAX_DEPTH and any(is_schema(p, classes, depth + 1)
                                      for _m, p in project_bases(cls, classes, depth + 1))


def class_names(node: ast.AST) -> list[str]:
    """Class names in an annotation or expression (``List[User]``, ``Page[UserOut]``)."""
    return [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node)
            if isinstance(n, (ast.Name, ast.Attribute))]


def module_instances(mod: PyModule) -> dict[str, str]:
    """``users_schema = UserSchema(many=True)`` at module level: instance name -> class name."""
    out = {}
    for n in mod.tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = dotted(n.value.func).rsplit(".", 1)[-1]
    return out


def _candidates(e: Endpoint) -> list[str]:
    """Names of the classes (or module-level schema instances) the endpoint answers with."""
    out: list[str] = []
    for dec in e.func.decorator_list:
        if isinstance(dec, ast.Call):
            rm = keyword_value(dec, "response_model")
            if rm is not None:
                out += class_names(rm)
            if _RESPONSE_DECORATOR.search(dotted(dec.func)):
                out += [n for a in dec.args for n in class_names(a)]
    if e.func.returns is not None:
        out += class_names(e.func.returns)
    for node in walk(e.func):
        if not isinstance(node, ast.Call):
            continue
        callee = dotted(node.func)
        last = callee.rsplit(".", 1)[-1]
        sc = keyword_value(node, "serializer_class")
        if sc is not None:
            out += class_names(sc)
        if last == "dump" and isinstance(node.func, ast.Attribute):
            out += class_names(node.func.value)
        elif keyword_value(node, "data") is None and (last.endswith(("Serializer", "Schema"))
                                            or last == "get_serializer"):
            out.append(last)
    return out


def response_shapes(ctx: Context, e: Endpoint) -> list[Shape]:
    """The output schemas endpoint ``e`` answers with (empty when none could be read)."""
    classes = classes_by_name(ctx)
    names = _candidates(e)
    view = next((c for c in e.module.classes if c.name == e.view), None) if e.view else None
    if view is not None and ("get_serializer" in names or not names):
        for n in view.body:
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id ==
                                                 "serializer_class" for t in n.targets):
                names += class_names(n.value)
    instances = module_instances(e.module)
    out: dict[str, Shape] = {}
    for name in dict.fromkeys(names):
        hit = resolve_class(instances.get(name, name), e, classes)
        if hit is None or not is_schema(hit[1], classes):
            continue
        shape = shape_of(hit[0], hit[1], classes)
        out.setdefault(shape.loc, shape)
    return list(out.values())
