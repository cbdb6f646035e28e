"""RDY-056, RDY-057, RDY-059: observability — alert rules, SLOs and alert routing kept in the
repository."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    check,
    failed,
    load_yaml_all,
    passed,
    warned,
)
from prodaudit.checks.readiness._scan import docs, find_doc_topic, is_test_path, parts


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
                found = load_yaml_all(ctx.read(rel) or "", rel)
            except InputError:
                continue  # malformed or over a bound: not an alert rule file we can read
            out += [(rel, d) for d in found if d is not None]
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
    "RDY-056",
    "Alert rules are defined with thresholds",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("5.2.3", "5.3.3"),
    evidence=Evidence.PARSED,
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
, evidence=Evidence.PRESENT)
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


@check(
    "RDY-059",
    "Alert notifications are routed to people",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.3.4", "10.3.2"),
    evidence=Evidence.PARSED,
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
