"""SEC-088 against a real Flask site whose profile-image form makes the server fetch the URL
(FAIL: the audit's listener is hit) and one that only stores it (PASS: accepted, a non-URL
refused, no fetch); read-only runs never probe."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from probe_util import of
from servers.probe_apps import serve_wsgi
from servers.ssrf_app import PASSWORD, USER, image_app

from prodaudit.checks.security._routes import Route
from prodaudit.checks.security.ssrf import url_params
from prodaudit.model import Severity, Status


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


def _run(tmp_path: Path, fetches: bool, mutations: bool) -> object:
    with serve_wsgi(image_app(fetches)) as url:
        run = audit_target(None, tmp_path, only=["SEC-088"], base_url=url,
                           auth={"login_url": "/login"}, allow_mutations=mutations)
    return url, run


def test_fetching_server_fails(tmp_path: Path, account: None) -> None:
    url, run = _run(tmp_path, True, True)
    r = result(run, "SEC-088")  # type: ignore[attr-defined]
    assert r.status is Status.FAIL, describe(r)
    hit = of(r, Status.FAIL)[0]
    assert hit.location == f"POST {url}/account/image" and hit.severity is Severity.HIGH
    assert "'image_url'" in hit.message and "received GET /pa-" in hit.message


def test_storing_server_passes(tmp_path: Path, account: None) -> None:
    _, run = _run(tmp_path, False, True)
    r = result(run, "SEC-088")  # type: ignore[attr-defined]
    assert r.status is Status.PASS, describe(r)
    assert "no fetch" in describe(r) and "image_url" in describe(r)


def test_read_only_run_does_not_probe(tmp_path: Path, account: None) -> None:
    _, run = _run(tmp_path, True, False)
    r = result(run, "SEC-088")  # type: ignore[attr-defined]
    assert r.status is Status.SKIP and "--allow-mutations" in r.reason


def test_url_like_parameters() -> None:
    route = Route("POST", "/p", form=(("avatarUrl", ""), ("name", "x"), ("next", "https://a.b/"),
                                      ("imagery", ""), ("callback", "")))
    assert url_params(route) == [("form", "avatarUrl"), ("form", "next"), ("form", "callback")]
