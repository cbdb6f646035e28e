"""CFG-034: interactive API documentation in production — FastAPI's ``/docs`` and ``/redoc``,
Flask extensions that serve a docs UI (APIFairy, flasgger, flask-smorest, flask-restx), and
Django REST framework schema UIs (drf-spectacular, drf-yasg) routed in ``urls.py``."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.effective import candidate_names, deployment_sets, effective
from prodaudit.product.pyindex import PyModule, py_index
from prodaudit.product.pysettings import settings_model
from prodaudit.product.pyvalues import UNKNOWN
from prodaudit.product.textwords import contains

DOCS_VAR_RE = re.compile(r"^(DOCS_ENABLED|ENABLE_DOCS|SHOW_DOCS|EXPOSE_DOCS|API_DOCS|"
                         r"OPENAPI_ENABLED|ENABLE_OPENAPI|SWAGGER_ENABLED)$")
TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
#: Flask extensions that serve a documentation UI, and the setting that moves or disables it
FLASK_DOCS = {"APIFairy": "APIFAIRY_UI_PATH", "Swagger": "SWAGGER", "Flasgger": "SWAGGER",
              "Api": "OPENAPI_SWAGGER_UI_PATH"}
#: Django REST framework views that serve a documentation UI when routed
DRF_DOCS_VIEWS = frozenset({"SpectacularSwaggerView", "SpectacularRedocView", "get_schema_view",
                            "schema_view", "SwaggerUIRenderer", "get_swagger_view"})


def _fastapi_docs(ctx: Context, module: PyModule) -> list[tuple[int, str, str, str]]:
    """(line, state, detail, note) for each ``FastAPI(...)`` call: disabled | conditional | default |
    unresolved. ``**kwargs`` is read from the dict literal it names (a local ``dict``, or the
    ``return {...}`` of the function or property it calls); a value read from a settings field
    (``settings.docs_url``) takes the field's default unless the deployment sets its variable."""
    out = []
    for node in module.calls if contains(module, "FastAPI") else []:
        if ast.unparse(node.func).split(".")[-1] != "FastAPI":
            continue
        kws: dict[str, ast.expr] = {}
        unresolved = []
        for k in node.keywords:
            if k.arg:
                kws[k.arg] = k.value
                continue
            spread = _kwargs_dict(ctx, module, k.value)
            if spread is None:
                unresolved.append(f"**{ast.unparse(k.value)}")
            else:
                kws.update(spread)
        states, notes = [], []
        for key in ("docs_url", "redoc_url"):
            state, note = ("unresolved", "") if unresolved and key not in kws else \
                _docs_state(ctx, kws.get(key), key)
            states.append(state)
            notes += [note] if note else []
        openapi = _docs_state(ctx, kws["openapi_url"], "openapi_url")[0] \
            if "openapi_url" in kws else ""
        if openapi == "disabled":
            state = "disabled"  # no schema, no docs page
        else:
            state = next(s for s in ("default", "unresolved", "conditional", "disabled")
                         if s in states or s == "disabled")
        if state == "unresolved":
            notes.append(f"{', '.join(unresolved)} not resolved")
        out.append((node.lineno, state, ast.unparse(node)[:200], "; ".join(notes)))
    return out


def _kwargs_dict(ctx: Context, module: PyModule, expr: ast.expr) -> dict[str, ast.expr] | None:
    """The string-keyed entries of the dict literal ``**expr`` spreads: a name bound to a dict
    in the module, or the single ``return {...}`` of the function/property ``expr`` names."""
    def entries(d: ast.expr | None) -> dict[str, ast.expr] | None:
        if not isinstance(d, ast.Dict) or None in d.keys:
            return None
        keys = [k.value if isinstance(k, ast.Constant) else None for k in d.keys]
        if not all(isinstance(k, str) for k in keys):
            return None
        return dict(zip([str(k) for k in keys], d.values, strict=True))

    target = expr.func if isinstance(expr, ast.Call) else expr
    if isinstance(target, ast.Name) and not isinstance(expr, ast.Call):
        bound = [a.value for a in module.assigns if isinstance(a, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == target.id for t in a.targets)]
        return entries(bound[0]) if len(bound) == 1 else None
    name = target.attr if isinstance(target, ast.Attribute) else (
        target.id if isinstance(target, ast.Name) else "")
    found = []
    for mod in py_index(ctx) if name else []:
        if name not in mod.text:
            continue
        for fn in mod.functions:
            returns = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return)]
            if fn.name == name and len(returns) == 1:
                found.append(entries(returns[0]))
    return found[0] if len(found) == 1 else None


