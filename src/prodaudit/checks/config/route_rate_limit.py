"""CFG-176: costly or abuse-prone routes (login, sign-up, password reset, tokens, LLM calls) in an
application that limits the rate of nothing, or limits chosen routes but not these, read from the
source (``prodaudit.product.endpoints``). The live checks SEC-040–044 measure the limit on a
running target; this one reads every route and every place a limiter could be configured,
reachable or not."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.endpoint_model import WRITE_METHODS
from prodaudit.product.endpoints import Endpoint, dev_note, dotted, endpoints
from prodaudit.product.envgraph import PY_EXCLUDE_PARTS
from prodaudit.product.llm_calls import llm_reach, reaches_llm
from prodaudit.product.pyindex import PyModule, py_index

#: routes whose every request is an attack attempt when unlimited (password guessing, account
#: creation, reset-mail floods)
_ABUSABLE = re.compile(r"log_?in|sign_?(in|up)|register|password|reset|forgot|otp|token|"
                       r"authenticate", re.I)
_NOT_ABUSABLE = re.compile(r"log_?out|sign_?out|verify|refresh|revoke", re.I)
#: a limiter anywhere: slowapi, fastapi-limiter, flask-limiter, django-ratelimit, DRF throttles,
#: aiohttp-ratelimiter, a RateLimit middleware, nginx ``limit_req``, Traefik/Kong rate limits
_LIMITER = re.compile(r"rate[_ -]?limit|throttl|limiter|limit_req(_zone)?\b|slowapi|ratelimit", re.I)
_COMMENT = re.compile(r"^\s*#.*$", re.M)
#: files besides Python sources that configure or declare a limiter (proxies, dependencies)
_CONFIG_SUFFIXES = (".conf", ".toml", ".cfg", ".txt", ".yaml", ".yml", ".lock", ".template")
_CONFIG_NAMES = ("Caddyfile", "Pipfile", "nginx.conf")
#: files that only declare a dependency on a limiter package (they limit nothing by themselves)
_DECLARATION_SUFFIXES = (".txt", ".lock", "pyproject.toml", "Pipfile", "setup.cfg")
#: a limit on every route: slowapi/flask-limiter default or application limits, a limiting
#: middleware, Django REST framework default throttles
_GLOBAL = re.compile(r"default_limits|application_limits|SlowAPIMiddleware|"
                     r"\w*(RateLimit|Throttl)\w*Middleware|DEFAULT_THROTTLE|"
                     r"add_middleware\(\s*[\w.]*(Limit|Throttl)|"
                     r"\.middleware\([^)]*\)\s*\n\s*(async\s+)?def\s+\w*(rate|limit|throttl)", re.I)
#: calls whose ``dependencies=`` apply to every route of a router, an include or the app
_ROUTER_CALLS = ("APIRouter", "FastAPI", "include_router", "Blueprint", "register_blueprint")


def _costly(e: Endpoint, llm: tuple[dict[str, str], dict[str, dict[str, str]]]) -> str:
    """Why the route is costly or abusable ('' when it is not)."""
    reached = reaches_llm(e.func, llm[0], llm[1].get(e.module.rel))
    if reached:
        return f"calls an LLM: {reached.split(' → ')[0]}"
    if e.framework == "drf":  # CFG-038 judges Django REST framework's throttling
        return ""
    if e.methods and not set(e.methods) & set(WRITE_METHODS):
        return ""
    names = f"{e.path} {e.func.name} {e.view}"
    if _ABUSABLE.search(names) and not _NOT_ABUSABLE.search(names):
        return "accepts credentials or creates accounts"
    return ""


def _redis_counter(text: str) -> bool:
    return bool(re.search(r"\.incr(by)?\(", text) and re.search(r"\.(p?expire|setex)\(", text))


def _route_limited(e: Endpoint) -> bool:
    """The route itself carries a limiter: a decorator (``@limiter.limit``, ``@ratelimit``), or
    a dependency in its signature (``Depends(RateLimiter(...))``)."""
    args = e.func.args
    nodes: list[ast.expr] = [*e.func.decorator_list, *args.defaults]
    nodes += [d for d in args.kw_defaults if d is not None]
    nodes += [a.annotation for a in (*args.args, *args.kwonlyargs) if a.annotation is not None]
    return any(_LIMITER.search(ast.unparse(n)) for n in nodes)


def _global_limit(mod: PyModule, text: str) -> str:
    """What in the module limits every route, not chosen ones (``''`` when nothing): default or
    application limits, a limiting middleware, limiter dependencies of a router, an include or
    the app, a Redis counter with an expiry."""
    m = _GLOBAL.search(text)
    if m:
        return f":{text.count(chr(10), 0, m.start()) + 1} ({m.group(0)})"
    calls = mod.calls if "dependencies" in text else []
    for node in calls:
        if dotted(node.func).split(".")[-1] in _ROUTER_CALLS:
            for kw in node.keywords:
                if kw.arg == "dependencies" and _LIMITER.search(ast.unparse(kw.value)):
                    return f":{node.lineno} ({dotted(node.func)}(dependencies=...))"
    return " (a Redis counter with an expiry)" if _redis_counter(text) else ""


def limiter_evidence(ctx: Context) -> tuple[str, bool]:
    """Where the repository configures or declares a rate limiter (``''`` when nowhere), and
    whether anything limits every route: a proxy configuration, default limits, a middleware."""
    where = ""
    for mod in py_index(ctx):
        text = _COMMENT.sub("", mod.text)
        at = _global_limit(mod, text)
        if at:
            return f"{mod.rel}{at}", True
        m = _LIMITER.search(text)
        if m and not where:
            where = f"{mod.rel}:{text.count(chr(10), 0, m.start()) + 1} ({m.group(0)})"
    for rel in ctx.files.matching(*_CONFIG_SUFFIXES, names=_CONFIG_NAMES):
        if set(rel.split("/")[:-1]) & PY_EXCLUDE_PARTS:
            continue
        raw = ctx.read(rel)
        if raw is None:
            continue
        text = _COMMENT.sub("", raw)
        m = _LIMITER.search(text)
        if not m:
            continue
        at = f"{rel}:{text.count(chr(10), 0, m.start()) + 1} ({m.group(0)})"
        if not rel.endswith(_DECLARATION_SUFFIXES):  # a proxy or gateway configuration
            return at, True
        where = where or at
    return where, False


@check("CFG-176", "Login, sign-up and LLM routes are rate limited somewhere",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.7", "8.2.2", "P.3.5"),
       references=("CWE-307", "CWE-770", "OWASP API4:2023"), evidence=Evidence.PARSED)
def route_rate_limit(ctx: Context) -> list[Finding]:
    """When the code declares a route that calls an LLM (OpenAI, Anthropic, Gemini, LangChain,
    or an HTTP request to a provider's API URL; directly or through the project's own functions
    it calls) or accepts credentials or creates accounts (login, sign-up, registration, password reset,
    token), something in the repository limits the rate of requests: slowapi,
    fastapi-limiter, flask-limiter, django-ratelimit, DRF throttle classes,
    aiohttp-ratelimiter, a rate-limit middleware, a Redis counter with an expiry, or a proxy
    (nginx ``limit_req``, a Traefik/Kong rate limit) configured in the repository. A FAIL per
    module, at its first such route, names every costly route of the module. When the
    application limits chosen routes (a limiter decorator such as ``@limiter.limit``, or a
    ``Depends(RateLimiter(...))`` in a route's signature or ``dependencies=``) and nothing limits
    every route (default or application limits, a limiting middleware, limiter dependencies of a
    router, an ``include_router`` or the app, a Redis counter, a proxy configuration), each costly
    route must carry its own: the costly routes without one FAIL the same way. Django REST
    framework views are judged by CFG-038 (``DEFAULT_THROTTLE_CLASSES``); routes registered
    only outside production (a router included under ``if settings.ENVIRONMENT ==
    "local":``) are not judged.

    Without any limit, a login route accepts unlimited password guesses, a sign-up or reset
    route can be flooded, and every request to an LLM route costs money and provider quota.
    A limit configured outside the repository (an API gateway, a CDN) is invisible here:
    name it in the repository (e.g. the proxy configuration) or accept the finding.

    Remediation: add a limiter per client and per account (``slowapi``/``flask-limiter``
    ``@limiter.limit("5/minute")``, ``django-ratelimit``, DRF ``throttle_classes``), or
    ``limit_req`` in the reverse proxy in front of these routes; cap LLM usage per user.
    """
    eps = endpoints(ctx)
    if not eps:
        raise Skip("no route handlers found in the code (FastAPI, Flask, aiohttp, Django)")
    llm = llm_reach(ctx)
    costly = [(e, why) for e in eps if (why := _costly(e, llm))]
    if not costly:
        raise Skip(f"{len(eps)} route(s), none that logs in, signs up, resets a password or "
                   "calls an LLM")
    where, everywhere = limiter_evidence(ctx)
    limited = [e for e in eps if _route_limited(e)]
    if where and (everywhere or not limited):
        return [passed(f"{len(costly)} costly route(s); a rate limiter is configured at {where}"
                       f"{dev_note(ctx)}")]
    if where:
        bare = [(e, why) for e, why in costly if not _route_limited(e)]
        if not bare:
            return [passed(f"each of the {len(costly)} costly route(s) carries its own limiter "
                           f"(e.g. {costly[0][0].label} at {costly[0][0].loc}){dev_note(ctx)}")]
        return _per_route_failures(bare, limited)
    return _by_module(costly, "no rate limit anywhere in the repository (no slowapi, flask-limiter, "
                      "django-ratelimit, throttle, limiter middleware or proxy limit_req) for ",
                      "route")


def _per_route_failures(bare: list[tuple[Endpoint, str]], limited: list[Endpoint]) -> list[Finding]:
    """A FAIL per module for costly routes without the limiter other routes carry."""
    example = min(limited, key=lambda e: (e.module.rel, e.line))
    return _by_module(bare, f"the application limits rates per route ({len(limited)} route(s) "
                            f"carry a limiter, e.g. {example.label} at {example.loc}) and nothing "
                            "limits every route, but these do not: ", "route without a limiter")


def _by_module(routes: list[tuple[Endpoint, str]], lead: str, what: str) -> list[Finding]:
    """One FAIL per module at its first route, ``lead`` followed by the module's routes."""
    by_module: dict[str, list[tuple[Endpoint, str]]] = {}
    for e, why in routes:
        by_module.setdefault(e.module.rel, []).append((e, why))
    out = []
    for group in by_module.values():
        first = min(group, key=lambda g: g[0].line)[0]
        listed = ", ".join(f"{e.label} ({why}, line {e.line})" for e, why in group[:6])
        out.append(failed(lead + listed, location=first.loc,
                          evidence=f"{first.framework} {what}"))
    return out
