"""Markdown reports rendered from Jinja2 templates: one renderer per document."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.interface import Renderer
from prodaudit.report.view import build_view

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text.rstrip()}\n{ticks}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_env.filters["fence"] = _fence
_env.filters["cell"] = _cell


class _SuiteRenderer(Renderer):
    template = "suite.md.j2"
    suites: tuple[str, ...] = ()
    heading = ""

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        results = [r for r in view.ordered if r.suite in self.suites]
        return _env.get_template(self.template).render(
            run=run, view=view, heading=self.heading, results=results, Status=Status,
            extra=self.extra(run, results),
        )

    def extra(self, run: AuditRun, results: list[CheckResult]) -> dict[str, Any]:
        return {}


class ProductionReadinessRenderer(Renderer):
    name = "markdown"
    filename = "production-readiness.md"

    def format(self, run: AuditRun) -> str:
        return _env.get_template("production-readiness.md.j2").render(
            run=run, view=build_view(run), Status=Status
        )


class SecurityAuditRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "security-audit.md"
    suites = ("security",)
    heading = "Security audit"


class ConfigurationValidationRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "configuration-validation.md"
    suites = ("config",)
    heading = "Configuration validation"


class TestResultsSummaryRenderer(_SuiteRenderer):
    name = "markdown"
    filename = "test-results-summary.md"
    suites = ("functional", "deployment", "readiness")
    heading = "Test results summary"
