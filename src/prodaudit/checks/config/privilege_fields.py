"""CFG-179: request schemas that let a client write its own privileges (``is_staff``,
``is_superuser``, ``role``, ``groups`` …) on a route that is not reserved to administrators,
read from the code: DRF serializers, FastAPI/pydantic request models and marshmallow schemas
(``prodaudit.product.request_schemas``)."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.endpoints import Endpoint, endpoints
from prodaudit.product.request_schemas import (
    InputShape,
    admin_guard,
    generic_write_views,
    request_shapes,
)

#: fields that grant privileges, and verification flags that grant trust
_PRIVILEGE_FIELD = re.compile(
    r"^(is_?)?(admin|staff|superuser|super_?admin|moderator|root)$|"
    r"^(roles?|user_?roles?|role_?ids?|permissions?|user_permissions|privileges?|groups|"
    r"group_?ids|scopes|access_level)$|"
    r"^(is_?)?(email_?)?verified$|^is_email_verified$", re.I)
#: schemas of user-like records: the schema's or its model's name, or an identity field
_USER_RECORD = re.compile(r"user|account|member|customer|profile|person|employee|admin|staff|"
                          r"signup|sign_up|register|invit", re.I)
_IDENTITY_FIELDS = {"email", "username", "user_name", "login", "email_address", "password"}


def _user_like(shape: InputShape) -> bool:
    names = {f.lower() for f, _ in shape.fields}
    return bool(_USER_RECORD.search(f"{shape.name} {shape.model}") or names & _IDENTITY_FIELDS)


def _leaks(shape: InputShape) -> list[tuple[str, str]]:
    return [(f, loc) for f, loc in shape.fields if _PRIVILEGE_FIELD.search(f)] \
        if _user_like(shape) else []


def _who(e: Endpoint) -> str:
    return f"any caller authenticated by {e.auth}" if e.auth else "anyone (no authentication)"


@check("CFG-179", "Request schemas do not let clients write privilege fields",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.3",),
       references=("CWE-915", "CWE-269", "OWASP API3:2023"), evidence=Evidence.PARSED)
def writable_privilege_fields(ctx: Context) -> list[Finding]:
    """The schema a write route (POST/PUT/PATCH) validates its body with does not let the client
    set a privilege field of a user-like record — ``is_staff``, ``is_superuser``, ``is_admin``,
    ``role(s)``, ``groups``, ``user_permissions``, ``permissions``, ``scopes`` — or a
    verification flag (``is_verified``, ``email_verified``), unless only administrators reach
    the route. The schemas are what the product model reads of each handler
    (``prodaudit.product.request_schemas``): Django REST framework serializers built with
    ``data=`` in a handler, DRF's own create/update of a router's ViewSet or of a generic view
    (``CreateAPIView``, ``UpdateAPIView``…) and ``super().update(...)`` (the view's
    ``serializer_class``, or what ``get_serializer_class`` returns outside a branch for
    administrators; ``Meta.fields``, ``"__all__"`` and ``exclude`` over the project's model,
    declared fields; a field listed in ``read_only_fields`` (``= fields`` too), marked
    ``read_only`` in ``extra_kwargs`` or declared ``read_only=True`` is not writable), FastAPI
    body parameters (pydantic/SQLModel classes; a ``Literal`` without a privileged value is not
    a privilege), marshmallow schemas loaded from the request (``schema.load(request.json)``,
    ``@body``/``@arguments``/``@use_args``; ``dump_only`` left out). Not written: a field the
    schema's own code deals with (a validator names it, ``validate``/``create`` pops it), the
    fields of a serializer whose own ``create``/``update`` picks what it saves, and those the
    handler never copies out of a body it reads field by field (``user_in.email``,
    ``data["email"]``) or leaves out of every ``model_dump(exclude=...)``. A schema is user-like
    when its or its model's name says user, account, member, profile, sign-up… or it has an
    ``email``/``username``/``password`` field (a chat message's ``role`` is not a privilege).
    Administrators only: an admin permission, decorator or dependency (``IsAdminUser``,
    ``@admin_required``, ``Depends(get_current_active_superuser)``, the router's dependencies),
    a DRF ``get_permissions`` naming one, or an ``if`` in the handler that refuses
    non-administrators (``if not user.is_superuser: raise``); an owner-or-admin permission is
    not. ``is_active`` is account status, not privilege (an inactive account cannot log in to
    set it), and is not judged.

    A separate check from CFG-174, which judges request data bound wholesale onto a model: here
    the binding is declared — the schema lists the field, so the framework writes it — and the
    fix is in the schema, not in the handler.

    Every user who can call the route makes themselves staff, superuser or admin with one
    extra JSON key (mass assignment, OWASP API3:2023 broken object property level
    authorization).

    The finding points at the line that makes the field writable (the ``Meta.fields`` entry,
    ``fields = "__all__"``, the annotated model field) and names the routes that write it.

    Remediation: list the field in ``read_only_fields`` (DRF), drop it from the request model
    used by non-admin routes (a separate ``UserUpdateMe`` without it), mark it
    ``dump_only=True`` (marshmallow), or restrict the route to administrators.
    """
    eps = [e for e in endpoints(ctx) + generic_write_views(ctx)
           if {"POST", "PUT", "PATCH"} & set(e.methods)]
    if not eps:
        raise Skip("no write route (POST/PUT/PATCH) found in the code (FastAPI, Flask, aiohttp, "
                   "Django REST framework)")
    judged = admin = 0
    leaks: dict[str, tuple[InputShape, list[str], list[str], list[str]]] = {}
    for e in eps:
        shapes = request_shapes(ctx, e)
        judged += len(shapes)
        guard = admin_guard(ctx, e) if shapes else ""
        admin += bool(guard)
        for shape in [] if guard else shapes:
            for field, loc in _leaks(shape):
                _s, fields, routes, who = leaks.setdefault(loc, (shape, [], [], []))
                for seen, item in ((fields, field), (routes, e.label), (who, _who(e))):
                    seen += [item] if item not in seen else []
    if not judged:
        raise Skip(f"{len(eps)} write route(s), none with a request schema the product model "
                   "reads (DRF serializer with data=, FastAPI body model, marshmallow schema)")
    out = [failed(f"{shape.kind} {shape.name} ({shape.loc}) lets the client write "
                  f"{', '.join(fields)} through {', '.join(routes[:4])}"
                  f"{f' and {len(routes) - 4} more' if len(routes) > 4 else ''}, open to "
                  f"{'; '.join(who)}: a caller makes itself privileged with one extra key",
                  location=loc, evidence=f"writable fields of {shape.name}: "
                  f"{', '.join(f for f, _ in shape.fields)[:200]}")
           for loc, (shape, fields, routes, who) in sorted(leaks.items())]
    if not out:
        out.append(passed(f"{len(eps)} write route(s), {judged} request schema(s) read "
                          f"({admin} route(s) for administrators only): no schema lets a "
                          "non-administrator write a privilege field"))
    return out
