"""SEC-040–044: bounded bursts against targets of their own (a burst would throttle the logins
of every other test sharing a target). Every test counts the requests the target logged."""

from __future__ import annotations

from pathlib import Path

from conftest import StartTarget, audit_target, result
from helpers import check_ids
from sec_util import api_requests

from prodaudit.model import Status

BURSTS = check_ids(module="security.rate_limit")


def test_hardened_limits_pass_and_reset(start_target: StartTarget, tmp_path: Path) -> None:
    t = start_target(
        frontend=False, BCRYPT_ROUNDS="10", RATE_LIMIT_LOGIN="5/4", RATE_LIMIT_LLM="5/60"
    )
    run = audit_target(
        t,
        tmp_path,
        only=BURSTS,
        rate_limit={"login_limit": 5, "llm_limit": 5, "margin": 3, "max_reset_wait_seconds": 10},
    )
    for cid in BURSTS:
        r = result(run, cid)
        assert r.status is Status.PASS, (cid, r.status, r.reason, [f.message for f in r.findings])
    r40 = result(run, "SEC-040")
    assert any("retry-after" in f.message for f in r40.findings)
    assert "after waiting" in result(run, "SEC-044").findings[0].message
    # bounds: each login burst stops at its 429 and never exceeds limit + margin = 8
    logins = api_requests(t, "/auth/token", "POST")
    assert logins <= 1 + 8 + 8 + 8 + 1, logins
    assert api_requests(t, "/llm/chat", "POST") <= 8


def test_xff_rotation_bypass_fails(start_target: StartTarget, tmp_path: Path) -> None:
    t = start_target("xff-bypass", frontend=False, BCRYPT_ROUNDS="10")
    run = audit_target(t, tmp_path, only=["SEC-040", "SEC-041"], rate_limit={"margin": 4})
    assert result(run, "SEC-040").status is Status.PASS
    r = result(run, "SEC-041")
    assert r.status is Status.FAIL
    f = r.findings[0]
    assert "rotating X-Forwarded-For got no 429" in f.message
    assert "x-forwarded-for: 203.0.113." in f.evidence.lower()
    # SEC-040 saw the limit at request 10 (1 login + 9 probes), SEC-041 sent at most 10 + 4
    assert api_requests(t, "/auth/token", "POST") <= 1 + 10 + 14


def test_no_rate_limit_fails_within_the_burst_bound(
    start_target: StartTarget, tmp_path: Path
) -> None:
    t = start_target("no-rate-limit", frontend=False, BCRYPT_ROUNDS="10")
    run = audit_target(
        t, tmp_path, only=["SEC-040", "SEC-042", "SEC-043"], rate_limit={"max_requests": 15}
    )
    for cid in ("SEC-040", "SEC-042", "SEC-043"):
        r = result(run, cid)
        assert r.status is Status.FAIL, (cid, [f.message for f in r.findings])
        assert "15 " in r.findings[0].message  # exactly the bound, not more
    assert api_requests(t, "/auth/token", "POST") == 1 + 15 + 15
    assert api_requests(t, "/llm/chat", "POST") == 15


def test_no_login_throttle_is_specific(start_target: StartTarget, tmp_path: Path) -> None:
    t = start_target("no-login-throttle", frontend=False, BCRYPT_ROUNDS="10", RATE_LIMIT_LLM="5/60")
    run = audit_target(
        t,
        tmp_path,
        only=["SEC-040", "SEC-042", "SEC-043"],
        rate_limit={"max_requests": 12, "llm_limit": 5},
    )
    assert result(run, "SEC-040").status is Status.FAIL
    assert result(run, "SEC-042").status is Status.FAIL
    assert result(run, "SEC-043").status is Status.PASS  # the LLM limit is still on
    assert api_requests(t, "/auth/token", "POST") <= 1 + 12 + 12


def test_xff_skipped_behind_a_trusted_proxy(start_target: StartTarget, tmp_path: Path) -> None:
    t = start_target(frontend=False)
    run = audit_target(t, tmp_path, only=["SEC-041"], rate_limit={"trusted_proxy": True})
    r = result(run, "SEC-041")
    assert r.status is Status.SKIP and "trusted_proxy" in r.reason
    assert api_requests(t, "/auth/token", "POST") == 0
