"""The fleet's ``production-readiness.md`` and CI step summary: the fleet overview first (one row
per service), the fleet decision's reasons, missing audits, then each service's decision screen
(its full reports are in ``services/<name>/``)."""

from __future__ import annotations

from prodaudit.fleet.model import FleetRun
from prodaudit.report.fleet.interface import FleetRenderer
from prodaudit.report.fleet.view import FleetView, build_fleet_view
from prodaudit.report.markdown import decision_markdown
from prodaudit.report.text import md_cell, md_inline

#: fleet reasons listed in the summary (the rest are counted)
REASONS_SHOWN = 30


def service_dir(name: str) -> str:
    return f"services/{name}"


def overview_markdown(view: FleetView, *, links: bool = True) -> str:
    """The overview table and the fleet decision's reasons."""
    fleet = view.fleet
    out = [
        f"> **{view.verdict}** (exit {fleet.decision.exit_code}) — "
        f"{md_inline(view.headline.split(': ', 1)[1])}",
        "",
        "| Service | Decision | Not met | Not verified | Warnings | Met | Waived | Missing audits |"
        + (" Report |" if links else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if links else ""),
    ]
    for r in view.rows:
        sev = f" ({r.not_met_by_severity})" if r.not_met_by_severity else ""
        missing = ", ".join(r.missing) or "—"
        name = f"[{md_cell(r.name)}](#{r.name.lower()})" if links else md_cell(r.name)
        row = (
            f"| {name} | **{r.verdict}** | {r.not_met}{sev} | {r.unverified} | {r.warnings} | {r.met} "
            f"| {r.waived} | {missing} |"
        )
        if links:
            row += f" [{service_dir(r.name)}/]({service_dir(r.name)}/production-readiness.md) |"
        out.append(row)
    out.append("")
    reasons = fleet.decision.reasons
    if reasons:
        out += ["Why:", ""]
        out += [f"- {md_inline(r)}" for r in reasons[:REASONS_SHOWN]]
        if len(reasons) > REASONS_SHOWN:
            out.append(f"- … and {len(reasons) - REASONS_SHOWN} more (every service's screen below)")
        out.append("")
    return "\n".join(out)


def _provenance(fleet: FleetRun) -> list[str]:
    out: list[str] = []
    missing = fleet.missing
    if missing:
        out += [
            "## Planned audits no job delivered (not verified)",
            "",
            "| Service | Suite | Job | Why |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {md_cell(m.service)} | {m.suite} | {md_cell(m.job) or '—'} | {md_cell(m.reason)} |"
            for m in missing
        ]
        out.append("")
    if fleet.superseded:
        out += ["## Superseded audits (an older run of the same job)", ""]
        out += [
            f"- {md_cell(j.service)} {', '.join(j.suites)}: run `{j.run_id}` ({md_cell(j.source)})"
            for j in fleet.superseded
        ]
        out.append("")
    aside = fleet.extras.get("set_aside") or []
    if aside:
        out += ["## Files set aside", ""]
        out += [f"- `{md_cell(a.get('source', ''))}`: {md_cell(a.get('why', ''))}" for a in aside]
        out.append("")
    return out


class FleetMarkdownRenderer(FleetRenderer):
    name = "markdown"
    filename = "production-readiness.md"
    description = (
        "the fleet overview (one row per service: decision, not met, not verified, missing "
        "audits), the fleet decision's reasons, then each service's decision screen"
    )

    def format(self, fleet: FleetRun) -> str:
        view = build_fleet_view(fleet)
        head = [
            "# Production readiness — fleet",
            "",
            f"prodaudit {fleet.tool_version} · fleet digest `{fleet.fleet_digest}` · run `{fleet.run_id}` · "
            f"{len(fleet.services)} service(s) · audits from {fleet.started_at or '?'} "
            f"to {fleet.finished_at or '?'}",
            "",
            "## Services",
            "",
            overview_markdown(view),
        ]
        body = _provenance(fleet)
        for r in view.rows:
            run = r.service.run
            jobs = ", ".join(f"`{j.run_id}` ({', '.join(j.suites)})" for j in r.service.jobs) or "none"
            body += [
                f"## {md_cell(r.name)}",
                "",
                f"Profile **{run.profile}** · suites {', '.join(r.service.suites)} · jobs {jobs} · full "
                f"reports: [{service_dir(r.name)}/]({service_dir(r.name)}/production-readiness.md)",
                "",
                decision_markdown(run, level=3),
            ]
        return "\n".join(head + body).rstrip() + "\n"


def fleet_step_summary(fleet: FleetRun) -> str:
    """``$GITHUB_STEP_SUMMARY`` for a merge: the overview and the reasons (no per-service screens:
    a summary is capped at 1 MiB per step)."""
    return (
        f"## prodaudit fleet: {fleet.decision.verdict}\n\n"
        f"prodaudit {fleet.tool_version} · fleet digest `{fleet.fleet_digest}` · run `{fleet.run_id}`\n\n"
        + overview_markdown(build_fleet_view(fleet), links=False)
        + "\nDetails: `production-readiness.md` and `index.html` of the fleet report directory, one "
        "directory per service under `services/`.\n\n"
    )
