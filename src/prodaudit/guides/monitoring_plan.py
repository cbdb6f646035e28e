"""docs/post-launch-monitoring-plan.md: from what the audit found (health and readiness endpoints,
metrics, error tracking, logs): what to watch, alert suggestions, starting thresholds, and the gaps.

Two things it never does: present latency measured against a local target (loopback or a private
network, e.g. the reference target the audit starts itself) as a production SLO — such numbers are
labelled as starting points to re-measure on production traffic — and name a loopback or private
URL as an endpoint to monitor (the path is given, to be prefixed with the production host).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from prodaudit.config import PerfConfig
from prodaudit.guides._common import (
    LABEL,
    SYMBOL,
    esc,
    header,
    is_loopback,
    problems,
    results_for,
    state,
    target_is_local,
)
from prodaudit.model import AuditRun, CheckResult

_URL_RE = re.compile(r"\b(?:GET|HEAD|POST)\s+(https?://\S+)")


@dataclass(frozen=True)
class Area:
    title: str
    items: tuple[str, ...]
    watch: str
    alert: str


AREAS: tuple[Area, ...] = (
    Area(
        "Health and readiness",
        ("9.2.4", "P.2.5", "3.1.5"),
        "Liveness (process up) and readiness (database, Redis, LLM provider reachable) from "
        "outside the host, every 30 s.",
        "Page when readiness fails 3 checks in a row (~90 s); warn when liveness latency "
        "exceeds its threshold for 5 minutes.",
    ),
    Area(
        "Metrics",
        ("5.2.1", "5.2.2", "5.2.3", "5.2.4", "3.3.4"),
        "Request rate, error rate (5xx share) and latency percentiles per route from the "
        "Prometheus endpoint; Redis memory and evictions; database connections.",
        "Page when the 5xx rate or p95 latency exceeds the thresholds below for 5 minutes.",
    ),
    Area(
        "Error tracking",
        ("5.3.1", "5.3.2", "5.3.3", "5.3.4"),
        "Unhandled exceptions grouped by cause, with release tags.",
        "Notify the on-call channel for every new error group; page on a spike (10x the "
        "hourly baseline).",
    ),
    Area(
        "Logs",
        ("5.1.1", "5.1.2", "5.1.3", "5.1.4"),
        "Structured (JSON) logs shipped to one place; no secrets or personal data in them.",
        "Alert on log volume dropping to zero (shipping broken) and on ERROR bursts.",
    ),
    Area(
        "Security signals",
        ("8.2.2", "1.3.7", "8.1.1"),
        "Rate-limit rejections (429), failed logins, invalid tokens.",
        "Warn when 429s or 401s exceed 10x their daily baseline (credential stuffing, abuse).",
    ),
)


_ANY_URL = re.compile(r"https?://[^\s/]+")


def _strip_local(text: str) -> str:
    """``GET http://127.0.0.1:8000/health`` -> ``GET /health``: no local host in the plan."""
    return _ANY_URL.sub(lambda m: "" if is_loopback(m.group(0)) else m.group(0), text)


def _endpoints(results: list[CheckResult]) -> list[str]:
    """Endpoints the checks reached: production URLs as found; local ones as a path only."""
    out: list[str] = []
    for r in results:
        for f in r.findings:
            for text in (f.location, f.message):
                for m in _URL_RE.finditer(text or ""):
                    url = m.group(1).rstrip(".,;)")
                    shown = (urlsplit(url).path or "/") if is_loopback(url) else url
                    if shown not in out:
                        out.append(shown)
    return out[:8]


def _perf_baseline(facts: Mapping[str, Any]) -> dict[str, float]:
    """The measured baseline of the functional suite (``facts.performance.targets``): the worst
    p95 latency and error rate over the measured targets; empty when nothing was measured."""
    perf = facts.get("performance")
    targets = perf.get("targets") if isinstance(perf, Mapping) else None
    if not isinstance(targets, list):
        return {}
    measured = [t for t in targets if isinstance(t, Mapping) and isinstance(t.get("p95_ms"), int | float)]
    if not measured:
        return {}
    return {
        "p95_ms": max(float(t["p95_ms"]) for t in measured),
        "error_rate": max(float(t.get("error_rate") or 0.0) for t in measured),
    }


