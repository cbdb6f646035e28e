"""Runs checks: concurrently (async checks on one event loop with one shared HTTP client,
blocking checks in daemon threads), each with a timeout; a crash or timeout is ERROR and never
stops the run. Known-slow checks start first; exclusive checks (bursts, load, the Compose
lifecycle) run alone on the resources they use, not after the whole run (``schedule.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from prodaudit import schedule, slots
from prodaudit.context import Context
from prodaudit.errors import InputError
from prodaudit.extras import install_hint
from prodaudit.http import probe_scope
from prodaudit.model import CheckResult, CheckSpec, Finding, Status
from prodaudit.outcome import Skip
from prodaudit.timing import measuring

ProgressHook = Callable[[CheckSpec, CheckResult | None], None]  # None = started
#: needs that a target the audit starts in the background satisfies: the running product, and
#: the database and Redis URLs of its environment (its SQLite file exists once it runs)
WAITS_FOR_TARGET = frozenset({"live", "target", "frontend", "database", "redis"})


def repo_relative(location: str, repo: Path) -> str:
    """``/abs/repo/app.py:3`` → ``app.py:3``: one file has one name in every finding."""
    for root in dict.fromkeys((str(repo), str(repo.resolve()))):
        if location.startswith(root.rstrip("/") + "/"):
            return location[len(root.rstrip("/")) + 1:]
    return location


def combine(findings: Iterable[Finding]) -> Status | None:
    """The worst status among findings; None when there are none."""
    statuses = [f.status for f in findings]
    return max(statuses, key=lambda s: s.rank) if statuses else None


async def _needs_reason(spec: CheckSpec, ctx: Context) -> str | None:
    if spec.needs & WAITS_FOR_TARGET:
        started = await ctx.target_started()
        if started:
            return started
    for need in sorted(spec.needs):
        reason: str | None = None
        if need == "live":
            reason = await ctx.need_live()
        elif need == "target":
            reason = None if ctx.cfg.base_url else "no --base-url given and no target started"
        elif need == "frontend":
            reason = await ctx.need_frontend()
        elif need == "repo":
            reason = None if ctx.repo.is_dir() else f"repository {ctx.repo} not readable"
        elif need == "docker":
            try:
                await asyncio.to_thread(ctx.docker)
            except Skip as exc:
                reason = exc.reason
        elif need == "database":
            if not ctx.env_value(ctx.cfg.database.url_env):
                reason = f"{ctx.cfg.database.url_env} not set in the audited environment"
        elif need == "redis" and not ctx.env_value(ctx.cfg.redis.url_env):
            reason = f"{ctx.cfg.redis.url_env} not set in the audited environment"
        if reason:
            return reason
    return None


def _in_daemon_thread(fn: Callable[[], list[Finding]], name: str) -> asyncio.Future[list[Finding]]:
    """Run a blocking check in a daemon thread. A check that hangs past its timeout is abandoned
    (its result is ERROR) and cannot keep the audit process alive at exit, as a pool thread would."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[list[Finding]] = loop.create_future()

    def settle(result: list[Finding] | None, exc: BaseException | None) -> None:
        if fut.done():  # timed out and cancelled meanwhile
            return
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result or [])

    def work() -> None:
        try:
            res, err = fn(), None
        except BaseException as exc:  # handed to the event loop, which reports it as ERROR
            res, err = None, exc
        # RuntimeError: the loop is gone, the audit finished without this check
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, res, err)

    # the check's context (its wait accumulator, see timing.py) goes with it into the thread
    run_in_context = contextvars.copy_context().run
    threading.Thread(target=run_in_context, args=(work,), name=f"check-{name}", daemon=True).start()
    return fut


async def _call(spec: CheckSpec, ctx: Context) -> list[Finding]:
    if spec.is_async:
        out = await spec.func(ctx)
    else:
        out = await _in_daemon_thread(lambda: _collect_sync(spec.func(ctx)), spec.id)
    if inspect.isasyncgen(out):
        return _collect_sync([f async for f in out])
    return _collect_sync(out)


