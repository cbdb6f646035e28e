"""docs/troubleshooting-guide.md: what went wrong in this run, about this product.

Only the checks that failed, warned or could not be verified in the last run are in it (a check
that passed needs no troubleshooting; every check's documentation is in ``prodaudit list`` and
``docs/<suite>.md``). Failures come first, worst first, each with its symptom (the findings,
variants folded), where it is (repository-relative locations, and the route handler for live
findings when the source map found it), the likely cause (the check's rationale), how to reproduce
or re-check it (the check alone, and the ``curl`` of its evidence) and the fix. Checks that could
not be verified follow, grouped by root cause with the one action that resolves each group.
"""

from __future__ import annotations

from collections.abc import Mapping

from prodaudit.guides._common import esc, header
from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.causes import group_causes
from prodaudit.report.locations import display
from prodaudit.report.screen import OUTCOME, build_screen
from prodaudit.report.source_map import KEY as SOURCE_MAP
from prodaudit.report.text import md_code
from prodaudit.report.variants import group_findings


def _paragraphs(doc: str) -> list[str]:
    return [" ".join(p.split()) for p in doc.strip().split("\n\n") if p.strip()]


def _cause(r: CheckResult) -> str:
    paras = [p for p in _paragraphs(r.doc) if not p.startswith("Remediation:")]
    if len(paras) > 1:
        return esc(" ".join(paras[1:3]))
    return esc(paras[0] if paras else r.title)


def _fixes(r: CheckResult) -> list[str]:
    fixes = [f.remediation for f in r.findings if f.status is r.status and f.remediation]
    doc_fix = next(
        (p[len("Remediation:") :].strip() for p in _paragraphs(r.doc) if p.startswith("Remediation:")),
        "",
    )
    out = list(dict.fromkeys(fixes or [doc_fix]))
    return [esc(f) for f in out if f] or ["See the check's documentation (`prodaudit list`)."]


def _handler(run: AuditRun, location: str) -> str:
    smap = run.extras.get(SOURCE_MAP) if isinstance(run.extras, Mapping) else None
    hit = smap.get("locations", {}).get(location) if isinstance(smap, Mapping) else None
    if isinstance(hit, Mapping) and hit.get("uri"):
        where = md_code(f"{hit['uri']}:{hit.get('line') or 1}")
        return f" — in the code: {where} ({esc(hit.get('why', ''))})"
    return ""


def _symptoms(run: AuditRun, r: CheckResult) -> list[str]:
    out = []
    for g in group_findings(r.findings):
        f = g.first
        if f.status is not r.status:
            continue
        line = esc(g.message)
        if g.grouped:
            line += f" — {len(g.variants)} variants: " + "; ".join(esc(v) for v in g.variants)
        if f.location:
            line += f" (at {md_code(display(run, f.location))}{_handler(run, f.location)})"
        out.append(line)
    return out or [f"{r.id} reports {r.status.value.upper()}" + (f": {esc(r.reason)}" if r.reason else "")]


def _curls(r: CheckResult) -> list[str]:
    out: list[str] = []
    for g in group_findings(r.findings):
        for line in g.first.evidence.splitlines():
            s = line.strip().removeprefix("$ ")
            if s.startswith("curl ") and s not in out:
                out.append(s)
    return out[:3]


def _failure(run: AuditRun, r: CheckResult) -> list[str]:
    lines = [
        f'<a id="{r.id.lower()}"></a>',
        f"### {r.id} · {esc(r.title)} — {OUTCOME[r.status]}",
        "",
        f"Severity {r.effective_severity.label} · suite {r.suite}"
        + (f" · **waived**: {esc(r.waiver)}" if r.waived else ""),
        "",
        "**What the audit saw**",
        "",
    ]
    lines += [f"- {s}" for s in _symptoms(run, r)]
    lines += ["", f"**Why it matters** — {_cause(r)}", "", "**Reproduce, then re-check after the fix**", ""]
    lines += [f"- `{c}`" if "`" not in c else f"- {md_code(c)}" for c in _curls(r)]
    lines.append(f"- `prodaudit run --suite {r.suite} --only {r.id}`")
    lines += ["", "**Fix**", ""]
    lines += [f"- {f}" for f in _fixes(r)]
    lines.append("")
    return lines


def troubleshooting_guide(run: AuditRun) -> str:
    s = build_screen(run)
    waived_problems = [r for r in s.waived if r.status is not Status.PASS]
    lines = header(run, "Troubleshooting guide")
    n_unverified = s.unverified_count
    lines += [
        f"What went wrong in this run: {len(s.failures)} requirement(s) not met, "
        f"{len(s.warnings)} met with warnings, {n_unverified} not verified"
        + (f", {len(waived_problems)} waived" if waived_problems else "")
        + f". The {s.passed} checks that passed are not repeated here (their documentation: "
        "`prodaudit list`, `docs/<suite>.md`).",
        "",
    ]
    if not (s.failures or s.warnings or s.unverified or waived_problems):
        lines += ["Nothing to troubleshoot: every check of the run passed.", ""]
        return "\n".join(lines)
    if s.failures:
        lines += ["## Requirements not met", ""]
        for r in s.failures:
            lines += _failure(run, r)
    if s.unverified:
        lines += [
            "## Could not be verified",
            "",
            "Grouped by root cause; one action resolves each group. Re-run the audit after it.",
            "",
        ]
        pending = [r for g in s.unverified for r in g.results]
        for g in group_causes(pending, run.results):
            lines += [f"### {esc(g.title)} ({len(g.results)})", ""]
            if g.key != "other":
                lines += [f"**Action:** {esc(g.action)}", ""]
            for r in g.results:
                lines.append(
                    f"- {r.id} ({r.effective_severity.label}) {esc(r.title)} — "
                    f"{r.status.value.upper()}: {esc(r.reason or 'no reason given')}"
                )
            lines.append("")
    if s.warnings:
        lines += ["## Met, with warnings", ""]
        for r in s.warnings:
            lines += _failure(run, r)
    if waived_problems:
        lines += ["## Waived", "", "These do not count against the decision until their waiver expires.", ""]
        for r in waived_problems:
            lines += _failure(run, r)
    return "\n".join(lines)
