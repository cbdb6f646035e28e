"""``$GITHUB_STEP_SUMMARY``: when GitHub Actions sets it, the decision screen is appended to it as
Markdown (shown on the workflow run's summary page). Elsewhere nothing happens."""

from __future__ import annotations

import os
from pathlib import Path

from prodaudit.model import AuditRun

ENV = "GITHUB_STEP_SUMMARY"


def step_summary(run: AuditRun) -> str:
    """The summary's Markdown (pure)."""
    from prodaudit.report.markdown import decision_markdown  # jinja2: only under GitHub Actions

    target = run.target.get("base_url") or run.target.get("repo") or "?"
    return (
        f"## prodaudit: {run.decision.verdict}\n\n"
        f"Target `{target}` · profile **{run.profile}** · prodaudit {run.tool_version} · "
        f"run `{run.run_id}`\n\n"
        + decision_markdown(run, level=3)
        + "\nDetails: `production-readiness.md` and `index.html` in the report directory "
        "(kept as a workflow artifact by the prodaudit action).\n\n"
    )


def append_step_summary(run: AuditRun, path: str | None = None) -> Path | None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` (or ``path``); None when neither is set."""
    target = path or os.environ.get(ENV)
    if not target:
        return None
    out = Path(target)
    with out.open("a", encoding="utf-8") as fh:
        fh.write(step_summary(run))
    return out
