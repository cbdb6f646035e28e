"""SEC-077: input is never evaluated as a template expression (server-side template
injection)."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

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
)
from prodaudit.checks.security._common import live_location
from prodaudit.checks.security._routes import AUTH_WORDS, Route, discover_routes
from prodaudit.llmdetect import words_of
from prodaudit.redact import mask_evidence

MAX_PARAMS = 3  # parameters probed per route
MAX_ROUTES = 15
# (template syntax, engines that evaluate it); each gets its own factors so the product names it
SYNTAXES = (("{{%d*%d}}", "Jinja2, Twig, Nunjucks, Handlebars helpers"),
            ("${%d*%d}", "Mako, FreeMarker, JavaScript template literals"),
            ("#{%d*%d}", "Ruby interpolation, Pug, Thymeleaf"),
            ("<%%= %d*%d %%>", "ERB, EJS"))


@dataclass(frozen=True)
class Marker:
    """One probe value: a template expression of every syntax, each with its own product."""

    value: str
    products: tuple[tuple[str, str, str], ...]  # (product, expression, engines)

    @classmethod
    def new(cls) -> Marker:
        parts, products = [], []
        for syntax, engines in SYNTAXES:
            a, b = 1000 + secrets.randbelow(8999), 1000 + secrets.randbelow(8999)
            expr = syntax % (a, b)
            parts.append(expr)
            products.append((str(a * b), expr, engines))
        return cls("pa" + "~".join(parts), tuple(products))

    def evaluated(self, text: str, baseline: str) -> list[tuple[str, str, str]]:
        """The expressions whose product the answer shows (and the baseline did not)."""
        return [p for p in self.products if p[0] in text and p[0] not in baseline]

    def reflected(self, text: str) -> bool:
        """The answer shows an expression back as text (raw or HTML-escaped): the input reached
        what was rendered and was not evaluated — the positive observation a PASS needs."""
        return any(expr in text or html.escape(expr) in text for _, expr, _ in self.products)


@dataclass
class _Probe:
    findings: list[Finding] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    reflected: int = 0  # answers that showed an expression back unevaluated
    params: int = 0
    not_probed: list[str] = field(default_factory=list)
    forms_left: list[str] = field(default_factory=list)
    error_page: bool = False  # the not-found page evaluates the path it renders


async def _send(ctx: Context, route: Route, headers: dict[str, str] | None,
                where: str = "", name: str = "", value: str = "") -> Exchange:
    if route.form is not None:
        form = {**dict(route.form), **({name: value} if where == "form" else {})}
        values = {name: value} if where == "path" else None
        if route.body == "json":
            return await ctx.http.request("POST", ctx.url(route.path(values)), headers=headers,
                                          json=form)
        return await ctx.http.request("POST", ctx.url(route.path(values)), headers=headers,
                                      data=form)
    values = {name: value} if where == "path" else None
    query = {name: value} if where == "query" else None
    return await ctx.http.get(route.url(ctx, values, query), headers=headers)


def _finding(what: str, ex: Exchange, hits: list[tuple[str, str, str]]) -> Finding:
    shown = "; ".join(f"{expr} became {product} ({engines})" for product, expr, engines in hits)
    return failed(
        f"{what}: a template expression in the input is evaluated ({shown}) — server-side "
        "template injection, which usually means code execution on the server",
        location=live_location(ex),
        evidence=mask_evidence(ex.evidence(600)),
        severity=Severity.CRITICAL,
    )


async def _unknown_path(ctx: Context, probe: _Probe) -> None:
    """A path nobody routes, with the marker in it: error pages that render the path."""
    marker = Marker.new()
    base = await ctx.http.get(ctx.url(f"/prodaudit-{secrets.token_hex(3)}"))
    ex = await ctx.http.get(ctx.url("/" + quote(marker.value, safe="")))
    probe.sent += 2
    probe.answered += ex.status is not None
    hits = marker.evaluated(ex.text, base.text)
    probe.reflected += ex.status is not None and not hits and marker.reflected(ex.text)
    if ex.status is not None and hits:
        probe.error_page = True
        probe.findings.append(_finding("GET of an unknown path (the error page)", ex, hits))


async def _route(ctx: Context, route: Route, headers: dict[str, str] | None,
                 probe: _Probe) -> None:
    base = await _send(ctx, route, headers)
    probe.sent += 1
    fields = route.form if route.form is not None else route.query
    where = "form" if route.form is not None else "query"
    spots = [("path", n) for n, _ in route.path_values] + [(where, n) for n, _ in fields]
    if probe.error_page:  # path values a route refuses land on the not-found page, judged
        spots = [sp for sp in spots if sp[0] != "path"]
    for spot, name in spots[:MAX_PARAMS]:
        marker = Marker.new()
        ex = await _send(ctx, route, headers, spot, name, marker.value)
        probe.sent += 1
        probe.answered += ex.status is not None
        probe.params += 1
        hits = marker.evaluated(ex.text, base.text)
        probe.reflected += ex.status is not None and not hits and marker.reflected(ex.text)
        if spot == "path" and ex.status == 404:
            continue  # the not-found page, which the unknown-path probe judges
        if ex.status is not None and hits:
            probe.findings.append(_finding(f"{route.key}: {spot} parameter {name!r}", ex, hits))
            return


@check(
    "SEC-077",
    "Input is never evaluated as a template expression (SSTI)",
    severity=Severity.HIGH,  # an evaluated expression is a CRITICAL finding (see _finding)
    needs=("live",),
    checklist=("1.3.3",),
    references=("CWE-1336", "CWE-94", "OWASP API8:2023"),
    evidence=Evidence.OBSERVED,
)
async def template_injection(ctx: Context) -> list[Finding]:
    """Harmless arithmetic in the common template syntaxes (``{{a*b}}``, ``${a*b}``, ``#{a*b}``,
    ``<%= a*b %>``, fresh random factors each time) is put into an unknown path (error pages that
    render the requested URL) and into the path, query and form parameters of the routes the
    injection probe uses (the OpenAPI document's GET operations, else the links and forms of the
    pages served); forms that post are probed only with ``--allow-mutations`` (sign-up, login and
    password forms never: posting them creates or changes accounts), protected routes with the
    audit account. An answer that shows a product the ordinary request did not show is
    a failure: the input was rendered as a template (``render_template_string(f"...{input}")``),
    which in Jinja2 and most engines reaches code execution. It passes only when some answer
    showed an expression back as text (the input reached the page and was not evaluated); when no
    answer reflects the input at all, it is SKIP: nothing was observable (the check is HIGH, so an
    API that never shows input back is a CONDITIONAL GO for it, not a NO-GO; an evaluated
    expression is a CRITICAL finding). Only arithmetic is ever
    sent. Bounded by ``probes.max_requests``; every request is in the ledger.

    Remediation: never build a template from input — pass input as a variable of a fixed template
    (``render_template_string("Hello {{ name }}", name=name)``), and keep error pages static.
    """
    probe = _Probe()
    try:
        await _unknown_path(ctx, probe)
    except NotSent as exc:
        probe.not_probed.append(f"unknown path ({exc.reason})")
    found = await discover_routes(ctx)
    routes = [r for r in found.routes if r.path_values or r.query or r.form][:MAX_ROUTES]
    session: dict[str, str] | None = None
    if any(r.auth for r in routes):
        try:
            session = (await ctx.auth()).headers()
        except Skip as exc:
            probe.not_probed.append(f"protected routes (no login: {exc.reason})")
    for route in routes:
        if route.form is not None and not ctx.cfg.allow_mutations:
            probe.forms_left.append(route.key)
            continue
        if route.form is not None and _account_form(route):
            continue  # posting it creates or changes accounts (the injection probe covers it)
        if route.auth and session is None:
            continue
        refusal = ctx.http.refusal(route.method, ctx.url(route.path()))
        if refusal:
            probe.not_probed.append(f"{route.key} ({refusal})")
            continue
        try:
            await _route(ctx, route, session if route.auth else None, probe)
        except NotSent as exc:
            probe.not_probed.append(f"{route.key} ({exc.reason})")
    return _summary(probe)


def _account_form(route: Route) -> bool:
    """A sign-up, login or password form."""
    return bool(words_of(route.template) & AUTH_WORDS) or any(
        "pass" in name.lower() for name, _ in route.form or ())


def _summary(probe: _Probe) -> list[Finding]:
    out = list(probe.findings)
    if probe.not_probed:
        out.append(skipped(f"not probed: {'; '.join(probe.not_probed[:5])}"))
    if probe.findings:
        return out
    if probe.answered == 0:
        raise Skip(f"nothing was probed: {'; '.join(probe.not_probed[:5]) or 'no answer'}")
    forms = (f"; {len(probe.forms_left)} form(s) that post are probed only with "
             "--allow-mutations" if probe.forms_left else "")
    if probe.reflected == 0:
        raise Skip(f"{probe.sent} requests (an unknown path and {probe.params} parameter(s)): no "
                   "answer showed the input back, so whether input is evaluated as a template "
                   f"was not observable{forms}")
    out.append(passed(f"{probe.sent} requests (an unknown path and {probe.params} parameter(s)): "
                      f"{probe.reflected} answer(s) showed the input back as text, none "
                      f"evaluated it{forms}"))
    return out
