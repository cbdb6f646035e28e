"""CFG-030–039: application settings for production — debug/dev modes, database and Redis URLs,
LLM mock mode, API docs exposure (dev servers in entry points, CFG-031: entry_points.py)."""

from __future__ import annotations

import ast
import contextlib
import re
from urllib.parse import urlsplit

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
from prodaudit.product.effective import candidate_names, effective
from prodaudit.product.envgraph import python_source_file

TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
DEBUG_RE = re.compile(r"^(DEBUG|RELOAD|[A-Z0-9]+_DEBUG|[A-Z0-9]+_RELOAD|DEBUG_MODE)$")
ENV_NAME_RE = re.compile(
    r"^(ENVIRONMENT|ENV|APP_ENV|APP_ENVIRONMENT|FASTAPI_ENV|FLASK_ENV|NODE_ENV|PYTHON_ENV|RUN_ENV|"
    r"DEPLOY_ENV|RUN_MODE|APP_MODE|STAGE)$"
)
DEV_VALUES = frozenset({"development", "dev", "local", "debug", "test", "testing"})
DOCS_VAR_RE = re.compile(r"^(DOCS_ENABLED|ENABLE_DOCS|SHOW_DOCS|EXPOSE_DOCS|API_DOCS|"
                         r"OPENAPI_ENABLED|ENABLE_OPENAPI|SWAGGER_ENABLED)$")
def _production_like(ctx: Context) -> None:
    if ctx.cfg.profile == "development":
        raise Skip("development profile: production settings not applicable")


def _is_true(value: str) -> bool:
    return value.strip().strip("\"'").lower() in TRUE


@check("CFG-030", "Debug and development modes are off", severity=Severity.HIGH, needs=("repo",),
       checklist=("2.1.3", "2.1.4"), references=("CWE-489", "CWE-215"), evidence=Evidence.PARSED)
def debug_off(ctx: Context) -> list[Finding]:
    """In the production (and staging) profile, ``DEBUG``/``*_DEBUG``/``RELOAD`` are not true and
    ``ENVIRONMENT``/``APP_ENV``/``FASTAPI_ENV``/``FLASK_ENV``/``NODE_ENV`` are not a development
    value — as set in the profile's env file, in the Compose ``environment:`` of built services,
    or by the code default when neither sets them.

    Debug mode returns stack traces with local variables and configuration to any client,
    enables interactive debuggers (Werkzeug: remote code execution) and disables caches.

    Remediation: set ``DEBUG=false`` and ``ENVIRONMENT=production`` in the production env and make
    the code default the safe value; refuse to start with debug on in production.
    """
    _production_like(ctx)
    out: list[Finding] = []
    checked: list[str] = []
    for name in sorted(candidate_names(ctx)):
        is_debug, is_env = bool(DEBUG_RE.match(name)), bool(ENV_NAME_RE.match(name))
        if not (is_debug or is_env):
            continue
        for val in effective(ctx, name):
            checked.append(f"{name} ({val.source})")
            bad = _is_true(val.value) if is_debug else val.value.strip().lower() in DEV_VALUES
            if bad:
                out.append(failed(f"{name}={val.value} from {val.source} in the {ctx.cfg.profile} "
                                  "profile", location=val.location, evidence=f"{name}={val.value}"))
    if not checked:
        raise Skip("no DEBUG/ENVIRONMENT-like setting found in the code or the profile's env")
    if not out:
        out.append(passed(f"debug/environment settings are production values: "
                          f"{', '.join(checked[:12])}"))
    return out


