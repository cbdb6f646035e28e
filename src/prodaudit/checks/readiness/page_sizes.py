"""RDY-086: list endpoints cap the page size a client asks for."""

from __future__ import annotations

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import backend_routes
from prodaudit.checks.readiness._page_sizes import drf_page_sizes, route_page_sizes
from prodaudit.product.pyindex import py_index


@check(
    "RDY-086",
    "List endpoints cap the page size a client asks for",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("7.3.1", "1.3.3"),
    evidence=Evidence.PARSED,
)
def page_size_caps(ctx: Context) -> list[Finding]:
    """Every page size a client sets has an upper bound before it reaches the query:

    - FastAPI route parameters named like a page size (``limit``, ``page_size``, ``per_page``,
      ``items_per_page``, ``size``, ``take`` …) that reach a call or a slice: capped by
      ``Query(le=…)``/``Field(lt=…)``/``conint(le=…)``/``Annotated[int, Le(…)]``/``Literal``,
      or by a ``min(…)`` or comparison of the parameter in the handler;
    - query-string reads of such a key in handlers (``request.args.get("per_page", type=int)``,
      ``request.GET.get("limit")``, ``request.query_params``, aiohttp's ``request.query``):
      capped by a ``min(…)`` around the read or of the name it is assigned to, or a comparison;
    - DRF: the project's paginator classes (their chain through the project's classes read),
      views that name DRF's own paginator, and ``DEFAULT_PAGINATION_CLASS`` naming one of
      DRF's: a ``LimitOffsetPagination`` without ``max_limit`` (DRF's default ``?limit=`` is
      unbounded), a ``PageNumberPagination``/``CursorPagination`` with a
      ``page_size_query_param`` and no ``max_page_size``.

    FAIL per uncapped page size, at its line; PASS lists the caps seen. SKIP when no route takes
    a page size the audit can follow (a pagination dependency class or a library's own
    paginator is not read).

    A client that asks for ``?limit=1000000`` makes one request read, serialise and send a whole
    table: slow responses, memory spikes and the easiest data scraping there is.

    Remediation: bound every page size (``limit: int = Query(50, ge=1, le=100)``,
    ``min(per_page, 100)``, DRF's ``max_limit``/``max_page_size``).
    """
    found = route_page_sizes(backend_routes(ctx)) + drf_page_sizes(ctx, list(py_index(ctx)))
    if not found:
        raise Skip("no route takes a page size from the client that the audit can follow "
                   "(route parameters, query-string reads, DRF paginators)")
    findings = [failed(f"{p.what} has no upper bound: a client can ask for every row at once",
                       location=p.loc) for p in found if not p.cap]
    capped = [p for p in found if p.cap]
    if capped:
        findings.append(passed(
            f"{len(capped)} page size(s) capped: "
            + "; ".join(f"{p.what}: {p.cap}" for p in capped[:5])
            + (f" (+{len(capped) - 5} more)" if len(capped) > 5 else ""),
            location=capped[0].loc))
    return findings