def _docs_state(ctx: Context, value: ast.expr | None, key: str) -> tuple[str, str]:
    """(state, note) of one docs keyword's value: a literal, or a settings field read as
    ``<obj>.<field>`` whose default (or deployed variable) decides."""
    if value is None:
        return "default", ""
    if isinstance(value, ast.Constant):
        return ("disabled" if value.value in (None, "") else "default"), ""
    if not isinstance(value, ast.Attribute):
        return "conditional", ""
    fields = [s for s in settings_model(ctx).named(value.attr)
              if s.scope.startswith("class ") and not s.dev]
    if not fields:
        return "conditional", ""
    deployed = [v for s in fields if s.env for v in deployment_sets(ctx, s.env)]
    if deployed:
        off = all(not v.value.strip().strip("\"'") for v in deployed)
        return ("disabled" if off else "default"), \
            f"{key} from {deployed[0].source} {deployed[0].location}"
    if any(s.value is UNKNOWN for s in fields):
        return "conditional", ""
    public = [s for s in fields if isinstance(s.value, str) and s.value]
    if public:
        return "default", f"{key} = {public[0].value!r} by default ({public[0].loc})"
    return "disabled", ""


def _flask_docs(module: PyModule) -> list[tuple[int, str, str]]:
    """``APIFairy(app)`` / ``apifairy.init_app(app)``, flasgger ``Swagger(app)``, flask-smorest
    ``Api(app)``: (line, extension, detail) where the UI is attached to the app."""
    bound: dict[str, str] = {}  # variable -> extension class
    imported = {a.asname or a.name for n in module.imports if isinstance(n, ast.ImportFrom)
                and (n.module or "").split(".")[0] in ("apifairy", "flasgger", "flask_smorest",
                                                       "flask_restx")
                for a in n.names}
    if not imported:
        return []
    out = []
    for node in module.assigns:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            cls = ast.unparse(node.value.func).split(".")[-1]
            if cls in FLASK_DOCS and cls in imported:
                bound.update({t.id: cls for t in node.targets if isinstance(t, ast.Name)})
    for call in module.calls:
        func = call.func
        cls = ast.unparse(func).split(".")[-1]
        if cls in FLASK_DOCS and cls in imported and call.args:
            out.append((call.lineno, cls, ast.unparse(call)[:120]))
        elif isinstance(func, ast.Attribute) and func.attr == "init_app" \
                and isinstance(func.value, ast.Name) and func.value.id in bound:
            out.append((call.lineno, bound[func.value.id], ast.unparse(call)[:120]))
    return out


def _drf_docs(module: PyModule) -> list[tuple[int, str, str]]:
    if not module.rel.endswith("urls.py"):
        return []
    out = []
    for node in module.calls:
        if ast.unparse(node.func).split(".")[-1] in ("path", "re_path", "url"):
            text = ast.unparse(node)
            view = next((v for v in DRF_DOCS_VIEWS if v in text), None)
            if view:
                out.append((node.lineno, view, text[:120]))
    return out


def _flask_ui_disabled(ctx: Context, setting: str) -> bool:
    return any(s.name == setting and s.value in (None, False) and s.value is not UNKNOWN
               and not s.dev for s in settings_model(ctx).settings)


@check("CFG-034", "Interactive API docs are not exposed in production", severity=Severity.MEDIUM,
       needs=("repo",), references=("OWASP API9:2023",),
       evidence=Evidence.PARSED)
