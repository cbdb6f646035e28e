"""Generated operational documents: each a pure function ``AuditRun -> markdown``.

``GUIDES`` maps the file written into ``docs/`` to its renderer (see ``prodaudit.docs_build``).
"""

from __future__ import annotations

from collections.abc import Callable

from prodaudit.guides.configuration_guide import configuration_guide
from prodaudit.guides.deployment_checklist import deployment_checklist
from prodaudit.guides.monitoring_plan import post_launch_monitoring_plan
from prodaudit.guides.troubleshooting_guide import troubleshooting_guide
from prodaudit.model import AuditRun

GUIDES: dict[str, Callable[[AuditRun], str]] = {
    "deployment-checklist.md": deployment_checklist,
    "configuration-guide.md": configuration_guide,
    "troubleshooting-guide.md": troubleshooting_guide,
    "post-launch-monitoring-plan.md": post_launch_monitoring_plan,
}

__all__ = [
    "GUIDES",
    "configuration_guide",
    "deployment_checklist",
    "post_launch_monitoring_plan",
    "troubleshooting_guide",
]
