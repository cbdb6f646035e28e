"""SEC-030–032: CORS origin trust, preflight policy, Vary: Origin."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

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
)
from prodaudit.checks.security._common import live_location

REFS = ("CWE-942", "OWASP API8:2023")
CHECKLIST = ("8.2.3", "P.3.3")
EVIL = "https://prodaudit-evil.example"


@dataclass(frozen=True)
class Probe:
    cls: str  # the class of origin tried
    origin: str
    ex: Exchange

    @property
    def acao(self) -> str | None:
        return self.ex.header("access-control-allow-origin")

    @property
    def credentials(self) -> bool:
        return (self.ex.header("access-control-allow-credentials") or "").lower() == "true"

    @property
    def trusted(self) -> bool:
        return self.acao is not None and (self.acao == self.origin or self.acao == "*")

    def headers_text(self) -> str:
        return (
            f"Origin: {self.origin} -> Access-Control-Allow-Origin: {self.acao}, "
            f"Access-Control-Allow-Credentials: "
            f"{self.ex.header('access-control-allow-credentials')}, Vary: {self.ex.header('vary')}"
        )


async def probe_path(ctx: Context) -> str:
    """An unprotected GET without parameters from the OpenAPI document; without a document the
    root, or the liveness page when the root gives no complete 2xx answer."""
    try:
        doc = await ctx.openapi()
    except Skip:
        for path in ("/", "/health"):
            try:
                if (await ctx.http.get(ctx.url(path))).usable:
                    return path
            except NotSent:
                continue
        return "/"
    ops = [
        op
        for op in doc.operations
        if op.method == "GET"
        and not op.path_params
        and not doc.is_protected(op)
        and "doc" not in op.path
        and "metrics" not in op.path
    ]
    return sorted(ops, key=lambda o: len(o.path))[0].path if ops else "/"


def variants(allowed: str) -> list[tuple[str, str]]:
    """(class, origin) attacker variants of one allowed origin."""
    parts = urlsplit(allowed)
    scheme, host = parts.scheme, parts.netloc
    out = [
        (
            "prefix match (allowed origin followed by an attacker domain)",
            f"{scheme}://{host}.prodaudit-evil.example",
        ),
        (
            "suffix match (attacker host ending with the allowed host)",
            f"{scheme}://prodauditevil{host}",
        ),
        ("subdomain of the allowed host", f"{scheme}://prodaudit-evil.{host}"),
    ]
    if "." in host:
        i = host.index(".")
        out.append(("unescaped dot in a pattern", f"{scheme}://{host[:i]}x{host[i + 1 :]}"))
    if scheme == "https":
        out.append(("http:// origin trusted by an https:// site", f"http://{host}"))
    return out


async def cors_probes(ctx: Context) -> tuple[str, list[str], Probe | None, list[Probe]]:
    """(path, allowed origins, the allowed-origin probe, attacker probes), memoised."""

    async def build() -> tuple[str, list[str], Probe | None, list[Probe]]:
        path = await probe_path(ctx)
        url = ctx.url(path)
        allowed = list(ctx.cfg.cors.allowed_origins)
        if not allowed and ctx.cfg.frontend_url:
            allowed = [ctx.cfg.frontend_url]
        base_probe = None
        if allowed:
            ex = await ctx.http.get(url, headers={"Origin": allowed[0]})
            base_probe = Probe("allowed origin", allowed[0], ex)
        tries = [("arbitrary origin reflected", EVIL), ("null origin", "null")]
        for origin in allowed[:3]:
            tries += variants(origin)
        probes = []
        for cls, origin in tries[: ctx.cfg.probes.max_requests]:
            ex = await ctx.http.get(url, headers={"Origin": origin})
            probes.append(Probe(cls, origin, ex))
        return path, allowed, base_probe, probes

    result: tuple[str, list[str], Probe | None, list[Probe]] = await ctx.amemo("sec:cors", build)
    return result


@check(
    "SEC-030",
    "CORS does not trust foreign, null or look-alike origins",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def origin_trust(ctx: Context) -> list[Finding]:
    """With the allowed origins from ``cors.allowed_origins`` (else the ``--frontend-url``), the API
    does not grant CORS to: an arbitrary origin (reflection), ``null`` (sandboxed iframes, local
    files), prefix and suffix look-alikes and subdomains of an allowed host, an unescaped-dot
    variant, an ``http://`` origin for an ``https://`` site; and never answers ``*`` together with
    ``Access-Control-Allow-Credentials: true``.

    A trusted attacker origin can read authenticated responses from a victim's browser.

    Remediation: compare the Origin header against an exact allowlist of full origins (scheme,
    host, port); never reflect it, never allow ``null``, and build regexes with escaped dots and
    anchors.
    """
    path, allowed, base, probes = await cors_probes(ctx)
    out: list[Finding] = []
    if not any(p.ex.ok for p in probes):
        raise Skip(f"GET {path} gave no answer to the CORS probes: {probes[0].ex.error}")
    for p in probes:
        if not p.trusted:
            continue
        sev = Severity.HIGH if p.credentials else Severity.MEDIUM
        wild = " (wildcard)" if p.acao == "*" else ""
        out.append(
            failed(
                f"CORS {p.cls}: Origin {p.origin} is trusted{wild}"
                + (" with credentials" if p.credentials else ""),
                location=live_location(p.ex),
                evidence=p.headers_text() + "\n" + p.ex.evidence(),
                severity=sev,
                rule=p.cls.split(" (")[0],
            )
        )
    wildcard = [p for p in probes + ([base] if base else []) if p.acao == "*" and p.credentials]
    if wildcard:
        p = wildcard[0]
        out.append(
            failed(
                "CORS wildcard with credentials: Access-Control-Allow-Origin: * and "
                "Access-Control-Allow-Credentials: true",
                location=live_location(p.ex),
                evidence=p.headers_text(),
                severity=Severity.HIGH,
            )
        )
    if out:
        return out
    answered = [p for p in probes if p.ex.usable]
    if not answered:
        statuses = ", ".join(sorted({str(p.ex.status or p.ex.error) for p in probes}))
        raise Skip(
            f"GET {path} gave no complete 2xx answer to the CORS probes ({statuses}): whether "
            "foreign origins are trusted was not exercised"
        )
    what = ", ".join(sorted({p.cls for p in probes}))
    msg = f"GET {path}: none of {len(probes)} foreign origins was trusted ({what})"
    if base is not None:
        msg += f"; the allowed origin {base.origin} gets Access-Control-Allow-Origin: {base.acao}"
    elif not allowed:
        msg += "; no allowed origin known (set cors.allowed_origins) so look-alikes were not tried"
    return [passed(msg, location=f"GET {ctx.url(path)}")]


# origins a development frontend runs on: the defaults framework templates put into the CORS list
DEV_ORIGINS = ("http://localhost:3000", "http://localhost:5173", "http://localhost:8080",
               "http://localhost:4200", "http://localhost", "http://127.0.0.1:3000")
PROBE_HEADER = "x-prodaudit-probe"


async def _preflight(ctx: Context, path: str, origin: str, method: str,
                     header: bool = True) -> Exchange:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if header:
        headers["Access-Control-Request-Headers"] = PROBE_HEADER
    return await ctx.http.request("OPTIONS", ctx.url(path), headers=headers)


def _granted(ex: Exchange, origin: str) -> bool:
    acao = ex.header("access-control-allow-origin")
    return ex.status is not None and 200 <= ex.status < 300 and acao in (origin, "*")


async def _allowed_origin(ctx: Context, path: str, allowed: list[str]) -> tuple[str, str]:
    """(origin, how it is known): the configured one, else the first common development origin
    the server grants a preflight to (at most ``len(DEV_ORIGINS)`` requests), else an attacker
    origin."""
    if allowed:
        return allowed[0], "configured"
    for origin in DEV_ORIGINS:
        ex = await _preflight(ctx, path, origin, "GET", header=False)
        if _granted(ex, origin):
            return origin, "a development origin the server grants"
    return EVIL, "no allowed origin known"


def _echo(ex: Exchange, method: str) -> tuple[bool, bool]:
    """(any method, any header) granted by a preflight answer."""
    methods = {m.strip().upper() for m in (ex.header("access-control-allow-methods") or "").split(",")}
    hdrs = {h.strip().lower() for h in (ex.header("access-control-allow-headers") or "").split(",")}
    return "*" in methods or method in methods, "*" in hdrs or PROBE_HEADER in hdrs


@check(
    "SEC-031",
    "CORS preflight does not allow any method or header with credentials",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def preflight(ctx: Context) -> list[Finding]:
    """A preflight (``OPTIONS`` with ``Access-Control-Request-Method: PROPFIND`` and a made-up
    request header) from an allowed origin is not answered with ``*`` or an echo of whatever was
    asked, together with credentials. When the server refuses PROPFIND (Starlette's ``*`` means
    its list of standard methods) a second preflight asks for ``DELETE`` with the made-up header:
    an echoed made-up header is "any header".

    The allowed origin is ``cors.allowed_origins`` (else ``--frontend-url``); without either, the
    common development origins (``http://localhost:3000``, ``:5173``, ``:8080``, ``:4200``, …) are
    tried with a plain preflight and the first one granted is used (a development origin trusted
    by a production server is itself worth removing).

    Allowing every method and header widens what a trusted (or mistakenly trusted) origin can do
    with the user's cookies.

    Remediation: list the methods and headers the frontend needs (``GET, POST``;
    ``Authorization, Content-Type``).
    """
    path, allowed, _, _ = await cors_probes(ctx)
    origin, known = await _allowed_origin(ctx, path, allowed or [])
    ex = await _preflight(ctx, path, origin, "PROPFIND")
    if ex.status is None:
        raise Skip(f"OPTIONS {path}: no answer: {ex.error}")
    asked = "PROPFIND"
    if not (_granted(ex, origin) and any(_echo(ex, asked))):
        second = await _preflight(ctx, path, origin, "DELETE")
        if _granted(second, origin):
            ex, asked = second, "DELETE"
    methods = (ex.header("access-control-allow-methods") or "").upper()
    hdrs = (ex.header("access-control-allow-headers") or "").lower()
    creds = (ex.header("access-control-allow-credentials") or "").lower() == "true"
    any_method, any_header = _echo(ex, asked)
    any_method = any_method and asked == "PROPFIND"  # DELETE is a standard method
    if _granted(ex, origin) and (any_method or any_header):
        what = " and ".join(
            x for x, on in (("any method", any_method), ("any header", any_header)) if on
        )
        return [
            failed(
                f"the preflight from {origin} ({known}) asking for {asked} and the made-up header "
                f"{PROBE_HEADER} is granted {what}" + (" with credentials" if creds else ""),
                location=live_location(ex),
                evidence=ex.evidence(),
                severity=Severity.MEDIUM if creds else Severity.LOW,
            )
        ]
    if not (ex.usable or ex.status in (400, 403, 405)):
        raise Skip(
            f"OPTIONS {path} answered {ex.status}: neither a preflight answer (2xx) nor a "
            "refusal (400/403/405), so the preflight policy was not exercised"
        )
    return [
        passed(
            f"OPTIONS {path} from {origin} ({known}) asking for {asked} and {PROBE_HEADER}: HTTP "
            f"{ex.status}, Allow-Methods {methods or '(none)'}, Allow-Headers {hdrs or '(none)'}",
            location=live_location(ex),
        )
    ]


@check(
    "SEC-032",
    "Responses that reflect an Origin carry Vary: Origin",
    severity=Severity.LOW,
    needs=("live",),
    checklist=CHECKLIST,
    references=("CWE-524",),
    evidence=Evidence.OBSERVED,
)
async def vary_origin(ctx: Context) -> list[Finding]:
    """Every response whose ``Access-Control-Allow-Origin`` echoes the request's Origin also says
    ``Vary: Origin``.

    Without it a shared cache may serve one origin's CORS answer to another origin (cache
    poisoning, or a legitimate frontend broken by a cached refusal).

    Remediation: add ``Vary: Origin`` whenever the CORS headers depend on the Origin.
    """
    path, _, base, probes = await cors_probes(ctx)
    reflected = [p for p in ([base] if base else []) + probes if p.acao and p.acao != "*"]
    if not reflected:
        raise Skip(f"GET {path}: no response reflected an origin, so Vary: Origin is not needed")
    bad = [
        p
        for p in reflected
        if "origin" not in {v.strip().lower() for v in ",".join(p.ex.header_all("vary")).split(",")}
    ]
    if bad:
        return [
            failed(
                f"Origin {p.origin} is reflected without Vary: Origin",
                location=live_location(p.ex),
                evidence=p.headers_text(),
            )
            for p in bad[:3]
        ]
    return [
        passed(
            f"{len(reflected)} responses reflecting an origin all carry Vary: Origin",
            location=f"GET {ctx.url(path)}",
        )
    ]
