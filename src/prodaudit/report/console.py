"""The decision screen on a terminal or in a CI log: a pure renderer (``AuditRun`` -> rich
renderable / text) that ``cli.print_results`` prints.

Content and order come from :mod:`prodaudit.report.screen`. Lines are printed without wrapping
when the output is not a terminal (a pipe, a CI log): :func:`output_console` gives a console that
does not cut or wrap at 80 columns there.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.text import Text

from prodaudit.model import AuditRun, CheckResult, Status
from prodaudit.report.locations import display
from prodaudit.report.screen import OUTCOME, SYMBOL, Screen, build_screen
from prodaudit.report.text import split_code
from prodaudit.report.variants import group_findings

STATUS_STYLE = {
    Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red",
    Status.SKIP: "cyan", Status.ERROR: "magenta",
}  # fmt: skip
VERDICT_STYLE = {
    "GO": "bold white on green", "CONDITIONAL GO": "bold black on yellow", "NO-GO": "bold white on red",
}  # fmt: skip
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim", "info": "dim"}
#: finding groups shown per failing check; the rest are counted ("+N more in the reports")
FINDINGS_SHOWN = 3
#: width of a console that does not write to a terminal (pipes, CI logs): no wrapping at 80
PIPE_WIDTH = 240


def output_console(stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console for command output: a terminal's own width, else wide (``COLUMNS`` or 240)."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    if is_tty:
        return Console(file=stream, highlight=False)
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else PIPE_WIDTH
    return Console(file=stream, width=max(width, 80), highlight=False, soft_wrap=True)


def inline(text: str, style: str = "") -> Text:
    """Finding text with code spans styled (no backticks) and no markup interpretation."""
    out = Text(style=style)
    for is_code, part in split_code(text):
        out.append(part, style="cyan" if is_code else None)
    return out


def _sev(r: CheckResult) -> Text:
    label = r.effective_severity.label
    return Text(f"{label:<9}", style=SEVERITY_STYLE.get(label, ""))


def _head(s: Screen, r: CheckResult, indent: str = "  ") -> Text:
    line = Text(indent)
    line.append(f"{SYMBOL[r.status]} ", style=STATUS_STYLE[r.status])
    line.append(f"{r.id:<8} ", style="bold")
    line.append_text(_sev(r))
    line.append(" ")
    line.append_text(inline(r.title))
    line.append(" — ")
    line.append(OUTCOME[r.status], style=STATUS_STYLE[r.status])
    effect = s.impact(r)
    if effect:
        line.append(f" → {effect}", style="bold")
    return line


def _findings(s: Screen, r: CheckResult) -> list[Text]:
    lines: list[Text] = []
    groups = [g for g in group_findings(r.findings) if g.first.status is r.status]
    for g in groups[:FINDINGS_SHOWN]:
        msg = Text("      ")
        msg.append_text(inline(g.message))
        if g.grouped:
            msg.append(f" — {len(g.variants)} variants: " + "; ".join(g.variants), style="dim")
        lines.append(msg)
        where = display(s.run, g.first.location)
        if where:
            lines.append(Text(f"      at {where}", style="dim"))
        if g.first.remediation:
            fix = Text("      fix: ", style="green")
            fix.append_text(inline(g.first.remediation))
            lines.append(fix)
    if len(groups) > FINDINGS_SHOWN:
        rest = len(groups) - FINDINGS_SHOWN
        lines.append(Text(f"      +{rest} more finding(s) of {r.id} in the reports", style="dim"))
    return lines


def _section(title: str, n: int, style: str) -> Text:
    return Text.assemble(("\n" + title, style), (f" ({n})", "bold"))


def decision_screen(run: AuditRun) -> RenderableType:
    """The decision screen as one rich renderable (pure)."""
    s = build_screen(run)
    parts: list[RenderableType] = []
    top = Text()
    top.append(f" {s.verdict} ", style=VERDICT_STYLE.get(s.verdict, "bold"))
    top.append(f" exit {run.decision.exit_code} · profile {run.profile} · ")
    top.append(str(run.target.get("base_url") or run.target.get("repo") or "?"))
    top.append(f" · prodaudit {run.tool_version} · run {run.run_id}", style="dim")
    parts += [top, inline(s.headline)]
    if s.failures:
        parts.append(_section("Requirements not met", len(s.failures), "bold red"))
        for r in s.failures:
            parts.append(_head(s, r))
            parts += _findings(s, r)
    if s.unverified:
        parts.append(_section("Not verified, by cause", s.unverified_count, "bold magenta"))
        for g in s.unverified:
            effects: dict[str, int] = {}
            for r in g.results:
                e = s.impact(r)
                if e:
                    effects[e] = effects.get(e, 0) + 1
            head = Text("  ● ")
            head.append(g.title, style="bold")
            head.append(f" — {len(g.results)} check(s)")
            if effects:
                head.append(" (" + ", ".join(f"{n} → {e}" for e, n in effects.items()) + ")", style="bold")
            parts.append(head)
            action = Text("      → ", style="green")
            action.append_text(inline(g.action))
            parts.append(action)
            for r in g.results:
                line = Text(f"      {r.id:<8} ")
                line.append_text(_sev(r))
                line.append(" ")
                line.append_text(inline(r.title))
                if g.key == "other" or len(g.results) == 1:
                    line.append(" — ", style="dim")
                    line.append_text(inline(r.reason or r.status.value, style="dim"))
                parts.append(line)
    if s.warnings:
        parts.append(_section("Met, with warnings", len(s.warnings), "bold yellow"))
        for r in s.warnings:
            parts.append(_head(s, r))
            parts += _findings(s, r)
    if s.waived:
        parts.append(_section("Waived", len(s.waived), "bold"))
        for r in s.waived:
            line = _head(s, r)
            line.append(f" — waived: {r.waiver}", style="dim")
            parts.append(line)
    tail = Text("\n")
    tail.append(f"Met: {s.passed} of {s.total} checks.", style="green")
    parts.append(tail)
    if s.requests_line:  # the request ledger: what the audit did to the target
        parts.append(Text(s.requests_line, style="dim"))
    parts.append(coverage_line(run))
    decision = Text("Decision: ")
    decision.append(f" {s.verdict} ", style=VERDICT_STYLE.get(s.verdict, "bold"))
    decision.append(f" (exit {run.decision.exit_code})")
    parts.append(decision)
    return Group(*parts)


def coverage_line(run: AuditRun) -> Text:
    """The checklist's evidence figures (issue 18): how strongly this run checked the items."""
    from prodaudit.report.checklist_view import build_checklist

    cl = build_checklist(run)
    line = Text("Checklist coverage: ")
    line.append(cl.coverage_line, style="bold")
    line.append(f" ({cl.counts['pass']} verified; can reach {cl.reach_line})", style="dim")
    raw = run.extras.get("repository_config")
    ignored = raw.get("ignored") if isinstance(raw, dict) else None
    if ignored:
        keys = ", ".join(str(i.get("key")) for i in ignored if isinstance(i, dict))
        line.append(f"\nSet by the audited repository and ignored: {keys}", style="yellow")
    return line


def to_text(run: AuditRun, width: int = PIPE_WIDTH, color: bool = False) -> str:
    """The decision screen as text (for tests and logs)."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        soft_wrap=True,
        highlight=False,
    )
    console.print(decision_screen(run))
    return buf.getvalue()
