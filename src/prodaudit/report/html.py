"""index.html: one self-contained page (no external assets) from a Jinja2 template.

The top is the decision screen (``report/screen.py``): verdict and headline, requirements not
met, not verified by root cause with the action for each, warnings; beside it (below it on a
phone) an overview at a glance: checks by severity and result, one bar per suite with the
suite's own verdict. Then every check, filterable by result, severity and suite and searchable,
from one inline script allowed by a hash in the page's Content-Security-Policy (nothing else can
run; without the script every check is shown). Check documentation is rendered with
markdown-it-py (raw HTML disabled); tables stack into label/value rows on a phone."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from prodaudit.cache import template_cache
from prodaudit.model import AuditRun, CheckResult, Severity, Status
from prodaudit.report.evidence import Screenshots
from prodaudit.report.facts_view import FactsView, build_facts
from prodaudit.report.interface import Renderer
from prodaudit.report.locations import display
from prodaudit.report.screen import COUNT_LABELS, build_screen, impact
from prodaudit.report.text import html_inline, rst_to_md
from prodaudit.report.variants import FindingGroup, group_findings
from prodaudit.report.view import build_view

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
    bytecode_cache=template_cache("html"),  # compiled once, not per run (fast start)
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

VERDICT_CLASS = {"GO": "go", "CONDITIONAL GO": "conditional", "NO-GO": "nogo"}


def markdown(text: str) -> Markup:
    """Markdown to HTML (check docstrings: RST literals become code); raw HTML in the source is
    escaped, never passed through."""
    return Markup(_md.render(rst_to_md(text or "")))  # noqa: S704 - markdown-it escapes (html disabled)


_env.filters["markdown"] = markdown
_env.filters["inline"] = html_inline
_env.filters["groups"] = group_findings

#: the page's only script: filters and search over the check list (no network, no storage)
SCRIPT = """(function () {
  var q = document.getElementById("q"), sev = document.getElementById("f-sev"),
      suite = document.getElementById("f-suite"), shown = document.getElementById("shown");
  var boxes = document.querySelectorAll("#f-status input");
  var rows = document.querySelectorAll("#check-list > details.check");
  var text = [];
  for (var i = 0; i < rows.length; i++) text.push(rows[i].textContent.toLowerCase());
  function apply() {
    var on = {};
    for (var j = 0; j < boxes.length; j++) if (boxes[j].checked) on[boxes[j].value] = 1;
    var words = q.value.toLowerCase().split(/\\s+/).filter(Boolean), n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = !!on[r.dataset.status] && (!sev.value || r.dataset.sev === sev.value) &&
               (!suite.value || r.dataset.suite === suite.value);
      for (var w = 0; ok && w < words.length; w++) ok = text[i].indexOf(words[w]) >= 0;
      r.classList.toggle("hidden", !ok);
      if (ok) n++;
    }
    shown.textContent = n + " of " + rows.length + " shown";
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1)), el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.classList.remove("hidden"); }
  }
  q.addEventListener("input", apply);
  sev.addEventListener("change", apply);
  suite.addEventListener("change", apply);
  for (var j = 0; j < boxes.length; j++) boxes[j].addEventListener("change", apply);
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

EFFECT_CLASS = {"NO-GO": "nogo", "CONDITIONAL GO": "conditional"}
OUTCOME_LABEL = {
    "fail": "NOT MET", "unverified": "NOT VERIFIED", "warn": "WARNING", "pass": "MET", "waived": "WAIVED",
}  # fmt: skip
STATUS_KEY = {"fail": "fail", "warn": "warn", "pass": "pass", "skip": "unverified", "error": "unverified"}
LEGEND_COLORS = {"fail": "nogo", "unverified": "unv", "warn": "warn", "pass": "go", "waived": "waived"}


def result_key(r: CheckResult) -> str:
    """The presentation status of a result: fail, unverified, warn, pass or waived."""
    if r.waived:
        return "waived"
    return STATUS_KEY[r.status.value]


_TABLE = re.compile(r"<table(?P<attrs>[^>]*)>(?P<body>.*?)</table>", re.S)
_TH = re.compile(r"<th[^>]*>(?P<text>.*?)</th>", re.S)
_TAG = re.compile(r"<[^>]+>")
_TR = re.compile(r"<tr>(?P<row>.*?)</tr>", re.S)
_TD = re.compile(r"<td(?P<attrs>[^>]*)>")


