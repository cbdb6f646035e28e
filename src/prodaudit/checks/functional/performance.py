"""FUN-050: a bounded light load on the health endpoint and one authenticated read — the
release's performance baseline (``facts.performance``)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prodaudit.auth import ME_PATH_RE, find_endpoint
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.functional._health import find_liveness, unusable_is_error


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (empty: 0)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    name: str
    method: str
    url: str
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    rate_limited: int = 0
    wall_s: float = 0.0
    sample_error: Exchange | None = None

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_rate(self) -> float:
        judged = self.sent - self.rate_limited
        return self.errors / judged if judged > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "name": self.name,
            "method": self.method,
            "url": self.url,
            "requests": self.sent,
            "completed": self.completed,
            "duration_s": round(self.wall_s, 3),
            "p50_ms": round(percentile(lat, 50), 1),
            "p95_ms": round(percentile(lat, 95), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max(lat), 1) if lat else 0.0,
            "throughput_rps": round(self.completed / self.wall_s, 1) if self.wall_s > 0 else 0.0,
            "error_rate": round(self.error_rate, 4),
            "errors": self.errors,
            "rate_limited": self.rate_limited,
            "status_counts": dict(self.statuses),
        }


async def run_load(ctx: Context, name: str, url: str, headers: dict[str, str] | None) -> LoadResult:
    """``perf.requests`` GETs with ``perf.concurrency`` workers, stopped at ``perf.max_seconds``."""
    cfg = ctx.cfg.perf
    res = LoadResult(name, "GET", url)
    deadline = time.monotonic() + cfg.max_seconds
    per_request = min(ctx.cfg.request_timeout, cfg.max_seconds)
    lock = asyncio.Lock()

    async def worker() -> None:
        while True:
            async with lock:
                if res.sent >= cfg.requests or time.monotonic() >= deadline:
                    return
                res.sent += 1
            ex = await ctx.http.request(
                "GET", url, headers=headers, timeout=per_request, record=False
            )
            if ex.status is None:
                res.statuses["no response"] += 1
                res.errors += 1
                res.sample_error = res.sample_error or ex
                continue
            res.statuses[str(ex.status)] += 1
            if ex.status == 429:
                res.rate_limited += 1
                continue
            res.latencies_ms.append(ex.elapsed_s * 1000)
            if not 200 <= ex.status < 400:
                res.errors += 1
                res.sample_error = res.sample_error or ex

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(cfg.concurrency)))
    res.wall_s = time.monotonic() - start
    return res


def judge(ctx: Context, res: LoadResult) -> list[Finding]:
    cfg = ctx.cfg.perf
    d = res.to_dict()
    loc = f"GET {res.url}"
    summary = (
        f"{res.name} {loc}: {res.sent} requests, concurrency {cfg.concurrency}, "
        f"p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, p99 {d['p99_ms']} ms, "
        f"{d['throughput_rps']} req/s, error rate {res.error_rate:.2%}"
    )
    ev = res.sample_error.evidence(body_chars=300) if res.sample_error is not None else ""
    out: list[Finding] = []
    if res.completed == 0:
        return [errored(f"{summary}: no request completed", location=loc, evidence=ev)]
    if res.error_rate > cfg.error_rate_fail:
        out.append(
            failed(
                f"{summary} — error rate above {cfg.error_rate_fail:.2%}", location=loc, evidence=ev
            )
        )
    elif res.error_rate > cfg.error_rate_warn:
        out.append(
            warned(
                f"{summary} — error rate above {cfg.error_rate_warn:.2%}", location=loc, evidence=ev
            )
        )
    p95 = percentile(res.latencies_ms, 95)
    if p95 > cfg.p95_fail_ms:
        out.append(failed(f"{summary} — p95 above {cfg.p95_fail_ms:.0f} ms", location=loc))
    elif p95 > cfg.p95_warn_ms:
        out.append(warned(f"{summary} — p95 above {cfg.p95_warn_ms:.0f} ms", location=loc))
    if res.rate_limited:
        out.append(
            warned(
                f"{res.name}: {res.rate_limited} of {res.sent} requests were rate limited "
                "(429) and are left out of the latency figures; allow the audit's address "
                "or lower perf.requests for a complete baseline",
                location=loc,
            )
        )
    if res.sent < cfg.requests:
        out.append(
            warned(
                f"{res.name}: only {res.sent} of {cfg.requests} requests were sent within "
                f"perf.max_seconds = {cfg.max_seconds:.0f} s",
                location=loc,
            )
        )
    if not out:
        out.append(passed(summary, location=loc))
    return out


@check(
    "FUN-050",
    "Performance baseline within thresholds (health and an authenticated read)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("7.1.1", "4.3.4", "10.1.3"),
    exclusive=True,
    evidence=Evidence.OBSERVED,
)
@unusable_is_error
async def performance_baseline(ctx: Context) -> list[Finding]:
    """A bounded light load (``perf.requests`` requests, ``perf.concurrency`` at a time, at most
    ``perf.max_seconds``; defaults 200, 10, 10 s) on the liveness endpoint and on one
    authenticated read (the current-user endpoint) measures p50/p95/p99 latency, throughput and
    error rate, judged against ``perf.p95_warn_ms``/``p95_fail_ms`` and
    ``perf.error_rate_warn``/``error_rate_fail``. The figures are the release's baseline
    (``facts.performance``). Runs alone, after every other check.

    Without a baseline, a regression in the next release cannot be seen, and capacity planning
    starts from guesses.

    Remediation: profile the slow endpoint (database queries, synchronous calls on the event
    loop, bcrypt on hot paths), add indexes or caching, and rerun the baseline.
    """
    cfg = ctx.cfg.perf
    path, _ = await find_liveness(ctx)
    targets: list[tuple[str, str, dict[str, str] | None]] = [("liveness", ctx.url(path), None)]
    findings: list[Finding] = []
    try:
        doc = await ctx.openapi()
    except Skip:
        doc = None
    me = find_endpoint(doc, ctx.cfg.auth.me_url, ME_PATH_RE, ("GET",), ctx.base_url)
    if me is None:
        findings.append(skipped("no authenticated read found (set auth.me_url)"))
    else:
        try:
            sess = await ctx.auth()
            targets.append(("authenticated read", me, sess.headers()))
        except Skip as exc:
            findings.append(skipped(f"authenticated read not measured: {exc.reason}"))
    results = []
    for name, url, headers in targets:
        res = await run_load(ctx, name, url, headers)
        results.append(res)
        findings += judge(ctx, res)
    ctx.export(
        "performance",
        {
            "targets": [r.to_dict() for r in results],
            "settings": {
                "requests": cfg.requests,
                "concurrency": cfg.concurrency,
                "max_seconds": cfg.max_seconds,
            },
            "thresholds": {
                "p95_warn_ms": cfg.p95_warn_ms,
                "p95_fail_ms": cfg.p95_fail_ms,
                "error_rate_warn": cfg.error_rate_warn,
                "error_rate_fail": cfg.error_rate_fail,
            },
        },
    )
    return findings
