"""SEC-010 on a real FastAPI application whose access tokens carry ``exp`` but no ``iat`` (optional
in RFC 7519): the lifetime is measured from the moment the audit received the token, and a
missing ``iat`` alone is no finding; a long lifetime without ``iat`` still fails. An opaque
token is judged by the login answer's ``expires_in``."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers import login_shapes as apps
from servers.serving import serve_app

from prodaudit.model import Status


@pytest.fixture(autouse=True)
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", apps.USERNAME)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", apps.PASSWORD)
    monkeypatch.delenv("PRODAUDIT_AUDIT2_USERNAME", raising=False)
    monkeypatch.delenv("PRODAUDIT_AUDIT2_PASSWORD", raising=False)


def test_short_token_without_iat_passes(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", iat=False, lifetime=900)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url)
    r = result(run, "SEC-010")
    assert r.status is Status.PASS, describe(r)
    assert [f.status for f in r.findings] == [Status.PASS]
    assert "(no iat claim: measured from now) is within 60 minutes" in r.findings[0].message


def test_long_token_without_iat_fails(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", iat=False, lifetime=8 * 86400)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url)
    r = result(run, "SEC-010")
    assert r.status is Status.FAIL, describe(r)
    assert any("access tokens live 8.0 days (no iat claim: measured from now)" in f.message
               for f in r.findings), describe(r)


def test_long_lived_opaque_token_fails_on_its_expires_in(tmp_path: Path) -> None:
    """An opaque token: the login answer's expires_in (10 hours) is its lifetime."""
    with serve_app(apps.fastapi_app("oauth2", opaque_expires_in=36000)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url)
    r = result(run, "SEC-010")
    assert r.status is Status.FAIL, describe(r)
    assert "access tokens live 10.0 hours: expires_in 36000 s in the login answer (opaque token)" \
        in r.findings[0].message


def test_short_lived_opaque_token_passes(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", opaque_expires_in=900)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url)
    r = result(run, "SEC-010")
    assert r.status is Status.PASS, describe(r)
    assert "15 minutes (expires_in 900 s" in r.findings[0].message


# ---- no exp claim: FAIL only on proof (issue 17, microblog-api's wrapped token) -----------------
def _key_file(tmp_path: Path) -> Path:
    env = tmp_path / "target.env"
    env.write_text(f"JWT_SECRET={apps.SECRET}\n", encoding="utf-8")
    return env


def test_token_without_exp_accepted_when_backdated_fails(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", lifetime=None)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url,
                           env_file=_key_file(tmp_path))
    r = result(run, "SEC-010")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert "no exp claim and a copy issued 2.0 hours ago" in f.message, describe(r)
    assert "is accepted" in f.message and "< HTTP 200" in f.evidence
    assert f.location.startswith("GET ") and f.location.endswith("/users/me")


def test_token_without_exp_under_a_maximum_age_passes(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", lifetime=None, max_age=900)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url,
                           env_file=_key_file(tmp_path))
    r = result(run, "SEC-010")
    assert r.status is Status.PASS, describe(r)
    assert "is rejected with 401: the server enforces a maximum age" in r.findings[0].message


def test_wrapped_reference_token_without_exp_is_not_called_eternal(tmp_path: Path) -> None:
    """The JWT only wraps a server-side token (no exp, no iat): its lifetime is not visible in the
    token, so SEC-010 says so and neither fails nor warns, even with the key known."""
    with serve_app(apps.fastapi_app("oauth2", wrapped=True)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url,
                           env_file=_key_file(tmp_path))
    r = result(run, "SEC-010")
    assert r.status is Status.SKIP, describe(r)
    assert "no exp claim: its lifetime is not visible in the token" in describe(r)


def test_token_without_exp_and_unknown_key_skips(tmp_path: Path) -> None:
    with serve_app(apps.fastapi_app("oauth2", lifetime=None)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-010"], base_url=url)
    r = result(run, "SEC-010")
    assert r.status is Status.SKIP, describe(r)
    assert "signing key is unknown" in describe(r)


def test_claims_rejection_does_not_strip_an_exp_the_token_never_had(tmp_path: Path) -> None:
    """SEC-011 with the key known on a wrapped token without exp: its copy without exp is the
    real token, so it is not a variant (the expired and not-yet-valid copies are rejected)."""
    with serve_app(apps.fastapi_app("oauth2", wrapped=True)) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-011"], base_url=url,
                           env_file=_key_file(tmp_path))
    r = result(run, "SEC-011")
    assert r.status is Status.PASS, describe(r)
    assert "exp one hour in the past" in r.findings[0].message
    assert "no exp claim" not in describe(r)


def test_claims_rejection_fails_when_a_copy_without_exp_is_accepted(tmp_path: Path) -> None:
    """SEC-011 with the key known on tokens that carry exp, decoded by a server that does not
    require it (PyJWT's default, python-jose's too): the copy without exp is accepted (FAIL),
    the expired and not-yet-valid copies are rejected."""
    with serve_app(apps.fastapi_app("oauth2")) as url:
        run = audit_target(None, tmp_path, only=["FUN-020", "SEC-011"], base_url=url,
                           env_file=_key_file(tmp_path))
    r = result(run, "SEC-011")
    assert r.status is Status.FAIL, describe(r)
    failing = [f.message for f in r.findings if f.status is Status.FAIL]
    assert len(failing) == 1 and "no exp claim" in failing[0], failing
    assert apps.SECRET not in describe(r)
