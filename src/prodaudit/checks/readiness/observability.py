"""RDY-050–059: observability — the target's own logs (captured during the live run), log
levels, log shipping, metrics content, dashboards, alert rules, SLOs, error tracking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from prodaudit.checks.readiness._scan import find_doc_topic, is_test_path, parts, py_sources
from prodaudit.context import Context
from prodaudit.model import Finding, Severity
from prodaudit.outcome import Skip, failed, passed, warned
from prodaudit.redact import Redactor
from prodaudit.registry import check

MAX_LOG_BYTES = 20_000_000
_LEVEL_VARS = ("LOG_LEVEL", "LOGLEVEL", "LOGGING_LEVEL", "UVICORN_LOG_LEVEL", "APP_LOG_LEVEL")
_SECRET_FIELD = re.compile(
    r"""["']?(password|passwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token|
    authorization|client[_-]?secret)["']?\s*[:=]\s*["']?(?!\*|\[|<|null|none|\s|["'])([^\s"',}]{6,})""",
    re.I | re.X,
)


def _log_files(ctx: Context) -> list[Path]:
    out = list(ctx.target_logs)
    for p in ctx.cfg.readiness.log_files:
        path = p if p.is_absolute() else ctx.repo / p
        out.append(path)
    return [p for p in out if p.is_file()]


def _log_lines(path: Path) -> list[str]:
    with path.open("rb") as fh:
        raw = fh.read(MAX_LOG_BYTES)
    return raw.decode("utf-8", errors="replace").splitlines()


def _no_logs_reason(ctx: Context) -> str:
    return (
        "no target logs to read: the audit did not start the target and "
        "readiness.log_files names no file"
    )


@check(
    "RDY-050",
    "The target writes structured (JSON) log lines",
    severity=Severity.MEDIUM,
    checklist=("5.1.1",),
)
def structured_logs(ctx: Context) -> list[Finding]:
    """The log lines the target wrote during the audit (the reference target's captured output,
    or files listed in ``readiness.log_files``) are JSON objects with a level and a message.

    Structured logs can be filtered and aggregated by field (request id, status, user) in any
    log platform; free text has to be parsed with fragile patterns.

    Remediation: log one JSON object per line (``python-json-logger``, ``structlog``) with at
    least timestamp, level, logger, message and the request id; route uvicorn's loggers through
    the same handler.
    """
    files = _log_files(ctx)
    if not files:
        raise Skip(_no_logs_reason(ctx))
    findings: list[Finding] = []
    empty = []
    for path in files:
        lines = [(i, ln) for i, ln in enumerate(_log_lines(path), 1) if ln.strip()]
        if not lines:
            empty.append(path.name)
            continue
        bad = []
        for i, ln in lines:
            try:
                obj = json.loads(ln)
                ok = isinstance(obj, dict) and any(
                    k in obj for k in ("level", "levelname", "severity", "lvl")
                )
            except json.JSONDecodeError:
                ok = False
            if not ok:
                bad.append((i, ln))
        share = 100.0 * (len(lines) - len(bad)) / len(lines)
        if bad:
            verdict = failed if share < 95 else warned
            findings.append(
                verdict(
                    f"{path.name}: {len(bad)} of {len(lines)} log lines are not JSON objects "
                    f"with a level ({share:.0f}% structured)",
                    location=f"{path}:{bad[0][0]}",
                    evidence="\n".join(ln[:300] for _, ln in bad[:5]),
                )
            )
        else:
            findings.append(
                passed(
                    f"{path.name}: {len(lines) - len(bad)} of {len(lines)} lines "
                    "are JSON objects with a level",
                    location=str(path),
                )
            )
    if not findings:
        raise Skip(f"the target's logs are empty ({', '.join(empty)})")
    if empty:
        findings.append(passed(f"empty logs (nothing to judge): {', '.join(empty)}"))
    return findings


@check(
    "RDY-051",
    "Log level is not DEBUG in production",
    severity=Severity.MEDIUM,
    checklist=("5.1.2",),
    references=("CWE-532",),
)
def log_level(ctx: Context) -> list[Finding]:
    """In the audited profile the log level variables (``LOG_LEVEL``, ``LOGLEVEL``,
    ``UVICORN_LOG_LEVEL`` ...) are not DEBUG/TRACE, and the target's captured logs contain no
    DEBUG records. In the development profile DEBUG is accepted.

    DEBUG logging in production floods storage, slows the service and tends to dump request
    bodies, headers and SQL parameters — i.e. personal data and credentials.

    Remediation: set ``LOG_LEVEL=INFO`` (or WARNING) in the production environment and raise
    the level of chatty libraries (httpx, sqlalchemy.engine).
    """
    if ctx.cfg.profile == "development":
        raise Skip("development profile: DEBUG logging is acceptable")
    findings: list[Finding] = []
    seen = False
    for name in _LEVEL_VARS:
        value = ctx.env_value(name)
        if value is None or not value.strip():
            continue
        seen = True
        if value.strip().upper() in ("DEBUG", "TRACE", "10", "5"):
            findings.append(
                failed(
                    f"{name}={value} in the {ctx.cfg.profile} profile",
                    location=str(ctx.cfg.env_file or name),
                )
            )
        else:
            findings.append(passed(f"{name}={value}", location=str(ctx.cfg.env_file or name)))
    for path in _log_files(ctx):
        seen = True
        debug = [
            (i, ln)
            for i, ln in enumerate(_log_lines(path), 1)
            if re.search(
                r"""["']?(level|levelname|severity)["']?\s*[:=]\s*["']?DEBUG\b|^DEBUG[:\s]""", ln
            )
        ]
        if debug:
            findings.append(
                failed(
                    f"{path.name}: {len(debug)} DEBUG record(s) logged",
                    location=f"{path}:{debug[0][0]}",
                    evidence="\n".join(ln[:300] for _, ln in debug[:3]),
                )
            )
        else:
            findings.append(passed(f"{path.name}: no DEBUG records", location=str(path)))
    if not seen:
        raise Skip("no log level variable set in the audited environment and no target logs")
    return findings


@check(
    "RDY-052",
    "No secrets, tokens or passwords in the target's logs",
    severity=Severity.HIGH,
    checklist=("5.1.3",),
    references=("CWE-532", "OWASP A09:2021"),
    exclusive=True,
)
def secrets_in_logs(ctx: Context) -> list[Finding]:
    """The target's log output captured during the audit contains none of the secret values the
    audit knows (env-file secrets, the audit account's passwords, tokens issued during the run —
    the redactor's registered values), no credential-shaped strings (provider keys, JWTs with
    signature, passwords in URLs, Authorization headers) and no ``password=``-style fields with
    an unmasked value. Runs after the other checks, so the whole audit's traffic is in the logs.

    Logs are copied to aggregation platforms, support tickets and laptops with far weaker access
    control than the secret store; a token in a log is a leaked session.

    Remediation: mask secrets in a logging filter/formatter (by value and by pattern), never log
    request bodies of auth endpoints or Authorization headers, and rotate every secret that was
    logged.
    """
    files = _log_files(ctx)
    if not files:
        raise Skip(_no_logs_reason(ctx))
    known = sorted(ctx.redact.values, key=len, reverse=True)
    patterns_only = Redactor()
    findings: list[Finding] = []
    total = 0
    for path in files:
        hits: list[tuple[int, str]] = []
        for i, ln in enumerate(_log_lines(path), 1):
            total += 1
            why = ""
            value = next((v for v in known if v in ln), None)
            if value is not None:
                why = f"a registered secret value ({len(value)} chars)"
            elif patterns_only.redact(ln) != ln:
                why = "a credential pattern"
            else:
                m = _SECRET_FIELD.search(ln)
                if m:
                    ctx.redact.register(m.group(2))
                    why = f"an unmasked '{m.group(1)}' field"
            if why:
                hits.append((i, why))
                if len(hits) >= 20:
                    break
        lines = _log_lines(path)
        for i, why in hits:
            findings.append(
                failed(
                    f"{path.name} line {i} contains {why}",
                    location=f"{path}:{i}",
                    evidence=lines[i - 1][:400],
                )
            )
        if not hits:
            findings.append(
                passed(
                    f"{path.name}: no registered secret ({len(known)} known values),"
                    " credential pattern or unmasked secret field",
                    location=str(path),
                )
            )
    return findings


_SHIPPERS = re.compile(
    r"(^|/)(vector\.(toml|ya?ml)|fluent-?bit\.conf|fluentd?\.conf|td-agent\.conf|"
    r"promtail[\w.-]*\.ya?ml|filebeat\.ya?ml|otel[\w.-]*collector[\w.-]*\.ya?ml|"
    r"logstash\.conf|datadog\.ya?ml)$",
    re.I,
)
_SHIP_DRIVERS = frozenset(
    {
        "fluentd",
        "gelf",
        "syslog",
        "awslogs",
        "gcplogs",
        "splunk",
        "loki",
        "journald",
        "logentries",
        "etwlogs",
    }
)
_SHIP_IMAGES = re.compile(
    r"vector|fluent|promtail|filebeat|otel|datadog|logstash|grafana/alloy", re.I
)


def compose_docs(ctx: Context) -> list[tuple[str, dict[str, object]]]:
    """Compose files of the audit (``--compose-file``) or, without it, the repository's stack
    files (no ``*override*`` files, nothing under tests/, examples/, fixtures/), parsed."""

    def build() -> list[tuple[str, dict[str, object]]]:
        paths: list[tuple[str, str | None]] = []
        if ctx.cfg.compose_files:
            for p in ctx.cfg.compose_files:
                try:
                    paths.append((str(p), p.read_text(encoding="utf-8")))
                except OSError:
                    continue
        else:
            for rel in ctx.files.files:
                name = rel.rsplit("/", 1)[-1]
                if (
                    re.match(r"(docker-)?compose[\w.-]*\.ya?ml$", name)
                    and "override" not in name  # merged onto a base file, not a stack alone
                    and not is_test_path(rel)
                    and not {"examples", "fixtures", "corpus"} & set(parts(rel)[:-1])
                ):
                    paths.append((rel, ctx.read(rel)))
        out = []
        for rel, text in paths:
            try:
                data = yaml.safe_load(text or "")
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and isinstance(data.get("services"), dict):
                out.append((rel, data))
        return out

    return ctx.memo("rdy:compose", build)


@check(
    "RDY-053",
    "Logs are shipped to an aggregation system",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.1.4",),
)
def log_aggregation(ctx: Context) -> list[Finding]:
    """Container logs leave the host: a compose logging driver that ships (fluentd, gelf,
    syslog, awslogs, loki, splunk, journald ...), a log-shipper service (Vector, Fluent Bit,
    Promtail, Filebeat, OpenTelemetry Collector) or its configuration file in the repository.

    With the default ``json-file`` driver logs stay on one host, are lost with it, and cannot be
    searched across instances during an incident.

    Remediation: run a shipper (Vector/Fluent Bit/Promtail) next to the services or set a
    shipping logging driver, and document where logs can be searched.
    """
    found: list[str] = [rel for rel in ctx.files.files if _SHIPPERS.search(rel)]
    local: list[str] = []
    for rel, data in compose_docs(ctx):
        services = data.get("services")
        assert isinstance(services, dict)
        for name, svc in services.items():
            if not isinstance(svc, dict):
                continue
            driver = str((svc.get("logging") or {}).get("driver", "json-file"))
            if driver in _SHIP_DRIVERS:
                found.append(f"{rel}: service {name} logging driver {driver}")
            else:
                local.append(f"{name} ({driver})")
            if _SHIP_IMAGES.search(str(svc.get("image", ""))):
                found.append(f"{rel}: shipper service {name} ({svc.get('image')})")
    if found:
        return [passed("log shipping: " + "; ".join(found[:5]))]
    return [
        failed(
            "no log shipping: no shipper configuration and compose services log locally"
            + (f" ({', '.join(local[:6])})" if local else "")
        )
    ]


# request metrics of subsystems, not of the HTTP API itself
_OTHER = re.compile(
    r"(llm|openai|db|database|sql|redis|cache|celery|task|job|queue|process|"
    r"python|go|grpc_client|outgoing|client)_",
    re.I,
)
_METRIC_CANDIDATES = ("/metrics", "/api/metrics", "/metrics/", "/prometheus")


@check(
    "RDY-054",
    "Metrics endpoint exposes request count and latency",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("5.2.1",),
)
async def metrics_content(ctx: Context) -> list[Finding]:
    """The backend's Prometheus metrics (``readiness.metrics_path`` or ``/metrics``) include a
    request counter (a counter named ``*request*``/``*http*``, e.g. ``http_requests_total``) and
    a request-latency histogram or summary (``*request*``/``*http*`` and ``duration``/``latency``/
    ``seconds``). Metrics of subsystems (``llm_``, ``db_``, ``redis_``, ``celery_``, client
    metrics ...) do not count.

    Request rate, errors and duration (RED) are the key metrics of an API; without them alerts
    and SLOs have nothing to measure.

    Remediation: instrument the app (``prometheus-fastapi-instrumentator`` or a middleware with
    ``prometheus_client`` ``Counter`` and ``Histogram`` labelled by method, route and status).
    """
    paths = (
        [ctx.cfg.readiness.metrics_path]
        if ctx.cfg.readiness.metrics_path
        else list(_METRIC_CANDIDATES)
    )
    ex = None
    unclear = []  # errors and redirects are not "no endpoint"
    for path in paths:
        ex = await ctx.http.get(ctx.url(path))
        if ex.status == 200 and re.search(r"^# (TYPE|HELP) ", ex.text, re.M):
            break
        if ex.status is None or ex.status >= 500 or 300 <= ex.status < 400:
            unclear.append(f"{path} -> {ex.status or ex.error}")
    else:
        assert ex is not None
        if unclear:
            raise Skip(f"metrics candidates answered {'; '.join(unclear[:4])}: whether metrics "
                       "are exposed was not verified")
        return [
            failed(
                f"no Prometheus metrics endpoint (tried {', '.join(paths)})",
                location=f"GET {ex.url}",
                evidence=ex.evidence(),
            )
        ]
    types = dict(re.findall(r"^# TYPE (\S+) (\w+)", ex.text, re.M))
    http = [n for n in types if re.search(r"request|http", n, re.I) and not _OTHER.match(n)]
    counters = [n for n in http if types[n] == "counter"]
    latency = [
        n
        for n in http
        if types[n] in ("histogram", "summary")
        and re.search(r"duration|latency|seconds|time", n, re.I)
    ]
    loc = f"GET {ex.url}"
    findings: list[Finding] = []
    if not counters:
        findings.append(
            failed(
                "no request counter among the metrics",
                location=loc,
                evidence="metric types: "
                + ", ".join(f"{n} {t}" for n, t in list(types.items())[:20]),
            )
        )
    if not latency:
        findings.append(
            failed("no request latency histogram or summary among the metrics", location=loc)
        )
    if not findings:
        findings.append(
            passed(
                f"request counter {counters[0]}, latency {latency[0]} "
                f"({len(types)} metric families)",
                location=loc,
            )
        )
    return findings


def _yaml_files(ctx: Context) -> list[tuple[str, object]]:
    def build() -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for rel in ctx.files.files:
            if (
                not rel.endswith((".yml", ".yaml"))
                or "node_modules" in parts(rel)
                or is_test_path(rel)
            ):
                continue
            try:
                docs = list(yaml.safe_load_all(ctx.read(rel) or ""))
            except yaml.YAMLError:
                continue
            out += [(rel, d) for d in docs if d is not None]
        return out

    return ctx.memo("rdy:yaml", build)


def _alert_rules(ctx: Context) -> list[tuple[str, dict[str, object]]]:
    rules: list[tuple[str, dict[str, object]]] = []
    for rel, doc in _yaml_files(ctx):
        if not isinstance(doc, dict):
            continue
        groups = doc.get("groups")
        spec = doc.get("spec")
        if groups is None and isinstance(spec, dict):
            groups = spec.get("groups")
        if not isinstance(groups, list):
            continue
        for g in groups:
            for r in (g.get("rules") or []) if isinstance(g, dict) else []:
                if isinstance(r, dict) and "alert" in r:
                    rules.append((rel, r))
    return rules


@check(
    "RDY-055",
    "Dashboards are kept as code",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.2.2",),
)
def dashboards(ctx: Context) -> list[Finding]:
    """The repository holds monitoring dashboards as code: Grafana dashboard JSON (an object
    with ``panels``), Grafana provisioning files, or Grafonnet/Jsonnet sources.

    Dashboards built by hand in a UI are lost with the instance and drift from the metrics the
    code exports; dashboards in the repository are reviewed and redeployed with the product.

    Remediation: export the service dashboard (request rate, errors, latency, saturation) to
    ``monitoring/dashboards/*.json`` and provision it.
    """
    found: list[str] = []
    for rel in ctx.files.files:
        if (
            rel.endswith((".jsonnet", ".libsonnet"))
            or "grafana" in rel.lower()
            and rel.endswith((".yml", ".yaml"))
        ):
            found.append(rel)
        elif rel.endswith(".json") and "node_modules" not in parts(rel):
            text = ctx.read(rel) or ""
            if '"panels"' in text[:200_000]:
                try:
                    data = json.loads(text)
                except json.JSONDecodeError:
                    continue
                dash = data.get("dashboard", data) if isinstance(data, dict) else None
                if isinstance(dash, dict) and isinstance(dash.get("panels"), list):
                    found.append(f"{rel} ({len(dash['panels'])} panels)")
    if not found:
        return [failed("no dashboards as code (Grafana JSON with panels, provisioning, jsonnet)")]
    return [passed("dashboards: " + ", ".join(found[:6]))]


@check(
    "RDY-056",
    "Alert rules are defined with thresholds",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("5.2.3", "5.3.3"),
)
def alert_rules(ctx: Context) -> list[Finding]:
    """The repository defines alert rules (Prometheus rule files or ``PrometheusRule`` resources
    with ``groups[].rules[].alert``), each with a threshold comparison in ``expr`` and a ``for``
    duration.

    Without alert rules nobody learns about an outage until users complain; a rule without a
    threshold or ``for`` pages on every blip.

    Remediation: add rules for error rate, latency (p95), availability (``up == 0``) and
    saturation, each with ``for: 5m`` and a severity label.
    """
    rules = _alert_rules(ctx)
    if not rules:
        return [failed("no alert rules (Prometheus rule files with groups/rules/alert)")]
    findings: list[Finding] = []
    for rel, r in rules:
        expr = str(r.get("expr", ""))
        if not re.search(r"[<>]=?|==|!=|\bbool\b", expr):
            findings.append(
                warned(
                    f"alert {r['alert']} has no threshold comparison in expr",
                    location=rel,
                    evidence=expr[:200],
                )
            )
        if not r.get("for"):
            findings.append(warned(f"alert {r['alert']} has no 'for' duration", location=rel))
    if not findings:
        findings.append(
            passed(
                f"{len(rules)} alert rule(s) with thresholds and durations: "
                + ", ".join(str(r["alert"]) for _, r in rules[:8]),
                location=rules[0][0],
            )
        )
    return findings


@check(
    "RDY-057", "SLIs/SLOs are defined", severity=Severity.LOW, needs=("repo",), checklist=("5.2.4",)
)
def slos(ctx: Context) -> list[Finding]:
    """The repository defines service level objectives: OpenSLO or Sloth specifications, or a
    document section on SLOs/SLIs that states a target percentage (e.g. "99.5% of requests").

    Without an SLO there is no agreed definition of "working", no error budget and no basis for
    alert thresholds.

    Remediation: write down 2–3 SLIs (availability, p95 latency of the main endpoints) with
    targets and windows, e.g. in ``docs/slo.md`` or an OpenSLO file, and alert on burn rate.
    """
    specs = [
        rel
        for rel, doc in _yaml_files(ctx)
        if isinstance(doc, dict)
        and (
            "openslo" in str(doc.get("apiVersion", "")).lower()
            or "sloth" in str(doc.get("apiVersion", "")).lower()
            or "slos" in doc
            and isinstance(doc.get("slos"), list)
        )
    ]
    if specs:
        return [passed("SLO specifications: " + ", ".join(specs[:5]), location=specs[0])]
    from prodaudit.checks.readiness._scan import docs

    d = docs(ctx)
    for hit in find_doc_topic(ctx, r"\bSL[OI]s?\b|service level"):
        rel = hit.location.rsplit(":", 1)[0]
        if re.search(r"\d{2}(\.\d+)?\s?%", d.texts.get(rel, "")):
            return [passed(f"SLOs documented: {hit.what}", location=hit.location)]
    return [
        failed(
            "no SLO definition (OpenSLO/Sloth file, or a documented SLO with a target percentage)"
        )
    ]


_SDK = re.compile(
    r"sentry_sdk\.init|@sentry/|Sentry\.init|rollbar\.init|bugsnag|honeybadger|"
    r"newrelic|ddtrace|elasticapm|opentelemetry",
    re.I,
)


@check(
    "RDY-058",
    "Error tracking (Sentry or equivalent) is configured",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("5.3.1", "P.1.5"),
)
def error_tracking(ctx: Context) -> list[Finding]:
    """The code initialises an error-tracking SDK (Sentry, Rollbar, Bugsnag, Honeybadger,
    Elastic APM, OpenTelemetry ...) and, in the production profile, its DSN variable
    (``SENTRY_DSN`` or another ``*_DSN``) is set in the audited environment.

    Unhandled exceptions in production are otherwise only in the logs, ungrouped and unalerted;
    an error tracker groups them, counts affected users and notifies the team.

    Remediation: add ``sentry_sdk.init(dsn=settings.sentry_dsn, environment=...)`` at startup
    (and ``@sentry/react`` in the frontend), and set ``SENTRY_DSN`` in the production secrets.
    """
    sites = [
        (mod.rel, m.group(0)) for mod in py_sources(ctx).app for m in [_SDK.search(mod.text)] if m
    ]
    for rel in ctx.files.files:
        if (
            rel.endswith((".js", ".jsx", ".ts", ".tsx"))
            and "node_modules" not in parts(rel)
            and "dist" not in parts(rel)
        ):
            m = _SDK.search(ctx.read(rel) or "")
            if m:
                sites.append((rel, m.group(0)))
    findings: list[Finding] = []
    if not sites:
        findings.append(
            failed(
                "no error-tracking SDK is initialised in the code (sentry_sdk.init,"
                " @sentry/*, rollbar, bugsnag, opentelemetry ...)"
            )
        )
    dsn_names = sorted(
        {n for src in (ctx.profile_env, ctx.target_env) for n in src if n.upper().endswith("_DSN")}
        | {"SENTRY_DSN"}
    )
    set_names = [n for n in dsn_names if (ctx.env_value(n) or "").strip()]
    if ctx.cfg.profile == "production" and not set_names:
        findings.append(
            failed(
                f"no error-tracking DSN set in the audited environment ({', '.join(dsn_names)})",
                location=str(ctx.cfg.env_file or ""),
            )
        )
    if not findings:
        findings.append(
            passed(
                f"error tracking initialised ({sites[0][1]} in {sites[0][0]}); "
                f"DSN set: {', '.join(set_names) or 'n/a in this profile'}"
            )
        )
    return findings


@check(
    "RDY-059",
    "Alert notifications are routed to people",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.3.4", "10.3.2"),
)
def alert_receivers(ctx: Context) -> list[Finding]:
    """An Alertmanager (or Grafana contact point) configuration in the repository routes alerts
    to at least one receiver with a real channel (email, Slack, PagerDuty, Opsgenie, webhook,
    Teams, Telegram).

    Alert rules without a receiver fire into the void.

    Remediation: add ``alertmanager.yml`` with a ``route`` and receivers for the on-call
    channel (secrets such as webhook URLs from the secret store, not the file).
    """
    channels = (
        "email_configs",
        "slack_configs",
        "pagerduty_configs",
        "opsgenie_configs",
        "webhook_configs",
        "msteams_configs",
        "telegram_configs",
        "victorops_configs",
        "pushover_configs",
        "sns_configs",
        "discord_configs",
    )
    found: list[str] = []
    empty: list[str] = []
    for rel, doc in _yaml_files(ctx):
        if not isinstance(doc, dict):
            continue
        receivers = doc.get("receivers")
        if isinstance(receivers, list) and "route" in doc:
            for r in receivers:
                if not isinstance(r, dict):
                    continue
                kinds = [c.removesuffix("_configs") for c in channels if r.get(c)]
                (found if kinds else empty).append(
                    f"{rel}: {r.get('name')} ({', '.join(kinds) or 'no channel'})"
                )
        contact = doc.get("contactPoints")
        if isinstance(contact, list):
            found += [
                f"{rel}: contact point {c.get('name')}" for c in contact if isinstance(c, dict)
            ]
    if found:
        return [passed("alert receivers: " + "; ".join(found[:5]))]
    if empty:
        return [failed("alert receivers without any channel: " + "; ".join(empty[:5]))]
    return [failed("no alert routing (no Alertmanager receivers or Grafana contact points)")]