def label_cells(html: str) -> str:
    """Give every cell of a ``stack`` table a ``data-label`` (its column header), which the phone
    layout shows before the value when rows stack."""

    def table(m: re.Match[str]) -> str:
        if "stack" not in m.group("attrs"):
            return m.group(0)
        body = m.group("body")
        head, sep, rest = body.partition("</thead>")
        if not sep:
            return m.group(0)
        labels = [" ".join(_TAG.sub("", t).split()) for t in _TH.findall(head)]

        def row(rm: re.Match[str]) -> str:
            col = [0]

            def cell(cm: re.Match[str]) -> str:
                attrs = cm.group("attrs")
                label = labels[col[0]] if col[0] < len(labels) else ""
                span = re.search(r'colspan="(\d+)"', attrs)
                col[0] += int(span.group(1)) if span else 1
                if not label or "data-label" in attrs:
                    return cm.group(0)
                return f'<td{attrs} data-label="{label}">'  # header text: already escaped HTML

            return "<tr>" + _TD.sub(cell, rm.group("row")) + "</tr>"

        return f"<table{m.group('attrs')}>" + head + sep + _TR.sub(row, rest) + "</table>"

    return _TABLE.sub(table, html)


def _shown_suites(suites: list[str], facts: FactsView) -> dict[str, bool]:
    """A suite's detail section appears when the suite ran or one of its facts exists."""
    return {
        "functional": "functional" in suites
        or any(x is not None for x in (facts.operations, facts.auth_flow, facts.performance)),
        "readiness": "readiness" in suites or facts.screenshots is not None,
        "config": "config" in suites or facts.env_vars is not None,
        "security": "security" in suites or facts.header_grades is not None or facts.bandit is not None,
    }


def _shots(facts: FactsView, screenshots: Screenshots) -> list[dict[str, str]]:
    out = []
    for s in facts.screenshots or []:
        data = screenshots.images.get(s.name)
        out.append(
            {
                "name": s.name,
                "href": s.href,
                "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii") if data else "",
                "size": f"{len(data) // 1024 or 1} KB embedded" if data else "",
                "why": screenshots.omitted.get(
                    s.name, "the report writer did not load the evidence files for this rendering"
                ),
            }
        )
    return out


class HtmlRenderer(Renderer):
    """``screenshots``: evidence images to embed, loaded by the writer (``report.evidence``)."""

    name = "html"
    filename = "index.html"
    description = (
        "one self-contained page: the decision screen, an overview by severity and suite, every check "
        "filterable by result, severity and suite and searchable"
    )

    def __init__(self, screenshots: Screenshots | None = None) -> None:
        self.screenshots = screenshots or Screenshots()

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        facts = build_facts(run)
        screen = build_screen(run)

        def failing_groups(r: CheckResult) -> list[FindingGroup]:
            return [g for g in group_findings(r.findings) if g.first.status is r.status]

        def group_effects(g: Any) -> dict[str, int]:
            out: dict[str, int] = {}
            for r in g.results:
                e = impact(r, run.profile)
                if e:
                    out[e] = out.get(e, 0) + 1
            return out

        html = _env.get_template("index.html.j2").render(
            run=run,
            view=view,
            screen=screen,
            headline=screen.headline,
            cl=view.checklist,
            verdict_class=VERDICT_CLASS.get(run.decision.verdict, "nogo"),
            verdict_classes=VERDICT_CLASS,
            effect_class=EFFECT_CLASS,
            count_labels=COUNT_LABELS,
            legend_colors=LEGEND_COLORS,
            outcome=OUTCOME_LABEL,
            status_key=STATUS_KEY,
            result_key=result_key,
            severities=[s.label for s in sorted(Severity, reverse=True)],
            failing_groups=failing_groups,
            group_effects=group_effects,
            where=lambda loc: display(run, loc),
            Status=Status,
            facts=facts,
            show=_shown_suites(view.suites, facts),
            shots=_shots(facts, self.screenshots),
            script=Markup(SCRIPT),  # noqa: S704 - a constant of this module
            script_hash=SCRIPT_HASH,
        )
        return label_cells(html)
