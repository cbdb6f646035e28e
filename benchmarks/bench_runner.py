"""3. Runner overhead: 500 trivial checks in a private Registry, through ``run_checks``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodaudit.config import AuditConfig
from prodaudit.context import Context
from prodaudit.model import CheckResult, Finding, Severity, Status
from prodaudit.outcome import passed
from prodaudit.registry import Registry, check
from prodaudit.runner import run_checks

N_CHECKS = 500


def _registry(kind: str) -> Registry:
    reg = Registry()
    for i in range(N_CHECKS):
        if kind == "async":
            async def func(ctx: Context, i: int = i) -> Finding:
                return passed(f"trivial async check {i}")
        else:
            def func(ctx: Context, i: int = i) -> Finding:  # type: ignore[misc]
                return passed(f"trivial check {i}")
        func.__doc__ = f"Trivial benchmark check {i}: always passes."
        check(f"CFG-{i:03d}", f"trivial {i}", severity=Severity.LOW, registry=reg)(func)
    return reg


@pytest.mark.parametrize("kind", ["sync", "async"])
def bench_runner_overhead_500_checks(benchmark: Any, record: Callable[..., None], tmp_path: Path,
                                     kind: str) -> None:
    specs = _registry(kind).all()
    cfg = AuditConfig(repo=tmp_path)

    def run() -> list[CheckResult]:
        return asyncio.run(run_checks(specs, Context(cfg)))

    results = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    assert len(results) == N_CHECKS
    assert all(r.status is Status.PASS for r in results)
    record(per=N_CHECKS, per_label="check")
