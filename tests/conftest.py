"""Shared fixtures: real reference targets on free ports, and audits run against them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prodaudit.audit import run_audit
from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.model import AuditRun, CheckResult
from prodaudit.target import ReferenceTarget

StartTarget = Callable[..., ReferenceTarget]


@pytest.fixture
def start_target() -> Iterator[StartTarget]:
    """Factory: ``start_target(flaws="cors-reflect-origin", REDIS_URL=...)`` starts a reference
    target (API, frontend, fake LLM provider) and stops it after the test."""
    started: list[ReferenceTarget] = []

    def _start(flaws: str = "", *, frontend: bool = True, **overrides: str) -> ReferenceTarget:
        t = ReferenceTarget(flaws=flaws, overrides=overrides, frontend=frontend)
        t.start()
        started.append(t)
        return t

    yield _start
    for t in started:
        t.stop()


@pytest.fixture(scope="session")
def hardened_target() -> Iterator[ReferenceTarget]:
    """One hardened reference target shared by read-only tests."""
    with ReferenceTarget(flaws="") as t:
        yield t


def audit_target(
    target: ReferenceTarget | None,
    tmp_path: Path,
    *,
    suites: list[str] | None = None,
    only: list[str] | None = None,
    repo: Path | None = None,
    **cfg: Any,
) -> AuditRun:
    """Run an audit (no reports written) against a started target, with its audit accounts."""
    cli: dict[str, Any] = {
        "repo": repo or REFERENCE_TARGET,
        "output": tmp_path / "reports",
        "only": only,
        "start_target": False,
    }
    saved = dict(os.environ)
    if target is not None:
        cli.update(base_url=target.base_url, frontend_url=target.frontend_url, env_file=target.env_file)
        os.environ.update(target.audit_env)
    cli.update(cfg)
    try:
        config = load_config(cli)
        return run_audit(config, suites, quiet=True, write=False).run
    finally:
        os.environ.clear()
        os.environ.update(saved)


def result(run: AuditRun, check_id: str) -> CheckResult:
    for r in run.results:
        if r.id == check_id:
            return r
    raise AssertionError(f"{check_id} not in results: {[r.id for r in run.results]}")


def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
