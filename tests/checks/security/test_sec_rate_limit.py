"""SEC-040–044: bounded bursts against targets of their own (a burst would throttle the logins
of every other test sharing a target). Every test counts the requests the target logged."""

from __future__ import annotations

from pathlib import Path

from conftest import StartTarget, audit_target, result
from helpers import check_ids
from sec_util import api_requests
from servers.serving import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prodaudit.model import Severity, Status

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
        allow_mutations=True,  # the LLM burst is billable: only on a target of our own
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
        t,
        tmp_path,
        only=["SEC-040", "SEC-042", "SEC-043"],
        rate_limit={"max_requests": 15, "login_limit": 5, "llm_limit": 5, "margin": 3},
        allow_mutations=True,
    )
    for cid in ("SEC-040", "SEC-042", "SEC-043"):
        r = result(run, cid)
        assert r.status is Status.FAIL, (cid, [f.message for f in r.findings])
        assert "8 requests" in r.findings[0].message  # the configured limit + margin, no more
        assert "configured limit of 5" in r.findings[0].message
    assert api_requests(t, "/auth/token", "POST") == 1 + 8 + 8
    assert api_requests(t, "/llm/chat", "POST") == 8


def test_no_limit_within_an_unconfigured_budget_is_not_verified(
    start_target: StartTarget, tmp_path: Path
) -> None:
    """Without a configured limit, a burst that ends at the budget proves nothing: SKIP with the
    reason, never a HIGH failure (the target's limit may lie above the budget)."""
    t = start_target("no-rate-limit", frontend=False, BCRYPT_ROUNDS="10")
    run = audit_target(t, tmp_path, only=["SEC-040", "SEC-042"], rate_limit={"max_requests": 6})
    for cid in ("SEC-040", "SEC-042"):
        r = result(run, cid)
        assert r.status is Status.SKIP, (cid, r.status, [f.message for f in r.findings])
        assert "no 429 within the budget (6 requests" in r.reason
        assert "rate_limit.login_limit" in r.reason
    assert api_requests(t, "/auth/token", "POST") == 1 + 6 + 6  # the login, two bursts


def test_no_limit_after_a_minute_worth_of_logins_warns(
    start_target: StartTarget, tmp_path: Path
) -> None:
    """No limit configured, none announced, and 22 wrong-password logins handled within a minute
    with no 429: an observed absence of throttling, a MEDIUM warning that names the knob."""
    t = start_target("no-rate-limit", frontend=False, BCRYPT_ROUNDS="10")
    run = audit_target(t, tmp_path, only=["SEC-040", "SEC-042"], rate_limit={"max_requests": 22})
    for cid in ("SEC-040", "SEC-042"):
        r = result(run, cid)
        assert r.status is Status.WARN, (cid, r.status, r.reason, [f.message for f in r.findings])
        f = r.findings[0]
        assert "22 requests reached the endpoint's logic within" in f.message
        assert "rate_limit.login_limit" in f.message and f.severity is Severity.MEDIUM
        assert f.location.startswith("POST ") and f.location.endswith("/auth/token")
    assert api_requests(t, "/auth/token", "POST") == 1 + 22 + 22


def test_budget_below_the_targets_limit_is_not_a_failure(
    start_target: StartTarget, tmp_path: Path
) -> None:
    """The target limits logins at 50 a minute and says so in RateLimit-* headers; a budget of 8
    cannot reach it: SKIP naming the announced limit, not FAIL."""
    t = start_target(frontend=False, BCRYPT_ROUNDS="10", RATE_LIMIT_LOGIN="50/60")
    run = audit_target(t, tmp_path, only=["SEC-040", "SEC-041"], rate_limit={"max_requests": 8})
    r = result(run, "SEC-040")
    assert r.status is Status.SKIP, (r.status, [f.message for f in r.findings])
    assert "the target announces a limit of 50" in r.reason
    assert result(run, "SEC-041").status is Status.SKIP
    assert api_requests(t, "/auth/token", "POST") <= 1 + 8


def test_no_login_throttle_is_specific(start_target: StartTarget, tmp_path: Path) -> None:
    t = start_target("no-login-throttle", frontend=False, BCRYPT_ROUNDS="10", RATE_LIMIT_LLM="5/60")
    run = audit_target(
        t,
        tmp_path,
        only=["SEC-040", "SEC-042", "SEC-043"],
        rate_limit={"max_requests": 12, "llm_limit": 5, "login_limit": 5},
        allow_mutations=True,
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


# ---- small servers whose limiter shows only in headers, or that never reach a limiter --------
def _login_app(mode: str, limit: int = 5) -> Starlette:
    """``headers``: every login answers 401 with RateLimit-Remaining counting down to 0 (and
    never a 429); ``malformed``: every login answers 422 (our request shape is wrong)."""
    hits = {"n": 0}

    async def login(request: Request) -> Response:
        hits["n"] += 1
        if mode == "malformed":
            return JSONResponse({"detail": [{"msg": "field required"}]}, status_code=422)
        left = max(0, limit - hits["n"])
        return JSONResponse(
            {"detail": "Incorrect email or password"},
            status_code=401,
            headers={"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(left),
                     "RateLimit-Reset": "60"},
        )

    async def root(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/", root), Route("/login", login, methods=["POST"])])
    app.state.hits = hits
    return app


def test_headers_that_announce_the_limit_spent_pass(tmp_path: Path) -> None:
    app = _login_app("headers", limit=5)
    with serve_app(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-040"], base_url=url,
                           auth={"login_url": "/login"}, rate_limit={"max_requests": 5})
    r = result(run, "SEC-040")
    assert r.status is Status.PASS, (r.status, r.reason, [f.message for f in r.findings])
    assert "announce the limit spent at request 5" in r.findings[0].message
    assert "ratelimit-remaining: 0" in r.findings[0].message
    assert app.state.hits["n"] == 5


def test_malformed_requests_prove_nothing(tmp_path: Path) -> None:
    app = _login_app("malformed")
    with serve_app(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-040", "SEC-042"], base_url=url,
                           auth={"login_url": "/login"},
                           rate_limit={"max_requests": 6, "login_limit": 2, "margin": 1})
    for cid in ("SEC-040", "SEC-042"):
        r = result(run, cid)
        assert r.status is Status.SKIP, (cid, r.status, [f.message for f in r.findings])
        assert "no request reached the endpoint's logic" in r.reason
        assert "422" in r.reason
