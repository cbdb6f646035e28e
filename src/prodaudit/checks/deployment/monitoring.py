"""DEP-070–079: health and monitoring: the compose healthcheck probes readiness, Prometheus
``/metrics`` with request metrics, error tracking configured, structured logs."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.checks.deployment._common import (
    api_name,
    json_share,
    rel,
    require_compose_files,
)
from prodaudit.product.compose_yaml import healthcheck_test

READINESS_RE = re.compile(r"/(health/ready|health/readiness|readyz|ready|readiness)\b")
# /up as the first path segment: Rails' and Kamal's probe path
LIVENESS_RE = re.compile(r"/(health|healthz|livez|ping|health/live)\b|"
                         r"(?:^|[\s\"']|//[^/\s\"']+|[\w.-]+:\d+|localhost)/up(?=$|[/?\s\"'])")
METRICS_PATHS = ("/metrics", "/api/metrics", "/prometheus")
SAMPLE_RE = re.compile(  # label values are quoted and may hold braces: route="/notes/{id}"
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?\s+'
    r"([-+]?(?:[0-9.eE+-]+|NaN|[+-]?Inf))(\s+-?\d+)?$")
REQUEST_METRIC_RE = re.compile(r"(http_requests?_total|http_request_duration|http_server_requests?"
                               r"|requests_total|request_duration_seconds|request_latency)")
ERROR_TRACKING_ENV = ("SENTRY_DSN", "ROLLBAR_ACCESS_TOKEN", "BUGSNAG_API_KEY",
                      "HONEYBADGER_API_KEY", "AIRBRAKE_PROJECT_KEY", "NEW_RELIC_LICENSE_KEY",
                      "DD_API_KEY", "HONEYCOMB_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT")
DSN_RE = re.compile(r"^https?://[^@\s/]+@[^/\s]+/\S+$")
LOG_SAMPLE_LINES = 200


def _service_healthcheck(ctx: Context) -> tuple[str, dict[str, Any] | None, str]:
    """(service name, healthcheck mapping or None, source note)."""
    require_compose_files(ctx)
    wanted = api_name(ctx)
    api = ctx.api_service()
    assert api is not None
    note = api.project.source  # "docker compose config", or prodaudit's merge and why
    hc = api.config.get("healthcheck")
    return wanted, hc if isinstance(hc, dict) else None, note


@check("DEP-070", "The compose healthcheck probes the readiness endpoint",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.1.5", "P.2.5", "9.2.4"),
       evidence=Evidence.PARSED)
def healthcheck_readiness(ctx: Context) -> list[Finding]:
    """The API service's compose ``healthcheck`` calls the application's readiness endpoint
    (``/health/ready``, ``/readyz`` … or ``health.readiness_path``), not just liveness. A
    service without any healthcheck is SKIP here (CFG-150 reports it, once); a development-only
    Compose project is not judged.

    ``depends_on: condition: service_healthy`` and rolling updates trust the healthcheck: one
    that only proves the process is alive marks the API healthy while its database or Redis is
    unreachable.

    Remediation: ``healthcheck: test: ["CMD", "python", "-c", "...urlopen('http://127.0.0.1:8000/health/ready')..."]``
    with ``interval``, ``timeout``, ``retries`` and ``start_period``.
    """
    files = require_compose_files(ctx)
    service, hc, note = _service_healthcheck(ctx)
    location = rel(ctx, files[-1])
    api = ctx.api_service()
    if api is not None and api.project.dev_only:
        raise Skip(f"the compose project is development-only ({api.project.dev_only})")
    if hc is None:
        where = api.loc if api is not None else location
        raise Skip(f"service {service} has no healthcheck at all: CFG-150 reports it at {where}; "
                   f"nothing to probe (source: {note})")
    if hc.get("disable") or healthcheck_test(hc).strip().upper() in ("NONE", "[NONE]"):
        return [failed(f"service {service}'s healthcheck is disabled", location=location,
                       evidence=f"source: {note}")]
    text = healthcheck_test(hc)
    ev = f"source: {note}\nhealthcheck.test: {text[:400]}"
    custom = ctx.cfg.health.readiness_path
    if (custom and custom in text) or (not custom and READINESS_RE.search(text)):
        return [passed(f"service {service}'s healthcheck calls the readiness endpoint",
                       location=location, evidence=ev)]
    if LIVENESS_RE.search(text):
        return [warned(f"service {service}'s healthcheck calls a liveness endpoint only: "
                       "dependencies are not probed", location=location, evidence=ev)]
    return [failed(f"service {service}'s healthcheck calls no health endpoint", location=location,
                   evidence=ev)]


def parse_prometheus(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    """(TYPE by family, sample metric names, malformed lines)."""
    types: dict[str, str] = {}
    samples: list[str] = []
    bad: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip()
            continue
        m = SAMPLE_RE.match(line)
        if m:
            samples.append(m.group(1))
        elif line != "# EOF":
            bad.append(line)
    return types, samples, bad


@check("DEP-071", "/metrics answers in Prometheus text format with request metrics",
       severity=Severity.MEDIUM, needs=("live",), checklist=("5.2.1", "P.1.5"), evidence=Evidence.OBSERVED)
async def metrics(ctx: Context) -> list[Finding]:
    """``GET /metrics`` answers 200 in the Prometheus text exposition format (``# TYPE`` lines,
    well-formed samples) and includes HTTP request metrics (a counter such as
    ``http_requests_total`` and/or a latency histogram).

    Without request rate, error rate and latency there is nothing to alert on after launch.

    Remediation: expose metrics with ``prometheus-client`` (or
    ``prometheus-fastapi-instrumentator``): a request counter and a latency histogram labelled by
    route template, method and status; keep ``/metrics`` off the public internet.
    """
    tried: list[str] = []
    for path in METRICS_PATHS:
        ex = await ctx.http.get(ctx.url(path))
        tried.append(f"{path} → {ex.status or ex.error}")
        if ex.status != 200:
            continue
        ctype = ex.header("content-type") or ""
        types, samples, bad = parse_prometheus(ex.text)
        loc = f"GET {ex.url}"
        if not samples or "text/html" in ctype or "json" in ctype:
            return [failed(f"GET {path} answered 200 but not in Prometheus text format "
                           f"(content-type {ctype or 'none'})", location=loc,
                           evidence=ex.evidence())]
        out: list[Finding] = []
        if bad:
            out.append(failed(f"{len(bad)} malformed exposition lines, e.g. {bad[0][:120]!r}",
                              location=loc, evidence=ex.evidence()))
        if not ctype.startswith(("text/plain", "application/openmetrics-text")):
            out.append(warned(f"content-type {ctype or 'none'} is not text/plain; version=0.0.4",
                              location=loc))
        request = sorted({s for s in samples if REQUEST_METRIC_RE.search(s)})
        if not request:
            out.append(failed(f"no HTTP request metrics among {len(set(samples))} series "
                              f"({len(types)} families)", location=loc, evidence=ex.evidence()))
        if not out or all(f.status.rank < 3 for f in out):
            out.append(passed(f"{len(types)} metric families in Prometheus format; request "
                              f"metrics: {', '.join(request[:4])}", location=loc))
        return out
    raise Skip(f"no metrics endpoint answered 200 ({'; '.join(tried)})")


@check("DEP-072", "Error tracking is configured in the production environment",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("5.3.1", "P.1.5"), evidence=Evidence.PARSED)
def error_tracking(ctx: Context) -> list[Finding]:
    """An error tracker is configured in the audited environment: ``SENTRY_DSN`` (a well-formed
    DSN) or another tracker's key (Rollbar, Bugsnag, Honeybadger, New Relic, Datadog, an
    OpenTelemetry endpoint).

    Unhandled exceptions in production otherwise surface only as user complaints. Without an
    env file (``--env-file``) or a started target there is no production environment to read:
    SKIP (RDY-058 judges the code's set-up), not a finding without a location.

    Remediation: create a project in Sentry (or your tracker), set ``SENTRY_DSN`` in the
    production environment, and initialise the SDK at startup with ``environment`` and
    ``release`` set.
    """
    location = f"env file {ctx.cfg.env_file}" if ctx.cfg.env_file else "environment"
    found = {name: ctx.env_value(name) for name in ERROR_TRACKING_ENV}
    present = {k: v for k, v in found.items() if v}
    if not present and ctx.cfg.env_file is None and not ctx.target_env:
        raise Skip("no production environment to read: no --env-file and no started target "
                   "(RDY-058 judges the error tracking set up in the code)")
    if not present:
        empty = [k for k, v in found.items() if v == ""]
        msg = ("no error tracking configured: " + (f"{', '.join(empty)} is empty" if empty
               else f"none of {', '.join(ERROR_TRACKING_ENV[:4])}... is set"))
        if ctx.cfg.profile == "production":
            return [failed(msg, location=location)]
        return [warned(msg + f" (profile {ctx.cfg.profile})", location=location)]
    dsn = present.get("SENTRY_DSN")
    if dsn is not None:
        ctx.redact.register(dsn.split("//", 1)[-1].split("@", 1)[0])
        if not DSN_RE.match(dsn):
            return [failed("SENTRY_DSN is set but is not a DSN (https://KEY@HOST/PROJECT)",
                           location=location)]
    # a well-formed SENTRY_DSN is validated; another tracker's key is only seen to be set
    return [passed(f"error tracking configured: {', '.join(sorted(present))} set",
                   location=location, level=None if dsn is not None else Evidence.PRESENT)]


@check("DEP-073", "Application logs are structured (JSON lines)", severity=Severity.LOW,
       needs=("live",), checklist=("5.1.1", "1.1.3"), evidence=Evidence.OBSERVED)
async def structured_logs(ctx: Context) -> list[Finding]:
    """The running API's log lines are JSON objects (one per line), so log aggregation can index
    fields such as level, request id and route. Read from the log of the target the audit
    started (or the containers' logs in DEP-034).

    Remediation: configure one JSON formatter for every logger (application and uvicorn), e.g.
    ``python-json-logger`` or a small ``logging.Formatter`` that ``json.dumps`` the record.
    """
    await ctx.http.get(ctx.url("/health"))  # make sure there is at least one fresh line
    logs = [p for p in ctx.target_logs if p.name.startswith("api") and p.is_file()]
    if not logs:
        raise Skip("no application log available (the audit did not start the target; the "
                   "containers' logs are checked by DEP-033)")
    lines = logs[0].read_text(errors="replace").splitlines()[-LOG_SAMPLE_LINES:]
    ok, total, bad = json_share(lines)
    if total == 0:
        raise Skip(f"{logs[0].name} has no log lines")
    share = ok / total
    ev = "non-JSON lines:\n" + "\n".join(bad) if bad else ""
    if share >= 0.95:
        return [passed(f"{ok}/{total} log lines are JSON objects", location=str(logs[0].name),
                       evidence=ev)]
    if share >= 0.5:
        return [warned(f"only {ok}/{total} log lines are JSON objects", location=logs[0].name,
                       evidence=ev)]
    return [failed(f"only {ok}/{total} log lines are JSON objects", location=logs[0].name,
                   evidence=ev)]
