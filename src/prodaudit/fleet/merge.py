"""``prodaudit merge``: the jobs' audits of a fleet into one fleet audit.

1. Collect every job ``audit.json`` below the directories (:mod:`.collect`).
2. For each planned service and suite take the newest audit that covers it; older audits of the
   same service and suite (a re-run job) are listed as superseded.
3. Check that the audits belong together, else a :class:`FleetError` (exit 3) naming them: one
   tool version, the version of this merge (it names the checks of missing jobs from its own
   registry); one fleet digest (the plan's, with ``--plan``); every audit planned.
4. The plan comes from ``--plan FILE`` or from the jobs' own records (every job carries it).
5. Per service: results per suite, facts, extras and request ledgers combined (:mod:`.combine`);
   a planned suite no job delivered gets one ERROR result per check it would have run ("not
   verified"); the service's decision by the one-audit policy, never GO with a missing suite.
6. The fleet decision (:mod:`.gate`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prodaudit import __version__
from prodaudit.errors import FleetError, InputError
from prodaudit.fleet.collect import JobFile, collect, read_job
from prodaudit.fleet.combine import (
    combine_extras,
    combine_facts,
    combine_requests,
    combine_results,
    combine_target,
)
from prodaudit.fleet.gate import decide_fleet
from prodaudit.fleet.model import FleetRun, JobAudit, Missing, ServiceAudit
from prodaudit.fleet.plan import Plan
from prodaudit.fleet.services import decode_plan
from prodaudit.gate import CONDITIONAL, GO, decide, exit_code
from prodaudit.model import SUITES, AuditRun, CheckResult, Decision, Status

#: jobs named in one error line; the rest are counted
NAMED = 4


def _names(jobs: Sequence[JobFile]) -> str:
    shown = ", ".join(j.label for j in jobs[:NAMED])
    return shown + (f" and {len(jobs) - NAMED} more" if len(jobs) > NAMED else "")


def _newest(jobs: Iterable[JobFile]) -> dict[tuple[str, str], JobFile]:
    chosen: dict[tuple[str, str], JobFile] = {}
    for job in jobs:
        for suite in job.suites:
            key = (job.service, suite)
            cur = chosen.get(key)
            if cur is None or (job.finished_at, job.run_id) > (cur.finished_at, cur.run_id):
                chosen[key] = job
    return chosen


def _belong_together(jobs: Sequence[JobFile], plan: Plan | None) -> str:
    """The fleet digest the jobs share (a FleetError naming the odd ones otherwise)."""
    versions: dict[str, list[JobFile]] = {}
    for j in jobs:
        versions.setdefault(j.tool_version, []).append(j)
    expected = plan.tool_version if plan else __version__
    if plan is not None and plan.tool_version != __version__:
        raise FleetError(
            f"the plan was made by prodaudit {plan.tool_version}, this merge is "
            f"prodaudit {__version__}: merge with the version the jobs ran"
        )
    odd = [j for v, js in versions.items() if v != expected for j in js]
    if odd:
        found = ", ".join(f"{v} ({len(js)} audit(s))" for v, js in sorted(versions.items()))
        raise FleetError(
            f"the jobs do not belong together: tool versions {found}; this merge is "
            f"prodaudit {__version__}; not {expected}: {_names(odd)}"
        )
    digests: dict[str, list[JobFile]] = {}
    for j in jobs:
        digests.setdefault(j.fleet_digest, []).append(j)
    if plan is not None:
        odd = [j for d, js in digests.items() if d != plan.fleet_digest for j in js]
        if odd:
            raise FleetError(
                f"the jobs do not belong together: fleet digest {plan.fleet_digest} in the "
                f"plan, another configuration in {_names(odd)} (re-run them, or plan again)"
            )
        return plan.fleet_digest
    if len(digests) > 1:
        groups = "; ".join(
            f"{d}: {_names(js)}" for d, js in sorted(digests.items(), key=lambda x: -len(x[1]))
        )
        raise FleetError(
            f"the jobs do not belong together: {len(digests)} fleet configurations "
            f"(config digests) — {groups}"
        )
    return next(iter(digests))


def _missing_results(suite: str, selection: Mapping[str, Sequence[str]], reason: str) -> list[CheckResult]:
    from prodaudit.fleet.services import narrow_only
    from prodaudit.registry import load_checks

    only = selection.get("only") or []
    narrowed = narrow_only(only, [suite])
    if only and not narrowed:
        return []
    specs = [
        s
        for s in load_checks().all()
        if s.suite == suite
        and (not narrowed or any(s.id.startswith(t) for t in narrowed))
        and not any(s.id.startswith(t.strip().upper()) for t in selection.get("skip") or [])
    ]
    return [
        CheckResult(
            id=s.id,
            suite=s.suite,
            title=s.title,
            severity=s.severity,
            status=Status.ERROR,
            reason=reason,
            checklist=s.checklist,
            references=s.references,
            doc=s.doc,
            evidence=s.evidence,
        )
        for s in specs
    ]


def _baseline_for(previous: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    if previous is None:
        return None
    for s in previous.get("services") or []:
        if isinstance(s, Mapping) and s.get("name") == name and isinstance(s.get("run"), Mapping):
            return s["run"]
    return None


def _no_target(name: str) -> dict[str, Any]:
    """The target of a service no job audited (the keys every report reads)."""
    return {
        "repo": "",
        "base_url": None,
        "frontend_url": None,
        "env_file": None,
        "compose_files": [],
        "reference_target": False,
        "suites": [],
        "service": name,
    }


def _service(
    name: str,
    selection: Mapping[str, Sequence[str]],
    taken: Sequence[tuple[JobFile, list[str]]],
    job_ids: Mapping[tuple[str, str], str],
    fleet_run_id: str,
    fail_on: str | None,
    baseline: tuple[str, Mapping[str, Any] | None] | None,
) -> ServiceAudit:
    from prodaudit.governance import baseline_diff

    parts: list[tuple[AuditRun, list[str]]] = []
    for job, suites in taken:
        try:
            parts.append((AuditRun.from_dict(read_job(job.path)), suites))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FleetError(f"{job.path}: not an audit.json: {type(exc).__name__}: {exc}") from None
    delivered = {s for _, suites in parts for s in suites}
    missing: list[Missing] = []
    results = combine_results(parts)
    for suite in (s for s in SUITES if s in selection["suites"] and s not in delivered):
        job_id = job_ids.get((name, suite), "")
        why = (
            f"the fleet job for {name}/{suite}{f' ({job_id})' if job_id else ''} wrote no audit.json: it "
            "failed to run, was cancelled, or its report was not downloaded"
        )
        missing.append(Missing(name, suite, job_id, why))
        results += _missing_results(suite, selection, f"not verified: {why}")
    profile = parts[0][0].profile if parts else "production"
    decision = decide(results, profile, fail_on)
    if missing and decision.verdict == GO:
        decision = Decision(
            CONDITIONAL,
            exit_code(CONDITIONAL, fail_on),
            tuple(f"the {m.suite} suite was not audited" for m in missing),
        )
    extras = combine_extras([(p.extras, suites) for p, suites in parts])
    if baseline is not None:
        file, previous = baseline
        extras["baseline"] = (
            None
            if previous is None
            else {"file": f"{file} (service {name})", **baseline_diff(previous, results)}
        )
    first = parts[0][0] if parts else None
    run = AuditRun(
        run_id=f"{fleet_run_id}.{name}",
        target=combine_target(parts, name) if parts else _no_target(name),
        profile=profile,
        tool_version=first.tool_version if first else __version__,
        config_digest=first.config_digest if first else "",
        started_at=min((p.started_at for p, _ in parts), default=""),
        finished_at=max((p.finished_at for p, _ in parts), default=""),
        results=tuple(sorted(results, key=lambda r: r.id)),
        decision=decision,
        facts=combine_facts(p for p, _ in parts),
        extras=extras,
        requests=combine_requests(p.requests for p, _ in parts),
    )
    jobs = tuple(
        JobAudit(name, tuple(suites), j.run_id, str(j.path), j.decision, j.finished_at) for j, suites in taken
    )
    repo = str(taken[0][0].record.get("repo", "")) if taken else ""
    return ServiceAudit(name, tuple(selection["suites"]), run, jobs, tuple(missing), repo)


def merge(
    dirs: Sequence[Path],
    *,
    plan: Plan | None = None,
    fail_on: str | None = None,
    baseline: tuple[str, Mapping[str, Any] | None] | None = None,
    run_id: str | None = None,
) -> FleetRun:
    """Merge the fleet jobs' audits found below ``dirs``. ``baseline``: (file, the previous fleet
    document) whose services are each service's baseline."""
    from prodaudit.audit import new_run_id

    found = collect(dirs)
    if not found.jobs:
        aside = (
            f"; set aside: {found.set_aside[0]['source']}: {found.set_aside[0]['why']}"
            if found.set_aside
            else ""
        )
        raise FleetError(
            f"no fleet job audit.json below {', '.join(map(str, dirs))} (a job writes one "
            f"with `prodaudit run --service NAME`){aside}"
        )
    chosen = _newest(found.jobs)
    used = list({j.run_id: j for j in chosen.values()}.values())
    digest = _belong_together(used, plan)
    if plan is None:
        recorded = found.plans.get(digest)
        if not isinstance(recorded, Mapping):
            raise FleetError(
                "the jobs' audit.json carry no plan: give it with --plan FILE "
                "(`prodaudit plan --format json`)"
            )
        try:
            plan = Plan.from_dict(
                {
                    "fleet_digest": digest,
                    "tool_version": __version__,
                    "services": decode_plan(recorded),
                    "fail_on": used[0].record.get("fail_on"),
                    "config_file": used[0].record.get("config_file"),
                }
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise FleetError(f"the jobs' plan record is malformed: {type(exc).__name__}: {exc}") from None
    outside = [
        j
        for (service, suite), j in chosen.items()
        if suite not in plan.services.get(service, {}).get("suites", [])
    ]
    if outside:
        raise FleetError(
            f"audits that are not in the plan: {_names(outside)} (plan again, or leave them out of the merge)"
        )
    fail_on = fail_on or plan.fail_on
    run_id = run_id or new_run_id()
    job_ids = {(svc, suite): job.id for job in plan.jobs for svc, suites in job.units for suite in suites}
    previous = None
    if baseline is not None:
        previous = baseline[1]
    services = []
    for name, selection in plan.services.items():
        per_job: dict[str, tuple[JobFile, list[str]]] = {}
        for suite in selection["suites"]:
            job = chosen.get((name, suite))
            if job is not None:
                per_job.setdefault(job.run_id, (job, []))[1].append(suite)
        base = None if baseline is None else (baseline[0], _baseline_for(previous, name))
        services.append(_service(name, selection, list(per_job.values()), job_ids, run_id, fail_on, base))
    taken = {j.run_id for s in services for j in s.jobs}
    superseded = tuple(
        JobAudit(j.service, j.suites, j.run_id, str(j.path), j.decision, j.finished_at)
        for j in found.jobs
        if j.run_id not in taken
    )
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    runs = [s.run for s in services if s.jobs]
    return FleetRun(
        run_id=run_id,
        tool_version=__version__,
        fleet_digest=digest,
        config_file=plan.config_file,
        started_at=min((r.started_at for r in runs), default=now),
        finished_at=max((r.finished_at for r in runs), default=now),
        decision=decide_fleet(services, fail_on),
        services=tuple(services),
        superseded=superseded,
        extras={
            "merged_at": now,
            "inputs": [str(d) for d in dirs],
            "set_aside": found.set_aside,
            "plan_jobs": len(plan.jobs),
            "baseline": baseline[0] if baseline else None,
        },
    )


def load_baseline(explicit: Path | None, output: Path) -> tuple[str, Mapping[str, Any] | None] | None:
    """The previous fleet document each service is compared with: ``explicit`` (must be a fleet
    audit.json), else ``<output>/latest/audit.json`` when it is one; None otherwise."""
    from prodaudit.fleet.model import SCHEMA
    from prodaudit.loaders import load_json_file
    from prodaudit.report.fleet import MAX_FLEET_BYTES

    path = explicit or output / "latest" / "audit.json"
    if not path.is_file():
        if explicit is not None:
            raise FleetError(f"{explicit}: baseline not found")
        return None
    try:
        data = load_json_file(path, max_bytes=MAX_FLEET_BYTES)
    except InputError:
        if explicit is not None:
            raise
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        if explicit is not None:
            raise FleetError(
                f"{explicit}: not a fleet audit.json (a fleet is compared with an earlier merge's audit.json)"
            )
        return None
    return str(path), data
