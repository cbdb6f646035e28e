"""The fleet's ``index.html``: one self-contained page (no script, no external asset): the verdict,
the overview (one row per service, worst first), the fleet decision's reasons and missing audits,
then each service's decision screen (requirements not met, not verified by cause with the action,
warnings as a count) with a link to its full report (``services/<name>/index.html``)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from prodaudit.fleet.model import FleetRun
from prodaudit.model import CheckResult
from prodaudit.report.fleet.interface import FleetRenderer
from prodaudit.report.fleet.view import build_fleet_view
from prodaudit.report.html import VERDICT_CLASS
from prodaudit.report.screen import OUTCOME, build_screen
from prodaudit.report.text import html_inline
from prodaudit.report.variants import group_findings

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["inline"] = html_inline


def _first(r: CheckResult) -> str:
    groups = [g for g in group_findings(r.findings) if g.first.status is r.status]
    return groups[0].message if groups else r.reason


class FleetHtmlRenderer(FleetRenderer):
    name = "html"
    filename = "index.html"
    description = (
        "one self-contained page: the fleet verdict, one row per service, then each service's "
        "decision screen with a link to its full report"
    )

    def format(self, fleet: FleetRun) -> str:
        view = build_fleet_view(fleet)
        screens = {r.name: build_screen(r.service.run) for r in view.rows}
        return _env.get_template("fleet.html.j2").render(
            fleet=fleet,
            view=view,
            screens=screens,
            verdict_class=VERDICT_CLASS,
            outcome=OUTCOME,
            first=_first,
        )
