"""Markdown reports rendered from Jinja2 templates: one renderer per document."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.facts_view import build_facts
from prodaudit.report.interface import Renderer
from prodaudit.report.view import build_view

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
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
    """Inline text from findings: raw HTML is shown, never interpreted by a Markdown viewer."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    return md_text(text).replace("|", "\\|").replace("\n", " ")


_env.filters["fence"] = _fence
_env.filters["cell"] = _cell
_env.filters["md"] = md_text


class _SuiteRenderer(Renderer):
    template = "suite.md.j2"
    suites: tuple[str, ...] = ()
    heading = ""
    #: template of the sections rendered from ``run.facts`` ("" = none)
    sections = ""

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        results = [r for r in view.ordered if r.suite in self.suites]
        return _env.get_template(self.template).render(
            run=run,
            view=view,
            heading=self.heading,
            results=results,
            sections=self.sections,
            facts=build_facts(run),
            Status=Status,
            extra=self.extra(run, results),  # noqa: S610 - not Django
        )

    def extra(self, run: AuditRun, results: list[CheckResult]) -> dict[str, Any]:
        return {}


class ProductionReadinessRenderer(Renderer):
    name = "markdown"
    filename = "production-readiness.md"

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        return _env.get_template("production-readiness.md.j2").render(
            run=run, view=view, cl=view.checklist, Status=Status
        )


class SecurityAuditRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "security-audit.md"
    suites = ("security",)
    heading = "Security audit"
    sections = "_facts_security.md.j2"


class ConfigurationValidationRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "configuration-validation.md"
    suites = ("config",)
    heading = "Configuration validation"
    sections = "_facts_config.md.j2"


class TestResultsSummaryRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "test-results-summary.md"
    suites = ("functional", "deployment", "readiness")
    heading = "Test results summary"
    sections = "_facts_tests.md.j2"
