"""Checks that fail on an API that decodes tokens without verifying them (signature and expiry
never checked), accepts any API key, answers a refresh without a token, stores no registration
and fails every write (tests/servers/careless_jwt.py), and FUN-001 on a liveness endpoint that
answers 500 — real servers on 127.0.0.1 (issue 18: every check can fail)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import audit_target, result
from helpers import describe
from servers.careless_jwt import PASSWORD, USER, make_app
from servers.serving import serve_app

from prodaudit.model import Status


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


SECRET = "f" * 16 + "careless-staging-signing-key-0123456789"


@pytest.fixture
def careless(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API, with its signing secret in the environment as a staging audit has it (SEC-080
    signs an expired token with it)."""
    monkeypatch.setenv("CARELESS_JWT_SECRET", SECRET)
    with serve_app(make_app(secret=SECRET)) as url:
        yield url


FAILING = ["SEC-002", "SEC-003", "SEC-004", "SEC-021", "SEC-080", "FUN-013", "FUN-021", "FUN-024"]


@pytest.mark.usefixtures("account")
def test_unverified_tokens_fail_the_jwt_checks(careless: str, tmp_path: Path) -> None:
    run = audit_target(None, tmp_path, only=["FUN-020", *FAILING], base_url=careless,
                       repo=tmp_path, jwt={"secret_env": "CARELESS_JWT_SECRET"},
                       allow_mutations=True)
    assert result(run, "FUN-020").status is Status.PASS, describe(result(run, "FUN-020"))
    for cid in FAILING:
        r = result(run, cid)
        assert r.status is Status.FAIL, describe(r)
        assert any(f.status is Status.FAIL and f.location for f in r.findings), describe(r)


def test_liveness_answering_500_fails(tmp_path: Path) -> None:
    with serve_app(make_app(broken_health=True)) as url:
        run = audit_target(None, tmp_path, only=["FUN-001"], base_url=url, repo=tmp_path,
                           health={"liveness_path": "/health"})
    r = result(run, "FUN-001")
    assert r.status is Status.FAIL, describe(r)
    assert "500" in " ".join(f.message for f in r.findings), describe(r)
