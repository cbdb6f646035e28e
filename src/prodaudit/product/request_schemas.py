"""What a write endpoint lets a client set, read statically: the input schemas a POST/PUT/PATCH
handler validates the request body with (``prodaudit.product.input_schemas`` reads each one's
writable fields) — Django REST framework serializers built with ``data=``, and DRF's own
create/update of a router's ViewSet, of ``super().update(...)`` and of a generic view
(``generic_write_views``: ``CreateAPIView``, ``UpdateAPIView``…, which the endpoint model does not
list): the view's ``serializer_class`` and the serializers its ``get_serializer_class`` returns
outside a branch taken for administrators; FastAPI body parameters (a pydantic/SQLModel class
annotating a handler parameter that is not a ``Depends``/``Query``/``Path``/``Header``/``Cookie``);
marshmallow schemas (``schema.load(request.json)``, ``@body``/``@arguments``/``@use_args``) and
pydantic models validated from what the client sent (``Model.model_validate(request.get_json())``).
When the handler copies named fields out of a body model or a loaded dict (``user_in.email``,
``data["email"]``), those fields only are written; ``model_dump(exclude=...)`` leaves fields out.
``admin_guard`` says whether only administrators reach an endpoint. Part of the product model
(``prodaudit.product.responses`` reads the output side). Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from prodaudit.product.endpoint_model import (
    ADMIN_NAME,
    Endpoint,
    class_auth,
    dotted,
    parameters,
)
from prodaudit.product.endpoints import decorator_route
from prodaudit.product.endpoints_drf import drf_default_auth, with_default_auth
from prodaudit.product.input_schemas import InputShape, input_shape, used_attributes
from prodaudit.product.pyindex import py_index, walk
from prodaudit.product.pyvalues import keyword_value
from prodaudit.product.responses import (
    Classes,
    class_names,
    classes_by_name,
    is_schema,
    module_instances,
    project_bases,
    resolve_class,
)

if TYPE_CHECKING:
    from prodaudit.context import Context

__all__ = ["InputShape", "admin_guard", "generic_write_views", "request_shapes"]

#: FastAPI parameter sources that are not the request body
_NOT_BODY = re.compile(r"(^|\.)(Depends|Security|Query|Path|Header|Cookie)$")
#: decorators that validate the request body with a schema (apifairy ``@body``, flask-smorest
#: ``@blp.arguments``, webargs ``@use_args``/``@use_kwargs``, flask-restx ``@expect``)
_BODY_DECORATOR = re.compile(r"(^|\.)(body|arguments|use_args|use_kwargs|expect|input)$")
_VALIDATE = re.compile(r"^(load|model_validate|model_validate_json|parse_obj|parse_raw|"
                       r"validate_python)$")
#: a handler that runs DRF's own create/update (``super().update(...)``, ``self.create(...)``)
_MIXIN_CALL = re.compile(r"^(self|super\(\))\.(create|update|partial_update)$")
#: DRF's generic views and the write methods their handlers answer
_GENERIC_WRITES = {"CreateAPIView": ("POST",), "ListCreateAPIView": ("POST",),
                   "UpdateAPIView": ("PUT", "PATCH"), "RetrieveUpdateAPIView": ("PUT", "PATCH"),
                   "RetrieveUpdateDestroyAPIView": ("PUT", "PATCH")}
_GENERIC_HANDLERS = {"POST": ("post", "create"), "PUT": ("put", "update"),
                     "PATCH": ("patch", "partial_update")}
#: what the client sent, in Flask, aiohttp, Starlette and Django
_REQUEST_DATA = re.compile(r"\brequest\.(json|get_json|form|data|body|values|POST|post|"
                           r"text|get_data)\b")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: an owner-or-administrator permission lets the owner through
_OWNER_OR_ADMIN = re.compile(r"(owner|self|author|user)_?or_?(is_?)?(admin|staff|superuser)|"
                             r"(admin|staff|superuser)_?or_?(is_?)?(owner|self|author)", re.I)


# ---- which schemas a write endpoint validates its body with -------------------------------------

def _body_parameters(e: Endpoint) -> list[tuple[str, str]]:
    """(class name, parameter) of the handler's body parameters (FastAPI)."""
    out: list[tuple[str, str]] = []
    for arg, default in parameters(e.func):
        if arg.annotation is None or arg.arg in ("self", "cls", "request"):
            continue
        sources = [default] if isinstance(default, ast.Call) else []
        sources += [n for n in ast.walk(arg.annotation) if isinstance(n, ast.Call)]
        if any(_NOT_BODY.search(dotted(s.func)) for s in sources if isinstance(s, ast.Call)):
            continue
        out += [(n, arg.arg) for n in class_names(arg.annotation)]
    return out


