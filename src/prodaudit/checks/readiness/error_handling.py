"""RDY-002: exception handlers of the backend, read statically (``ast``)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._backend import (
    app_calls,
    backend_modules,
    broken_sources,
    web_modules,
)
from prodaudit.checks.readiness._scan import PyModule, call_name, imports_any

_STARTUP_MODULE = re.compile(r"(settings|config|bootstrap|cli|manage|__main__)\.py$")


# ---- RDY-002 exception handlers ---------------------------------------------------------------

_CATCH_ALL = {"Exception", "BaseException"}


def _exc_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"BaseException"}  # bare except
    if isinstance(node, ast.Tuple):
        return {call_name(e).split(".")[-1] for e in node.elts}
    return {call_name(node).split(".")[-1]}


#: registrations of an exception handler: FastAPI/Starlette, Flask (app and blueprint)
_REGISTER = ("exception_handler", "add_exception_handler", "errorhandler", "app_errorhandler",
             "register_error_handler")
#: what DRF's exception handler maps to answers by itself
_DRF_HANDLED = {"APIException", "Http404", "PermissionDenied", "ValidationError", "NotFound"}


def _handled_arg(node: ast.expr) -> set[str]:
    """Exception classes a handler registration covers; a Flask handler for 500 catches every
    unhandled exception (Flask calls it with an InternalServerError)."""
    if isinstance(node, ast.Constant) and node.value == 500:
        return {"Exception"}
    names = _exc_names(node)
    return names | ({"Exception"} if "InternalServerError" in names else set())


def _handlers(mods: list[PyModule]) -> tuple[set[str], list[str], set[str]]:
    """(exception classes with a handler, handler locations, middleware classes added)."""
    handled: set[str] = set()
    handler_locs: list[str] = []
    middleware_added: set[str] = set()
    for m in mods:
        for n in ast.walk(m.tree):
            if not isinstance(n, ast.Call):
                continue
            name = call_name(n).split(".")[-1]
            if name in _REGISTER and n.args:
                handled |= _handled_arg(n.args[0])
                if imports_any(m, "flask") and "HTTPException" in _exc_names(n.args[0]):
                    handled.add("Exception")  # Flask wraps unhandled errors in InternalServerError
                handler_locs.append(m.line(n))
            elif name == "add_middleware" and n.args or name == "Middleware" and n.args:
                middleware_added.add(call_name(n.args[0]).split(".")[-1])
    return handled, handler_locs, middleware_added


def _django_handlers(mods: list[PyModule]) -> tuple[set[str], list[str]]:
    """Django: DRF's ``EXCEPTION_HANDLER`` (what DRF handles plus the classes its function tests
    with ``isinstance``), ``handler500`` and middleware with ``process_exception`` (catch-alls)."""
    handled: set[str] = set()
    locs: list[str] = []
    names = {m.group(1) for mod in mods for m in re.finditer(
        r"[\"']EXCEPTION_HANDLER[\"']\s*:\s*[\"'][\w.]*\.(\w+)[\"']", mod.text)}
    for mod in mods:
        for n in ast.walk(mod.tree):
            if isinstance(n, ast.FunctionDef) and (n.name in names or n.name == "process_exception"):
                handled |= _DRF_HANDLED if n.name in names else {"Exception"}
                handled |= {c for i in ast.walk(n) if isinstance(i, ast.Call)
                            and call_name(i) == "isinstance" and len(i.args) == 2
                            for c in _exc_names(i.args[1]) if c[:1].isupper()}
                locs.append(mod.line(n))
            elif isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "handler500"
                                                   for t in n.targets):
                handled.add("Exception")
                locs.append(mod.line(n))
    settings = [mod for mod in mods if re.search(r"^INSTALLED_APPS\s*=", mod.text, re.M)]
    debug_on = [mod for mod in settings if re.search(r"^DEBUG\s*=\s*True\b", mod.text, re.M)]
    if settings and not debug_on:
        # Django answers an unhandled exception with its default handler500 (a generic page,
        # logged by django.request) unless DEBUG shows the traceback page
        handled.add("Exception")
        locs.append(f"{settings[0].rel} (Django's default handler500)")
    return handled, locs


def _web_modules(ctx: Context) -> list[PyModule]:
    """Modules of a FastAPI/Starlette app, else of a Flask or Django backend."""
    try:
        return web_modules(ctx)
    except Skip:
        mods = [m for m in backend_modules(ctx)
                if imports_any(m, "flask", "django", "rest_framework")]
        if not mods:
            raise
        return mods


def _catching_middleware(ctx: Context, middleware_added: set[str]) -> list[str]:
    """Middleware classes the app adds whose ``__call__``/``dispatch`` catches Exception."""
    catching_mw: list[str] = []
    for m in backend_modules(ctx):
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            if cls.name not in middleware_added:
                continue
            for fn in cls.body:
                if (
                    isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                    and fn.name in ("__call__", "dispatch")
                    and any(
                        isinstance(h, ast.ExceptHandler) and _exc_names(h.type) & _CATCH_ALL
                        for h in ast.walk(fn)
                    )
                ):
                    catching_mw.append(f"{cls.name} ({m.line(cls)})")
    return catching_mw


def _app_exceptions(ctx: Context) -> tuple[dict[str, tuple[list[str], str]], dict[str, str], set[str]]:
    """The app's own exception classes (bases, location), where each is raised, what is caught."""
    # the app's own exception classes, their bases, where they are raised and caught
    classes: dict[str, tuple[list[str], str]] = {}
    raised: dict[str, str] = {}
    caught: set[str] = set()
    for m in backend_modules(ctx):
        startup = bool(_STARTUP_MODULE.search(m.rel))
        for n in ast.walk(m.tree):
            if isinstance(n, ast.ClassDef):
                bases = [call_name(b).split(".")[-1] for b in n.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    classes[n.name] = (bases, m.line(n))
            elif isinstance(n, ast.Raise) and n.exc is not None and not startup:
                name = call_name(n.exc).split(".")[-1]
                raised.setdefault(name, m.line(n))
            elif isinstance(n, ast.ExceptHandler):
                caught |= _exc_names(n.type)
    return classes, raised, caught


def _app_location(ctx: Context, mods: list[PyModule]) -> str:
    """Where the application object is created (``app = FastAPI()``), where a catch-all handler
    belongs; the first web module when no creation is seen."""
    apps = app_calls(ctx)
    return apps[0][0].line(apps[0][1]) if apps else mods[0].rel


@check(
    "RDY-002",
    "Exception handlers cover the app's errors and unhandled exceptions",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.2",),
    references=("CWE-209", "CWE-755"),
    evidence=Evidence.PARSED,
)
def exception_handlers(ctx: Context) -> list[Finding]:
    """The application registers exception handlers (``@app.exception_handler`` /
    ``add_exception_handler``; Flask ``errorhandler``/``app_errorhandler``/
    ``register_error_handler``; Django REST framework's ``EXCEPTION_HANDLER``) for its own
    exception classes and a catch-all for unhandled exceptions (a handler for ``Exception``, a
    Flask handler for 500, Django's ``handler500`` or ``process_exception`` middleware, or an
    error middleware that catches ``Exception``).

    Without a catch-all, an unexpected error becomes the server's default 500 (plain text, or a
    traceback in debug mode) and the error is not logged with the request's context. An app
    exception that is raised but never handled becomes such a 500 too.

    Remediation: register ``@app.exception_handler(Exception)`` (or an ASGI error middleware) that
    logs the traceback and returns a JSON 500 without details, and a handler for each custom
    exception class (or a common base class) that maps it to a 4xx/5xx JSON answer.
    """
    findings = broken_sources(ctx)
    mods = _web_modules(ctx)
    handled, handler_locs, middleware_added = _handlers(mods)
    dj_handled, dj_locs = _django_handlers(backend_modules(ctx))
    handled |= dj_handled
    handler_locs += dj_locs
    catching_mw = _catching_middleware(ctx, middleware_added)
    classes, raised, caught = _app_exceptions(ctx)

    def ancestry(name: str, depth: int = 0) -> set[str]:
        if depth > 10 or name not in classes:
            return {name}
        out = {name}
        for b in classes[name][0]:
            out |= ancestry(b, depth + 1)
        return out

    catch_all = bool(handled & _CATCH_ALL) or bool(catching_mw)
    if not catch_all:
        findings.append(
            failed(
                "no catch-all for unhandled exceptions: no exception_handler(Exception) and "
                "no error middleware catching Exception",
                location=handler_locs[0] if handler_locs else _app_location(ctx, mods),
            )
        )
    unhandled = []
    for name, loc in sorted(raised.items()):
        if name not in classes:
            continue
        anc = ancestry(name)
        if "HTTPException" in anc or anc & handled or (anc & caught - _CATCH_ALL):
            continue
        unhandled.append((name, loc))
    for name, loc in unhandled:
        msg = f"app exception {name} is raised but has no exception handler"
        if catch_all:
            findings.append(warned(msg + " (it ends as a generic 500)", location=loc))
        else:
            findings.append(failed(msg, location=loc))
    if not findings:
        parts = [f"exception handlers for {', '.join(sorted(handled)) or 'none'}"]
        if catching_mw:
            parts.append(f"error middleware {', '.join(catching_mw)}")
        findings.append(
            passed(
                "; ".join(parts)
                + f"; {len(classes)} app exception class(es), all raised ones handled",
                location=handler_locs[0] if handler_locs else "",
            )
        )
    return findings
