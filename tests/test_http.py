"""The HTTP layer keeps the audit's promises to the target (http.py): every request counted per
check and per method, read-only without --allow-mutations (the login excepted), `[probes]
exclude` honoured on every path and redirect hop, probe budgets and billable LLM calls bounded.
Against real servers: a Starlette app under uvicorn and the reference target, whose own request
log says what actually arrived."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import audit_target, result
from servers.serving import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from prodaudit.http import Budget, Http, NotSent, ProbePolicy, probe_scope
from prodaudit.model import AuditRun, Status
from prodaudit.target import ReferenceTarget

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


# ---- the layer itself, against a small app that records what it received -----------------------
def _recording_app() -> tuple[Starlette, list[str]]:
    seen: list[str] = []

    async def any_route(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/hop":
            return RedirectResponse("/admin/wipe", status_code=302)
        if request.url.path == "/twice":
            return RedirectResponse("/ok", status_code=302)
        return JSONResponse({"ok": True})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    app = Starlette(routes=[Route("/{path:path}", any_route, methods=methods)])
    return app, seen


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_read_only_refuses_unsafe_methods_but_the_login() -> None:
    app, seen = _recording_app()
    with serve_app(app) as url:
        http = Http(timeout=5, max_body_bytes=10_000, policy=ProbePolicy(allow_mutations=False))

        async def go() -> list[str]:
            out = []
            with probe_scope("SEC-099"):
                for method in UNSAFE:
                    try:
                        await http.request(method, f"{url}/notes")
                    except NotSent as exc:
                        out.append(exc.kind)
                ok = await http.request("POST", f"{url}/auth/token", data={"u": "x"}, login=True)
                assert ok.status == 200
                await http.get(f"{url}/notes")
            await http.aclose()
            return out

        kinds = _run(go())
    assert kinds == ["mutation"] * 4
    assert seen == ["POST /auth/token", "GET /notes"]  # nothing unsafe arrived but the login
    ledger = http.ledger.to_dict()
    assert ledger["by_check"] == {"SEC-099": {"GET": 1, "POST": 1}}
    assert ledger["refused"]["by_check"] == {"SEC-099": {"mutation": 4}}
    assert "needs --allow-mutations" in ledger["refused"]["examples"][0]["reason"]


def test_writes_go_on_a_new_connection_reads_keep_theirs() -> None:
    """A write sent on a kept-alive connection the server has just closed fails without an
    answer and cannot be repeated; whether the server had closed it is a race (uwsgi), so writes
    never reuse a connection."""
    conns: list[tuple[str, int]] = []

    async def any_route(request: Request) -> Response:
        conns.append((request.method, request.client.port if request.client else 0))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/{path:path}", any_route, methods=["GET", "POST"])])
    with serve_app(app) as url:
        http = Http(timeout=5, max_body_bytes=10_000, policy=ProbePolicy(allow_mutations=True))

        async def go() -> None:
            with probe_scope("SEC-099"):
                for method in ("GET", "GET", "POST", "POST", "GET", "POST"):
                    assert (await http.request(method, f"{url}/x")).status == 200
            await http.aclose()

        _run(go())
    writes = [port for method, port in conns if method == "POST"]
    reads = {port for method, port in conns if method == "GET"}
    assert len(set(writes)) == 3 and not set(writes) & reads, conns


def test_excluded_paths_are_never_reached_not_even_by_a_redirect() -> None:
    app, seen = _recording_app()
    with serve_app(app) as url:
        policy = ProbePolicy(exclude=("/admin/*", "/createdb"))
        http = Http(timeout=5, max_body_bytes=10_000, policy=policy)

        async def go() -> list[Any]:
            out: list[Any] = []
            for path in ("/createdb", "/admin/users"):
                try:
                    await http.get(url + path)
                except NotSent as exc:
                    out.append(exc.kind)
            out.append(await http.get(url + "/hop", follow_redirects=True))
            out.append(await http.get(url + "/twice", follow_redirects=True))
            await http.aclose()
            return out

        out = _run(go())
    assert out[:2] == ["excluded", "excluded"]
    hop, twice = out[2], out[3]
    assert hop.status is None and "'/admin/*'" in hop.error  # the 302 to /admin/wipe not followed
    assert twice.status == 200
    assert seen == ["GET /hop", "GET /twice", "GET /ok"]
    assert http.ledger.to_dict()["by_method"] == {"GET": 3}  # redirect hops are counted too


def test_budget_bounds_count_and_time_per_check() -> None:
    app, seen = _recording_app()
    with serve_app(app) as url:
        http = Http(timeout=5, max_body_bytes=10_000)

        async def go() -> tuple[int, str, int]:
            sent = 0
            reason = ""
            with probe_scope("SEC-001", Budget(3, 60, "probes.max_requests")):
                for _ in range(10):
                    try:
                        await http.get(url + "/me")
                        sent += 1
                    except NotSent as exc:
                        reason = exc.reason
                        break
            late = 0
            with probe_scope("SEC-002", Budget(100, 0.3)):
                for _ in range(100):
                    try:
                        await http.get(url + "/me")
                    except NotSent:
                        break
                    late += 1
                    await asyncio.sleep(0.1)
            await http.aclose()
            return sent, reason, late

        sent, reason, late = _run(go())
    assert sent == 3 and "budget of SEC-001 is spent (3 requests" in reason
    assert 2 <= late <= 6  # stopped by the 0.3 s window, not by the count
    assert len(seen) == 3 + late


def test_billable_llm_calls_are_bounded_for_the_whole_run() -> None:
    app, seen = _recording_app()
    with serve_app(app) as url:
        policy = ProbePolicy(max_llm_calls=2, llm_paths={"/llm/chat"})
        http = Http(timeout=5, max_body_bytes=10_000, policy=policy)

        async def go() -> str:
            for check in ("FUN-030", "SEC-043"):
                with probe_scope(check):
                    try:
                        for _ in range(2):
                            await http.request("POST", url + "/llm/chat", json={"messages": []})
                    except NotSent as exc:
                        return exc.kind
            return ""

        kind = _run(go())
    assert kind == "llm-budget"
    assert seen == ["POST /llm/chat", "POST /llm/chat"]
    assert http.ledger.to_dict()["llm_calls"] == 2


# ---- whole audits against a reference target of this module ------------------------------------
@pytest.fixture(scope="module")
def target() -> Iterator[ReferenceTarget]:
    # several audits log in: room for their logins (the LLM limit stays at the product's 20/60)
    with ReferenceTarget(flaws="", frontend=False, overrides={"RATE_LIMIT_LOGIN": "200/60",
                                                               "LOGIN_MAX_FAILURES": "100"}) as t:
        yield t


def _log(target: ReferenceTarget) -> list[dict[str, Any]]:
    out = []
    for line in target.api_log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("message") == "request completed":
            out.append(rec)
    return out


def _settled_log(target: ReferenceTarget) -> list[dict[str, Any]]:
    """The access log once it stops growing: the target writes a request's line after the answer
    went out, so a client (the readiness wait, the previous audit) can be done before its line is
    there. Waits until two reads 0.3 s apart agree (at most 10 s)."""
    seen = _log(target)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = _log(target)
        if len(now) == len(seen):
            return now
        seen = now
    return seen


def _audit(target: ReferenceTarget, tmp_path: Path, **cfg: Any) -> tuple[AuditRun, list[dict[str, Any]]]:
    before = len(_settled_log(target))
    run = audit_target(target, tmp_path, **cfg)
    return run, _settled_log(target)[before:]


def test_read_only_audit_sends_nothing_unsafe_but_logins(
    target: ReferenceTarget, tmp_path: Path
) -> None:
    """The functional and security suites without --allow-mutations: the target saw no POST,
    PUT, PATCH or DELETE except to its login endpoint (refresh, logout, LLM calls, error-leak
    bodies and protected writes without credentials were all held back)."""
    run, seen = _audit(target, tmp_path, suites=["functional", "security"],
                       skip=["FUN-050", "SEC-04", "SEC-09"])
    unsafe = sorted({(r["method"], r["path"]) for r in seen if r["method"] in UNSAFE})
    assert unsafe == [("POST", "/auth/token")], unsafe
    refused = run.requests["refused"]
    assert refused["by_kind"].get("mutation", 0) >= 2
    for cid in ("FUN-021", "FUN-022", "SEC-013"):
        r = result(run, cid)
        assert r.status is Status.SKIP and "needs --allow-mutations" in r.reason, (cid, r.reason)
    # the ledger agrees with the target's own log (the backend is the only server here, except
    # the plain-HTTP probe of SEC-060, which is skipped for a loopback http:// target)
    assert run.requests["total"] == len(seen)


def test_excluded_operations_are_never_called(target: ReferenceTarget, tmp_path: Path) -> None:
    run, seen = _audit(target, tmp_path, suites=["functional", "security"],
                       skip=["FUN-050", "SEC-04", "SEC-09"], allow_mutations=True,
                       probes={"exclude": ["/admin/*", "/health/ready", "/notes*"]})
    paths = {r["path"] for r in seen}
    assert not [p for p in paths if p.startswith(("/admin/", "/notes")) or p == "/health/ready"]
    assert "/health" in paths and "/users/me" in paths  # the rest of the audit ran
    rows = {f"{o['method']} {o['path']}": o for o in run.facts["operations"]}
    assert "excluded by [probes] exclude" in rows["GET /admin/users"]["why_not_exercised"]


def test_jwt_probes_obey_the_probe_budget(target: ReferenceTarget, tmp_path: Path) -> None:
    """probes.max_requests = 2: SEC-001 (five forged tokens) sends two and is SKIP, not PASS."""
    run, seen = _audit(target, tmp_path, only=["SEC-001"], probes={"max_requests": 2})
    me = [r for r in seen if r["path"] == "/users/me"]
    assert len(me) <= 2 + 2, me  # two probes, plus the canary's token / no-token pair
    r = result(run, "SEC-001")
    assert r.status is Status.SKIP and "probe budget of SEC-001 is spent (2 requests" in r.reason
    assert run.requests["by_check"]["SEC-001"]["GET"] == 2


def test_llm_calls_are_counted_and_bounded(target: ReferenceTarget, tmp_path: Path) -> None:
    run, seen = _audit(target, tmp_path, only=["FUN-030", "FUN-033", "FUN-034", "SEC-043"],
                       allow_mutations=True, probes={"max_llm_calls": 3},
                       rate_limit={"llm_limit": 20})
    chat = [r for r in seen if r["path"] == "/llm/chat" and r["method"] == "POST"]
    assert len(chat) == 3 and run.requests["llm_calls"] == 3
    burst = result(run, "SEC-043")
    assert burst.status is Status.SKIP and "probes.max_llm_calls" in burst.reason


def test_reports_show_the_ledger(target: ReferenceTarget, tmp_path: Path) -> None:
    from prodaudit.report.console import to_text
    from prodaudit.report.html import HtmlRenderer
    from prodaudit.report.markdown import ProductionReadinessRenderer

    run, _ = _audit(target, tmp_path, only=["FUN-001", "FUN-010"])
    assert run.requests["by_check"]["FUN-001"]["GET"] >= 4
    md = ProductionReadinessRenderer().format(run)
    assert "## Requests sent" in md and f"Requests sent: {run.requests['total']} (GET" in md
    assert '<h2 id="requests">Requests sent</h2>' in HtmlRenderer().format(run)
    assert f"Requests sent: {run.requests['total']} (GET" in to_text(run)
    again = AuditRun.from_dict(json.loads(json.dumps(run.to_dict())))
    assert again.requests == run.requests
    old = run.to_dict()
    del old["requests"]  # an audit.json from before the ledger still loads
    assert AuditRun.from_dict(old).requests == {}