def _admin_branch(fn: ast.AST, target: ast.AST) -> bool:
    """``target`` sits in the body of an ``if`` (or the true side of a conditional expression)
    taken for administrators."""
    for node in walk(fn):
        if isinstance(node, ast.If | ast.IfExp) and ADMIN_NAME.search(ast.unparse(node.test)):
            body = node.body if isinstance(node, ast.If) else [node.body]
            if any(target is n for b in body for n in walk(b)):
                return True
    return False


def _view_serializers(e: Endpoint, classes: Classes) -> list[str]:
    """``serializer_class`` of the endpoint's view (or a project base) and the classes its
    ``get_serializer_class`` returns outside administrators' branches."""
    hits = classes.get(e.view, [])
    hit = next((h for h in hits if h[0] is e.module), hits[0] if hits else None)
    chain = [hit] if hit else []
    for _m, c in chain[:1]:
        chain += project_bases(c, classes, 1)
    out: list[str] = []
    for _m, c in chain:
        for n in c.body:
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and
                                                 t.id == "serializer_class" for t in n.targets):
                out += class_names(n.value)
            elif isinstance(n, ast.FunctionDef) and n.name == "get_serializer_class":
                for r in walk(n):
                    if isinstance(r, ast.Return) and r.value is not None:
                        for v in walk(r.value):
                            if isinstance(v, ast.Name | ast.Attribute) and \
                                    not _admin_branch(n, v) and not _admin_branch(n, r):
                                out.append(v.id if isinstance(v, ast.Name) else v.attr)
    return out


def _from_request(node: ast.expr, sent: set[str]) -> bool:
    text = ast.unparse(node)
    return bool(_REQUEST_DATA.search(text)) or any(re.search(rf"\b{n}\b", text) for n in sent)


def _sent(e: Endpoint) -> set[str]:
    """Local names assigned what the client sent (``data = request.get_json()``)."""
    return {t.id for n in walk(e.func) if isinstance(n, ast.Assign)
            and _REQUEST_DATA.search(ast.unparse(n.value))
            for t in n.targets if isinstance(t, ast.Name)}


def _candidates(e: Endpoint, classes: Classes) -> list[str | tuple[str, str]]:
    """Names of the schema classes (or instances) the handler validates the body with; a body
    parameter as (class, parameter)."""
    out: list[str | tuple[str, str]] = []
    sent = _sent(e)
    # ``data = schema.load(request.json)``: the handler's use of ``data`` says what is written
    bound = {id(n.value): n.targets[0].id for n in walk(e.func) if isinstance(n, ast.Assign)
             and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)}
    for dec in e.func.decorator_list:
        if isinstance(dec, ast.Call) and _BODY_DECORATOR.search(dotted(dec.func)) and \
                _body_location(dec) in ("", "json", "form", "body", "json_or_form"):
            out += [n for a in dec.args[:1] for n in class_names(a)]
    out += _body_parameters(e)
    for node in walk(e.func):
        if not isinstance(node, ast.Call):
            continue
        last = dotted(node.func).rsplit(".", 1)[-1]
        if e.view and _MIXIN_CALL.match(dotted(node.func)):
            out += _view_serializers(e, classes)  # ``return super().update(request, ...)``
        elif keyword_value(node, "data") is not None:
            if last in ("get_serializer", "serializer_class", "get_serializer_class"):
                out += _view_serializers(e, classes)
            elif last.endswith("Serializer"):
                out.append(last)
        elif _VALIDATE.search(last) and isinstance(node.func, ast.Attribute) and \
                any(_from_request(a, sent) for a in node.args):
            out += [(n, bound.get(id(node), "")) for n in class_names(node.func.value)]
    return out


