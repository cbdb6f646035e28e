"""SEC-030–032 against a small FastAPI app with the classic permissive CORS set-up (any origin
reflected with credentials, any method and header in preflights, no ``Vary: Origin``): a flaw the
reference target does not have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import audit_target, result
from fastapi import FastAPI, Request, Response
from servers.serving import serve_app
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from prodaudit.model import Status


class PermissiveCORS(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        origin = request.headers.get("origin")
        if request.method == "OPTIONS" and origin:
            return Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Credentials": "true",
                    "Access-Control-Allow-Methods": request.headers.get(
                        "access-control-request-method", "*"
                    ),
                    "Access-Control-Allow-Headers": request.headers.get(
                        "access-control-request-headers", "*"
                    ),
                },
            )
        response = await call_next(request)
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(PermissiveCORS)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
def permissive_api() -> Iterator[str]:
    with serve_app(make_app()) as url:
        yield url


def test_permissive_cors_fails_all_three(permissive_api: str, tmp_path: Path) -> None:
    run = audit_target(
        None,
        tmp_path,
        only=["SEC-030", "SEC-031", "SEC-032"],
        base_url=permissive_api,
        cors={"allowed_origins": ["https://app.example.com"]},
    )
    r30 = result(run, "SEC-030")
    assert r30.status is Status.FAIL
    rules = {f.rule for f in r30.findings}
    assert {
        "arbitrary origin reflected",
        "null origin",
        "prefix match",
        "suffix match",
        "unescaped dot in a pattern",
        "http:// origin trusted by an https:// site",
    } <= rules
    r31 = result(run, "SEC-031")
    assert r31.status is Status.FAIL
    assert "any method and any header with credentials" in r31.findings[0].message
    r32 = result(run, "SEC-032")
    assert r32.status is Status.FAIL
    assert "without Vary: Origin" in r32.findings[0].message
