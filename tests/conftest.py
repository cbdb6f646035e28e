"""Shared fixtures: real reference targets on free ports. The plain helpers (``audit_target``,
``result``, ``ci``) live in ``tests/helpers.py`` and are re-exported here for the test modules
that import them from ``conftest``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from helpers import audit_target, ci, result

from prodaudit.target import ReferenceTarget

__all__ = ["StartTarget", "audit_target", "ci", "result"]

# every check id must be seen failing or warning in a whole-suite run (issue 18, check_outcomes.py)
pytest_plugins = ["check_outcomes"]

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
