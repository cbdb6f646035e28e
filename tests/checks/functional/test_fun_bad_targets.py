"""Bad targets (closed port, garbage, raw non-HTTP bytes, a server that never answers, a
redirect loop, a 50 MB body): every functional check ends with SKIP or ERROR and a reason,
within the timeouts, and the suite goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import audit_target, result
from servers.bad import bad_server

from prodaudit.model import AuditRun, Status
from prodaudit.target import free_port

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
    fun = [r for r in run.results if r.suite == "functional" and not r.id.startswith("FUN-04")]
    assert all(r.status is Status.SKIP and "unreachable" in r.reason for r in fun), [
        (r.id, r.reason) for r in fun
    ]
    assert took < 30


def test_garbage_answers_are_errors(tmp_path: Path) -> None:
    with bad_server("garbage") as url:
        run, took = _audit(url, tmp_path)
    _assert_not_verified(run)
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
    for cid in ("FUN-001", "FUN-002", "FUN-003", "FUN-010", "FUN-050"):
        r = result(run, cid)
        assert r.status is Status.ERROR, (cid, r.status, r.reason)
        assert "timed out" in r.reason or "no complete response" in r.reason, (cid, r.reason)
    assert took < 60
