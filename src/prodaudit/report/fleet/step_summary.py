"""``$GITHUB_STEP_SUMMARY`` after a merge: the fleet overview and the reasons
(:func:`prodaudit.report.fleet.markdown.fleet_step_summary`); elsewhere nothing happens."""

from __future__ import annotations

import os
from pathlib import Path

from prodaudit.fleet.model import FleetRun
from prodaudit.report.fleet.markdown import fleet_step_summary
from prodaudit.report.step_summary import ENV


def append_fleet_summary(fleet: FleetRun, path: str | None = None) -> Path | None:
    target = path or os.environ.get(ENV)
    if not target:
        return None
    out = Path(target)
    with out.open("a", encoding="utf-8") as fh:
        fh.write(fleet_step_summary(fleet))
    return out
