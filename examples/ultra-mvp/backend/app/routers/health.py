"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.db import current_revision, ping
from app.metrics import Metrics
from app.responses import errors
from app.schemas import HealthResponse, ReadinessResponse
from app.settings import Settings
from app.store import Store

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 3.0


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Liveness: the process answers and the database responds to SELECT 1",
    responses={
        **errors(),
        503: {"model": HealthResponse, "description": "The database does not respond"},
    },
)
async def health(request: Request) -> JSONResponse:
    try:
        await asyncio.wait_for(run_in_threadpool(ping, request.app.state.engine), CHECK_TIMEOUT)
    except Exception:
        return JSONResponse({"status": "error", "database": "error"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def _database(request: Request) -> dict[str, Any]:
    engine = request.app.state.engine
    head = request.app.state.head_revision

    def check() -> str | None:
        ping(engine)
        return current_revision(engine)

    try:
        revision = await asyncio.wait_for(run_in_threadpool(check), CHECK_TIMEOUT)
    except TimeoutError:
        return {"status": "error", "detail": "timeout"}
    except Exception as exc:
        return {"status": "error", "detail": f"unreachable ({type(exc).__name__})"}
    if head and revision != head:
        return {"status": "error", "detail": f"migrations pending (at {revision}, head {head})"}
    return {"status": "ok", "revision": revision}


async def _redis(settings: Settings, store: Store) -> dict[str, Any]:
    if settings.redis_url is None:
        return {"status": "skipped", "detail": "REDIS_URL is not set"}
    try:
        await asyncio.wait_for(store.ping(), CHECK_TIMEOUT)
    except TimeoutError:
        return {"status": "error", "detail": "timeout"}
    except Exception as exc:
        return {"status": "error", "detail": f"unreachable ({type(exc).__name__})"}
    return {"status": "ok"}


@router.get(
    "/health/ready",
    response_model=ReadinessResponse,
    summary="Readiness: database, Redis and LLM provider",
    description=(
        "200 when every dependency is ok or skipped, 503 otherwise. Redis is skipped when "
        "REDIS_URL is unset; the LLM provider (GET {LLM_BASE_URL}/models, 2 s timeout) is "
        "skipped in mock mode."
    ),
    responses={
        **errors(),
        503: {"model": ReadinessResponse, "description": "A dependency is failing"},
    },
)
async def ready(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if settings.has("shallow-health"):
        return JSONResponse({"status": "ok", "checks": {}})
    database, redis, llm = await asyncio.gather(
        _database(request),
        _redis(settings, request.app.state.store),
        request.app.state.llm.check(),
    )
    checks = {"database": database, "redis": redis, "llm_provider": llm}
    healthy = all(check["status"] in ("ok", "skipped") for check in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    body, content_type = registry.render()
    return Response(content=body, media_type=content_type)
