"""Prometheus metrics (one registry per application instance)."""

from __future__ import annotations

import platform

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from app import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The Prometheus metrics of one application instance (its own registry):
    ``http_requests_total``, ``http_request_duration_seconds``, ``http_requests_in_progress``,
    ``auth_login_attempts_total``, ``llm_requests_total``, ``llm_request_duration_seconds`` and
    process/platform/GC collectors.
    """
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route template, method and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template, method and status code.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "http_requests_in_progress",
            "HTTP requests being served.",
            registry=self.registry,
        )
        self.logins = Counter(
            "auth_login_attempts_total",
            "Login attempts by outcome (success, failure, locked, throttled).",
            ["outcome"],
            registry=self.registry,
        )
        self.llm_requests = Counter(
            "llm_requests_total",
            "LLM chat requests by mode (mock, provider) and outcome (ok, error).",
            ["mode", "outcome"],
            registry=self.registry,
        )
        self.llm_latency = Histogram(
            "llm_request_duration_seconds",
            "Latency of LLM provider calls.",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        info = Gauge(
            "ultra_app_info",
            "Application version information.",
            ["version", "python"],
            registry=self.registry,
        )
        info.labels(version=__version__, python=platform.python_version()).set(1)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency under its route template."""
        labels = {"method": method, "route": route, "status": str(status)}
        self.requests.labels(**labels).inc()
        self.latency.labels(**labels).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
