"""CFG-034: interactive API documentation in production — FastAPI's ``/docs`` and ``/redoc``,
Flask extensions that serve a docs UI (APIFairy, flasgger, flask-smorest, flask-restx), and
Django REST framework schema UIs (drf-spectacular, drf-yasg) routed in ``urls.py``."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.effective import candidate_names, effective
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


def _fastapi_docs(module: PyModule) -> list[tuple[int, str, str]]:
    """(line, state, detail) for each ``FastAPI(...)`` call: disabled | conditional | default."""
    out = []
    for node in module.calls if contains(module, "FastAPI") else []:
        if ast.unparse(node.func).split(".")[-1] != "FastAPI":
            continue
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        if any(k.arg is None for k in node.keywords):
            out.append((node.lineno, "conditional", "FastAPI(**kwargs)"))
            continue
        states = []
        for key in ("docs_url", "redoc_url"):
            v = kws.get(key)
            if v is None:
                states.append("default")
            elif isinstance(v, ast.Constant):
                states.append("disabled" if v.value is None else "default")
            else:
                states.append("conditional")
        state = "default" if "default" in states else (
            "conditional" if "conditional" in states else "disabled")
        out.append((node.lineno, state, ast.unparse(node)[:200]))
    return out


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
    profile; no Flask docs extension is attached unconditionally (APIFairy's ``/docs``,
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
    for module in py_index(ctx):
        rel = module.rel
        for line, state, detail in _fastapi_docs(module):
            apps += 1
            if state == "default":
                out.append(_docs_finding(policy, "FastAPI app keeps the default docs_url/"
                                         "redoc_url: /docs and /redoc are public",
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
