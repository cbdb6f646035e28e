"""SEC-085 on a real FastAPI application with an OAuth2 password login: the administrator a
repository's seed script creates with a literal password still logs in (FAIL, CRITICAL, at the
login operation) or was given another password at deployment (PASS, refusals seen through the
verified login); the audit's own account is never tried; at most six attempts, one per user."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers import login_shapes as apps
from servers.serving import serve_app

from prodaudit.model import AuditRun, Severity, Status

SEED = '''from app.schemas import UserCreate
from app.crud import create_user


def init() -> None:
    create_user(UserCreate(email="root-admin@corp.example", password="Seeded-Admin-pw-77",
                           is_superuser=True))


if __name__ == "__main__":
    init()
'''


@pytest.fixture(autouse=True)
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", apps.USERNAME)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", apps.PASSWORD)
    monkeypatch.delenv("PRODAUDIT_AUDIT2_USERNAME", raising=False)
    monkeypatch.delenv("PRODAUDIT_AUDIT2_PASSWORD", raising=False)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "initial_data.py").write_text(SEED, encoding="utf-8")
    return repo


def _run(tmp_path: Path, users: dict[str, str]) -> AuditRun:
    with serve_app(apps.fastapi_app("oauth2", extra_users=users)) as url:
        run = audit_target(None, tmp_path, only=["SEC-085"], base_url=url, repo=_repo(tmp_path))
    return run


def test_seeded_admin_that_still_logs_in_fails(tmp_path: Path) -> None:
    run = _run(tmp_path, {"root-admin@corp.example": "Seeded-Admin-pw-77"})
    r = result(run, "SEC-085")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert f.severity is Severity.CRITICAL
    assert f.message.startswith("root-admin@corp.example logs in with the password seeded by "
                                "UserCreate(...) at app/initial_data.py:6"), f.message
    assert f.location.startswith("POST ") and f.location.endswith("/auth/token")
    assert "Seeded-Admin-pw-77" not in f.message + f.evidence  # the seeded password is masked
    # counted in the ledger: the audit account's own login (setup) aside, one POST per candidate
    assert run.requests["by_check"]["SEC-085"].get("POST") == 5, run.requests["by_check"]


def test_seeded_admin_with_another_password_passes(tmp_path: Path) -> None:
    r = result(_run(tmp_path, {"root-admin@corp.example": "rotated-at-deploy-9913"}), "SEC-085")
    assert r.status is Status.PASS, describe(r)
    assert "5 login(s) with published passwords were refused" in r.findings[0].message
    assert "(1 seeded account(s), 4 well-known pair(s)" in r.findings[0].message


def test_well_known_pair_fails_without_any_seed(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", extra_users={"admin": "admin"})) as url:
        run = audit_target(None, tmp_path, only=["SEC-085"], base_url=url, repo=tmp_path)
    r = result(run, "SEC-085")
    assert r.status is Status.FAIL, describe(r)
    assert "admin logs in with the password a well-known default pair" in r.findings[0].message


@pytest.mark.parametrize(("retry_after", "status"), [("3600", Status.SKIP), ("1", Status.PASS)])
def test_a_rate_limited_login_is_no_refusal(tmp_path: Path, retry_after: str,
                                            status: Status) -> None:
    """A published password answered 429 with a Retry-After past what the login adapter waits
    (65 s) was never tried: SKIP naming the account, never a PASS counting it as refused. A
    short one is waited out (SEC-085's budget holds one limiter window) and the login sent
    again: refused, PASS."""
    throttle = [retry_after]
    with serve_app(apps.fastapi_app("oauth2", throttle=throttle)) as url:
        run = audit_target(None, tmp_path, only=["SEC-085"], base_url=url, repo=_repo(tmp_path))
    r = result(run, "SEC-085")
    assert r.status is status, describe(r)
    assert throttle == []
    if status is Status.SKIP:  # one 429, no second request for that account
        assert "root-admin@corp.example: the login was rate limited (429): this password was " \
            "not tried" in r.reason, r.reason
        assert "4 login(s) with published passwords were refused" in describe(r)
    else:
        assert "5 login(s) with published passwords were refused" in describe(r)
        assert run.requests["by_check"]["SEC-085"].get("POST") == 6, run.requests["by_check"]
