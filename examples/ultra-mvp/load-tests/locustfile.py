"""Load test of the ultra-mvp API's main journeys (Locust).

Run it against staging (never production) with the LLM provider mocked or the fake provider of
``tools/``, and with the rate limits raised for the load-generator's IP range — the production
defaults (RATE_LIMIT_LOGIN=10/60 per IP, RATE_LIMIT_LLM=20/60 per user) would otherwise answer
most requests with 429::

    pip install locust==2.37.14
    locust -f load-tests/locustfile.py --host https://staging-api.example.com \\
        --users 100 --spawn-rate 10 --run-time 10m --headless --csv reports/load

Targets (the SLOs in monitoring/slo/ultra-mvp-slos.yaml): p95 under 500 ms for every endpoint
but ``POST /llm/chat``, no 5xx; the run fails (exit code 1) when they are missed.
Each simulated user registers its own account, then logs in once and works with notes and chat.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from locust import HttpUser, between, events, task

log = logging.getLogger("load-test")

P95_BUDGET_MS = 500
CHAT_NAME = "POST /llm/chat"
SERVER_ERROR = re.compile(r"\b5\d\d Server Error")  # how requests words a 5xx HTTPError


class ProductUser(HttpUser):
    """A signed-in user: reads and writes notes, chats, now and then refreshes the session."""

    wait_time = between(1, 3)
    weight = 10

    def on_start(self) -> None:
        """Register a throw-away account and log in."""
        self.email = f"load-{secrets.token_hex(6)}@example.com"
        self.password = secrets.token_urlsafe(18)
        self.note_ids: list[int] = []
        self.client.post(
            "/auth/register",
            json={"email": self.email, "password": self.password},
            name="POST /auth/register",
        )
        self._login()

    def _login(self) -> None:
        response = self.client.post(
            "/auth/token",
            data={"username": self.email, "password": self.password},
            name="POST /auth/token",
        )
        tokens: dict[str, Any] = response.json() if response.ok else {}
        self.refresh_token = tokens.get("refresh_token", "")
        self.client.headers["Authorization"] = f"Bearer {tokens.get('access_token', '')}"

    @task(5)
    def list_notes(self) -> None:
        """The notes page."""
        self.client.get("/notes?limit=20", name="GET /notes")

    @task(3)
    def create_and_read_note(self) -> None:
        """Write a note, then open it."""
        response = self.client.post(
            "/notes",
            json={"title": "load test", "body": "x" * 200},
            name="POST /notes",
        )
        if response.status_code == 201:
            note_id = response.json()["id"]
            self.note_ids.append(note_id)
            self.client.get(f"/notes/{note_id}", name="GET /notes/{note_id}")

    @task(1)
    def delete_note(self) -> None:
        """Delete the oldest note this user wrote."""
        if self.note_ids:
            note_id = self.note_ids.pop(0)
            self.client.delete(f"/notes/{note_id}", name="DELETE /notes/{note_id}")

    @task(2)
    def chat(self) -> None:
        """One chat turn (the provider's latency dominates: its own budget)."""
        self.client.post(
            "/llm/chat",
            json={"messages": [{"role": "user", "content": "Summarise my notes in one line."}]},
            name=CHAT_NAME,
        )

    @task(1)
    def profile_and_refresh(self) -> None:
        """Who am I, and a token refresh (rotation) as the frontend does after 15 minutes."""
        self.client.get("/users/me", name="GET /users/me")
        response = self.client.post(
            "/auth/refresh", json={"refresh_token": self.refresh_token}, name="POST /auth/refresh"
        )
        if response.ok:
            tokens = response.json()
            self.refresh_token = tokens["refresh_token"]
            self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"


class Monitoring(HttpUser):
    """What load balancers and Prometheus do: probes and scrapes."""

    wait_time = between(5, 15)
    weight = 1

    @task
    def probes(self) -> None:
        """Liveness, readiness and metrics."""
        self.client.get("/health", name="GET /health")
        self.client.get("/health/ready", name="GET /health/ready")
        self.client.get("/metrics", name="GET /metrics")


@events.quitting.add_listener
def enforce_budgets(environment: Any, **_kwargs: Any) -> None:
    """Fail the run when an endpoint misses the p95 budget or any request failed with 5xx."""
    stats = environment.runner.stats
    slow = [
        f"{entry.method} {entry.name}: p95 {entry.get_response_time_percentile(0.95):.0f} ms"
        for entry in stats.entries.values()
        if entry.name != CHAT_NAME
        and entry.num_requests
        and entry.get_response_time_percentile(0.95) > P95_BUDGET_MS
    ]
    server_errors = [
        f"{error.method} {error.name}: {error.occurrences}x {error.error}"
        for error in stats.errors.values()
        if SERVER_ERROR.search(str(error.error))
    ]
    for line in slow + server_errors:
        log.error("budget missed: %s", line)
    if slow or server_errors:
        environment.process_exit_code = 1
