"""Error tracking with Sentry (or a Sentry-compatible service such as GlitchTip), on when
SENTRY_DSN is set.

Only what this product needs is switched on, so the SDK changes no request behaviour:

- the logging integration turns every ``ERROR`` record into an event — the unhandled exceptions
  that ``ErrorMiddleware`` logs with their traceback, Redis and denylist failures — and keeps
  ``INFO`` records as breadcrumbs (the access log is left out: its 5xx lines would duplicate
  the exception events);
- no framework auto-instrumentation, no tracing, no trace headers sent to the LLM provider,
  no request bodies, no local variables, no personal data (the SDK's default);
- every event and breadcrumb goes through the same redaction as the JSON logs (configured
  secrets, bearer tokens, JWTs) before it leaves the process.

Delivery is asynchronous (a background thread with a bounded queue): an unreachable or slow
error-tracking endpoint never delays or fails a request. A malformed DSN is logged and error
tracking stays off; the API still starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app import __version__
from app.logging_setup import Redactor
from app.settings import Settings

log = logging.getLogger("ultra.error_tracking")

SHUTDOWN_TIMEOUT_SECONDS = 2.0
ACCESS_LOGGER = "ultra.access"


def scrub(value: Any, redact: Callable[[str], str]) -> Any:
    """Return ``value`` (an event or breadcrumb, nested dicts/lists/strings) with every string
    passed through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: scrub(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, redact) for item in value]
    return value


def _on_exit_pending(pending: int, timeout: float) -> None:
    log.info(
        "flushing error-tracking events before exit",
        extra={"extra_fields": {"pending_events": pending, "timeout_seconds": timeout}},
    )


def init_error_tracking(settings: Settings) -> bool:
    """Initialise sentry-sdk when SENTRY_DSN is set; True when error tracking is active."""
    if settings.sentry_dsn is None:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.atexit import AtexitIntegration
        from sentry_sdk.integrations.dedupe import DedupeIntegration
        from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    except ImportError:
        log.error("SENTRY_DSN is set but sentry-sdk is not installed: error tracking is off")
        return False
    redact = Redactor(settings.secret_values())

    def before_send(event: Any, _hint: Any) -> Any:
        return scrub(event, redact)

    def before_breadcrumb(crumb: Any, _hint: Any) -> Any:
        return scrub(crumb, redact)

    try:
        sentry_sdk.init(
            dsn=settings.sentry_dsn.get_secret_value(),
            environment=settings.environment,
            release=f"ultra-mvp@{__version__}",
            default_integrations=False,
            auto_enabling_integrations=False,
            integrations=[
                LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
                DedupeIntegration(),
                AtexitIntegration(callback=_on_exit_pending),
            ],
            include_local_variables=False,
            max_request_body_size="never",
            traces_sample_rate=None,
            trace_propagation_targets=[],
            before_send=before_send,
            before_breadcrumb=before_breadcrumb,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
    except Exception as exc:  # sentry_sdk.utils.BadDsn and friends: never stop the API
        log.error("error tracking disabled: SENTRY_DSN is not usable (%s)", type(exc).__name__)
        return False
    # The access log writes 5xx lines at ERROR: the exception behind them is reported already
    # (ErrorMiddleware logs it), and readiness 503s during an outage are alerts, not bugs.
    ignore_logger(ACCESS_LOGGER)
    return True
