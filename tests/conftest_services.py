"""Helpers that tell tests which real services are available (no fixtures here).

The services come from ``scripts/services.sh up``; ``eval "$(scripts/services.sh env)"`` exports
the variables read below. A test of a service calls :func:`require_service`: the test is
skipped with the reason when the service is missing, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pytest

DEFAULT_BASE_IMAGE = "prodaudit/python-base:bookworm"
SERVICES_HINT = 'run scripts/services.sh up, then eval "$(scripts/services.sh env)"'
DOCKER_TIMEOUT_S = 10.0

_T = TypeVar("_T")


def in_ci() -> bool:
    """True when the environment variable CI is "true" (any case)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def require_service(name: str, available: bool, reason: str) -> None:
    """Skip (or, under CI=true, fail) the calling test when ``available`` is false."""
    if available:
        return
    message = f"{name} is not available: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true requires it; {SERVICES_HINT})", pytrace=False)
    pytest.skip(message)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def database_url() -> str | None:
    """PostgreSQL URL of the test database (``PRODAUDIT_TEST_DATABASE_URL``), or None."""
    return _env("PRODAUDIT_TEST_DATABASE_URL")


def redis_url() -> str | None:
    """Redis URL of the test instance (``PRODAUDIT_TEST_REDIS_URL``), or None."""
    return _env("PRODAUDIT_TEST_REDIS_URL")


def chromium_path() -> str | None:
    """Path of a Chromium binary (``PRODAUDIT_TEST_CHROMIUM`` or /usr/bin/chromium), or None."""
    candidate = _env("PRODAUDIT_TEST_CHROMIUM") or "/usr/bin/chromium"
    path = Path(candidate)
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def _call_bounded(func: Callable[[], _T], timeout_s: float) -> tuple[bool, _T | None]:
    """Run ``func`` in a daemon thread; (True, result) if it returned in time without raising."""
    outcome: list[_T] = []

    def target() -> None:
        try:
            outcome.append(func())
        except Exception:  # any failure means "not available"
            return

    thread = threading.Thread(target=target, name="service-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive() or not outcome:
        return False, None
    return True, outcome[0]


def _docker_socket_plausible() -> bool:
    host = _env("DOCKER_HOST")
    if host is None:
        return Path("/var/run/docker.sock").exists()
    if host.startswith("unix://"):
        return Path(host.removeprefix("unix://")).exists()
    return True


@lru_cache(maxsize=4)
def docker_available(timeout_s: float = DOCKER_TIMEOUT_S) -> bool:
    """True when the Docker engine answers ``docker info`` within ``timeout_s`` seconds."""
    if not _docker_socket_plausible():
        return False
    try:
        from python_on_whales import docker
    except ImportError:
        return False
    ok, _ = _call_bounded(docker.info, timeout_s)
    return ok


def base_image(timeout_s: float = DOCKER_TIMEOUT_S) -> str | None:
    """Tag of the local base image when it exists in the engine, else None.

    The tag is ``PRODAUDIT_TEST_BASE_IMAGE`` or, unset, the default that
    ``scripts/build-base-image.sh`` builds.
    """
    tag = _env("PRODAUDIT_TEST_BASE_IMAGE") or DEFAULT_BASE_IMAGE
    if not docker_available(timeout_s):
        return None
    from python_on_whales import docker

    ok, exists = _call_bounded(lambda: docker.image.exists(tag), timeout_s)
    return tag if ok and exists else None
