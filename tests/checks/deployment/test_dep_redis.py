"""DEP-060–064 against real, throwaway redis-server processes: a hardened Redis passes; one with
no maxmemory and no password fails; a queue with an evicting policy fails; CONFIG disabled is
SKIP; an unreachable Redis fails DEP-060."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from dep_helpers import (  # noqa: F401 - fixtures
    RedisFactory,
    all_text,
    describe,
    redis_server,
    result,
    run_deployment,
)
from helpers import check_ids

from prodaudit.model import Status
from prodaudit.ports import free_port

pytestmark = pytest.mark.redis

IDS = tuple(check_ids(module="deployment.redis_settings"))


def test_hardened_redis_passes(tmp_path: Path, redis_server: RedisFactory) -> None:
    password = secrets.token_urlsafe(24)
    url = redis_server("--requirepass", password, "--maxmemory", "64mb",
                       "--maxmemory-policy", "allkeys-lru", "--appendonly", "yes")
    authed = url.replace("redis://", f"redis://:{password}@")
    run = run_deployment(tmp_path, ["DEP-06"], {"REDIS_URL": authed})
    for cid in IDS:
        r = result(run, cid)
        assert r.status is Status.PASS, describe(r)
    assert "appendonly yes" in result(run, "DEP-061").findings[0].message
    assert password not in all_text(run)


def test_no_maxmemory_no_password_fails(tmp_path: Path, redis_server: RedisFactory) -> None:
    url = redis_server()
    run = run_deployment(tmp_path, ["DEP-06"], {"REDIS_URL": url})
    assert result(run, "DEP-060").status is Status.PASS
    mem = result(run, "DEP-062")
    assert mem.status is Status.FAIL, describe(mem)
    assert any("maxmemory is 0" in f.message for f in mem.findings)
    assert "maxmemory 0" in mem.findings[0].evidence
    auth = result(run, "DEP-063")
    assert auth.status is Status.FAIL, describe(auth)
    assert "without a password" in auth.findings[0].message
    assert "requirepass (empty)" in auth.findings[0].evidence
    # a cache needs no persistence: verified, not failed
    assert result(run, "DEP-061").status is Status.PASS


def test_queue_role_needs_noeviction_and_persistence(tmp_path: Path,
                                                     redis_server: RedisFactory) -> None:
    password = secrets.token_urlsafe(24)
    url = redis_server("--requirepass", password, "--maxmemory", "64mb",
                       "--maxmemory-policy", "allkeys-lru")
    run = run_deployment(tmp_path, ["DEP-061", "DEP-062"],
                         {"REDIS_URL": url.replace("redis://", f"redis://:{password}@")},
                         redis={"role": "queue"})
    mem = result(run, "DEP-062")
    assert mem.status is Status.FAIL, describe(mem)
    assert "evicted" in mem.findings[0].message
    persist = result(run, "DEP-061")
    assert persist.status is Status.FAIL, describe(persist)


def test_config_disabled_is_skip(tmp_path: Path, redis_server: RedisFactory) -> None:
    url = redis_server("--rename-command", "CONFIG", '""')
    run = run_deployment(tmp_path, ["DEP-06"], {"REDIS_URL": url})
    assert result(run, "DEP-060").status is Status.PASS
    for cid in ("DEP-061", "DEP-062", "DEP-063", "DEP-064"):
        r = result(run, cid)
        assert r.status is Status.SKIP, describe(r)
        assert "CONFIG GET refused" in r.reason


def test_unreachable_redis_fails(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    run = run_deployment(tmp_path, ["DEP-060", "DEP-062"],
                         {"REDIS_URL": f"redis://:pw-{port}-secret@127.0.0.1:{port}/0"})
    r = result(run, "DEP-060")
    assert r.status is Status.FAIL, describe(r)
    assert f"127.0.0.1:{port}" in r.findings[0].message
    assert result(run, "DEP-062").status is Status.SKIP
    assert f"pw-{port}-secret" not in all_text(run)


def test_protected_mode_off_without_password_warns(tmp_path: Path,
                                                   redis_server: RedisFactory) -> None:
    """DEP-064 can fail: protected-mode off and no password (the server itself binds loopback)."""
    url = redis_server("--protected-mode", "no")
    r = result(run_deployment(tmp_path, ["DEP-064"], {"REDIS_URL": url}), "DEP-064")
    assert r.status is Status.WARN, describe(r)
    assert "protected-mode is off and no password" in r.findings[0].message
    assert "protected-mode no" in r.findings[0].evidence