def _thresholds(run: AuditRun) -> list[str]:
    perf = PerfConfig.model_validate({})
    base = _perf_baseline(run.facts)
    p95 = base.get("p95_ms")
    err = base.get("error_rate")
    if p95 is None:
        return [
            "No performance baseline was recorded by the last audit. Until one is measured on "
            f"production traffic, start from the audit's own limits: p95 latency warn "
            f"{perf.p95_warn_ms:.0f} ms, fail {perf.p95_fail_ms:.0f} ms; error rate fail above "
            f"{perf.error_rate_fail:.1%}.",
        ]
    warn = max(2 * p95, perf.p95_warn_ms)
    page = max(4 * p95, perf.p95_fail_ms)
    err_page = max(perf.error_rate_fail, 2 * (err or 0))
    measured = f"p95 {p95:.0f} ms" + (f", error rate {err:.2%}" if err is not None else "")
    if target_is_local(run):
        return [
            f"Measured by the last audit against a local target ({measured}): a loopback run "
            "has no network, no TLS, no real load and no real data, so these numbers are **not "
            "production SLOs**. Re-measure against staging or production traffic and set the "
            "SLOs from that.",
            f"Starting points until then: warn when p95 latency > {warn:.0f} ms for 5 minutes; "
            f"page when p95 > {page:.0f} ms; page when the error rate > {err_page:.1%} for 5 "
            "minutes.",
        ]
    return [
        f"Baseline measured by the last audit against `{run.target.get('base_url')}`: {measured}.",
        f"Warn when p95 latency > {warn:.0f} ms (2x baseline, at least the audit's warn limit) "
        f"for 5 minutes; page when p95 > {page:.0f} ms.",
        f"Page when the error rate > {err_page:.1%} for 5 minutes.",
    ]


def post_launch_monitoring_plan(run: AuditRun) -> str:
    lines = header(run, "Post-launch monitoring plan")
    lines += ["## Thresholds", ""]
    lines += [f"- {t}" for t in _thresholds(run)]
    lines.append("")
    gaps: list[str] = []
    for area in AREAS:
        results = results_for(run, area.items)
        st = state(results)
        lines += [
            f"## {area.title}",
            "",
            f"Audit status: {SYMBOL[st]} {LABEL[st]}"
            + (
                f" ({', '.join(r.id + ' ' + r.status.value.upper() for r in results)})"
                if results
                else ""
            ),
            "",
        ]
        endpoints = _endpoints(results)
        if endpoints:
            local = target_is_local(run)
            lead = "Paths found (on the production host)" if local else "Endpoints found"
            lines.append(f"{lead}: " + ", ".join(f"`{e}`" for e in endpoints) + ".")
            lines.append("")
        verified = [f.message for r in results for f in r.findings if f.status.value == "pass"][:4]
        if verified:
            where = " (on the local target it audited)" if target_is_local(run) else ""
            shown = [esc(_strip_local(m)) for m in verified]
            lines += [f"What the audit verified{where}:", ""] + [f"- {m}" for m in shown] + [""]
        lines += [f"**Watch:** {area.watch}", "", f"**Alert:** {area.alert}", ""]
        if st in ("fail", "waived", "unverified", "manual"):
            detail = [_strip_local(p) for p in problems(run, results)]
            gaps.append(
                f"{area.title}: {LABEL[st]}" + (f" — {'; '.join(detail)}" if detail else "")
            )
    lines += ["## Gaps", ""]
    lines += [f"- {g}" for g in gaps] if gaps else ["- None found by the audit."]
    lines += [
        "",
        "## First week after launch",
        "",
        "- Review dashboards daily; tune alert thresholds against real traffic.",
        "- Re-run `invoke audit.all` against production after every deployment; compare with "
        "the previous `audit.json` (baseline diff in `production-readiness.md`).",
        "- Confirm every alert reaches a person (fire a test alert).",
        "",
    ]
    return "\n".join(lines)
