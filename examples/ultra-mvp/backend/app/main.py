"""The ultra-mvp API: ``app = create_app()`` (run with uvicorn --no-server-header).

``create_app`` wires settings, database, rate-limit store, LLM client, routers and the middleware
stack. Outermost first: RequestContext (request id, access log, metrics) > ForwardedHeaders (only
with TRUSTED_PROXY) > SecurityHeaders > CORS > ErrorMiddleware > TrustedHost (ALLOWED_HOSTS) >
DefaultRateLimit > BodySizeLimit > GZip > routes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__
from app.bootstrap import ensure_users, migrate
from app.cors import CORSMiddleware
from app.db import head_revision, make_engine, make_sessionmaker
from app.error_tracking import init_error_tracking
from app.errors import BodySizeLimitMiddleware, ErrorMiddleware, install_handlers
from app.headers import SecurityHeadersMiddleware
from app.llm import MockLLM, ProviderLLM
from app.logging_setup import configure_logging
from app.metrics import Metrics
from app.proxy import ForwardedHeadersMiddleware
from app.ratelimit import DefaultRateLimitMiddleware, LoginLockout, RateLimiter
from app.request_context import RequestContextMiddleware
from app.routers import admin, auth, health, llm, notes, users
from app.security import Denylist, DummyHash, TokenService
from app.settings import Settings, load_settings
from app.store import make_store

log = logging.getLogger("ultra.startup")

DESCRIPTION = """\
ultra-mvp: accounts with JWT access and refresh tokens, private notes and an LLM chat proxy.
Every error body is JSON `{"detail": ...}`. Rate-limited responses carry `RateLimit-*` headers
and a 429 carries `Retry-After`.
"""
# Responses smaller than this are sent uncompressed (compression would not pay off).
GZIP_MINIMUM_BYTES = 1024


def _operation_id(route: APIRoute) -> str:
    """OpenAPI operationId: the route function's name (``create_note``, ``chat`` ...)."""
    return route.name


def _log_startup(settings: Settings, backend: str, error_tracking: bool) -> None:
    """Log the effective configuration (never a secret value) and risky settings."""
    db_url = urlsplit(settings.database_url.get_secret_value())
    log.info(
        "starting ultra-mvp",
        extra={
            "extra_fields": {
                "version": __version__,
                "environment": settings.environment,
                "database": db_url.scheme,
                "rate_limit_store": backend,
                "mock_llm": settings.mock_llm,
                "docs_enabled": settings.docs_enabled,
                "cors_origins": settings.cors_origins,
                "allowed_hosts": settings.allowed_hosts,
                "trusted_proxy": settings.trusted_proxy,
            }
        },
    )
    if settings.ultra_flaws:
        log.warning("flaws switched on: %s", ", ".join(sorted(settings.ultra_flaws)))
    else:
        log.info("flaws switched on: none")
    if error_tracking:
        log.info("error tracking configured (SENTRY_DSN is set)")
    if settings.environment == "production" and "*" in settings.allowed_hosts:
        log.warning("ALLOWED_HOSTS contains '*': any Host header is accepted in production")
    if settings.environment == "production" and settings.mock_llm:
        log.warning("MOCK_LLM is on in production: chat answers are not real")
    if settings.environment == "production" and settings.docs_enabled:
        log.warning("interactive API docs are public in production")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from ``settings`` (default: the validated process environment)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.secret_values())
    error_tracking = init_error_tracking(settings)
    db_url = settings.database_url.get_secret_value()
    engine = make_engine(db_url, settings.db_pool_size, settings.db_max_overflow)
    store = make_store(settings.redis_url.get_secret_value() if settings.redis_url else None)
    metrics = Metrics()
    limiter = RateLimiter(store, enabled=not settings.has("no-rate-limit"))
    llm_client = (
        MockLLM()
        if settings.mock_llm
        else ProviderLLM(
            settings.llm_base_url,
            settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            settings.llm_model,
            settings.llm_timeout_seconds,
            translate_errors=not settings.has("llm-500-on-outage"),
        )
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _log_startup(settings, store.backend, error_tracking)
        if settings.auto_migrate:
            await run_in_threadpool(migrate, db_url)
            log.info(
                "database migrated to head",
                extra={"extra_fields": {"head": app.state.head_revision}},
            )
        await run_in_threadpool(
            ensure_users,
            app.state.sessionmaker,
            settings.bootstrap_accounts(),
            settings.bcrypt_rounds,
        )
        log.info("ready to serve")
        try:
            yield
        finally:
            await llm_client.aclose()
            await store.close()
            engine.dispose()
            log.info("stopped")

    docs = settings.docs_enabled
    app = FastAPI(
        title="ultra-mvp API",
        version=__version__,
        description=DESCRIPTION,
        debug=settings.debug or settings.has("debug-tracebacks"),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.head_revision = head_revision(db_url)
    app.state.metrics = metrics
    app.state.store = store
    app.state.limiter = limiter
    app.state.lockout = LoginLockout(
        store,
        settings.login_max_failures,
        settings.login_rate.period,
        enabled=not (settings.has("no-rate-limit") or settings.has("no-login-throttle")),
    )
    app.state.denylist = Denylist(store)
    app.state.tokens = TokenService(settings)
    app.state.dummy_hash = DummyHash(settings.bcrypt_rounds)
    app.state.llm = llm_client

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(notes.router)
    app.include_router(llm.router)
    app.include_router(admin.build_router(settings))
    install_handlers(app, settings)

    # Added innermost first: the last one added is the outermost.
    # Compression only wraps the routes' own responses (event streams are never compressed).
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(DefaultRateLimitMiddleware, limiter=limiter, settings=settings)
    if not settings.has("host-header-injection"):
        # Unknown Host headers get 400 before any route builds a link from them; the answer
        # still passes through the error, CORS, security-header and request-id layers.
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
        )
    app.add_middleware(ErrorMiddleware, settings=settings)
    app.add_middleware(CORSMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    if settings.trusted_proxy:
        # Every layer below sees the client address and scheme the proxy reported (HSTS, rate
        # limits); the request-context layer above uses neither.
        app.add_middleware(ForwardedHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


app = create_app()
