"""CFG-170, CFG-171 and CFG-177: who may call a route and what it answers anyone with, read
from the handlers' source across FastAPI, Flask, aiohttp and Django REST framework
(``prodaudit.product.endpoints``, ``prodaudit.product.responses``). The live checks SEC-080–084
probe a running target; these read every route, reachable or not by a crawler."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.endpoints import (
    ADMIN_NAME,
    Endpoint,
    dev_note,
    dotted,
    endpoints,
    global_guard,
)
from prodaudit.product.llm_calls import llm_reach, reaches_llm
from prodaudit.product.pyindex import PyModule, py_index, walk
from prodaudit.product.responses import Shape, response_shapes
from prodaudit.product.textwords import contains_any

#: names of routes that authenticate the caller themselves (login, registration, tokens, resets)
_AUTH_FLOW = re.compile(r"log_?in|log_?out|sign_?(in|up|out)|register|token|password|refresh|"
                        r"reset|verify|callback|webhook|oauth|session", re.I)
_ACCOUNT = re.compile(r"user|account|member|customer|profile", re.I)
_CREDENTIAL_CHECK = re.compile(r"^(check_?password|checkpw|verify_password|authenticate|login|"
                               r"login_user|verify|compare_digest)$", re.I)
_STORE_WRITE = re.compile(
    r"^(add_all|commit|save|delete|create|bulk_create|bulk_update|insert|insert_one|"
    r"insert_many|update_one|update_many|delete_one|delete_many|merge|destroy|flush|hset|"
    r"get_or_create|update_or_create)$|"
    r"^(create|update|delete|insert|remove|save|destroy)_(?!task|engine|client|connection|"
    r"session|default|response|app|cookie)|_(create|update|delete|insert|remove|save|destroy)$",
    re.I)
#: ``.add`` writes when its receiver is a database session or repository, not a set
_SESSION_ADD = re.compile(r"(session|db|conn|repo|crud|uow)\w*\.add$", re.I)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_HEADER_SOURCE = re.compile(r"(request\.(META|headers)|\bheaders)\b")
_PRIVILEGE_WORD = re.compile(r"admin|role|staff|superuser|is_?auth|permission|privilege|"
                             r"user_?id|x-user", re.I)


def _calls(e: Endpoint) -> list[str]:
    return [dotted(n) for n in walk(e.func) if isinstance(n, ast.Call)]


def _auth_flow(e: Endpoint) -> bool:
    """Login, logout, token, password and registration routes (a POST that creates a user or
    account on a collection URL is a sign-up)."""
    names = f"{e.path} {e.func.name} {e.view}"
    if _AUTH_FLOW.search(names):
        return True
    if e.methods == ("POST",) and not e.params and _ACCOUNT.search(names) and \
            any(re.search(r"create|add|save|register", c.rsplit(".", 1)[-1], re.I)
                for c in _calls(e)):
        return True
    return any(_CREDENTIAL_CHECK.search(c.rsplit(".", 1)[-1]) for c in _calls(e))


def _grant(fn: ast.FunctionDef) -> tuple[str, ast.Return] | None:
    """(test, return) of ``if request.method == 'DELETE': return True`` in a permission method:
    a state-changing method allowed without looking at the caller."""
    for node in walk(fn):
        if not isinstance(node, ast.If):
            continue
        test = ast.unparse(node.test)
        if "request.method" not in test or "user" in test or \
                not re.search(r"['\"](POST|PUT|PATCH|DELETE)['\"]", test):
            continue
        ret = node.body[0] if node.body else None
        if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Constant) and \
                ret.value.value is True:
            return test, ret
    return None


def _permission_grants(mod: PyModule) -> list[Finding]:
    """DRF permission classes whose ``has_permission``/``has_object_permission`` return True
    for a state-changing method without looking at the caller (one finding a class)."""
    out: list[Finding] = []
    for cls in mod.classes:
        for fn in cls.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("has_")
                    and fn.name.endswith("permission")):
                continue
            grant = _grant(fn)
            if grant:
                out.append(failed(
                    f"permission class {cls.name}.{fn.name} allows a state-changing method to "
                    f"any caller ({grant[0]}: return True), authenticated or not",
                    location=f"{mod.rel}:{grant[1].lineno}"))
                break
    return out


def _header_authorisation(e: Endpoint) -> list[Finding]:
    """A privilege decided by comparing a request header the client sets
    (``request.META['HTTP_ISADMIN'] == "True"``)."""
    out = []
    for node in walk(e.func):
        if not isinstance(node, ast.Compare):
            continue
        text = ast.unparse(node)
        if _HEADER_SOURCE.search(text) and _PRIVILEGE_WORD.search(text):
            out.append(failed(
                f"{e.label} authorises by a client-supplied request header ({text[:80]}): any "
                "caller can send it", location=f"{e.module.rel}:{node.lineno}"))
            break
    return out


def _unauthenticated(e: Endpoint, protected_elsewhere: str,
                     known: tuple[dict[str, str], dict[str, dict[str, str]]]) -> Finding | None:
    if e.auth:
        return None
    calls = _calls(e)
    llm = reaches_llm(e.func, known[0], known[1].get(e.module.rel))
    if llm:
        return failed(f"{e.label} calls a paid model ({llm}) for anyone: no authentication on "
                      "the route", location=e.loc, evidence=f"{e.framework} route")
    if not e.writes or not protected_elsewhere or _auth_flow(e):
        return None
    write = next((c for c in calls if _STORE_WRITE.search(c.rsplit(".", 1)[-1])
                  or _SESSION_ADD.search(c)), None)
    if write is None:
        return None
    return failed(f"{e.label} changes data ({write}) without authentication, while other routes "
                  f"of the application require it ({protected_elsewhere})", location=e.loc,
                  evidence=f"{e.framework} route")


@check("CFG-170", "Routes that change data or call a paid model require authentication",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.2",),
       references=("CWE-306", "CWE-862", "OWASP API5:2023"), evidence=Evidence.PARSED)
def route_authentication(ctx: Context) -> list[Finding]:
    """Every route handler declared in the code (FastAPI/Starlette, Flask, aiohttp, Django REST
    framework views and the ViewSets a router registers, their inherited ``create``/``update``/
    ``destroy`` actions included) that creates, changes or deletes data requires authentication
    when the application authenticates its other routes: a decorator (``@login_required``,
    ``@authenticate(...)``, ``@permission_classes``), a dependency (``Depends(get_current_user)``,
    router ``dependencies=``), a permission class of the view, of a project base class or of an
    ``@action``, DRF's ``DEFAULT_PERMISSION_CLASSES`` (in the ``REST_FRAMEWORK`` production's
    settings end with, split settings and updates followed) for a view that sets no permission
    classes (a view that sets none or ``AllowAny`` is public),
    ``include_router(..., dependencies=...)``, a ``before_request`` hook or authentication
    middleware guarding every route (a project middleware counts only when it can turn a request
    away — raise, answer a ``*Response``, name a 401/403; one that only attaches the caller to
    ``request.state`` and passes every request on guards nothing), or a check of the caller in
    the body (``user = getattr(request.state, "user", None)`` then ``if not user: raise``
    included). Login, registration,
    token and password routes are exempt, and so are routes registered only where production
    never goes (a router included under ``if settings.ENVIRONMENT == "local":``, URL patterns
    added under ``if settings.DEBUG:``; the PASS names them). A route that calls an LLM (OpenAI, Anthropic,
    Gemini, LangChain, an HTTP request to a provider's API URL) — itself or through the project
    functions it calls (``get_answer(question)`` → ``chain.run(...)``) — fails without
    authentication whatever the other routes do: each call costs money. Permission classes that
    allow a state-changing method to anyone and privileges decided by a request header the
    client sets fail too.

    A handler that forgot its decorator is reachable by anyone who finds its URL; the rest of
    the application's protection then means nothing for its data.

    Remediation: add the application's authentication to the route (the same decorator or
    dependency as its neighbours), or set a deny-by-default policy (DRF
    ``DEFAULT_PERMISSION_CLASSES``, a router-level dependency) and open public routes
    explicitly. Decide privileges from the authenticated user, never from request headers.
    """
    eps = endpoints(ctx)
    out: list[Finding] = []
    for mod in py_index(ctx):
        if contains_any(mod, "has_permission", "has_object_permission"):
            out += _permission_grants(mod)
    if not eps and not out:
        raise Skip("no route handlers found in the code (FastAPI, Flask, aiohttp, Django REST "
                   "framework)")
    guard = global_guard(ctx) if eps else ""
    known = llm_reach(ctx) if eps else ({}, {})
    for e in eps:
        protected = next((o.auth for o in eps if o.auth and o.framework == e.framework), "")
        if guard and not e.auth:
            continue
        found = _unauthenticated(e, protected, known)
        if found:
            out.append(found)
        if e.writes:
            out += _header_authorisation(e)
    if not out:
        out.append(passed(f"{len(eps)} route(s): every state-changing or LLM route "
                          "requires authentication (or the application has none)"
                          f"{dev_note(ctx)}"))
    return out


# ---- CFG-171 -----------------------------------------------------------------------------------

_LOOKUP = re.compile(r"^(get|get_or_404|first_or_404|filter|filter_by|where|get_object_or_404|"
                     r"delete|update|select|execute|objects|one|first|scalar|find_one|find)$|"
                     r"_get$|^get_", re.I)
_CALLER_NAME = re.compile(r"current_user|request\.user|g\.user|auth_user|get_auth_user|"
                          r"\.user\b|user_id_from|owner", re.I)
_OWNER_FIELDS = {"user", "user_id", "owner", "owner_id", "account", "account_id", "created_by",
                 "customer", "customer_id"}
#: fields of published content (posts, comments): readable by every user by design
_PUBLISHED_FIELDS = {"author", "author_id", "published", "is_public", "public", "visibility",
                     "published_at", "is_published"}
_USER_PARAM = re.compile(r"^(user|owner|account|customer)_?(id|pk)?$|^uid$", re.I)


def _owned_models(ctx: Context) -> set[str]:
    """Model classes with an ownership field (``user = ForeignKey(User)``, ``owner_id =
    Column(ForeignKey(...))``, ``user_id: Mapped[int]``) that are not published content (an
    ``author``, ``published`` or ``is_public`` field)."""
    out: set[str] = set()
    for mod in py_index(ctx):
        for cls in mod.classes:
            fields: set[str] = set()
            for node in cls.body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                fields.update(t.id for t in targets if isinstance(t, ast.Name))
            if fields & _OWNER_FIELDS and not fields & _PUBLISHED_FIELDS:
                out.add(cls.name)
    return out


def _lookups(e: Endpoint, param: str) -> list[ast.Call]:
    """Calls whose arguments use the path parameter: ``Model.objects.get(pk=p)``,
    ``session.get(Model, p)``, ``query(...).filter(Model.user_id == p)``."""
    out = []
    for node in walk(e.func):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node).rsplit(".", 1)[-1]
        if not _LOOKUP.search(name):
            continue
        args = list(node.args) + [k.value for k in node.keywords]
        if any(isinstance(n, ast.Name) and n.id == param for a in args for n in walk(a)):
            out.append(node)
    return out


def _object_access(e: Endpoint, owned: set[str]) -> Finding | None:
    if not e.auth or ADMIN_NAME.search(e.auth) or e.auth.startswith("if ") or _auth_flow(e):
        return None
    # the authenticated user is compared or used to scope the query somewhere in the handler
    if _CALLER_NAME.search("\n".join(ast.unparse(s) for s in e.func.body)):
        return None
    for param in e.params:
        for call in _lookups(e, param):
            text = ast.unparse(call)
            models = set(re.findall(r"\b([A-Z]\w+)\b", text))
            if models and (e.writes or _USER_PARAM.search(param) or models & owned):
                return failed(
                    f"{e.label} looks up {text[:70]} by the client's {param!r} without comparing "
                    "it to the authenticated user: any user reaches any other user's object",
                    location=f"{e.module.rel}:{call.lineno}",
                    evidence=f"{e.framework} route at {e.loc}; authentication: {e.auth}")
    return None


@check("CFG-171", "Routes that fetch an object by an id from the URL check its owner",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.3",),
       references=("CWE-639", "OWASP API1:2023"), evidence=Evidence.PARSED)
def object_ownership(ctx: Context) -> list[Finding]:
    """Authenticated route handlers (FastAPI/Starlette, Flask, aiohttp, Django REST framework)
    that look an object up by an id taken from the URL compare it with the authenticated user
    (``current_user``, ``request.user``, ``g.user``, a user dependency) or scope the query to
    that user. A router-registered DRF ViewSet's inherited retrieve/update/destroy routes look
    the object up in the class's ``queryset`` (or what its ``get_queryset`` returns); DRF's
    ``DEFAULT_PERMISSION_CLASSES`` authenticates a view that sets no permission classes. Judged
    when the route changes the object (POST/PUT/PATCH/DELETE), when the id is
    a user's (``/users/<user_id>/notes``), or when the object's model has an owner field
    (``user``, ``owner_id``, ``account``…). Administrator-only routes are exempt, and so are
    routes registered only outside production (``if settings.DEBUG:``; the PASS names them).

    Authentication says who the caller is, not which objects are theirs: without the
    comparison, changing the number in the URL reads or deletes another user's data (broken
    object-level authorisation, the first risk of the OWASP API Top 10).

    Remediation: scope the lookup to the caller (``Note.query.filter_by(id=note_id,
    user_id=current_user.id)``, ``get_object_or_404(ScoreCard, pk=pk, user=request.user)``) or
    answer 403/404 when the object's owner is not the caller.
    """
    eps = [e for e in endpoints(ctx) if e.params]
    if not eps:
        raise Skip("no route handler takes an id from its URL")
    owned = _owned_models(ctx)
    out = [f for f in (_object_access(e, owned) for e in eps) if f is not None]
    if not out:
        out.append(passed(f"{len(eps)} route(s) with URL ids: each authenticated lookup is "
                          "scoped to the caller, administrative, or of a public object"
                          f"{dev_note(ctx)}"))
    return out


# ---- CFG-177 -----------------------------------------------------------------------------------

#: fields that grant or describe privileges, and credentials
_PRIVILEGE_FIELD = re.compile(r"^(is_?)?(admin|staff|superuser|super_?admin|superadmin|moderator|"
                              r"root)$|^(roles?|user_?roles?|permissions?|user_permissions|"
                              r"privileges?|scopes?|access_level|groups)$", re.I)
_CREDENTIAL_FIELD = re.compile(r"^(password|passwd|pwd|pass)(_?(hash|hashed|digest|salt))?$|"
                               r"^(hashed|encrypted)_?password$|^salt$|^(api_?key|secret|"
                               r"secret_key|(access|refresh|reset|auth|session)_?token|token|"
                               r"(otp|totp|mfa)_?secret)$", re.I)
_USER_RECORD = re.compile(r"user|account|member|customer|profile|person|employee|admin|staff",
                          re.I)
_IDENTITY_FIELDS = {"email", "username", "user_name", "login", "email_address"}


#: calls that sign a session or access token for the identity they are given
_MINT = re.compile(r"^(create|issue|generate|make|sign|encode|mint)_?(access_|refresh_|auth_|"
                   r"jwt_|login_|session_)?(token|jwt)s?$|^for_user$", re.I)


def _constant_dict(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Dict) and bool(node.keys) and all(
        isinstance(v, ast.Constant) for v in [*node.keys, *node.values])


def _fixed_identity_token(e: Endpoint) -> Finding | None:
    """A handler that signs a token for an identity written in its code (``user_data = {"id":
    1, "username": "demo"}; create_access_token(user_data)``, ``jwt.encode({"sub": "admin"},
    ...)``): whoever calls the route gets that user's credential without proving anything."""
    literals = {t.id: node.value for node in walk(e.func) if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    for node in walk(e.func):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = dotted(node)
        if not (_MINT.search(name.rsplit(".", 1)[-1]) or name in ("jwt.encode", "jose.jwt.encode")):
            continue
        arg = node.args[0]
        data = literals.get(arg.id) if isinstance(arg, ast.Name) else arg
        if data is not None and _constant_dict(data):
            return failed(
                f"{e.label} answers anyone with a token it signs for a fixed identity "
                f"({ast.unparse(data)[:70]}): no credential is checked, the caller becomes "
                "that user", location=f"{e.module.rel}:{node.lineno}",
                evidence=f"{e.framework} route at {e.loc}; {name}()")
    return None


def _user_like(shape: Shape) -> bool:
    names = {f.lower() for f, _ in shape.fields}
    return bool(_USER_RECORD.search(f"{shape.name} {shape.model}") or names & _IDENTITY_FIELDS)


def _exposed(shape: Shape) -> list[str]:
    return [f for f, _ in shape.fields if _PRIVILEGE_FIELD.search(f) or _CREDENTIAL_FIELD.search(f)]


@check("CFG-177", "Public routes do not answer with users' privileges or credentials",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.2",),
       references=("CWE-213", "CWE-359", "OWASP API3:2023"), evidence=Evidence.PARSED)
def public_record_fields(ctx: Context) -> list[Finding]:
    """A route anyone may call with GET (no authentication on the route, no DRF
    ``DEFAULT_PERMISSION_CLASSES``, no global guard — the same decision as CFG-170) does not
    answer with a schema of user-like records (the schema's or its model's name says user,
    account, member, profile…, or it has an ``email``/``username`` field) that lists a privilege
    field (``is_admin``, ``is_staff``, ``is_superuser``, ``role(s)``, ``permissions``,
    ``groups``, ``scopes``) or a credential (``password``, ``password_hash``, ``salt``,
    ``api_key``, ``*_token``, ``otp_secret``). The schema is what the product model reads of the
    handler (``prodaudit.product.responses``): DRF serializers (``Meta.fields``, ``"__all__"``
    over the project's model, ``write_only`` and ``extra_kwargs`` left out), FastAPI
    ``response_model`` and return annotations (pydantic, ``exclude=True`` left out),
    marshmallow schemas (``load_only`` left out). Login, token and OAuth callback routes are
    exempt (they answer the caller about themselves), and so are routes registered only outside
    production (``if settings.ENVIRONMENT == "local":``; the PASS names them). The finding
    points at the route, and names the schema and the fields. A public route of any method
    (token routes included) that signs a token for an identity written in its code
    (``create_access_token({"id": 1, "username": "demo_user"})``, ``jwt.encode({"sub":
    "admin"}, ...)``, the dictionary possibly bound to a name first) fails too, at the call: it
    hands that user's credential to whoever calls it. An authentication middleware counts as
    a guard only when it can turn a request away (the same decision as CFG-170).

    A public list of accounts with their admin flag tells an attacker whom to phish; a password
    hash or token in a public response is a credential handed out (excessive data exposure,
    OWASP API3).

    Remediation: require authentication on the route, or answer with a schema without the
    privilege and credential fields (a separate public serializer / response model).
    """
    eps = endpoints(ctx)
    if not eps:
        raise Skip("no route handlers found in the code (FastAPI, Flask, aiohttp, Django REST "
                   "framework)")
    guard = global_guard(ctx)
    out: list[Finding] = []
    judged = public = 0
    for e in eps:
        minted = None if e.auth or guard else _fixed_identity_token(e)
        if minted:
            out.append(minted)
        if e.auth or guard or "GET" not in e.methods or _auth_flow(e):
            continue
        public += 1
        for shape in response_shapes(ctx, e):
            judged += 1
            exposed = _exposed(shape) if _user_like(shape) else []
            if exposed:
                out.append(failed(
                    f"{e.label} answers anyone (no authentication) with {shape.kind} "
                    f"{shape.name} ({shape.loc}) of user records, including "
                    f"{', '.join(exposed[:6])}", location=e.loc,
                    evidence=f"{e.framework} route; fields: "
                             f"{', '.join(f for f, _ in shape.fields)[:200]}"))
    if not out and public and not judged:
        raise Skip(f"{public} public GET route(s), none with a response schema the product model "
                   "reads (DRF serializer, response_model, marshmallow schema)")
    if not out:
        out.append(passed(f"{len(eps)} route(s), {public} public GET route(s), {judged} response "
                          "schema(s) read: none answers anyone with users' privileges or "
                          f"credentials{dev_note(ctx)}"))
    return out
