"""The Compose stacks as the readiness checks read them (from the product model). Not a check
module."""

from __future__ import annotations

from typing import Any

from prodaudit.checks.api import Context
from prodaudit.product.compose import ComposeProject


def compose_docs(ctx: Context) -> list[tuple[ComposeProject, dict[str, Any]]]:
    """(project, merged data) of every Compose stack with services: the ``--compose-file``
    project, else every project Compose's file rules find outside tests/, examples/,
    fixtures/ ... (base file with its override, ``include:`` and ``extends:`` resolved). The
    data holds the services ``docker compose up`` starts (inactive profiles left out)."""
    out = []
    for p in ctx.compose().stacks:
        active = {n: s for n, s in p.services.items() if p.active(n)}
        if active:
            out.append((p, {**p.data, "services": active}))
    return out
