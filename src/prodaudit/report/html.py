"""index.html: one self-contained page (no external assets, no script) from a small Jinja2
template; check documentation rendered with markdown-it-py (raw HTML disabled), score gauges
and per-suite bars as inline SVG, failed checks first, the other groups collapsible."""

from __future__ import annotations

import base64
import math
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.evidence import Screenshots
from prodaudit.report.facts_view import FactsView, build_facts
from prodaudit.report.interface import Renderer
from prodaudit.report.view import build_view

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_env = Environment(
    loader=PackageLoader("prodaudit.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

VERDICT_CLASS = {"GO": "go", "CONDITIONAL GO": "conditional", "NO-GO": "nogo"}


def markdown(text: str) -> Markup:
    """Markdown to HTML; raw HTML in the source is escaped, never passed through."""
    return Markup(_md.render(text or ""))  # noqa: S704 - markdown-it escapes (html disabled)


def _color(value: int | None) -> str:
    if value is None:
        return "#8a8f98"
    if value >= 90:
        return "#0c8a3e"
    if value >= 50:
        return "#c76a00"
    return "#c62828"


def gauge(value: int | None, label: str, size: int = 120) -> Markup:
    """A Lighthouse-style ring gauge as inline SVG."""
    r = 52
    circ = 2 * math.pi * r
    filled = circ * (value or 0) / 100
    shown = "n/a" if value is None else str(value)
    svg = (
        f'<svg class="gauge" role="img" aria-label="{escape(label)} score {shown}" '
        f'width="{size}" height="{size}" viewBox="0 0 120 120">'
        f'<circle cx="60" cy="60" r="{r}" fill="none" stroke="#e6e8eb" stroke-width="10"/>'
        f'<circle cx="60" cy="60" r="{r}" fill="none" stroke="{_color(value)}" stroke-width="10" '
        f'stroke-linecap="round" stroke-dasharray="{filled:.2f} {circ:.2f}" '
        f'transform="rotate(-90 60 60)"/>'
        f'<text x="60" y="68" text-anchor="middle" font-size="28" font-weight="700" '
        f'fill="{_color(value)}">{shown}</text></svg>'
    )
    return Markup(svg)  # noqa: S704 - built from numbers and escaped text


def suite_bars(scores: dict[str, int | None], counts: dict[str, dict[str, int]]) -> Markup:
    """One horizontal bar per suite (score 0-100) as inline SVG."""
    row, width, left = 30, 560, 110
    height = row * max(1, len(scores)) + 6
    parts = [
        f'<svg class="bars" role="img" aria-label="score per suite" '
        f'width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">'
    ]
    bar_w = width - left - 60
    for i, (suite, value) in enumerate(scores.items()):
        y = i * row + 4
        c = counts.get(suite, {})
        title = ", ".join(f"{n} {k}" for k, n in c.items() if n)
        parts.append(
            f"<g><title>{escape(suite)}: {escape(title)}</title>"
            f'<text x="0" y="{y + 17}" font-size="14" fill="#24292f">{escape(suite)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{bar_w}" height="18" rx="4" fill="#e6e8eb"/>'
            f'<rect x="{left}" y="{y + 3}" width="{bar_w * (value or 0) / 100:.1f}" height="18" '
            f'rx="4" fill="{_color(value)}"/>'
            f'<text x="{left + bar_w + 8}" y="{y + 17}" font-size="14" font-weight="700" '
            f'fill="{_color(value)}">{"n/a" if value is None else value}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped text only


def _groups(ordered: list[CheckResult]) -> list[dict[str, Any]]:
    def pick(pred: Any) -> list[CheckResult]:
        return [r for r in ordered if pred(r)]

    return [
        {
            "key": "failed",
            "title": "Failed",
            "open": True,
            "results": pick(lambda r: r.status is Status.FAIL and not r.waived),
        },
        {
            "key": "warned",
            "title": "Warnings",
            "open": True,
            "results": pick(lambda r: r.status is Status.WARN and not r.waived),
        },
        {
            "key": "unverified",
            "title": "Not verified (skipped or errored)",
            "open": False,
            "results": pick(lambda r: not r.status.verified and not r.waived),
        },
        {"key": "waived", "title": "Waived", "open": False, "results": pick(lambda r: r.waived)},
        {
            "key": "passed",
            "title": "Passed",
            "open": False,
            "results": pick(lambda r: r.status is Status.PASS),
        },
    ]


_env.filters["markdown"] = markdown


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

    def __init__(self, screenshots: Screenshots | None = None) -> None:
        self.screenshots = screenshots or Screenshots()

    def format(self, run: AuditRun) -> str:
        view = build_view(run)
        facts = build_facts(run)
        return _env.get_template("index.html.j2").render(
            run=run,
            view=view,
            cl=view.checklist,
            groups=_groups(view.ordered),
            verdict_class=VERDICT_CLASS.get(run.decision.verdict, "nogo"),
            overall_gauge=gauge(view.overall, "overall", 132),
            bars=suite_bars(view.suite_scores, view.suite_counts),
            Status=Status,
            facts=facts,
            show=_shown_suites(view.suites, facts),
            shots=_shots(facts, self.screenshots),
        )
