"""The fleet's ``audit.json``: the serialised ``FleetRun``, source of truth of every fleet report."""

from __future__ import annotations

import json

from prodaudit.fleet.model import FleetRun
from prodaudit.report.fleet.interface import FleetRenderer


class FleetJsonRenderer(FleetRenderer):
    name = "json"
    filename = "audit.json"
    description = (
        "the fleet document (JSON Schema: `docs/schemas/fleet.schema.json`): the fleet decision, "
        "per service its merged audit, decision, jobs and missing audits"
    )

    def format(self, fleet: FleetRun) -> str:
        # compact: a fleet document is large (hundreds of services), and json's C encoder only
        # writes without indentation (an indented dump of 500 services takes minutes)
        return json.dumps(fleet.to_dict(), separators=(",", ":"), default=str) + "\n"
