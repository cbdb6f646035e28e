"""RDY-056, RDY-057, RDY-059: observability — alert rules (validated by ``promtool``), SLOs and
alert routing (validated by ``amtool``) kept in the repository."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._monitoring import (
    alert_rules,
    group_rules,
    is_alertmanager,
    rule_groups,
    validate,
    yaml_docs,
)
from prodaudit.checks.readiness._scan import docs, find_doc_topic


def _promtool(ctx: Context) -> tuple[list[Finding], list[str]]:
    """``promtool check rules`` on every rule file (a ``PrometheusRule``'s groups are written to
    a temporary file first): (failures, files validated); ([], []) without promtool."""
    findings: list[Finding] = []
    checked: list[str] = []
    seen: set[str] = set()
    for rel, doc in yaml_docs(ctx):
        groups = rule_groups(doc)
        if not groups or not any("alert" in r for g in groups for r in group_rules(g)):
            continue
        plain = isinstance(doc, dict) and "groups" in doc
        if plain and rel in seen:
            continue
        seen.add(rel)
        v = validate(ctx, "promtool", ["check", "rules"], None if plain else {"groups": groups}, rel)
        if not v.tool:
            return [], []
        if v.ok:
            checked.append(rel)
        else:
            findings.append(failed(f"promtool check rules rejects {rel}", location=rel,
                                   evidence=v.shown()))
    return findings, checked


@check(
    "RDY-056",
    "Alert rules are defined with thresholds",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("5.2.3", "5.3.3"),
    evidence=Evidence.PARSED,
)
def alert_rules_defined(ctx: Context) -> list[Finding]:
    """The repository defines alert rules (Prometheus rule files or ``PrometheusRule`` resources
    with ``groups[].rules[].alert``) that ``promtool check rules`` accepts, each with a threshold
    comparison in ``expr`` and a ``for`` duration. Without ``promtool`` (Debian package
    ``prometheus``) the rules are only read: the PASS is "present, not validated".

    Without alert rules nobody learns about an outage until users complain; a rule without a
    threshold or ``for`` pages on every blip; a rule file Prometheus cannot load alerts on
    nothing at all.

    Remediation: add rules for error rate, latency (p95), availability (``up == 0``) and
    saturation, each with ``for: 5m`` and a severity label, and run ``promtool check rules`` in CI.
    """
    rules = alert_rules(ctx)
    if not rules:
        return [failed("no alert rules (Prometheus rule files with groups/rules/alert)")]
    findings, checked = _promtool(ctx)
    for rel, r in rules:
        expr = str(r.get("expr", ""))
        if not re.search(r"[<>]=?|==|!=|\bbool\b", expr):
            findings.append(warned(f"alert {r['alert']} has no threshold comparison in expr",
                                   location=rel, evidence=expr[:200]))
        if not r.get("for"):
            findings.append(warned(f"alert {r['alert']} has no 'for' duration", location=rel))
    if findings:
        return findings
    names = ", ".join(str(r["alert"]) for _, r in rules[:8])
    if checked:
        return [passed(f"{len(rules)} alert rule(s) with thresholds and durations, accepted by "
                       f"promtool check rules ({', '.join(checked[:4])}): {names}",
                       location=rules[0][0])]
    return [passed(f"{len(rules)} alert rule(s) with thresholds and durations: {names} — present, "
                   "not validated (promtool is not installed)", location=rules[0][0],
                   level=Evidence.PRESENT)]


def _slo_spec(doc: object) -> str | None:
    """What is wrong with an OpenSLO ``SLO`` / Sloth spec ('' when complete), None when the
    document is not one."""
    if not isinstance(doc, dict):
        return None
    api = str(doc.get("apiVersion", "")).lower()
    if "openslo" in api:
        if doc.get("kind") != "SLO":
            return None
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        objectives = spec.get("objectives")
        targets = [o for o in objectives if isinstance(o, dict)
                   and (o.get("target") is not None or o.get("targetPercent") is not None)] \
            if isinstance(objectives, list) else []
        missing = [w for w, ok in (("objectives with a target", targets),
                                   ("timeWindow", spec.get("timeWindow")),
                                   ("indicator", spec.get("indicator") or spec.get("indicatorRef")))
                   if not ok]
        return ", ".join(missing)
    slos_ = doc.get("slos")
    if "sloth" in api or isinstance(slos_, list):
        items = slos_ if isinstance(slos_, list) else (doc.get("spec") or {}).get("slos", [])
        ok = [s for s in items or [] if isinstance(s, dict) and s.get("objective") and s.get("sli")]
        return "" if ok else "slos with an objective and an sli"
    return None


_SLI_WORDS = re.compile(r"availab|latency|p9\d|error|success|uptime|respon|request", re.I)
_WINDOW = re.compile(r"\b\d+\s*(?:d|days?|h|hours?|weeks?|w)\b|\b(?:monthly|per month|rolling|"
                     r"calendar month|quarter)", re.I)


def _slo_sections(ctx: Context) -> list[str]:
    """Documentation sections on SLOs whose body states an SLI, a target percentage and a
    window ("99.5% of API requests succeed over 28 days"); a heading alone is not enough."""
    d = docs(ctx)
    found: list[str] = []
    for hit in find_doc_topic(ctx, r"\bSL[OI]s?\b|service level"):
        rel, _, line = hit.location.rpartition(":")
        lines = d.texts.get(rel, "").splitlines()
        start = int(line) if line.isdigit() else 1
        body: list[str] = []
        for text in lines[start:start + 60]:
            if re.match(r"\s{0,3}#{1,6}\s", text) and body:
                break
            if not re.match(r"\s{0,3}#{1,6}\s", text):
                body.append(text)
        for sentence in re.split(r"(?<=[.;])\s+|\n", "\n".join(body)):
            if (re.search(r"\d{2}(\.\d+)?\s?%", sentence) and _SLI_WORDS.search(sentence)
                    and _WINDOW.search(sentence)):
                found.append(f"{hit.location}: {sentence.strip()[:160]}")
                break
    return found


@check(
    "RDY-057", "SLIs/SLOs are defined", severity=Severity.LOW, needs=("repo",), checklist=("5.2.4",),
    evidence=Evidence.PARSED,
)
def slos(ctx: Context) -> list[Finding]:
    """The repository defines service level objectives: OpenSLO ``SLO`` documents (objectives
    with a target, a time window and an indicator) or Sloth specifications (objective and SLI)
    are read and validated; a document section on SLOs counts only when a sentence of its body
    names an indicator, a target percentage and a window ("99.5% of API requests succeed over
    28 days") — and then only as "present": a machine cannot judge prose.

    Without an SLO there is no agreed definition of "working", no error budget and no basis for
    alert thresholds.

    Remediation: write down 2–3 SLIs (availability, p95 latency of the main endpoints) with
    targets and windows, e.g. in ``docs/slo.md`` or an OpenSLO file, and alert on burn rate.
    """
    complete: list[str] = []
    findings: list[Finding] = []
    for rel, doc in yaml_docs(ctx):
        problem = _slo_spec(doc)
        if problem is None:
            continue
        if problem:
            findings.append(warned(f"SLO specification without {problem}", location=rel))
        else:
            name = doc.get("metadata", {}).get("name", "") if isinstance(doc, dict) and \
                isinstance(doc.get("metadata"), dict) else ""
            complete.append(f"{rel}{f' ({name})' if name else ''}")
    if complete:
        return findings + [passed("SLO specifications with targets, windows and indicators: "
                                  + ", ".join(complete[:5]), location=complete[0].split(" ")[0])]
    if findings:
        return findings
    sections = _slo_sections(ctx)
    if sections:
        return [passed("SLOs documented (present, not machine-checked): " + "; ".join(sections[:3]),
                       location=sections[0].split(": ")[0], level=Evidence.PRESENT)]
    return [failed("no SLO definition (an OpenSLO/Sloth file, or a documented SLO that names an "
                   "indicator, a target percentage and a window)")]


_CHANNELS = ("email_configs", "slack_configs", "pagerduty_configs", "opsgenie_configs",
             "webhook_configs", "msteams_configs", "msteamsv2_configs", "telegram_configs",
             "victorops_configs", "pushover_configs", "sns_configs", "discord_configs",
             "webex_configs", "wechat_configs", "jira_configs", "rocketchat_configs")


def _receivers(ctx: Context) -> tuple[list[str], list[str], list[str]]:
    """(receivers with a channel, receivers without one, Alertmanager files) of the repository."""
    found: list[str] = []
    empty: list[str] = []
    files: list[str] = []
    for rel, doc in yaml_docs(ctx):
        if is_alertmanager(doc):
            assert isinstance(doc, dict)
            files.append(rel)
            for r in doc["receivers"]:
                if isinstance(r, dict):
                    kinds = [c.removesuffix("_configs") for c in _CHANNELS if r.get(c)]
                    (found if kinds else empty).append(
                        f"{rel}: {r.get('name')} ({', '.join(kinds) or 'no channel'})")
        contact = doc.get("contactPoints") if isinstance(doc, dict) else None
        if isinstance(contact, list):
            found += [f"{rel}: contact point {c.get('name')}" for c in contact if isinstance(c, dict)]
    return found, empty, files


@check(
    "RDY-059",
    "Alert notifications are routed to people",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.3.4", "10.3.2"),
    evidence=Evidence.PARSED,
)
def alert_receivers(ctx: Context) -> list[Finding]:
    """An Alertmanager configuration that ``amtool check-config`` accepts (or a Grafana contact
    point) routes alerts to at least one receiver with a real channel (email, Slack, PagerDuty,
    Opsgenie, webhook, Teams, Telegram ...). Without ``amtool`` (Debian package
    ``prometheus-alertmanager``) the file is only read: the PASS is "present, not validated".

    Alert rules without a receiver fire into the void; a configuration Alertmanager refuses to
    load routes nothing.

    Remediation: add ``alertmanager.yml`` with a ``route`` and receivers for the on-call
    channel (secrets such as webhook URLs from the secret store, not the file), and run
    ``amtool check-config`` in CI.
    """
    found, empty, files = _receivers(ctx)
    findings: list[Finding] = []
    validated: list[str] = []
    tool = True
    for rel in files:
        v = validate(ctx, "amtool", ["check-config"], rel=rel)
        if not v.tool:
            tool = False
            break
        if v.ok:
            validated.append(rel)
        else:
            findings.append(failed(f"amtool check-config rejects {rel}", location=rel,
                                   evidence=v.shown()))
    if empty and not found:
        findings.append(failed("alert receivers without any channel: " + "; ".join(empty[:5]),
                               location=empty[0].split(":")[0]))
    if findings:
        return findings
    if not found:
        return [failed("no alert routing (no Alertmanager receivers or Grafana contact points)")]
    if validated:
        return [passed(f"alert receivers: {'; '.join(found[:5])}; accepted by amtool check-config "
                       f"({', '.join(validated)})", location=validated[0])]
    why = "amtool is not installed" if not tool else "no Alertmanager file to validate"
    return [passed(f"alert receivers: {'; '.join(found[:5])} — present, not validated ({why})",
                   level=Evidence.PRESENT)]
