"""RDY-054–055: observability — metrics content of the live target, and dashboards as code whose
queries name metrics the live target exports."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
)
from prodaudit.checks.readiness._monitoring import (
    Dashboard,
    Exported,
    dashboards,
    exported_metrics,
    promql_metric_names,
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
    evidence=Evidence.OBSERVED,
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


def _judge_dashboard(dash: Dashboard, exported: Exported) -> tuple[Finding | None, int]:
    """A FAIL for a dashboard whose queries name metrics the app does not export (or that has
    no query at all); otherwise (None, number of panels backed by exported metrics)."""
    queried = [p for p in dash.panels if p.queries]
    if not queried:
        return failed(f"dashboard '{dash.title}' has no panel with a query "
                      f"({len(dash.panels)} panel(s))", location=dash.rel), 0
    if exported.reason:
        return None, 0
    backed = 0
    unknown: list[str] = []
    for panel in queried:
        names = set().union(*(promql_metric_names(q) for q in panel.queries))
        if any(exported.knows(n) for n in names):
            backed += 1
        missing = sorted(n for n in names if not exported.knows(n) and not exported.external(n))
        if missing:
            unknown.append(f"{panel.title}: {', '.join(missing[:5])}")
    if unknown or not backed:
        return failed(f"dashboard '{dash.title}': {len(unknown)} panel(s) query metrics "
                      f"{exported.url} does not export" if unknown else
                      f"dashboard '{dash.title}': no panel queries a metric {exported.url} exports",
                      location=dash.rel, evidence="\n".join(unknown[:12])), 0
    return None, backed


@check(
    "RDY-055",
    "Dashboards are kept as code and chart metrics the app exports",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.2.2",),
    evidence=Evidence.OBSERVED,
)
async def dashboards_as_code(ctx: Context) -> list[Finding]:
    """The repository holds Grafana dashboards as code (JSON with ``panels``, also rows and
    ``dashboard.panels``) whose panels query metrics, and — when the target is live — the
    metric names in those queries (PromQL, parsed) are ones the app exports at its metrics
    endpoint (one bounded scrape; series of Prometheus itself such as ``up`` and of other
    exporters such as ``probe_*`` are allowed). Without a live target the dashboards are
    "present, not verified"; Grafonnet/Jsonnet sources alone are "present".

    A dashboard that charts metric names the code never exports shows flat lines during the
    incident it was built for; ``{"panels": []}`` shows nothing at all.

    Remediation: export the service dashboard (request rate, errors, latency, saturation) to
    ``monitoring/dashboards/*.json``, keep its queries on the names ``/metrics`` serves, and
    provision it.
    """
    dashes = dashboards(ctx)
    sources = [rel for rel in ctx.files.files if rel.endswith((".jsonnet", ".libsonnet"))
               and "node_modules" not in parts(rel)]
    if not dashes:
        if sources:
            return [passed("dashboard sources (Jsonnet) present, not rendered or verified: "
                           + ", ".join(sources[:4]), location=sources[0], level=Evidence.PRESENT)]
        return [failed("no dashboards as code (Grafana JSON with panels, or Jsonnet sources)")]
    exported = await exported_metrics(ctx)
    findings: list[Finding] = []
    summary: list[str] = []
    for dash in dashes:
        bad, backed = _judge_dashboard(dash, exported)
        if bad is not None:
            findings.append(bad)
        else:
            summary.append(f"{dash.rel}: " + (f"{backed} of {len(dash.panels)} panels on exported "
                                               "metrics" if not exported.reason else
                                               f"{sum(1 for p in dash.panels if p.queries)} panels "
                                               "with queries"))
    if findings:
        return findings
    if exported.reason:
        return [passed("dashboards " + "; ".join(summary[:4]) + " — present, not compared with a "
                       f"live /metrics ({exported.reason})", location=dashes[0].rel,
                       level=Evidence.PRESENT)]
    return [passed("dashboards " + "; ".join(summary[:4]) + f" (metric names checked against "
                   f"{exported.url}, {len(exported.names)} series names)", location=dashes[0].rel)]
