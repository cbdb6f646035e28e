"""The fleet's decision (docs/fleet.md, "Policy").

- Each service is decided by the one-audit policy (``gate.decide``) on its merged results, its
  waivers and baseline applied by its own jobs.
- NO-GO when any service is NO-GO.
- A planned audit that no job delivered (the job failed to run, was cancelled, its artifact is
  missing) makes its checks "not verified" in that service, and the fleet is never GO: at best
  CONDITIONAL GO, whatever the checks' severities.
- CONDITIONAL GO when any service is CONDITIONAL GO; GO only when every service is GO and every
  planned audit was delivered.
"""

from __future__ import annotations

from collections.abc import Iterable

from prodaudit.fleet.model import ServiceAudit
from prodaudit.gate import CONDITIONAL, GO, NO_GO, exit_code
from prodaudit.model import Decision

#: reasons of one service repeated in the fleet's reasons (the rest: "+N more")
REASONS_PER_SERVICE = 3


def decide_fleet(services: Iterable[ServiceAudit], fail_on: str | None = None) -> Decision:
    services = list(services)
    no_go: list[str] = []
    conditional: list[str] = []
    for s in services:
        d = s.run.decision
        if d.verdict == GO and not s.missing:
            continue
        shown = [f"{s.name}: {r}" for r in d.reasons[:REASONS_PER_SERVICE]]
        if len(d.reasons) > REASONS_PER_SERVICE:
            shown.append(f"{s.name}: +{len(d.reasons) - REASONS_PER_SERVICE} more reason(s)")
        for m in s.missing:
            shown.insert(0, f"{s.name}: the {m.suite} suite was not audited ({m.reason})")
        (no_go if d.verdict == NO_GO else conditional).extend(shown)
    if no_go:
        verdict, reasons = NO_GO, no_go + conditional
    elif conditional:
        verdict, reasons = CONDITIONAL, conditional
    else:
        verdict, reasons = GO, []
    return Decision(verdict=verdict, exit_code=exit_code(verdict, fail_on), reasons=tuple(reasons))
