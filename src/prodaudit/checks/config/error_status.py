"""CFG-178: the application's error handlers answer with an error status, not the default 200."""

from __future__ import annotations

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.error_handlers import default_status_returns, error_handlers


@check("CFG-178", "Error handlers answer with an error status", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.1.3",), references=("CWE-393", "CWE-755"),
       evidence=Evidence.PARSED)
def error_handler_status(ctx: Context) -> list[Finding]:
    """Every error handler of the application (Flask/Quart ``@errorhandler`` — also called by
    hand, ``app.errorhandler(E)(fn)`` — and ``register_error_handler``, FastAPI/Starlette
    ``@exception_handler``, ``add_exception_handler`` and ``exception_handlers=``, Django
    ``handler404``…, and functions a mapping of HTTP error statuses points at, as an aiohttp
    error middleware takes) answers with a status: a response it builds with a helper whose
    status defaults to 200 (``render_template(...)``, aiohttp ``render_template``/
    ``web.Response``/``json_response``, Starlette ``TemplateResponse``/``JSONResponse``, Django
    ``render``/``HttpResponse``, ``jsonify``) is returned with a ``status``/``status_code``
    argument, in a ``(body, status)`` tuple, or with its status set afterwards. The finding
    points at the response; a PASS names the handlers judged.

    An error page answered with 200 tells clients, caches, crawlers and monitors that the
    request worked: a 404 page gets cached and indexed, a failed login looks like success to a
    script, a health probe of a missing route reports healthy, and 5xx never shows in the
    error-rate alert.

    Remediation: pass the status (``render_template("404.html"), 404``,
    ``render_template(..., status=exc.status)``, ``TemplateResponse(..., status_code=404)``,
    ``render(request, "404.html", status=404)``).
    """
    handlers = error_handlers(ctx)
    if not handlers:
        raise Skip("no error handler in the code (errorhandler, exception_handler, handler404, "
                   "a mapping of error statuses)")
    out: list[Finding] = []
    for h in handlers:
        for call, builder in default_status_returns(h.func):
            out.append(failed(
                f"error handler {h.func.name} ({h.how}) answers with {builder}(...) and no "
                "status: the error page is sent as 200 OK",
                location=f"{h.module.rel}:{call.lineno}"))
    if not out:
        named = [f"{h.func.name} ({h.module.rel}:{h.func.lineno}, {h.how})" for h in handlers]
        more = f" and {len(named) - 8} more" if len(named) > 8 else ""
        out.append(passed(f"{len(handlers)} error handler(s): each answers with an explicit "
                          "status (or one the response builder cannot default): "
                          f"{', '.join(named[:8])}{more}"))
    return out
