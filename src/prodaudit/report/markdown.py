"""Markdown reports rendered from Jinja2 templates: one renderer per document, and the decision
screen in Markdown (the top of ``production-readiness.md`` and the CI step summary)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from prodaudit.cache import template_cache
from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.facts_view import build_facts
from prodaudit.report.interface import Renderer
from prodaudit.report.locations import display
from prodaudit.report.screen import OUTCOME, SYMBOL, Screen, build_screen
from prodaudit.report.text import md_cell, md_code, md_inline, plain, rst_to_md
from prodaudit.report.variants import group_findings
from prodaudit.report.view import build_view

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
    bytecode_cache=template_cache("markdown"),  # compiled once, not per run (fast start)
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - Markdown output; finding text is escaped by filters
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text.rstrip()}\n{ticks}"


def md_text(text: Any) -> str:
    """Inline text from findings: code spans as code, raw HTML shown, never interpreted."""
    return md_inline(text)


def anchor(check_id: str) -> str:
    return check_id.lower()


_env.filters["fence"] = _fence
_env.filters["cell"] = md_cell
_env.filters["md"] = md_inline
_env.filters["code"] = md_code
_env.filters["docmd"] = rst_to_md
_env.filters["groups"] = group_findings
_env.filters["anchor"] = anchor


def _effects(s: Screen, results: list[CheckResult]) -> str:
    effects: dict[str, int] = {}
    for r in results:
        e = s.impact(r)
        if e:
            effects[e] = effects.get(e, 0) + 1
    return ", ".join(f"{n} → {e}" for e, n in effects.items())


def _first_finding(r: CheckResult) -> str:
    groups = [g for g in group_findings(r.findings) if g.first.status is r.status]
    if not groups:
        return md_cell(r.reason)
    g = groups[0]
    text = md_cell(g.message)
    if g.grouped:
        text += f" ({len(g.variants)} variants)"
    if len(groups) > 1:
        text += f" (+{len(groups) - 1} more)"
    return text


def decision_markdown(run: AuditRun, *, level: int = 2, links: dict[str, str] | None = None) -> str:
    """The decision screen in Markdown. ``links`` maps a suite to the report file whose anchors
    (``#sec-001``) hold each check's details; without it ids are plain text."""
    s = build_screen(run)
    h = "#" * level

    def cid(r: CheckResult) -> str:
        if links and r.suite in links:
            return f"[{r.id}]({links[r.suite]}#{anchor(r.id)})"
        return r.id

    summary = md_inline(s.headline.split(": ", 1)[1])
    out = [f"> **{s.verdict}** (exit {run.decision.exit_code}) — {summary}", ""]
    if s.failures:
        out += [f"{h} Requirements not met ({len(s.failures)})", "",
                "| | Check | Severity | Requirement | What was found | Effect |", "|---|---|---|---|---|---|"]
        for r in s.failures:
            out.append(
                f"| {SYMBOL[r.status]} | {cid(r)} | **{r.effective_severity.label}** | {md_cell(r.title)} "
                f"| **{OUTCOME[r.status]}**: {_first_finding(r)} | {s.impact(r) or '—'} |"
            )
        out.append("")
    if s.unverified:
        out += [f"{h} Not verified ({s.unverified_count}), by cause", "",
                "| Cause | Action that resolves it | Checks | Effect |", "|---|---|---|---|"]
        for g in s.unverified:
            if g.key == "other":
                for r in g.results:
                    out.append(
                        f"| {md_cell(r.reason or r.status.value)} | see the check | "
                        f"{cid(r)} {r.effective_severity.label}: {md_cell(r.title)} | {s.impact(r) or '—'} |"
                    )
                continue
            checks = "<br>".join(
                f"{cid(r)} {r.effective_severity.label}: {md_cell(r.title)}" for r in g.results
            )
            out.append(f"| **{md_cell(g.title)}** ({len(g.results)}) | {md_cell(g.action)} | {checks} "
                       f"| {_effects(s, g.results) or '—'} |")
        out.append("")
    if s.warnings:
        out += [f"{h} Met, with warnings ({len(s.warnings)})", "",
                "| Check | Severity | Requirement | Warning |", "|---|---|---|---|"]
        for r in s.warnings:
            out.append(
                f"| {cid(r)} | {r.effective_severity.label} | {md_cell(r.title)} | {_first_finding(r)} |"
            )
        out.append("")
    if s.waived:
        out += [f"{h} Waived ({len(s.waived)})", ""]
        out += [
            f"- {cid(r)} {md_inline(r.title)} ({OUTCOME[r.status]}) — {md_inline(r.waiver)}" for r in s.waived
        ]
        out.append("")
    out += [f"**Met: {s.passed} of {s.total} checks.**", ""]
    return "\n".join(out)


def _ctx_common(run: AuditRun) -> dict[str, Any]:
    return {
        "run": run,
        "Status": Status,
        "OUTCOME": OUTCOME,
        "where": lambda loc: display(run, loc),
        "plain": plain,
    }


class _SuiteRenderer(Renderer):
    template = "suite.md.j2"
    suites: tuple[str, ...] = ()
    heading = ""
    #: template of the sections rendered from ``run.facts`` ("" = none)
    sections = ""

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        screen = build_screen(run)
        results = [r for r in view.ordered if r.suite in self.suites]
        return _env.get_template(self.template).render(
            **_ctx_common(run),
            view=view,
            impact=screen.impact,
            heading=self.heading,
            results=results,
            sections=self.sections,
            facts=build_facts(run),
            extra=self.extra(run, results),  # noqa: S610 - not Django
        )

    def extra(self, run: AuditRun, results: list[CheckResult]) -> dict[str, Any]:
        return {}


class ProductionReadinessRenderer(Renderer):
    name = "markdown"
    filename = "production-readiness.md"
    description = (
        "the decision screen (requirements not met, not verified by root cause with the action for "
        "each, warnings), suites, changes since the last run, remediation checklist, waivers, the seed "
        "checklist, sign-off lines"
    )

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        return _env.get_template("production-readiness.md.j2").render(
            **_ctx_common(run),
            view=view,
            cl=view.checklist,
            screen=build_screen(run),
            decision=decision_markdown(run, links=SUITE_FILES),
        )


class SecurityAuditRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "security-audit.md"
    description = (
        "security suite: every check with its result, header grades, bandit summary, evidence (one "
        "full exchange per group of variants, with a `curl` that reproduces it) and remediation"
    )
    suites = ("security",)
    heading = "Security audit"
    sections = "_facts_security.md.j2"


class ConfigurationValidationRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "configuration-validation.md"
    description = "config suite: every check with evidence and remediation, the environment variable table"
    suites = ("config",)
    heading = "Configuration validation"
    sections = "_facts_config.md.j2"


class TestResultsSummaryRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "test-results-summary.md"
    description = (
        "functional, deployment and readiness suites: API operations, auth flow, LLM, frontend, "
        "performance baseline, screenshots, every check with evidence"
    )
    suites = ("functional", "deployment", "readiness")
    heading = "Test results summary"
    sections = "_facts_tests.md.j2"


#: the Markdown report that holds each suite's check details
SUITE_FILES: dict[str, str] = {
    suite: r.filename
    for r in (SecurityAuditRenderer, ConfigurationValidationRenderer, TestResultsSummaryRenderer)
    for suite in r.suites
}
