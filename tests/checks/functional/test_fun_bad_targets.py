"""Bad targets (closed port, garbage, raw non-HTTP bytes, a server that never answers, a
redirect loop, a 50 MB body): every functional check ends with SKIP or ERROR and a reason,
within the timeouts, and the suite goes on — except FUN-001, which reports a backend that does
not answer (or whose liveness endpoint does not) as a CRITICAL failure: NO-GO."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import audit_target, result
from servers.bad import bad_server
from servers.serving import serve_app

from prodaudit.model import AuditRun, Severity, Status
from prodaudit.ports import free_port

UNVERIFIABLE = (
    "FUN-010",
    "FUN-011",
    "FUN-012",
    "FUN-013",
    "FUN-020",
    "FUN-021",
    "FUN-022",
    "FUN-023",
    "FUN-024",
    "FUN-030",
    "FUN-031",
    "FUN-032",
    "FUN-033",
    "FUN-034",
)


def _audit(base_url: str, tmp_path: Path) -> tuple[AuditRun, float]:
    start = time.monotonic()
    run = audit_target(
        None,
        tmp_path,
        suites=["functional"],
        base_url=base_url,
        request_timeout=2.0,
        check_timeout=60.0,
        perf={"requests": 20, "concurrency": 4, "max_seconds": 5},
    )
    return run, time.monotonic() - start


def _assert_not_verified(run: AuditRun) -> None:
    ids = {r.id for r in run.results}
    assert {"FUN-001", "FUN-010", "FUN-050"} <= ids  # the whole suite ran
    for cid in UNVERIFIABLE:
        r = result(run, cid)
        assert r.status in (Status.SKIP, Status.ERROR), (cid, r.status, r.findings)
        assert r.reason, cid
        assert "crashed" not in r.reason, (cid, r.reason)


@pytest.mark.parametrize("mode", ["closed", "raw", "hang"])
def test_unreachable_targets_skip_with_reason(mode: str, tmp_path: Path) -> None:
    if mode == "closed":
        run, took = _audit(f"http://127.0.0.1:{free_port()}", tmp_path)
    else:
        with bad_server(mode) as url:
            run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
    assert all("frontend" in result(run, c).reason for c in ("FUN-040", "FUN-043"))
    dead = result(run, "FUN-001")  # a dead backend is a failure of the product, not a skip
    assert dead.status is Status.FAIL, dead
    assert dead.effective_severity is Severity.CRITICAL
    assert "does not answer" in dead.findings[0].message and "unreachable" in dead.findings[0].message
    assert "no response" in dead.findings[0].evidence and "$ curl" in dead.findings[0].evidence
    assert run.decision.verdict == "NO-GO"
    fun = [
        r for r in run.results
        if r.suite == "functional" and not r.id.startswith("FUN-04") and r.id != "FUN-001"
    ]
    assert all(r.status is Status.SKIP and "unreachable" in r.reason for r in fun), [
        (r.id, r.reason) for r in fun
    ]
    assert took < 30


def test_garbage_answers_are_errors(tmp_path: Path) -> None:
    with bad_server("garbage") as url:
        run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
    live = result(run, "FUN-001")  # 200 with bytes that are not the JSON they claim to be
    assert live.status is Status.ERROR and "not the application/json it declares" in live.reason
    doc = result(run, "FUN-010")
    assert doc.status is Status.ERROR
    assert "not a usable document" in doc.reason
    for cid in ("FUN-002", "FUN-003"):
        r = result(run, cid)
        assert r.status is Status.ERROR, (cid, r.status)
        assert "not a JSON object" in r.reason
    assert took < 60


def test_redirect_loop_is_an_error(tmp_path: Path) -> None:
    with bad_server("redirect") as url:
        run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
    doc = result(run, "FUN-010")
    assert doc.status is Status.ERROR
    assert "redirect" in doc.reason
    for cid in ("FUN-001", "FUN-002", "FUN-003", "FUN-050"):
        r = result(run, cid)
        assert r.status is Status.ERROR, (cid, r.status, r.reason)
        assert "redirect loop" in r.reason
    assert took < 60


def test_huge_body_is_capped(tmp_path: Path) -> None:
    with bad_server("huge") as url:
        run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
    doc = result(run, "FUN-010")
    assert doc.status is Status.ERROR
    assert "byte cap" in doc.reason
    assert result(run, "FUN-002").status is Status.ERROR
    assert took < 90


def test_target_that_stalls_after_the_root_is_bounded(tmp_path: Path) -> None:
    with bad_server("stall") as url:
        run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
    live = result(run, "FUN-001")  # the root answers, the liveness endpoint never does
    assert live.status is Status.FAIL and live.effective_severity is Severity.CRITICAL
    assert "GET /health: no answer" in live.findings[0].message
    for cid in ("FUN-002", "FUN-003", "FUN-010", "FUN-050"):
        r = result(run, cid)
        assert r.status is Status.ERROR, (cid, r.status, r.reason)
        assert "timed out" in r.reason or "no complete response" in r.reason, (cid, r.reason)
    assert took < 60


def test_static_only_run_skips_the_live_checks(tmp_path: Path) -> None:
    """No base URL at all: FUN-001 is SKIP like every live check (not a failure), so a static
    audit is not NO-GO for want of a backend."""
    run = audit_target(None, tmp_path, suites=["functional"])
    live = result(run, "FUN-001")
    assert live.status is Status.SKIP and "no --base-url" in live.reason
    assert all(r.status is Status.SKIP for r in run.results), [(r.id, r.status) for r in run.results]
    assert run.requests["total"] == 0


def _sick_app() -> Any:
    """A backend that answers, whose declared liveness endpoint answers 500."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.get("/")
    def root() -> dict[str, str]:
        return {"name": "sick"}

    @app.get("/api/health", response_model=None)
    def health() -> Any:
        return JSONResponse({"status": "database unreachable"}, status_code=500)

    return app


def test_liveness_answering_5xx_is_a_critical_failure(tmp_path: Path) -> None:
    with serve_app(_sick_app()) as url:
        run, _ = _audit(url, tmp_path)
    r = result(run, "FUN-001")
    assert r.status is Status.FAIL and r.effective_severity is Severity.CRITICAL, r
    assert "GET /api/health answered 500" in r.findings[0].message
    assert "database unreachable" in r.findings[0].evidence
    assert run.decision.verdict == "NO-GO" and run.decision.exit_code == 1
