"""An API the suite has never seen (plain Starlette, OpenAPI 3.0 under /api/v1, JSON login with an
opaque token sent as ``Token``, /whoami, /ai/generate), and a broken static frontend."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import audit_target, result
from conftest_services import require_service
from servers.bad_frontend import make_app as make_bad_frontend
from servers.other_api import PASSWORD, USER, make_app, spec
from servers.serving import serve_app

from prodaudit.model import Severity, Status
from prodaudit.target import ReferenceTarget


def require(module: str) -> None:
    """Skip without the package, but fail under CI=true (it is a declared test dependency)."""
    require_service(module, importlib.util.find_spec(module) is not None, "not installed")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)


@pytest.fixture
def other_api() -> Iterator[str]:
    with serve_app(make_app()) as url:
        yield url


ONLY = ["FUN-001", "FUN-003", "FUN-010", "FUN-011", "FUN-012", "FUN-020", "FUN-030", "FUN-033"]


@pytest.mark.usefixtures("account")
def test_other_layout_is_discovered(other_api: str, tmp_path: Path) -> None:
    run = audit_target(
        None,
        tmp_path,
        only=ONLY,
        base_url=other_api,
        auth={"token_scheme": "Token"},
        llm={"oversized_prompt_chars": 5000},
        allow_mutations=True,  # a test server of its own: the LLM calls may be sent
    )
    for cid in ONLY:
        r = result(run, cid)
        assert r.status is Status.PASS, (cid, r.status, r.reason, [f.message for f in r.findings])
    assert "3.0.3" in result(run, "FUN-010").findings[-1].message
    assert "/api/v1/health" in result(run, "FUN-001").findings[0].message
    rows = {f"{o['method']} {o['path']}": o for o in run.facts["operations"]}
    item = rows["GET /api/v1/items/{item_id}"]
    auth_call = next(a for a in item["actions"] if a["check"] == "FUN-012")
    assert auth_call["status"] == 200  # the id came from the list answer
    assert "id seen in an earlier response" in auth_call["what"]


@pytest.mark.usefixtures("account")
def test_token_scheme_is_detected(other_api: str, tmp_path: Path) -> None:
    run = audit_target(None, tmp_path, only=["FUN-020"], base_url=other_api)
    r = result(run, "FUN-020")
    assert r.status is Status.WARN
    assert any("token_scheme = 'Token'" in f.message for f in r.findings)


@pytest.mark.usefixtures("account")
def test_contract_violations_and_crashes_fail(tmp_path: Path) -> None:
    with serve_app(make_app(broken=True)) as url:
        run = audit_target(
            None, tmp_path, only=["FUN-012"], base_url=url, auth={"token_scheme": "Token"}
        )
    r = result(run, "FUN-012")
    assert r.status is Status.FAIL
    bad = {
        f.location.split()[-1].rsplit("/", 1)[-1]: f for f in r.findings if f.status is Status.FAIL
    }
    assert set(bad) == {"broken", "crash"}
    assert "does not match the declared schema" in bad["broken"].message
    assert "at id" in bad["broken"].message
    assert bad["crash"].severity is Severity.HIGH


def test_broken_frontend_fails(hardened_target: ReferenceTarget, tmp_path: Path) -> None:
    with serve_app(make_bad_frontend()) as fe:
        run = audit_target(
            None, tmp_path, only=["FUN-04"], base_url=hardened_target.base_url, frontend_url=fe
        )
    assets = result(run, "FUN-040")
    assert assets.status is Status.FAIL
    msgs = " | ".join(f.message for f in assets.findings)
    assert "missing-123.js answered 404" in msgs
    assert "app.css is served as text/plain" in msgs
    api = result(run, "FUN-041")
    assert api.status is Status.FAIL
    assert "http://localhost:8000" in api.findings[0].message
    cors = result(run, "FUN-042")
    assert cors.status is Status.FAIL
    assert "Access-Control-Allow-Origin" in cors.findings[0].message
    spa = result(run, "FUN-043")
    assert spa.status is Status.FAIL
    assert "404" in spa.findings[0].message


def _docs_only_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    async def docs(request: Any) -> Response:
        return HTMLResponse("<html><script>SwaggerUIBundle({url: '/spec/v3.yaml'})</script></html>")

    async def spec_yaml(request: Any) -> Response:
        return Response(yaml.safe_dump(spec(False)), media_type="application/yaml")

    return Starlette(routes=[Route("/docs", docs), Route("/spec/v3.yaml", spec_yaml)])


def test_spec_linked_from_docs_page_in_yaml(tmp_path: Path) -> None:
    with serve_app(_docs_only_app()) as url:
        run = audit_target(None, tmp_path, only=["FUN-010"], base_url=url)
    r = result(run, "FUN-010")
    assert r.status is Status.PASS, r.reason
    assert "/spec/v3.yaml" in r.findings[-1].message
    assert len(run.facts["operations"]) == 6


def test_spec_from_a_file(other_api: str, tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    document = spec(False)
    document["paths"].pop("/api/v1/items")
    path.write_text(json.dumps(document), encoding="utf-8")
    run = audit_target(None, tmp_path, only=["FUN-010"], base_url=other_api, openapi=str(path))
    r = result(run, "FUN-010")
    assert r.status is Status.PASS, r.reason
    assert str(path) in r.findings[-1].message
    assert len(run.facts["operations"]) == 5


def test_no_document_anywhere_fails(tmp_path: Path) -> None:
    from starlette.applications import Starlette

    with serve_app(Starlette()) as url:
        run = audit_target(None, tmp_path, only=["FUN-010", "FUN-011"], base_url=url)
    r = result(run, "FUN-010")
    assert r.status is Status.FAIL
    assert "no OpenAPI document found" in r.findings[0].message
    assert result(run, "FUN-011").status is Status.SKIP


def test_real_flask_api_with_cookie_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require("flask")
    from servers import flask_api

    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", flask_api.USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", flask_api.PASSWORD)
    only = ["FUN-001", "FUN-003", "FUN-010", "FUN-011", "FUN-012", "FUN-020", "FUN-022"]
    with flask_api.serve_flask() as url:
        run = audit_target(None, tmp_path, only=only, base_url=url, allow_mutations=True)
    for cid in only:
        r = result(run, cid)
        assert r.status is Status.PASS, (cid, r.status, r.reason, [f.message for f in r.findings])
    assert "3.1.0" in result(run, "FUN-010").findings[-1].message
    assert "a jwt cookie (cookie access_token)" in result(run, "FUN-020").findings[0].message
    steps = {s["step"]: s for s in run.facts["auth_flow"]}
    assert steps["old token after logout"]["status"] == 401


def test_shared_client_never_replays_cookies() -> None:
    """A Set-Cookie from a login must not ride along on later unauthenticated probes."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from prodaudit.http import Http

    async def login(request: Request) -> Response:
        resp = JSONResponse({"ok": True})
        resp.set_cookie("access_token", "abc", path="/")
        return resp

    async def echo(request: Request) -> Response:
        return JSONResponse({"cookie": request.headers.get("cookie")})

    async def probe(url: str) -> list[Any]:
        http = Http(timeout=5, max_body_bytes=10_000)
        try:
            await http.request("POST", url + "/login")
            plain = await http.get(url + "/echo")
            explicit = await http.get(url + "/echo", headers={"Cookie": "access_token=abc"})
            return [plain.json()["cookie"], explicit.json()["cookie"]]
        finally:
            await http.aclose()

    app = Starlette(routes=[Route("/login", login, methods=["POST"]), Route("/echo", echo)])
    with serve_app(app) as url:
        assert asyncio.run(probe(url)) == [None, "access_token=abc"]


def test_short_lived_tokens_are_obtained_again(monkeypatch: pytest.MonkeyPatch) -> None:
    require("flask")
    import asyncio

    from servers import flask_api

    from prodaudit.config import load_config
    from prodaudit.context import Context

    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", flask_api.USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", flask_api.PASSWORD)
    app = flask_api.make_app(lifetime=2)

    async def twice(ctx: Context) -> tuple[str, str, str]:
        try:
            first = (await ctx.auth()).access_token
            cached = (await ctx.auth()).access_token
            await asyncio.sleep(1.8)  # past 80 % of the 2 s lifetime read from the JWT
            return first, cached, (await ctx.auth()).access_token
        finally:
            await ctx.http.aclose()

    with flask_api.serve_flask(app) as url:
        ctx = Context(load_config({"base_url": url, "start_target": False}))
        first, cached, again = asyncio.run(twice(ctx))
    assert first == cached
    assert again != first
    assert app.config["LOGINS"] == 2
