"""SEC-074: quote and meta characters in parameters leak no SQL error, debug page or stack
trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._routes import Route, discover_routes, fresh
from prodaudit.checks.security._signatures import KIND_WORDS, describe, new_matches
from prodaudit.redact import mask_evidence

QUOTE = "'\""  # appended to the ordinary value: breaks both quoting styles of SQL
META = "\\%;)("  # backslash (MySQL escapes), LIKE wildcard, statement and call delimiters
UNKNOWN_ID = "PRODAUDIT-0"  # an identifier no object has
MAX_PARAMS = 3  # parameters probed per route
SEVERITY = {"sql": Severity.HIGH, "debug": Severity.HIGH, "trace": Severity.MEDIUM}


@dataclass
class _Probe:
    """What SEC-074 sent and found."""

    findings: list[Finding] = field(default_factory=list)
    flagged: set[tuple[str, str]] = field(default_factory=set)  # (route, kind) reported once
    sent: int = 0
    routes: int = 0
    params: int = 0
    not_probed: list[str] = field(default_factory=list)
    forms_left: list[str] = field(default_factory=list)  # POST forms of a read-only audit
    unanswered: int = 0
    exercised: int = 0  # routes whose baseline got an ordinary answer (not 5xx, not nothing)


def payloads(route: Route) -> list[tuple[str, str, str, str]]:
    """(where, parameter, label, value) for every probe of ``route``: a quote pair in each
    parameter, an unknown identifier in path parameters, meta characters in query and form
    fields."""
    out: list[tuple[str, str, str, str]] = []
    for name, value in route.path_values[:MAX_PARAMS]:
        out.append(("path", name, "a quote pair", value + QUOTE))
        out.append(("path", name, "an unknown identifier", UNKNOWN_ID))
    fields = route.form if route.form is not None else route.query
    for name, value in fields[: max(0, MAX_PARAMS - len(route.path_values))]:
        where = "form" if route.form is not None else "query"
        out.append((where, name, "a quote pair", value + QUOTE))
        out.append((where, name, "meta characters", value + META))
    return out


async def _send(ctx: Context, route: Route, headers: dict[str, str] | None,
                where: str = "", name: str = "", value: str = "") -> Exchange:
    values = {name: value} if where == "path" else None
    if route.form is not None:  # made-up values are new on every post: no probe sees another's
        form = {n: fresh(v) for n, v in route.form} | ({name: fresh(value)} if where == "form"
                                                       else {})
        if route.body == "json":
            return await ctx.http.request("POST", ctx.url(route.path(values)), headers=headers,
                                          json=form)
        return await ctx.http.request("POST", ctx.url(route.path(values)), headers=headers,
                                      data=form)
    query = {name: value} if where == "query" else None
    return await ctx.http.get(route.url(ctx, values, query), headers=headers)


def judge(route: Route, label: str, name: str, base: Exchange, ex: Exchange,
          probe: _Probe) -> None:
    """An answer to one probe: a leak the baseline did not show (FAIL), or a 5xx the ordinary
    value did not cause (WARN)."""
    if ex.status is None:
        probe.unanswered += 1
        return
    found = new_matches(ex.text, base.text if base.status is not None else None)
    where = f"{label} in {name!r}"
    for kind in ("sql", "debug", "trace"):
        hits = [(s, m) for s, m in found if s.kind == kind]
        # a debug page is one finding per page kind (debug mode is on), the others per route
        key = (hits[0][0].name, kind) if kind == "debug" and hits else (route.key, kind)
        if not hits or key in probe.flagged:
            continue
        probe.flagged.add(key)
        likely = " (likely SQL injection: the input reached the query)" if kind == "sql" else ""
        probe.findings.append(failed(
            f"{route.method} {route.template}: {where} gets HTTP {ex.status} with "
            f"{KIND_WORDS[kind]} ({', '.join(s.name for s, _ in hits)}){likely}",
            location=f"{ex.method} {ex.url}",
            evidence=f"baseline: {route.method} {route.path()} answered {base.status}\n"
                     + describe(hits, ex.text) + "\n" + mask_evidence(ex.evidence(800)),
            severity=SEVERITY[kind],
        ))
    if found or ex.status < 500 or base.status is None or base.status >= 500:
        return
    if (route.key, "5xx") in probe.flagged:
        return
    probe.flagged.add((route.key, "5xx"))
    probe.findings.append(warned(
        f"{route.method} {route.template}: {where} turns HTTP {base.status} into {ex.status} "
        "(unhandled input; a quote that breaks the handler often breaks an SQL query)",
        location=f"{ex.method} {ex.url}",
        evidence=f"baseline: {route.method} {route.path()} answered {base.status}\n"
                 + mask_evidence(ex.evidence(600)),
    ))


async def _probe_route(ctx: Context, route: Route, headers: dict[str, str] | None,
                       probe: _Probe) -> None:
    """The baseline request, then one request per payload."""
    base = await _send(ctx, route, headers)
    probe.sent += 1
    probe.routes += 1
    if base.status is not None and base.status < 500:
        probe.exercised += 1
    names = set()
    for where, name, label, value in payloads(route):
        ex = await _send(ctx, route, headers, where, name, value)
        probe.sent += 1
        names.add(name)
        judge(route, label, name, base, ex, probe)
    probe.params += len(names)


@check(
    "SEC-074",
    "Quote and meta characters in parameters leak no SQL error, debug page or stack trace",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.1.2", "1.3.3"),
    references=("CWE-89", "CWE-209", "CWE-215", "OWASP API8:2023"), evidence=Evidence.OBSERVED,
)
async def parameter_injection(ctx: Context) -> list[Finding]:
    """Every route with path or query parameters — the OpenAPI document's GET operations, or
    without a document the links and GET forms of the pages the API serves and the URL patterns a
    Django DEBUG 404 page lists — is called with its ordinary values (the baseline), then with a
    quote pair (``'"``) appended to each parameter, an unknown identifier in path parameters and
    meta characters (``\\%;)(``) in query fields. Protected routes are called with the audit
    account; HTML forms that post are probed only with ``--allow-mutations``, and so are, without
    a document, the routes the repository declares whose handlers read named body fields
    (``request.data["month"]``, ``request.get_json()["q"]``, ``request.form[...]``), posted as
    JSON or a form with the value ``1`` as the baseline. The made-up values of a form's fields (a
    user name, an e-mail address) are new on every post, so a unique constraint or an earlier
    post's row cannot turn a probe away before it reaches the code under test.

    An answer that shows what the baseline did not — an SQL error of PostgreSQL, MySQL, SQLite,
    SQLAlchemy, psycopg or Django (the quote reached the SQL parser: likely SQL injection), a
    framework debug page (Werkzeug debugger, Django technical 500 or DEBUG 404, Starlette,
    aiohttp) or a stack trace — is a failure with the request, the matched signature and a
    reproducing ``curl``; a 5xx where the ordinary value got an answer is a warning. Bounded by
    ``probes.max_requests``.

    Remediation: use bound parameters for every query (never format input into SQL), validate
    path and query parameters, turn debug mode off in production and return a generic error body
    from a catch-all exception handler.
    """
    found = await discover_routes(ctx)
    routes = [r for r in found.routes if r.path_values or r.query or r.form]
    if not routes:
        raise Skip(f"no route with path or query parameters found ({'; '.join(found.sources)})")
    session_headers, auth_note = await _session(ctx, routes)
    probe = _Probe()
    for route in sorted(routes, key=lambda r: (r.form is not None, r.source != "openapi")):
        if route.auth and session_headers is None:
            probe.not_probed.append(f"{route.key} (protected: {auth_note})")
            continue
        if route.form is not None and not ctx.cfg.allow_mutations:
            probe.forms_left.append(route.key)  # a form that posts is a write: out of scope
            continue
        refusal = ctx.http.refusal(route.method, ctx.url(route.path()))
        if refusal:
            probe.not_probed.append(f"{route.key} ({refusal})")
            continue
        try:
            await _probe_route(ctx, route, session_headers if route.auth else None, probe)
        except NotSent as exc:
            probe.not_probed.append(f"{route.key} ({exc.reason})")
    return _summary(found.sources, probe)


async def _session(ctx: Context, routes: list[Route]) -> tuple[dict[str, str] | None, str]:
    if not any(r.auth for r in routes):
        return None, ""
    try:
        return (await ctx.auth()).headers(), ""
    except Skip as exc:
        return None, exc.reason


def _summary(sources: list[str], probe: _Probe) -> list[Finding]:
    out = list(probe.findings)
    if probe.not_probed:
        shown = "; ".join(probe.not_probed[:5]) + (" …" if len(probe.not_probed) > 5 else "")
        out.append(skipped(f"{len(probe.not_probed)} route(s) not probed: {shown}"))
    if not probe.findings and probe.exercised > 0:
        forms = (f"; {len(probe.forms_left)} form(s) that post ({', '.join(probe.forms_left[:3])}) "
                 "are probed only with --allow-mutations" if probe.forms_left else "")
        out.append(passed(
            f"{probe.sent} requests on {probe.params} parameter(s) of {probe.routes} route(s) "
            f"(from {'; '.join(sources)}): no SQL error, debug page or stack trace, and no 5xx "
            f"caused by the input{forms}"))
    if not out and probe.forms_left and not probe.routes:
        raise Skip(f"the only routes with parameters are forms that post "
                   f"({', '.join(probe.forms_left[:3])}): probed only with --allow-mutations")
    if not out:
        raise Skip(f"no route answered its ordinary request with anything but a 5xx or nothing "
                   f"({probe.routes} tried): the parameters were never exercised")
    return out
