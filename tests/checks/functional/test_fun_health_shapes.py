"""FUN-001/FUN-003 against the health shapes real products have: none at all, a catch-all page
that answers 200 for every path, a product page that happens to live at ``/health/``, and a
constant ``true`` — real Flask and FastAPI servers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from helpers import audit_target, describe, result
from servers.probe_apps import flask_pages, serve_wsgi
from servers.serving import serve_app

from prodaudit.model import Severity, Status


def test_no_health_endpoint_at_all_fails_and_lists_what_was_tried(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/items")
    def items() -> list[int]:
        return [1, 2]

    with serve_app(app) as url:
        run = audit_target(None, tmp_path, only=["FUN-001", "FUN-003"], base_url=url)
    r = result(run, "FUN-001")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert f.severity is Severity.MEDIUM and f.location == f"GET {url}/health"
    assert "/health, /healthz, /api/health" in f.message and "-> 404" in f.message
    assert run.decision.verdict != "NO-GO"  # a missing health endpoint is not a dead backend
    assert result(run, "FUN-003").status is Status.SKIP


def test_a_catch_all_page_is_not_a_liveness_endpoint(tmp_path: Path) -> None:
    with serve_wsgi(flask_pages(debugger=False, health="catchall")) as url:
        run = audit_target(None, tmp_path, only=["FUN-001", "FUN-002"], base_url=url)
    r = result(run, "FUN-001")
    assert r.status is Status.FAIL, describe(r)
    assert "like the made-up path" in r.findings[0].message
    assert r.findings[0].location == f"GET {url}/health" and "Oops" in r.findings[0].evidence
    ready = result(run, "FUN-002")  # the catch-all is no readiness endpoint either
    assert ready.status is Status.FAIL and "no readiness endpoint" in ready.findings[0].message


def test_a_product_page_at_health_is_not_a_liveness_endpoint(tmp_path: Path) -> None:
    with serve_wsgi(flask_pages(debugger=False, health="lookalike")) as url:
        run = audit_target(None, tmp_path, only=["FUN-001"], base_url=url)
    r = result(run, "FUN-001")
    assert r.status is Status.FAIL, describe(r)
    f = r.findings[0]
    assert f.location == f"GET {url}/health/"  # the redirect from /health was followed
    assert "HTML page" in f.message and "/healthz" in f.message


def test_a_constant_health_answer_is_shallow_not_an_error(tmp_path: Path) -> None:
    with serve_wsgi(flask_pages(debugger=False, health="constant")) as url:
        run = audit_target(None, tmp_path, only=["FUN-001", "FUN-003"], base_url=url)
    live = result(run, "FUN-001")
    assert live.status is Status.PASS and "/status" in live.findings[0].message, describe(live)
    deep = result(run, "FUN-003")
    assert deep.status is Status.WARN, describe(deep)
    assert "constant 'true'" in deep.findings[0].message