def _collect_sync(out: Any) -> list[Finding]:
    if out is None:
        return []
    if isinstance(out, Finding):
        return [out]
    collected: list[Finding] = list(out)
    return collected


async def run_one(spec: CheckSpec, ctx: Context) -> CheckResult:
    """Run one check. Its duration excludes the time it waited for shared facts that other checks
    were building (reported as ``waited_s``)."""
    with measuring() as waited:
        res = await _run_one(spec, ctx)
    return replace(res, duration_s=max(0.0, res.duration_s - waited[0]), waited_s=waited[0])


async def _run_one(spec: CheckSpec, ctx: Context) -> CheckResult:
    start = time.monotonic()
    findings: list[Finding] = []
    reason = ""
    status: Status
    timeout = spec.timeout or ctx.cfg.check_timeout
    try:
        with probe_scope(spec.id, ctx.probe_budget(spec)) as scope:  # the request ledger's name
            missing = await _needs_reason(spec, ctx)
            if missing:
                raise Skip(missing)
            findings = await asyncio.wait_for(_call(spec, ctx), timeout=timeout)
        bad = [f for f in findings if not isinstance(f, Finding)]
        if bad:
            raise TypeError(f"check returned {type(bad[0]).__name__}, expected Finding")
        if scope.refused and combine(findings) is Status.PASS:
            # requests the HTTP layer refused (read-only, exclusions, budget): not verified
            more = f" (+{len(scope.refused) - 1} more)" if len(scope.refused) > 1 else ""
            findings.append(Finding(Status.SKIP, scope.refused[0] + more))
        combined = combine(findings)
        if combined is None:
            status, reason = Status.ERROR, "check returned no result (nothing verified)"
        else:
            status = combined
            if status is Status.SKIP:
                reason = "; ".join(f.message for f in findings if f.status is Status.SKIP)
            elif status is Status.ERROR:
                reason = "; ".join(f.message for f in findings if f.status is Status.ERROR)
    except Skip as exc:
        status, reason = Status.SKIP, exc.reason
    except TimeoutError:
        status, reason = Status.ERROR, f"timed out after {timeout:.0f} s"
    except InputError as exc:  # one input file could not be read safely: named, not a crash
        status, reason = Status.ERROR, f"not verified: {exc}"
    except ModuleNotFoundError as exc:  # an optional dependency (extras.py): say what to install
        hint = install_hint(exc)
        status = Status.SKIP if hint else Status.ERROR
        reason = hint or f"check crashed: ModuleNotFoundError: {exc}"
    except Exception as exc:  # crash isolation: one check never stops the run
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        status, reason = Status.ERROR, f"check crashed: {type(exc).__name__}: {exc}{where}"
    red = ctx.redact  # memoised per text: the final pass (governance) does not redo this work
    findings = [
        Finding(
            status=f.status,
            message=red(f.message),
            location=red(repo_relative(f.location, ctx.repo)),
            evidence=red(f.evidence),
            remediation=red(f.remediation or spec.remediation),
            severity=f.severity,
            rule=f.rule,
            level=f.level,
        )
        for f in findings
    ]
    findings = list(dict.fromkeys(findings))  # the same finding twice (e.g. two paths to one file)
    return CheckResult(
        id=spec.id,
        suite=spec.suite,
        title=spec.title,
        severity=spec.severity,
        status=status,
        findings=tuple(findings),
        duration_s=time.monotonic() - start,
        reason=red(reason),
        checklist=spec.checklist,
        references=spec.references,
        doc=spec.doc,
        evidence=spec.evidence,
    )