def _calls(text: str) -> list[ast.Call]:
    """Every call in the Python source ``text`` (none when it does not parse)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _url_findings(name: str, value: str, location: str, source: str, redis: bool) -> list[Finding]:
    v = value.strip()
    if not v or v.startswith("<"):
        return []
    try:
        parts = urlsplit(v)
        host = (parts.hostname or "").lower()
        password = parts.password
    except ValueError:
        return [warned(f"{name} from {source} is not a URL", location=location)]
    shown = f"{name}={parts.scheme}://…@{host}" if password else f"{name}={v}"
    if redis:
        if parts.scheme in ("redis", "rediss", "unix") and not password and "<" not in v:
            return [failed(f"{name} from {source} connects to Redis without authentication",
                           location=location, evidence=shown)]
        return []
    if parts.scheme.startswith("sqlite"):
        return [warned(f"{name} from {source} points at SQLite: one file, one writer, no network "
                       "access for replicas and no managed backups", location=location,
                       evidence=shown)]
    if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):  # noqa: S104 - compared, not bound
        return [warned(f"{name} from {source} points at {host}: inside a container that is the "
                       "container itself", location=location, evidence=shown)]
    return []


@check("CFG-032", "Database and Redis URLs are production-grade", severity=Severity.HIGH,
       needs=("repo",), checklist=("P.1.3", "P.1.4"), references=("CWE-306",), evidence=Evidence.PARSED)
def service_urls(ctx: Context) -> list[Finding]:
    """In the production profile the database URL (``database.url_env``, default
    ``DATABASE_URL``) does not point at SQLite or localhost (WARN: valid only for single-host
    deployments that know it), and the Redis URL (``redis.url_env``) carries credentials (FAIL).

    SQLite cannot be shared between replicas and is lost with the container's file system;
    ``localhost`` inside a container is the container itself. A Redis without ``requirepass``
    lets anything on the network read sessions and rate-limit state and run commands.

    Remediation: point ``DATABASE_URL`` at the managed PostgreSQL (``postgresql+psycopg://user:
    ${POSTGRES_PASSWORD}@db:5432/app``) and use ``redis://:PASSWORD@redis:6379/0`` (or
    ``rediss://`` with ACL users) with ``requirepass`` on the server.
    """
    _production_like(ctx)
    out: list[Finding] = []
    looked = []
    for name, redis in ((ctx.cfg.database.url_env, False), (ctx.cfg.redis.url_env, True)):
        for val in effective(ctx, name):
            looked.append(f"{name} ({val.source})")
            out.extend(_url_findings(name, val.value, val.location, val.source, redis))
            pw = None
            with contextlib.suppress(ValueError):
                pw = urlsplit(val.value).password
            if pw:
                ctx.redact.register(pw)
    if not looked:
        raise Skip(f"neither {ctx.cfg.database.url_env} nor {ctx.cfg.redis.url_env} is set in the "
                   "profile's env, Compose or a code default")
    if not out:
        out.append(passed(f"URLs are production-grade: {', '.join(looked)}"))
    return out


@check("CFG-033", "LLM mock mode is off in production", severity=Severity.HIGH, needs=("repo",),
       checklist=("4.1.4", "2.1.3"), evidence=Evidence.PARSED)
def mock_mode_off(ctx: Context) -> list[Finding]:
    """The LLM mock switch (``llm.mock_env``: ``MOCK_LLM``, ``LLM_MOCK``, ``USE_MOCK_LLM``, and any
    ``*MOCK*`` variable) is not on in the production profile's env, the Compose environment of
    built services, or the code default.

    In mock mode the product answers with canned text: users get fake answers and nobody notices
    until they complain; usage metrics and costs look healthy while the feature is broken.

    Remediation: set ``MOCK_LLM=false`` in production and make the code refuse mock mode when
    ``ENVIRONMENT=production``.
    """
    _production_like(ctx)
    names = set(ctx.cfg.llm.mock_env) | {n for n in candidate_names(ctx)
                                         if "MOCK" in n.upper() and not n.startswith("VITE_")}
    out: list[Finding] = []
    looked = []
    for name in sorted(names):
        for val in effective(ctx, name):
            looked.append(f"{name}={val.value} ({val.source})")
            if _is_true(val.value):
                out.append(failed(f"{name} is on ({val.source}) in the {ctx.cfg.profile} profile",
                                  location=val.location, evidence=f"{name}={val.value}"))
    if not looked:
        raise Skip(f"no mock switch found (looked for {', '.join(sorted(names))})")
    if not out:
        out.append(passed(f"mock mode is off: {', '.join(looked)}"))
    return out


def _fastapi_docs(rel: str, text: str) -> list[tuple[int, str, str]]:
    """(line, state, detail) for each ``FastAPI(...)`` call: disabled | conditional | default."""
    out = []
    for node in _calls(text):
        if ast.unparse(node.func).split(".")[-1] != "FastAPI":
            continue
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        if any(k is None for k in (k.arg for k in node.keywords)):
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


@check("CFG-034", "Interactive API docs are not exposed in production", severity=Severity.MEDIUM,
       needs=("repo",), references=("OWASP API9:2023",), evidence=Evidence.PARSED)
def docs_exposure(ctx: Context) -> list[Finding]:
    """``FastAPI(...)`` disables ``/docs`` and ``/redoc`` (``docs_url=None``) or ties them to a
    setting, and that setting (``DOCS_ENABLED``, ``ENABLE_DOCS`` ...) is off in the production
    profile. ``exposure.docs_in_production`` = ``warn`` (default), ``fail`` or ``allow``.

    Public interactive docs hand attackers a complete, clickable map of the API including admin
    and debug routes; for a public API they may be intended, hence the policy setting.

    Remediation: ``FastAPI(docs_url="/docs" if settings.docs_enabled else None, redoc_url=...)``
    with ``DOCS_ENABLED=false`` in production, or protect the docs behind authentication.
    """
    _production_like(ctx)
    policy = ctx.cfg.exposure.docs_in_production
    out: list[Finding] = []
    apps: list[tuple[str, int, str, str]] = []
    for rel in ctx.files.files:
        if python_source_file(rel):
            text = ctx.read(rel)
            if text and "FastAPI(" in text:
                apps.extend((rel, *a) for a in _fastapi_docs(rel, text))
    flags = []
    for name in sorted(n for n in candidate_names(ctx) if DOCS_VAR_RE.match(n)):
        for val in effective(ctx, name):
            flags.append(f"{name}={val.value} ({val.source})")
            if _is_true(val.value):
                out.append(_docs_finding(policy, f"{name} is on ({val.source}): /docs is public",
                                         val.location))
    for rel, line, state, detail in apps:
        if state == "default":
            out.append(_docs_finding(policy, "FastAPI app keeps the default docs_url/redoc_url: "
                                     "/docs and /redoc are public", f"{rel}:{line}", detail))
    if not apps and not flags:
        raise Skip("no FastAPI application and no docs setting found")
    if policy == "allow":
        return [passed(f"exposure.docs_in_production = allow; {len(apps)} app(s), "
                       f"settings: {', '.join(flags) or '-'}")]
    if not out:
        out.append(passed(f"{len(apps)} FastAPI app(s) disable or gate their docs; "
                          f"settings: {', '.join(flags) or '-'}"))
    return out


def _docs_finding(policy: str, message: str, location: str, evidence: str = "") -> Finding:
    if policy == "fail":
        return failed(message, location=location, evidence=evidence)
    return warned(message, location=location, evidence=evidence)

