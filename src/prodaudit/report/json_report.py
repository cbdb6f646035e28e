"""audit.json: the serialised AuditRun, source of truth for every other report."""

from __future__ import annotations

import json

from prodaudit.model import AuditRun
from prodaudit.report.interface import Renderer


class JsonRenderer(Renderer):
    name = "json"
    filename = "audit.json"
    description = (
        "the source of truth (JSON Schema: `docs/schemas/audit.schema.json`); every other file is "
        "rendered from it (`invoke report.build`)"
    )

    def format(self, run: AuditRun) -> str:
        return json.dumps(run.to_dict(), indent=2, sort_keys=False, default=str) + "\n"
