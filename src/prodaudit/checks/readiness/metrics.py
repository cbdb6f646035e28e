"""RDY-054–055: observability — metrics content of the live target and dashboards as code."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Finding,
    InputError,
    Severity,
    Skip,
    check,
    failed,
    load_json,
    passed,
)
from prodaudit.checks.readiness._scan import parts

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
                    data = load_json(text, rel)
                except InputError:
                    continue
                dash = data.get("dashboard", data) if isinstance(data, dict) else None
                if isinstance(dash, dict) and isinstance(dash.get("panels"), list):
                    found.append(f"{rel} ({len(dash['panels'])} panels)")
    if not found:
        return [failed("no dashboards as code (Grafana JSON with panels, provisioning, jsonnet)")]
    return [passed("dashboards: " + ", ".join(found[:6]))]