async def run_checks(
    specs: list[CheckSpec], ctx: Context, progress: ProgressHook | None = None
) -> list[CheckResult]:
    """Run every check; results come back in the order of ``specs``.

    Non-exclusive checks run concurrently (at most ``concurrency`` at once), expected-slowest
    first; each exclusive check runs alone on the resources it uses, once the other checks that
    use them have finished, while the rest keep running (``prodaudit.schedule``); the target's
    exclusive checks never beside heavy local work (``slots.Quiet``)."""
    sem = asyncio.Semaphore(ctx.cfg.concurrency)
    results: dict[str, CheckResult] = {}
    t0 = time.monotonic()
    last = await asyncio.to_thread(_history, ctx)
    separate = schedule.separate_instances(ctx.cfg)

    def resources(spec: CheckSpec) -> frozenset[str]:
        return schedule.resources(spec, separate)

    shared = schedule.order([s for s in specs if not s.exclusive], last, ctx.cfg.check_timeout)
    exclusive = [s for s in specs if s.exclusive and not s.final]
    final = [s for s in specs if s.final]  # judge what the run left behind: after everything
    users: dict[str, int] = {}
    for spec in shared:
        for r in resources(spec):
            users[r] = users.get(r, 0) + 1
    free = {r: asyncio.Event() for r in {r for s in specs for r in resources(s)}}
    for r, event in free.items():
        if not users.get(r):
            event.set()
    locks = {r: asyncio.Lock() for r in free}

    async def timed(spec: CheckSpec) -> None:
        if progress:
            progress(spec, None)
        started = time.monotonic() - t0
        results[spec.id] = res = replace(await run_one(spec, ctx), started_s=started)
        if progress:
            progress(spec, res)

    async def guarded(spec: CheckSpec) -> None:
        try:
            if spec.needs & WAITS_FOR_TARGET:  # no slot held while the target starts
                await ctx.target_started()
            slot = slots.Slot(sem)  # given back while the check waits for a shared fact
            await slot.acquire()
            token = slots.current.set(slot)
            try:
                await timed(spec)
            finally:
                slots.current.reset(token)
                slot.close()
        finally:
            for r in resources(spec):
                users[r] -= 1
                if users[r] == 0:
                    free[r].set()

    quiet = slots.Quiet()  # the target's exclusive checks never run beside heavy local work

    def instance(key: frozenset[str]) -> bool:
        return all(r.startswith("instance:") for r in key)

    async def alone(group: list[CheckSpec]) -> None:
        for spec in group:  # one at a time on its resources, in id order
            held = sorted(resources(spec))
            for r in held:
                await free[r].wait()
            async with contextlib.AsyncExitStack() as stack:
                for r in held:
                    await stack.enter_async_context(locks[r])
                if "target" in held:
                    await stack.enter_async_context(quiet.alone())
                elif instance(frozenset(held)):
                    await stack.enter_async_context(quiet.beside())
                await timed(spec)

    groups: dict[frozenset[str], list[CheckSpec]] = {}
    for spec in exclusive:
        groups.setdefault(resources(spec), []).append(spec)
    last_group = groups.pop(frozenset({schedule.EVERYTHING}), [])
    shared_t = [asyncio.ensure_future(guarded(s)) for s in shared]
    group_t = {k: asyncio.ensure_future(alone(g)) for k, g in groups.items()}

    async def last_ones() -> None:
        """No resource declared: after the non-exclusive checks and the exclusive ones on the
        services (docker, database, redis), one at a time; beside a check on its own instance,
        never beside the target's exclusive checks (``slots.Quiet``)."""
        await asyncio.gather(*shared_t, *(t for k, t in group_t.items()
                                          if "target" not in k and not instance(k)))
        for spec in last_group:
            async with quiet.beside():
                await timed(spec)

    try:
        await asyncio.gather(*shared_t, *group_t.values(), last_ones())
        for spec in final:  # judge what the run left behind: after everything
            await timed(spec)
    finally:
        for task in (*shared_t, *group_t.values()):  # interrupted: nothing keeps running behind
            task.cancel()
        with contextlib.suppress(Exception):  # scheduling hints only: never fail the run
            schedule.remember(ctx, results.values(), last)
        ctx.close()  # registered cleanups (images the audit built), also on Ctrl-C
        await ctx.http.aclose()
    return [results[s.id] for s in specs if s.id in results]


def _history(ctx: Context) -> dict[str, float]:
    try:
        return schedule.history(ctx)
    except Exception:  # an unusable cache only costs the priority order
        return {}
