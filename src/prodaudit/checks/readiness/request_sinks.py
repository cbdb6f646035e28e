"""RDY-010–012: request data reaching a template compiler, a URL fetcher or a deserialiser, found
statically by a small data-flow analysis of the backend (``_taint.py``)."""

from __future__ import annotations

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import broken_sources
from prodaudit.checks.readiness._taint import SINKS, Hit, code_modules, tainted_sinks


def _hits(ctx: Context) -> list[Hit]:
    mods = code_modules(ctx)
    if not mods:
        raise Skip("no Python backend modules in the repository")
    return ctx.memo("rdy:taint", lambda: tainted_sinks(mods))


def _judge(ctx: Context, kind: str, what: str) -> list[Finding]:
    findings = broken_sources(ctx)
    hits = [h for h in _hits(ctx) if h.kind == kind]
    for h in hits:
        findings.append(failed(f"request data reaches {h.sink}() ({what})",
                               location=h.location, evidence=f"request data from {h.source}"))
    if not hits:
        n = len(code_modules(ctx))
        sinks = ", ".join(sorted({s.rsplit(".", 1)[-1] for s in SINKS[kind]}))
        findings.append(passed(f"{n} backend module(s) followed: no request data reaches "
                               f"{sinks}"))
    return findings


@check("RDY-010", "Request data is never compiled as a template (no server-side template "
       "injection)", severity=Severity.CRITICAL, needs=("repo",), checklist=("1.3.5",),
       references=("CWE-1336", "OWASP A03:2021"), evidence=Evidence.PARSED)
def template_injection(ctx: Context) -> list[Finding]:
    """No value derived from the request (query, form, JSON body, cookies, headers, path, route
    parameters) reaches a template compiler — ``render_template_string``, ``jinja2.Template``,
    ``Environment.from_string``, Django/Mako ``Template`` — within a handler or through the
    functions it calls (data flow followed through assignments, f-strings and helper functions).

    A template built from client input runs the client's template code on the server: ``{{7*7}}``
    renders 49, and Jinja2 expressions reach ``os`` and the configuration.

    Remediation: render a fixed template and pass the input as a variable
    (``render_template_string("Not found: {{ path }}", path=request.path)``).
    """
    return _judge(ctx, "template", "server-side template injection")


@check("RDY-011", "The server never fetches a URL taken from the request (no SSRF)",
       severity=Severity.HIGH, needs=("repo",), checklist=("3.1.3",),
       references=("CWE-918", "OWASP A10:2021"), evidence=Evidence.PARSED)
def url_fetch_from_request(ctx: Context) -> list[Finding]:
    """No value derived from the request reaches the URL of an outgoing call — ``urlopen``,
    ``urllib.request.Request``, ``requests.get/post/...``, ``httpx.get/post/...`` — directly or
    through the project's own helper functions (followed to the call that opens the URL).

    A server that fetches client-chosen URLs reaches what the client cannot: internal services,
    cloud metadata endpoints (credentials), ``file://`` reads.

    Remediation: accept an upload instead of a URL, or allow-list schemes and hosts, resolve the
    name and refuse private, loopback and link-local addresses before fetching.
    """
    return _judge(ctx, "url-fetch", "server-side request forgery")


@check("RDY-012", "Request data is never deserialised with pickle, marshal or unsafe YAML",
       severity=Severity.CRITICAL, needs=("repo",), checklist=("3.1.3",),
       references=("CWE-502", "OWASP A08:2021"), evidence=Evidence.PARSED)
def unsafe_deserialisation(ctx: Context) -> list[Finding]:
    """No value derived from the request (a cookie, a body, a header), also after decoding
    (``b64decode``), reaches ``pickle.loads``/``load``, ``dill``, ``marshal``, ``jsonpickle``,
    ``shelve`` or ``yaml.load`` without a safe loader.

    Unpickling attacker-controlled bytes runs attacker-chosen code on the server.

    Remediation: keep client-side state as JSON (``json.loads``) signed by the framework
    (Flask ``session``, ``itsdangerous``), and use ``yaml.safe_load``.
    """
    return _judge(ctx, "deserialise", "insecure deserialisation")