def docs_exposure(ctx: Context) -> list[Finding]:
    """``FastAPI(...)`` disables ``/docs`` and ``/redoc`` (``docs_url=None``) or ties them to a
    setting, and that setting (``DOCS_ENABLED``, ``ENABLE_DOCS`` ...) is off in the production
    profile. ``FastAPI(**kwargs)`` is read through the dict it spreads (a local dict, or the
    ``return {...}`` of the function or property it calls); a docs argument read from a settings
    field (``settings.docs_url``) is judged by the variable the deployment sets for it, else by
    the field's default (``docs_url: str = "/docs"`` is public); ``openapi_url=None`` disables
    both pages; a ``**kwargs`` that cannot be resolved leaves the check at SKIP, not PASS;
    no Flask docs extension is attached unconditionally (APIFairy's ``/docs``,
    flasgger's ``/apidocs``, flask-smorest's Swagger UI — unless its UI path setting is
    ``None``); no Django REST framework docs view (drf-spectacular, drf-yasg) is routed.
    ``exposure.docs_in_production`` = ``warn`` (default), ``fail`` or ``allow``.

    Public interactive docs hand attackers a complete, clickable map of the API including admin
    and debug routes; for a public API they may be intended, hence the policy setting.

    Remediation: ``FastAPI(docs_url="/docs" if settings.docs_enabled else None, redoc_url=...)``
    with ``DOCS_ENABLED=false`` in production (Flask: attach the extension only when a setting
    allows it, or set its UI path to ``None``), or protect the docs behind authentication.
    """
    if ctx.cfg.profile == "development":
        raise Skip("development profile: production settings not applicable")
    policy = ctx.cfg.exposure.docs_in_production
    out: list[Finding] = []
    apps = 0
    unresolved: list[str] = []
    for module in py_index(ctx):
        rel = module.rel
        for line, state, detail, note in _fastapi_docs(ctx, module):
            if state == "unresolved":
                unresolved.append(f"{rel}:{line}")
                continue
            apps += 1
            if state == "default":
                out.append(_docs_finding(policy, "FastAPI app serves its interactive docs in "
                                         "production: " + (note or "default docs_url/redoc_url,"
                                                           " /docs and /redoc are public"),
                                         f"{rel}:{line}", detail))
        for line, ext, detail in _flask_docs(module):
            apps += 1
            if not _flask_ui_disabled(ctx, FLASK_DOCS[ext]):
                out.append(_docs_finding(policy, f"{ext} serves its interactive docs UI in "
                                         "every environment", f"{rel}:{line}", detail))
        for line, view, detail in _drf_docs(module):
            apps += 1
            out.append(_docs_finding(policy, f"{view} routes an interactive docs UI",
                                     f"{rel}:{line}", detail))
    flags = []
    for name in sorted(n for n in candidate_names(ctx) if DOCS_VAR_RE.match(n)):
        for val in effective(ctx, name):
            flags.append(f"{name}={val.value} ({val.source})")
            if val.value.strip().strip("\"'").lower() in TRUE:
                out.append(_docs_finding(policy, f"{name} is on ({val.source}): /docs is public",
                                         val.location))
    if unresolved and not out and policy != "allow":
        raise Skip(f"FastAPI(**kwargs) at {', '.join(unresolved)}: the docs_url/redoc_url it "
                   "passes could not be resolved statically")
    if not apps and not flags:
        raise Skip("no FastAPI application, Flask docs extension, DRF docs view or docs setting "
                   "found")
    if policy == "allow":
        return [passed(f"exposure.docs_in_production = allow; {apps} docs source(s), "
                       f"settings: {', '.join(flags) or '-'}")]
    if not out:
        out.append(passed(f"{apps} app(s)/docs extension(s) disable or gate their docs; "
                          f"settings: {', '.join(flags) or '-'}"))
    return out


def _docs_finding(policy: str, message: str, location: str, evidence: str = "") -> Finding:
    if policy == "fail":
        return failed(message, location=location, evidence=evidence)
    return warned(message, location=location, evidence=evidence)
