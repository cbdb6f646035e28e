"""SEC-050–051: security headers graded per response type, and version disclosure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prodaudit.checks.api import Context, Evidence, Exchange, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.security._common import canary, live_location

HSTS_MIN = 15_552_000  # 180 days
GRADES = ((95, "A+"), (85, "A"), (70, "B"), (55, "C"), (40, "D"))
PASSING = ("A+", "A", "B", "C")
VERSION_RE = re.compile(r"\d+\.\d+")


def grade_of(score: int) -> str:
    return next((g for limit, g in GRADES if score >= limit), "F")


def parse_csp(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        tokens = part.strip().split()
        if tokens:
            out.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    return out


@dataclass
class Grade:
    url: str
    kind: str  # "html" | "api"
    score: int = 0
    grade: str = "F"
    notes: list[str] = field(default_factory=list)  # what cost points
    good: list[str] = field(default_factory=list)


Rule = tuple[str, int, bool, str]  # (name, weight, ok, why-not)


def grade(ex: Exchange, https: bool) -> Grade:
    """Score one response 0–100. HTML pages need CSP etc.; JSON APIs are not penalised for
    page-only headers (CSP script rules, Permissions-Policy, COOP)."""
    ctype = (ex.header("content-type") or "").lower()
    kind = "html" if "html" in ctype else "api"
    g = Grade(ex.url, kind)
    csp = parse_csp(ex.header("content-security-policy") or "")
    rules = _common_rules(ex, https, csp) + (_html_rules(ex, csp) if kind == "html" else _api_rules(ex, csp))
    total = sum(w for _, w, _, _ in rules)
    earned = sum(w for _, w, ok, _ in rules if ok)
    g.score = round(100 * earned / total) if total else 0
    g.grade = grade_of(g.score)
    g.notes = [why for _, _, ok, why in rules if not ok]
    g.good = [name for name, _, ok, _ in rules if ok]
    return g


def _common_rules(ex: Exchange, https: bool, csp: dict[str, list[str]]) -> list[Rule]:
    """The rules of every response: HSTS (over HTTPS), nosniff, framing, Referrer-Policy, CORP."""
    rules: list[Rule] = []
    xfo = (ex.header("x-frame-options") or "").upper()
    framing = "frame-ancestors" in csp or xfo in ("DENY", "SAMEORIGIN")
    nosniff = (ex.header("x-content-type-options") or "").lower() == "nosniff"
    refpol = (ex.header("referrer-policy") or "").lower()
    ref_ok = bool(refpol) and "unsafe-url" not in refpol and refpol != "no-referrer-when-downgrade"
    if https:
        m = re.search(r"max-age=(\d+)", ex.header("strict-transport-security") or "")
        age = int(m.group(1)) if m else 0
        rules.append(
            (
                "Strict-Transport-Security max-age >= 180 days",
                20,
                age >= HSTS_MIN,
                f"HSTS max-age {age}" if m else "no HSTS",
            )
        )
    rules.append(
        ("X-Content-Type-Options: nosniff", 15, nosniff, "no X-Content-Type-Options: nosniff")
    )
    rules.append(
        (
            "frame-ancestors or X-Frame-Options",
            15,
            framing,
            "neither CSP frame-ancestors nor X-Frame-Options",
        )
    )
    rules.append(("Referrer-Policy", 10, ref_ok, f"Referrer-Policy {refpol or 'missing'}"))
    rules.append(
        (
            "Cross-Origin-Resource-Policy",
            5,
            bool(ex.header("cross-origin-resource-policy")),
            "no Cross-Origin-Resource-Policy",
        )
    )
    return rules


def _html_rules(ex: Exchange, csp: dict[str, list[str]]) -> list[Rule]:
    """The rules of an HTML page: CSP without unsafe script sources, Permissions-Policy, COOP."""
    rules: list[Rule] = []
    script = csp.get("script-src", csp.get("default-src", []))
    rules.append(("Content-Security-Policy", 20, bool(csp), "no Content-Security-Policy"))
    if csp:
        unsafe = [t for t in ("'unsafe-inline'", "'unsafe-eval'") if t in script]
        rules.append(
            (
                "script-src without unsafe-inline/unsafe-eval",
                15,
                not unsafe,
                f"script-src allows {' and '.join(unsafe)}",
            )
        )
    rules.append(
        (
            "Permissions-Policy",
            5,
            bool(ex.header("permissions-policy")),
            "no Permissions-Policy",
        )
    )
    rules.append(
        (
            "Cross-Origin-Opener-Policy",
            5,
            bool(ex.header("cross-origin-opener-policy")),
            "no Cross-Origin-Opener-Policy",
        )
    )
    return rules


def _api_rules(ex: Exchange, csp: dict[str, list[str]]) -> list[Rule]:
    """The rules of an API answer: a CSP (default-src 'none') and Cache-Control: no-store."""
    cache = (ex.header("cache-control") or "").lower()
    return [
        (
            "Content-Security-Policy (default-src 'none' for APIs)",
            10,
            bool(csp),
            "no Content-Security-Policy",
        ),
        (
            "Cache-Control: no-store",
            5,
            "no-store" in cache or "private" in cache,
            f"Cache-Control {cache or 'missing'}",
        ),
    ]


async def graded_responses(ctx: Context) -> list[Exchange]:
    """Complete 2xx answers only: an authenticated JSON answer (else the liveness page), and
    the frontend's page (else the API root when it serves HTML). A redirect, an error page or
    garbage is not what users get, so it is not graded."""
    out: list[Exchange] = []
    try:
        can = await canary(ctx)
        out.append(can.ok)
    except Skip:
        ex = await ctx.http.get(ctx.url("/health"))
        if ex.usable:
            out.append(ex)
    if ctx.cfg.frontend_url:
        ex = await ctx.http.get(ctx.cfg.frontend_url + "/")
        if ex.usable:
            out.append(ex)
    else:
        ex = await ctx.http.get(ctx.url("/"))
        if ex.usable and "html" in (ex.header("content-type") or ""):
            out.append(ex)
    return out


@check(
    "SEC-050",
    "Security headers score at least C per response type",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.5", "8.2.4"),
    references=("OWASP API8:2023", "CWE-693"),
    evidence=Evidence.OBSERVED,
)
async def security_headers(ctx: Context) -> list[Finding]:
    """An authenticated JSON response and the frontend's HTML page are graded 0–100 (A+ to F) on
    their security headers: HSTS max-age of at least 180 days (HTTPS only), a parsed CSP (for HTML:
    present, no ``unsafe-inline``/``unsafe-eval`` in ``script-src``), ``frame-ancestors`` or
    ``X-Frame-Options``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
    ``Permissions-Policy`` and COOP (HTML), CORP, and ``Cache-Control: no-store`` (API). JSON APIs
    are not penalised for page-only headers. Below C fails. Scores are exported as the fact
    ``security_headers``.

    Missing headers leave browsers' built-in defences off: MIME sniffing, clickjacking, referrer
    leaks, protocol downgrade.

    Remediation: add the headers in one middleware (or the reverse proxy), e.g.
    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
    ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` for JSON and a strict
    script-src for pages, and HSTS on HTTPS.
    """
    exs = await graded_responses(ctx)
    if not exs:
        raise Skip("no complete 2xx answer to grade (the API's liveness page and the frontend "
                   "gave none)")
    out: list[Finding] = []
    facts = []
    for ex in exs:
        https = ex.url.startswith("https://")
        g = grade(ex, https)
        facts.append(
            {"url": g.url, "kind": g.kind, "score": g.score, "grade": g.grade, "missing": g.notes}
        )
        note = "" if https else " (plain HTTP: HSTS not graded)"
        msg = f"{g.kind.upper()} {ex.url}: grade {g.grade} ({g.score}/100){note}" + (
            f"; missing: {'; '.join(g.notes)}" if g.notes else ""
        )
        hdrs = "\n".join(f"< {k}: {v}" for k, v in ex.headers.items())
        if g.grade in PASSING:
            out.append(passed(msg, location=live_location(ex)))
        else:
            out.append(
                failed(
                    msg,
                    location=live_location(ex),
                    evidence=f"response headers of {ex.method} {ex.url}:\n{hdrs}\n$ {ex.curl()}",
                )
            )
    ctx.export("security_headers", facts)
    return out


@check(
    "SEC-051",
    "No software versions in Server or X-Powered-By",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("1.3.1",),
    references=("CWE-200", "OWASP API8:2023"),
    evidence=Evidence.OBSERVED,
)
async def version_disclosure(ctx: Context) -> list[Finding]:
    """Responses of the API and the frontend do not name software versions in ``Server``,
    ``X-Powered-By``, ``X-AspNet-Version`` or ``X-Runtime``.

    Version strings tell an attacker which published vulnerabilities to try first.

    Remediation: run uvicorn with ``--no-server-header`` (or set ``server_tokens off`` in nginx),
    and drop ``X-Powered-By``.
    """
    exs = await graded_responses(ctx)
    usable = len(exs)
    extra = await ctx.http.get(ctx.url("/prodaudit-not-found"))
    if extra.ok:
        exs.append(extra)
    out: list[Finding] = []
    for ex in exs:
        for name in (
            "server",
            "x-powered-by",
            "x-aspnet-version",
            "x-aspnetmvc-version",
            "x-runtime",
        ):
            val = ex.header(name)
            if val and (VERSION_RE.search(val) or name == "x-powered-by"):
                out.append(
                    failed(
                        f"{ex.url} discloses {name}: {val}",
                        location=live_location(ex),
                        evidence=ex.evidence(body_chars=200),
                    )
                )
    if not out and not usable:
        raise Skip("no complete 2xx answer to inspect (the API's liveness page and the "
                   "frontend gave none): version disclosure not verified")
    if not out:
        out.append(
            passed(
                f"{len(exs)} responses carry no version in Server/X-Powered-By "
                f"(Server: {exs[0].header('server') or 'absent'})"
            )
        )
    return out
