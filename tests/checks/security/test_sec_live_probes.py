"""The probes added for issue 17's misses, against real servers with and without each problem:
SEC-031 (a preflight from a development origin gets any header echoed with credentials), SEC-052
(an authenticated answer marked ``public``), SEC-077 (a template expression evaluated in a query
parameter and in the 404 page), SEC-062 (the session cookie an aiohttp form login carries: its
flags and session fixation, judged at the login operation)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from conftest_services import require_service
from helpers import audit_target, describe, result
from probe_util import of
from servers.live_probes import (
    ACTIVITY_APP,
    DJANGO_ERROR_URLS,
    ORIGIN,
    PASSWORD,
    USER,
    aiohttp_form_login,
    error_trigger_api,
    private_api,
)
from servers.probe_apps import serve_wsgi
from servers.serving import serve_app

from prodaudit.model import Severity, Status

CHECKS = ["SEC-031", "SEC-052", "SEC-077"]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


def test_flawed_private_api_fails_cors_cache_and_ssti(tmp_path: Path, account: None) -> None:
    """No configured origin: the development origin the server grants is found, and Starlette's
    ``*`` (which refuses PROPFIND) still echoes a made-up header to a DELETE preflight."""
    with serve_app(private_api(True)) as url:
        run = audit_target(None, tmp_path, only=CHECKS, base_url=url)
    cors = result(run, "SEC-031")
    assert cors.status is Status.FAIL, describe(cors)
    hit = cors.findings[0]
    assert f"from {ORIGIN} (a development origin the server grants)" in hit.message
    assert "asking for DELETE" in hit.message and "any header with credentials" in hit.message
    assert hit.location.startswith(f"OPTIONS {url}/") and hit.severity is Severity.MEDIUM
    cache = result(run, "SEC-052")
    assert cache.status is Status.FAIL, describe(cache)
    bad = of(cache, Status.FAIL)[0]
    assert bad.location == f"GET {url}/me" and "Cache-Control: public" in bad.message
    ssti = result(run, "SEC-077")
    assert ssti.status is Status.FAIL, describe(ssti)
    locs = [f.location for f in of(ssti, Status.FAIL)]
    assert any(loc.startswith(f"GET {url}/greet?name=") for loc in locs), locs
    assert any(loc.startswith(f"GET {url}/pa%7B%7B") for loc in locs), locs  # the 404 page
    hit = of(ssti, Status.FAIL)[0]
    assert hit.severity is Severity.CRITICAL and "Jinja2" in hit.message
    assert run.requests["total"] > 0


def test_hardened_private_api_passes(tmp_path: Path, account: None) -> None:
    with serve_app(private_api(False)) as url:
        run = audit_target(None, tmp_path, only=CHECKS, base_url=url)
    for cid in CHECKS:
        r = result(run, cid)
        assert r.status is Status.PASS, (cid, describe(r))
    assert f"from {ORIGIN}" in describe(result(run, "SEC-031"))


def test_cache_control_skips_without_a_login(tmp_path: Path) -> None:
    with serve_app(private_api(True)) as url:
        run = audit_target(None, tmp_path, only=["SEC-052"], base_url=url)
    r = result(run, "SEC-052")
    assert r.status is Status.SKIP and "no login" in r.reason


def _require_aiohttp() -> None:
    """aiohttp is part of the test extra: missing, the test skips (fails under CI=true)."""
    require_service("aiohttp", importlib.util.find_spec("aiohttp") is not None,
                    "pip install -e '.[test]'")


def test_forms_are_probed_for_ssti_only_with_mutations(tmp_path: Path, account: None) -> None:
    """Read-only: the aiohttp login form (a POST) is not sent a template expression."""
    _require_aiohttp()
    with aiohttp_form_login(True) as url:
        run = audit_target(None, tmp_path, only=["SEC-077"], base_url=url)
    r = result(run, "SEC-077")
    # nothing it may send read-only shows the input back: not observable, never a PASS
    assert r.status is Status.SKIP, describe(r)
    assert "probed only with --allow-mutations" in r.reason and "not observable" in r.reason


@pytest.mark.parametrize("flawed", [True, False])
def test_aiohttp_form_login_session_cookie(tmp_path: Path, account: None, flawed: bool) -> None:
    _require_aiohttp()
    with aiohttp_form_login(flawed) as url:
        run = audit_target(None, tmp_path, only=["SEC-062"], base_url=url,
                           auth={"login_url": "/"})
    r = result(run, "SEC-062")
    if flawed:
        assert r.status is Status.FAIL, describe(r)
        f = of(r, Status.FAIL)[0]
        assert f.location == f"POST {url}/", f.location  # the login operation, not GET /
        assert "AIOHTTP_SESSION" in f.message and "no Secure, no HttpOnly, no SameSite" in f.message
        assert "session fixation" in f.message and "set by GET /" in f.message
    else:
        assert r.status is Status.PASS, describe(r)
        assert all("AIOHTTP_SESSION" in f.message for f in r.findings)


@pytest.mark.parametrize("routed", [True, False])
def test_error_trigger_route_declared_in_the_repository(tmp_path: Path, routed: bool) -> None:
    """SEC-076 tries the repository's declared routes (Django include prefixes resolved): a
    route that says it triggers an error and answers 500 FAILs; not served (404) PASSes."""
    repo = tmp_path / "repo"
    for rel, text in DJANGO_ERROR_URLS.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    with serve_app(error_trigger_api(routed)) as url:
        run = audit_target(None, tmp_path, only=["SEC-076"], base_url=url, repo=repo)
    r = result(run, "SEC-076")
    if routed:
        assert r.status is Status.FAIL, describe(r)
        f = of(r, Status.FAIL)[0]
        assert f.location == f"GET {url}/api/errors/trigger/exception/"
        assert "raises on purpose" in f.message and f.severity is Severity.MEDIUM
    else:
        assert r.status is Status.PASS, describe(r)
        assert "/api/errors/trigger/exception/ 404" in describe(r)


def _activity_repo(tmp_path: Path, flawed: bool) -> tuple[Path, Any]:
    """The Flask API written into a repository and imported from there (the code the audit
    reads is the code that serves)."""
    pytest.importorskip("flask")
    repo = tmp_path / "repo"
    (repo / "api").mkdir(parents=True)
    (repo / "api" / "app.py").write_text(ACTIVITY_APP.format(flawed=flawed))
    spec = importlib.util.spec_from_file_location(f"activity_app_{flawed}", repo / "api" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return repo, module.app


@pytest.mark.parametrize("flawed", [True, False])
def test_sql_injection_in_a_json_body_field_the_handler_reads(tmp_path: Path, flawed: bool) -> None:
    """No OpenAPI document: with --allow-mutations SEC-074 posts the body field the repository's
    handler reads (``request.get_json()["month"]``), then a quote pair in it."""
    repo, app = _activity_repo(tmp_path, flawed)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url, repo=repo,
                           allow_mutations=True)
    r = result(run, "SEC-074")
    if flawed:
        assert r.status is Status.FAIL, describe(r)
        f = of(r, Status.FAIL)[0]
        assert f.location == f"POST {url}/api/activities/" and "SQL error" in f.message
        assert "'month'" in f.message and "matched SQLite error" in f.evidence
        assert f.severity is Severity.HIGH
    else:
        assert r.status is Status.PASS, describe(r)
        assert "body fields the repository's handlers read" in describe(r)


def test_json_body_routes_are_not_posted_read_only(tmp_path: Path) -> None:
    repo, app = _activity_repo(tmp_path, True)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-074"], base_url=url, repo=repo)
    r = result(run, "SEC-074")
    assert r.status is Status.SKIP, describe(r)
    assert run.requests["by_method"].get("POST", 0) == 0, run.requests

