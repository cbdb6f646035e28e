"""docs/troubleshooting-guide.md: for every check of the last run, the symptom, the likely cause,
how to verify and how to fix; failing checks of the last run first."""

from __future__ import annotations

from prodaudit.guides._common import esc, header
from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.view import sort_key


def _paragraphs(doc: str) -> list[str]:
    return [" ".join(p.split()) for p in doc.strip().split("\n\n") if p.strip()]


def _cause(r: CheckResult) -> str:
    paras = [p for p in _paragraphs(r.doc) if not p.startswith("Remediation:")]
    if len(paras) > 1:
        return " ".join(paras[1:3])
    return paras[0] if paras else r.title


def _fix(r: CheckResult) -> list[str]:
    fixes = [
        f.remediation
        for f in r.findings
        if f.status in (Status.FAIL, Status.WARN) and f.remediation
    ]
    doc_fix = next(
        (
            p[len("Remediation:") :].strip()
            for p in _paragraphs(r.doc)
            if p.startswith("Remediation:")
        ),
        "",
    )
    out = list(dict.fromkeys([*fixes, doc_fix]))
    return [esc(f) for f in out if f] or ["See the check's documentation (`prodaudit list`)."]


def _symptoms(r: CheckResult) -> list[str]:
    if r.status in (Status.FAIL, Status.WARN):
        out = [
            esc(f.message) + (f" (`{f.location}`)" if f.location else "")
            for f in r.findings
            if f.status is r.status
        ]
        return out[:6] or [f"{r.id} reports {r.status.value.upper()}"]
    if not r.status.verified:
        return [f"{r.id} reports {r.status.value.upper()}: {esc(r.reason)}"]
    return [f"{r.id} reports FAIL or WARN: {r.title.lower()} does not hold"]


def _curls(r: CheckResult) -> list[str]:
    out: list[str] = []
    for f in r.findings:
        for line in f.evidence.splitlines():
            if line.strip().startswith("curl ") and line.strip() not in out:
                out.append(line.strip())
    return out[:3]


def troubleshooting_guide(run: AuditRun) -> str:
    lines = header(run, "Troubleshooting guide")
    ordered = sorted(run.results, key=sort_key)
    failing = [r for r in ordered if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    lines += [
        f"{len(ordered)} checks; {len(failing)} failing, erroring or warning in the last run "
        "(listed first). Re-run one check with `prodaudit run --only ID`.",
        "",
        "## Index",
        "",
    ]
    lines += [
        f"- [{r.id} {r.title}](#{r.id.lower()}) — last run: {r.status.value.upper()}"
        + (" (waived)" if r.waived else "")
        for r in ordered
    ]
    lines.append("")
    for r in ordered:
        lines += [
            f'<a id="{r.id.lower()}"></a>',
            f"## {r.id} {r.title}",
            "",
            f"Last run: **{r.status.value.upper()}**"
            + (f" (waived: {esc(r.waiver)})" if r.waived else "")
            + f" · severity {r.effective_severity.label} · suite {r.suite}",
            "",
            "**Symptom**",
            "",
        ]
        lines += [f"- {s}" for s in _symptoms(r)]
        lines += ["", f"**Likely cause** — {_cause(r)}", "", "**How to verify**", ""]
        lines.append(f"- `prodaudit run --suite {r.suite} --only {r.id}`")
        lines += [f"- `{c}`" for c in _curls(r)]
        lines += ["", "**How to fix**", ""]
        lines += [f"- {f}" for f in _fix(r)]
        lines.append("")
    return "\n".join(lines)