def _excluded(fn: ast.AST, name: str) -> set[str]:
    """Fields every ``name.model_dump(exclude=...)``/``.dict(exclude=...)`` of the handler
    leaves out (none when one dump excludes nothing)."""
    dumps = [n for n in walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in ("model_dump", "dict") and dotted(n.func.value) == name]
    sets = [{c.value for c in walk(v) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            for v in (keyword_value(d, "exclude") for d in dumps) if v is not None]
    return set.intersection(*sets) if sets and len(sets) == len(dumps) else set()


def _body_location(dec: ast.Call) -> str:
    """webargs' ``location=`` of a body decorator (``""`` when not given)."""
    value = keyword_value(dec, "location")
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else ""


def _instances(ctx: Context) -> dict[str, str]:
    """Module-level schema instances of the whole project (``user_schema = UserSchema()`` in
    ``schemas.py``, imported by the routes)."""
    def build() -> dict[str, str]:
        out: dict[str, str] = {}
        for mod in py_index(ctx):
            # only module-level assignments count: the summary says which modules have one
            # before any text is decompressed
            if mod.has("top:Assign") and ("Schema(" in mod.text or "Serializer(" in mod.text):
                out.update({k: v for k, v in module_instances(mod).items()
                            if v.endswith(("Schema", "Serializer"))})
        return out

    result: dict[str, str] = ctx.memo("product:schema-instances", build)
    return result


def request_shapes(ctx: Context, e: Endpoint) -> list[InputShape]:
    """The input schemas write endpoint ``e`` (POST/PUT/PATCH) validates its body with (empty
    for other methods and when none could be read)."""
    if not _BODY_METHODS & set(e.methods):
        return []
    classes = classes_by_name(ctx)
    instances = {**_instances(ctx), **module_instances(e.module)}
    out: dict[str, InputShape] = {}
    for found in dict.fromkeys(_candidates(e, classes)):
        name, param = found if isinstance(found, tuple) else (found, "")
        hit = resolve_class(instances.get(name, name), e, classes)
        if hit is None or not is_schema(hit[1], classes):
            continue
        shape = input_shape(hit[0], hit[1], classes)
        picked = used_attributes(e.func, param) if param else None
        if shape is not None and picked is not None:  # the handler copies named fields only
            shape = replace(shape, fields=tuple((f, loc) for f, loc in shape.fields
                                                if f in picked))
        elif shape is not None and param:  # ``user_in.model_dump(exclude={"is_superuser"})``
            dropped = _excluded(e.func, param)
            shape = replace(shape, fields=tuple((f, loc) for f, loc in shape.fields
                                                if f not in dropped))
        if shape is not None:
            out.setdefault(shape.loc, shape)
    return list(out.values())


def _library_bases(cls: ast.ClassDef, classes: Classes) -> tuple[list[str], set[str]]:
    """(names of the library classes ``cls`` derives from, the methods its project classes
    define)."""
    library: list[str] = []
    defined: set[str] = set()
    stack, seen = [cls], {cls.name}
    while stack and len(seen) < 20:
        c = stack.pop(0)
        defined.update(n.name for n in c.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
        for b in c.bases:
            name = dotted(b).rsplit(".", 1)[-1]
            parents = [p for _m, p in classes.get(name, []) if p is not c][:1]
            if not parents:
                library.append(name)
            elif name not in seen:
                seen.add(name)
                stack += parents
    return library, defined


def generic_write_views(ctx: Context) -> list[Endpoint]:
    """The write routes of DRF generic views (``CreateAPIView``, ``UpdateAPIView``,
    ``RetrieveUpdateAPIView`` …) whose handlers are DRF's own, which the endpoint model does not
    list (it reads handler methods): one endpoint per method, its handler built as DRF's
    (``self.get_serializer(data=request.data)``) at the class, authenticated by the class's
    permission classes or DRF's default permission."""
    def build() -> list[Endpoint]:
        classes = classes_by_name(ctx)
        plain = {n: hits[0][1] for n, hits in classes.items()}
        out: list[Endpoint] = []
        for mod in py_index(ctx):
            # a module without classes is never decompressed for the word
            for cls in mod.classes if mod.has("classes") and "APIView" in mod.text else []:
                library, defined = _library_bases(cls, classes)
                methods = dict.fromkeys(m for b in library for m in _GENERIC_WRITES.get(b, ()))
                for method in methods:
                    if defined & set(_GENERIC_HANDLERS[method]):
                        continue  # a handler of its own: the endpoint model has it
                    name = _GENERIC_HANDLERS[method][1]
                    func = ast.parse(f"def {name}(self, request):\n    serializer = "
                                     "self.get_serializer(data=request.data)\n").body[0]
                    for n in ast.walk(func):
                        if "lineno" in n._attributes:
                            n.lineno = n.end_lineno = cls.lineno  # type: ignore[attr-defined]
                    assert isinstance(func, ast.FunctionDef)
                    func.name = f"{cls.name}.{name}"
                    out.append(Endpoint("drf", (method,), "", mod, func, cls.lineno,
                                        class_auth(cls, plain, set()), (), view=cls.name,
                                        decorators=(f"<DRF generic {'/'.join(library)}>",)))
        views = {n: hits[0] for n, hits in classes.items()}
        return with_default_auth(out, drf_default_auth(ctx), views) if out else out

    result: list[Endpoint] = ctx.memo("product:generic-write-views", build)
    return result


# ---- who reaches the endpoint -------------------------------------------------------------------

def _admin_text(text: str) -> bool:
    return bool(ADMIN_NAME.search(text)) and not _OWNER_OR_ADMIN.search(text)


def _denies_non_admin(test: ast.expr) -> bool:
    """``not user.is_superuser``, ``user.role != "admin"``, ``"admin" not in user.roles``, and an
    ``or`` of conditions with one of them."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(_denies_non_admin(v) for v in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _admin_text(ast.unparse(test.operand))
    if isinstance(test, ast.Compare) and all(isinstance(o, ast.NotEq | ast.NotIn | ast.IsNot)
                                             for o in test.ops):
        return _admin_text(ast.unparse(test))
    return False


def _body_guard(e: Endpoint) -> str:
    for node in walk(e.func):
        if isinstance(node, ast.If) and _denies_non_admin(node.test) and any(
                isinstance(n, ast.Raise | ast.Return) or
                (isinstance(n, ast.Call) and dotted(n).rsplit(".", 1)[-1] == "abort")
                for s in node.body for n in walk(s)):
            return f"if {ast.unparse(node.test)[:60]}"
    return ""


def _guard_text(dec: ast.expr) -> str:
    """What a decorator says about the caller: a route decorator only through its
    ``dependencies=`` (its path may well contain ``/admin``), another one entirely."""
    if decorator_route(dec) is None or not isinstance(dec, ast.Call):
        return ast.unparse(dec)
    deps = keyword_value(dec, "dependencies")
    return ast.unparse(deps) if deps is not None else ""


def admin_guard(ctx: Context, e: Endpoint) -> str:
    """The evidence that only administrators reach ``e`` (``''`` when none is seen): an admin
    permission class, decorator or dependency (``IsAdminUser``, ``@admin_required``,
    ``Depends(get_current_active_superuser)``, a router's dependencies), a DRF view's
    ``get_permissions`` that names one, or a check in the handler that refuses other callers."""
    texts = [e.auth, *(_guard_text(d) for d in e.func.decorator_list)]
    args = e.func.args
    texts += [ast.unparse(n) for n in (*args.defaults, *args.kw_defaults) if n is not None]
    texts += [ast.unparse(a.annotation) for a in (*args.args, *args.kwonlyargs)
              if a.annotation is not None]
    found = next((t for t in texts if _admin_text(t)), "")
    if found:
        return found[:80]
    if e.view:
        classes = classes_by_name(ctx)
        for _m, cls in classes.get(e.view, [])[:1]:
            perms = next((n for n in cls.body if isinstance(n, ast.FunctionDef)
                          and n.name == "get_permissions"), None)
            if perms is not None and _admin_text(ast.unparse(perms)):
                return f"{e.view}.get_permissions"
    return _body_guard(e)
