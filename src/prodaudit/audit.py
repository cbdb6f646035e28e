"""One audit, end to end: select checks, start the reference target if needed, run, decide,
write reports. The CLI, the invoke tasks and the scripts all call ``run_audit``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodaudit import __version__, interrupt
from prodaudit.config import AuditConfig
from prodaudit.context import Context
from prodaudit.gate import decide
from prodaudit.model import SUITES, AuditRun, CheckResult, CheckSpec
from prodaudit.redact import Redactor
from prodaudit.registry import catalog, load_checks, select
from prodaudit.runner import run_checks

if TYPE_CHECKING:
    from prodaudit.target import ReferenceTarget

#: needs that only a running product satisfies: without them the bundled target is not started
LIVE_NEEDS = frozenset({"live", "target", "frontend"})
ReadyWait = Callable[[], BaseException | None]
#: the config fields naming the started target(s), read once they are up
TargetUrls = Callable[[], dict[str, Any]]
#: the check that runs the repository's end-to-end journeys (a second target instance for them)
E2E_CHECK = "RDY-032"


@dataclass(frozen=True)
class AuditOutcome:
    run: AuditRun
    report_dir: Path | None


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextmanager
def _target(cfg: AuditConfig, quiet: bool, live: bool = True, e2e_instance: bool = False
            ) -> Iterator[tuple[AuditConfig, ReferenceTarget | None, ReadyWait | None,
                                TargetUrls | None]]:
    """The bundled reference target for the run. ``live=False`` (no selected check needs the
    running product): its profile (env file, environment) is prepared, no process started.
    Otherwise its processes start in the background while the repository checks run; the checks
    that need it wait for it (``Context.target_ready``). The URLs handed out at once are those
    the target was prepared with; a port another process took moves it at start, so the context
    reads them again once it is up (``Context.target_urls``)."""
    if not cfg.should_start_target:
        yield cfg, None, None, None
        return
    from prodaudit.progress import say
    from prodaudit.target import ReferenceTarget

    if live:
        say("starting the reference target (examples/ultra-mvp) on 127.0.0.1 ...", quiet)
    # the product as configured: every check judges the limits it ships with
    target = ReferenceTarget(root=cfg.repo)
    # its end-to-end journeys (RDY-032) register and log in once per test, in two browser
    # engines, from the audit's one IP: more logins a minute than the product allows one client.
    # They run against a second instance, as a CI runs them against a test environment
    # (readiness.e2e_frontend_url), with room for them (40 logins a minute)
    e2e = (ReferenceTarget(root=cfg.repo, overrides={"RATE_LIMIT_LOGIN": "40/60"})
           if live and e2e_instance and cfg.readiness.e2e_frontend_url is None else None)
    saved = {k: os.environ.get(k) for k in ("PRODAUDIT_AUDIT_USERNAME", "PRODAUDIT_AUDIT_PASSWORD",
                                           "PRODAUDIT_AUDIT2_USERNAME", "PRODAUDIT_AUDIT2_PASSWORD",
                                           "PRODAUDIT_ADMIN_USERNAME", "PRODAUDIT_ADMIN_PASSWORD")}
    try:
        if live:
            target.start_in_background()
            if e2e is not None:
                e2e.start_in_background()
        else:
            target.prepare()
        os.environ.update(target.audit_env)
        def urls() -> dict[str, Any]:
            out: dict[str, Any] = {"base_url": target.base_url,
                                   "frontend_url": target.frontend_url} if live else {}
            if e2e is not None:
                out["readiness"] = cfg.readiness.model_copy(
                    update={"e2e_frontend_url": e2e.frontend_url})
            return out

        # the audit owns this throwaway target (temporary SQLite database): writes are safe
        update: dict[str, Any] = {**urls(), "allow_mutations": True} if live else {}
        if cfg.env_file is None:
            update["env_file"] = target.env_file
        if cfg.licenses.target_venv is None:
            # the started target runs in this interpreter's environment: audit its licenses
            import sysconfig

            site = Path(sysconfig.get_paths()["purelib"])
            update["licenses"] = cfg.licenses.model_copy(
                update={"target_venv": site, "scope": "pinned"}
            )
        if live:
            say(f"reference target: api {target.base_url}, frontend {target.frontend_url}",
                quiet)
        def ready() -> BaseException | None:  # both instances up (the e2e one's failure is RDY-032's)
            failed = target.wait_ready()
            if e2e is not None and failed is None:
                e2e.wait_ready()
            return failed

        yield cfg.model_copy(update=update), target, ready, urls if live else None
    finally:
        target.stop()
        if e2e is not None:
            e2e.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if live:
            say("reference target stopped", quiet)


def run_audit(
    cfg: AuditConfig,
    suites: Iterable[str] | None = None,
    *,
    quiet: bool = False,
    write: bool = True,
    extra_results: Iterable[CheckResult] = (),
    extras: Mapping[str, Any] | None = None,
) -> AuditOutcome:
    """``extras``: entries added to ``audit.json`` → ``extras`` (a fleet job's record)."""
    suites = list(suites) if suites is not None else list(SUITES)
    specs = select_checks(suites, cfg.only, cfg.skip)  # UsageError before anything runs
    started = _now()
    run_id = new_run_id()
    interrupt.set_run(run_id)
    redactor = Redactor()
    ctx: Context | None = None
    try:
        live = any(s.needs & LIVE_NEEDS for s in specs)
        with _target(cfg, quiet, live, E2E_CHECK in {s.id for s in specs}) as (eff_cfg, target,
                                                                                 ready, urls):
            ctx = Context(
                eff_cfg,
                redactor=redactor,
                target_env=target.env if target else None,
                target_logs=(lambda: target.logs) if target else None,
                target_ready=ready,
                target_urls=urls,
                run_id=run_id,
                suites=tuple(suites),
            )
            from prodaudit.progress import make_progress

            with make_progress(len(specs), quiet) as hook:
                results = interrupt.run_async(run_checks(specs, ctx, hook))
            failed_start = target.wait_ready() if target is not None else None
            if failed_start is not None:  # the audit could not run: exit 3, as before the checks
                raise failed_start
            results += list(extra_results)
        run = build_run(ctx.cfg, results, ctx.settle(), redactor, started, suites, run_id,
                        requests=ctx.http.ledger.to_dict(), extras=extras)
        report_dir = None
        if write:
            from prodaudit.report import write_reports
            from prodaudit.report.source_map import with_source_map

            # the source map reuses the run's file index instead of walking the repository again
            report_dir = write_reports(with_source_map(run, ctx.peek("files")), eff_cfg.output,
                                       eff_cfg.formats)
    except KeyboardInterrupt:
        if ctx is not None:
            # the runner closes the context in its ``finally``, but an interrupt that lands
            # while the event loop itself runs (a check's thread being started) can end the
            # loop before that ``finally`` ran: the registered cleanups must run all the same
            # (close() runs them once, within the interrupt's budget)
            ctx.close()
        _discard_partial_reports(cfg.output / run_id)
        raise
    return AuditOutcome(run=run, report_dir=report_dir)


def select_checks(suites: Iterable[str], only: Iterable[str] = (), skip: Iterable[str] = ()
                  ) -> list[CheckSpec]:
    """The selected checks, selected from the index of declarations so that only the modules
    of the selected checks are imported (``registry.load_checks(ids)``)."""
    chosen = [c.id for c in select(catalog(), suites, only, skip)]
    registry = load_checks(chosen)
    return [registry.get(i) for i in chosen]


def _discard_partial_reports(run_dir: Path) -> None:
    """An interrupted run leaves no half-written report directory (evidence, partial reports):
    ``reports/latest`` keeps pointing at the last complete run."""
    if not run_dir.is_dir():
        return
    latest = run_dir.parent / "latest"
    try:
        if latest.is_symlink() and latest.resolve() == run_dir.resolve():
            return  # the run completed its reports before the interrupt
    except OSError:
        pass
    interrupt.run_cleanups([(lambda: shutil.rmtree(run_dir), f"incomplete reports: {run_dir} "
                             f"(rm -rf {run_dir})")], 30.0)


def build_run(
    cfg: AuditConfig,
    results: list[CheckResult],
    facts: dict[str, Any],
    redactor: Redactor,
    started: str,
    suites: list[str],
    run_id: str | None = None,
    *,
    requests: dict[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
) -> AuditRun:
    from prodaudit.governance import apply_governance, redact_result

    results, governance = apply_governance(cfg, results)
    # policy keys the audited repository set for itself and the audit ignored (issue 18)
    governance["repository_config"] = {"ignored": cfg.repository_ignored}
    all_extras = {**governance, **(extras or {})}
    # defence in depth: extra results and waiver texts never went through the runner's redaction
    results = [redact_result(r, redactor) for r in results]
    decision = decide(results, cfg.profile, cfg.fail_on)
    target = {
        "repo": str(cfg.repo),
        "base_url": cfg.base_url,
        "frontend_url": cfg.frontend_url,
        "env_file": str(cfg.env_file) if cfg.env_file else None,
        "compose_files": [str(p) for p in cfg.compose_files],
        "reference_target": cfg.is_reference_target,
        "suites": suites,
    }
    return AuditRun(
        run_id=run_id or new_run_id(),
        target=target,
        profile=cfg.profile,
        tool_version=__version__,
        config_digest=cfg.digest(),
        started_at=started,
        finished_at=_now(),
        results=tuple(results),
        decision=decision,
        facts=redactor.redact_obj(facts),
        extras=redactor.redact_obj(all_extras),
        requests=redactor.redact_obj(requests or {}),
    )
