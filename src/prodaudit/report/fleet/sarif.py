"""The fleet's ``audit.sarif``: one SARIF run per service (``report/sarif.py`` renders each).

GitHub code scanning rejects an upload with two runs of the same tool and category, so each run
gets its own category: ``automationDetails.id`` = ``prodaudit/<service>/<fleet run id>``. A
service whose directory lies inside the fleet's repository has its file locations written
relative to the fleet's repository root (prefixed with the service's directory), so alerts land
on the right file. GitHub takes at most 20 runs per file: :func:`parts` splits larger fleets into
files of 20 runs, written to ``sarif/`` and uploaded one by one (docs/ci/github-fleet.yml).
"""

from __future__ import annotations

import json
from typing import Any

from prodaudit.fleet.model import FleetRun, ServiceAudit
from prodaudit.report.fleet.interface import FleetRenderer
from prodaudit.report.sarif import SCHEMA, to_sarif

#: GitHub code scanning: runs per uploaded file
RUNS_PER_FILE = 20


def _prefix(service: ServiceAudit) -> str:
    """The service's directory inside the fleet's repository ("" when it is the root or outside)."""
    rel = service.repo
    if not rel or rel == "." or rel.startswith(("/", "..")):
        return ""
    return rel.strip("/")


def _relocate(node: Any, prefix: str) -> None:
    if isinstance(node, dict):
        art = node.get("artifactLocation")
        if isinstance(art, dict) and art.get("uriBaseId") == "SRCROOT" and isinstance(art.get("uri"), str):
            art["uri"] = f"{prefix}/{art['uri']}"
        for v in node.values():
            _relocate(v, prefix)
    elif isinstance(node, list):
        for v in node:
            _relocate(v, prefix)


def service_run(fleet: FleetRun, service: ServiceAudit) -> dict[str, Any]:
    run: dict[str, Any] = to_sarif(service.run)["runs"][0]
    run["automationDetails"] = {"id": f"prodaudit/{service.name}/{fleet.run_id}"}
    run["properties"]["service"] = service.name
    run["properties"]["fleetDecision"] = fleet.decision.verdict
    run["properties"]["missingSuites"] = [m.suite for m in service.missing]
    prefix = _prefix(service)
    if prefix:
        _relocate(run.get("results", []), prefix)
        base = run.get("originalUriBaseIds", {}).get("SRCROOT")
        if base and str(base.get("uri", "")).rstrip("/").endswith("/" + prefix):
            root = str(base["uri"]).rstrip("/")[: -len(prefix) - 1] + "/"
            base["uri"] = root
            base["description"] = {"text": "the fleet's repository"}
    elif service.repo.startswith(("/", "..")):
        run["properties"]["repository"] = (
            "outside the fleet's repository: locations are relative to the service's"
        )
    return run


def to_fleet_sarif(fleet: FleetRun, services: list[ServiceAudit] | None = None) -> dict[str, Any]:
    runs = [service_run(fleet, s) for s in (fleet.services if services is None else services)]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": runs}


def parts(fleet: FleetRun) -> list[str]:
    """The fleet SARIF in files of at most :data:`RUNS_PER_FILE` runs (GitHub's limit)."""
    services = list(fleet.services)
    return [
        json.dumps(to_fleet_sarif(fleet, services[i : i + RUNS_PER_FILE]), indent=2, ensure_ascii=False)
        + "\n"
        for i in range(0, len(services), RUNS_PER_FILE)
    ]


class FleetSarifRenderer(FleetRenderer):
    name = "sarif"
    filename = "audit.sarif"
    description = (
        "SARIF 2.1.0, one run per service (category `prodaudit/<service>`); fleets of more than "
        f"{RUNS_PER_FILE} services also get `sarif/part-NNN.sarif` of {RUNS_PER_FILE} runs each for "
        "GitHub code scanning"
    )

    def format(self, fleet: FleetRun) -> str:
        return json.dumps(to_fleet_sarif(fleet), indent=2, ensure_ascii=False) + "\n"
