"""Optional authentication (``security: [{}, {...}]``) is not "declared protected": an operation
that answers without credentials because its authentication is optional is no finding of FUN-011,
SEC-021 or SEC-080 (a real FastAPI app with ``auto_error=False`` security)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import APIKeyHeader
from helpers import audit_target, describe, result
from servers.serving import serve_app

from prodaudit.model import Status

KEY = "probe-key-0123456789"
optional = APIKeyHeader(name="X-API-Key", auto_error=False)
required = APIKeyHeader(name="X-API-Key")


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/catalog")
    def catalog(key: Annotated[str | None, Depends(optional)]) -> dict[str, object]:
        return {"items": [1, 2], "personalised": key == KEY}

    @app.get("/orders")
    def orders(key: Annotated[str, Depends(required)]) -> list[int]:
        if key != KEY:
            raise HTTPException(403, "bad key")
        return [7]

    schema = app.openapi()  # FastAPI declares both as required: say what the code does
    schema["paths"]["/catalog"]["get"]["security"] = [{}, {"APIKeyHeader": []}]
    return app


def test_optional_authentication_is_not_reported_as_missing(tmp_path: Path) -> None:
    with serve_app(_app()) as url:
        run = audit_target(None, tmp_path, only=["FUN-011", "SEC-021", "SEC-080"], base_url=url)
    for cid in ("FUN-011", "SEC-021", "SEC-080"):
        r = result(run, cid)
        assert r.status is Status.PASS, describe(r)
        assert "/catalog" not in describe(r)  # never called as a protected operation
    assert "3 requests" in describe(result(run, "SEC-021"))  # /orders: missing, empty, wrong
