"""``prodaudit run`` with a fleet configuration.

- ``--service NAME[,NAME]`` (a CI job of the plan): audit each named service, its planned suites
  (or those of ``--suite``), and write each audit with the job's fleet record into
  ``OUTPUT/<job>/<run-id>/`` — ``<job>`` is the service name, or ``NAME.SUITE[+SUITE]`` with
  ``--suite`` (the plan's job ids), so a re-run of the same job finds its own previous audit
  (``latest``) as its baseline. No fleet report: ``prodaudit merge`` writes it.
- no ``--service`` (small fleets, laptops): every service, one after the other in this process,
  into ``OUTPUT/jobs/``, then merged like a CI run into ``OUTPUT/<fleet-run-id>/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodaudit.config import AuditConfig, service_config
from prodaudit.errors import UsageError
from prodaudit.fleet.services import KEY, fleet_digest, job_record, narrow_only, planned

#: adjusts a service's configuration after it is built (the CLI's nested options)
Adjust = Callable[[AuditConfig], AuditConfig]


@dataclass(frozen=True)
class JobRun:
    service: str
    audit_json: Path | None
    verdict: str
    exit_code: int


def job_dir(name: str, suites: Sequence[str] | None) -> str:
    """A job's report directory: the plan's job id (``api``, or ``api.security`` with --suite)."""
    return name if suites is None else f"{name}.{'+'.join(suites)}"


def run_services(
    fleet: AuditConfig,
    names: Sequence[str],
    cli: Mapping[str, Any],
    *,
    suites: Sequence[str] | None = None,
    output: Path | None = None,
    quiet: bool = False,
    adjust: Adjust | None = None,
    on_done: Callable[[Any], None] | None = None,
) -> list[JobRun]:
    """Audit the services ``names`` of ``fleet`` (every option checked before the first starts)."""
    from prodaudit.audit import run_audit
    from prodaudit.progress import say

    plan = planned(fleet, cli)
    digest = fleet_digest(fleet)
    output = output or fleet.output
    work: list[tuple[str, AuditConfig, list[str]]] = []
    for name in dict.fromkeys(names):
        fleet.service(name)  # an unknown name: ConfigError naming the known ones
        mine = plan[name]["suites"]
        chosen = [s for s in mine if suites is None or s in suites]
        if not chosen:
            raise UsageError(
                f"--service {name} --suite {','.join(suites or [])}: not planned for this "
                f"service (its suites: {', '.join(mine)})"
            )
        cfg = service_config(fleet, name, dict(cli))
        cfg = adjust(cfg) if adjust else cfg
        cfg = cfg.model_copy(
            update={
                "only": narrow_only(cfg.only, chosen),
                "output": output / job_dir(name, None if suites is None else chosen),
            }
        )
        work.append((name, cfg, chosen))
    done: list[JobRun] = []
    for name, cfg, chosen in work:
        say(f"fleet: auditing service {name} ({', '.join(chosen)})", quiet)
        outcome = run_audit(
            cfg, chosen, quiet=quiet, extras={KEY: job_record(fleet, name, chosen, plan, digest)}
        )
        if on_done is not None:
            on_done(outcome.run)
        path = outcome.report_dir / "audit.json" if outcome.report_dir else None
        done.append(JobRun(name, path, outcome.run.decision.verdict, outcome.run.decision.exit_code))
    return done


def worst_exit(runs: Sequence[JobRun]) -> int:
    """A job's exit code: NO-GO (1) over CONDITIONAL GO (2) over GO (0)."""
    codes = {r.exit_code for r in runs}
    return 1 if 1 in codes else (2 if 2 in codes else 0)
