"""SEC-045 on a real FastAPI application: password-reset requests without a limit (WARN after a
bounded burst, each for a made-up example.invalid address), with one (PASS at the 429), and
read-only audits that send none (SKIP with the reason)."""

from __future__ import annotations

from pathlib import Path

from helpers import audit_target, describe, result
from servers.reset_app import reset_app
from servers.serving import serve_app

from prodaudit.model import Severity, Status


def _run(tmp_path: Path, limit: int | None, sent: list[str], **cfg: object) -> object:
    with serve_app(reset_app(limit=limit, sent=sent)) as url:
        run = audit_target(None, tmp_path, only=["SEC-045"], base_url=url, repo=tmp_path, **cfg)
    return result(run, "SEC-045")


def test_unlimited_reset_requests_warn(tmp_path: Path) -> None:
    sent: list[str] = []
    r = _run(tmp_path, None, sent, allow_mutations=True, rate_limit={"max_requests": 25})
    assert r.status is Status.WARN, describe(r)
    f = r.findings[0]
    assert f.location.startswith("POST ") and f.location.endswith("/auth/forgot-password")
    assert "25 requests reached the endpoint's logic" in f.message and f.severity is Severity.MEDIUM
    assert len(sent) == 25 and len(set(sent)) == 25
    assert all(a.endswith("@example.invalid") for a in sent)  # never a deliverable address


def test_limited_reset_requests_pass(tmp_path: Path) -> None:
    sent: list[str] = []
    r = _run(tmp_path, 5, sent, allow_mutations=True, rate_limit={"reset_limit": 5})
    assert r.status is Status.PASS, describe(r)
    assert "429 after 6 reset requests" in r.findings[0].message


def test_read_only_audit_sends_no_reset_request(tmp_path: Path) -> None:
    sent: list[str] = []
    r = _run(tmp_path, None, sent)
    assert r.status is Status.SKIP
    assert "POST /auth/forgot-password starts a password reset" in r.reason
    assert "--allow-mutations" in r.reason and sent == []
