"""The fleet's decision screen on a terminal or in a CI log (pure: ``FleetRun`` -> renderable):
the verdict, one line per service (worst first), the fleet decision's reasons, missing audits."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from prodaudit.fleet.model import FleetRun
from prodaudit.report.console import PIPE_WIDTH, VERDICT_STYLE
from prodaudit.report.fleet.view import build_fleet_view

#: fleet reasons printed (the rest are counted)
REASONS_SHOWN = 20


def fleet_screen(fleet: FleetRun) -> RenderableType:
    view = build_fleet_view(fleet)
    top = Text()
    top.append(f" {view.verdict} ", style=VERDICT_STYLE.get(view.verdict, "bold"))
    top.append(f" exit {fleet.decision.exit_code} · fleet of {len(fleet.services)} service(s) · ")
    top.append(
        f"prodaudit {fleet.tool_version} · digest {fleet.fleet_digest} · run {fleet.run_id}", style="dim"
    )
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("service", "decision", "not met", "not verified", "warnings", "met", "missing"):
        table.add_column(
            col, justify="right" if col in ("not met", "not verified", "warnings", "met") else "left"
        )
    for r in view.rows:
        table.add_row(
            r.name,
            Text(r.verdict, style=VERDICT_STYLE.get(r.verdict, "")),
            f"{r.not_met}" + (f" ({r.not_met_by_severity})" if r.not_met_by_severity else ""),
            str(r.unverified),
            str(r.warnings),
            str(r.met),
            ", ".join(r.missing) or "—",
        )
    parts: list[RenderableType] = [top, Text(view.headline), Text(""), table]
    reasons = fleet.decision.reasons
    if reasons:
        parts.append(Text("\nWhy", style="bold"))
        parts += [Text(f"  • {r}") for r in reasons[:REASONS_SHOWN]]
        if len(reasons) > REASONS_SHOWN:
            parts.append(
                Text(f"  +{len(reasons) - REASONS_SHOWN} more in production-readiness.md", style="dim")
            )
    decision = Text("\nFleet decision: ")
    decision.append(f" {view.verdict} ", style=VERDICT_STYLE.get(view.verdict, "bold"))
    decision.append(f" (exit {fleet.decision.exit_code})")
    parts.append(decision)
    return Group(*parts)


def fleet_text(fleet: FleetRun, width: int = PIPE_WIDTH) -> str:
    """The fleet screen as plain text (tests, logs)."""
    buf = io.StringIO()
    Console(
        file=buf, width=width, force_terminal=False, color_system=None, soft_wrap=True, highlight=False
    ).print(fleet_screen(fleet))
    return buf.getvalue()
