"""Waivers, attestations and the baseline diff: applied to results before the decision.

This first version applies nothing; ``extras`` carries what the reports show.
"""

from __future__ import annotations

from typing import Any

from prodaudit.config import AuditConfig
from prodaudit.model import CheckResult


def apply_governance(
    cfg: AuditConfig, results: list[CheckResult]
) -> tuple[list[CheckResult], dict[str, Any]]:
    return results, {}
