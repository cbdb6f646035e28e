"""The runner's schedule: which check starts first, and which checks may not overlap.

- **Priority.** Checks that took longest last time start first, so a slow check (a scanner
  subprocess, an image build) is not started last and does not become the tail of the run.
  Checks that use the running product keep their id order (see :func:`order`). Last durations
  are kept per repository in the cache (namespace ``durations``: scheduling hints, never
  results); without a history a check's declared ``timeout`` stands for its cost (a check that
  declares a long timeout is declared slow).
- **Resources.** A check uses the running product (``target``: needs live, target or frontend),
  the Docker engine (``docker``), the database or Redis. An exclusive check (rate-limit bursts,
  the load test, the Compose lifecycle, migrations on a scratch database) waits until every
  non-exclusive check that uses one of its resources has finished, then runs alone on those
  resources: one exclusive check at a time per resource, while checks that use none of them (the
  static checks, the other resources' exclusive checks) keep running. An exclusive check that
  declares no resource (heavy local work: the target's test suite, the backup rehearsal) runs
  after the non-exclusive checks and the services' exclusive checks, one at a time, never beside
  the target's exclusive checks, which measure windows and latencies (``slots.Quiet``). A
  ``final`` check runs after everything (RDY-052 reads the logs of the whole run's traffic).
- **Separate instances.** A check that drives its own instance of the product when one is
  configured (RDY-032's journeys at ``readiness.e2e_frontend_url``, the second instance the audit
  starts for them) uses that instance, not the audited one: it neither waits for the audited
  product's checks nor makes them wait, and it runs from the start of the run, beside everything
  (the checks that run last and alone included: they judge the audited product) — the slowest
  check of a run (2 minutes of browsers) no longer starts only after the live checks and delays
  the exclusive ones behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.config import AuditConfig
    from prodaudit.context import Context
    from prodaudit.model import CheckResult, CheckSpec

log = logging.getLogger("prodaudit.runner")

NS = "durations"
EVERYTHING = "*"  # the resource of an exclusive check that declares none: the whole run
_TARGET_NEEDS = frozenset({"live", "target", "frontend"})
_SERVICE_NEEDS = ("docker", "database", "redis")


#: check id -> the configuration key (section, key) that, when set, gives it its own instance
SEPARATE_INSTANCE: dict[str, tuple[str, str]] = {"RDY-032": ("readiness", "e2e_frontend_url")}


def separate_instances(cfg: AuditConfig) -> frozenset[str]:
    """The checks that drive their own instance of the product in this run (see the docstring)."""
    return frozenset(cid for cid, (section, key) in SEPARATE_INSTANCE.items()
                     if getattr(getattr(cfg, section, None), key, None))


def resources(spec: CheckSpec, separate: frozenset[str] = frozenset()) -> frozenset[str]:
    """What a check uses that another check could disturb (see the module docstring).
    ``separate``: the checks that use their own instance (``instance:<id>``), not the target."""
    if spec.id in separate and spec.needs & _TARGET_NEEDS:
        return frozenset({f"instance:{spec.id}"})
    out = {"target"} if spec.needs & _TARGET_NEEDS else set()
    out.update(n for n in _SERVICE_NEEDS if n in spec.needs)
    if not out and spec.exclusive:
        out.add(EVERYTHING)
    return frozenset(out)


def _key(ctx: Context) -> str:
    from prodaudit.cache import Cache

    try:
        where = str(ctx.repo.resolve())
    except OSError:
        where = str(ctx.repo)
    return Cache.key("durations", where)


def history(ctx: Context) -> dict[str, float]:
    """Check id -> seconds it took in the last run on this repository (empty without a cache)."""
    from prodaudit.cache import get_json

    cache = ctx.cache()
    if cache is None:
        return {}
    key = _key(ctx)
    found = get_json(cache, NS, [key]).get(key)
    if not isinstance(found, dict):
        return {}
    return {str(k): float(v) for k, v in found.items() if isinstance(v, (int, float))}


def remember(ctx: Context, results: Iterable[CheckResult], before: dict[str, float]) -> None:
    """Record this run's durations for the next run's priority. A SKIP says nothing about how
    long the check takes when it runs: the previous figure is kept."""
    from prodaudit.cache import put_json
    from prodaudit.model import Status

    cache = ctx.cache()
    if cache is None:
        return
    merged = dict(before)
    for r in results:
        if r.status is not Status.SKIP:
            merged[r.id] = round(r.duration_s + r.waited_s, 3)
    put_json(cache, NS, _key(ctx), merged)


def order(specs: list[CheckSpec], last: dict[str, float], default_timeout: float
          ) -> list[CheckSpec]:
    """Non-exclusive checks: those that do not use the running product expected-slowest first
    (stable: id order among equals); those that do, after them and in id order, as they always
    ran: they share the product's state (accounts, objects they create and delete), and an order
    that changed with the last run's durations could change what one sees of another's writes."""
    live = [s for s in specs if "target" in resources(s)]
    rest = [s for s in specs if "target" not in resources(s)]

    def cost(spec: CheckSpec) -> float:
        if spec.id in last:
            return last[spec.id]
        declared = spec.timeout or default_timeout
        # no history: a long declared timeout marks a slow check; others are assumed quick
        return declared / 100.0 if declared > default_timeout else 0.0

    return sorted(rest, key=lambda s: -cost(s)) + live
