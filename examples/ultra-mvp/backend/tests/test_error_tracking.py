"""Error tracking (SENTRY_DSN): events for unhandled errors, redacted, delivered in the
background — and an unreachable or malformed DSN never affects the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from app.error_tracking import init_error_tracking, scrub
from app.logging_setup import Redactor
from conftest import JWT_SECRET, MakeClient
from fastapi.testclient import TestClient
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

# Port 9 (discard) on loopback: nothing listens, every delivery attempt fails.
UNREACHABLE_DSN = "http://public-key@127.0.0.1:9/1"


class RecordingTransport(Transport):
    """Keeps the events instead of sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture(autouse=True)
def _reset_sentry() -> Iterator[None]:
    yield
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.get_global_scope().set_client(None)


def _fail_chat(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(messages: object) -> object:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(client.app.state.llm, "complete", boom)  # type: ignore[attr-defined]


def _user_headers(client: TestClient) -> dict[str, str]:
    client.post("/auth/register", json={"email": "t@example.com", "password": "pw-long-enough-1"})
    tokens = client.post(
        "/auth/token", data={"username": "t@example.com", "password": "pw-long-enough-1"}
    ).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_unreachable_dsn_does_not_slow_or_break_requests(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(sentry_dsn=UNREACHABLE_DSN)
    assert sentry_sdk.get_client().is_active()
    assert not sentry_sdk.get_client().should_send_default_pii()
    headers = _user_headers(client)
    _fail_chat(client, monkeypatch)
    started = time.perf_counter()
    response = client.post(
        "/llm/chat", json={"messages": [{"role": "user", "content": "hi"}]}, headers=headers
    )
    assert response.status_code == 500
    assert response.json()["detail"] == "Internal server error"
    assert time.perf_counter() - started < 2.0  # delivery happens in the background
    assert client.get("/health").status_code == 200


def test_unhandled_errors_become_redacted_events(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(sentry_dsn=UNREACHABLE_DSN)
    transport = RecordingTransport()
    sentry_sdk.get_client().transport = transport
    headers = _user_headers(client)
    _fail_chat(client, monkeypatch)
    client.post("/llm/chat", json={"messages": [{"role": "user", "content": "hi"}]}, headers=headers)
    logging.getLogger("ultra.test").error("leaking %s and %s", JWT_SECRET, headers["Authorization"])
    sentry_sdk.flush(timeout=2)

    exceptions = [e for e in transport.events if e.get("exception")]
    assert len(exceptions) == 1  # the 500 access-log line does not add a second event
    error = exceptions[0]
    assert error["exception"]["values"][-1]["type"] == "RuntimeError"
    assert error["environment"] == "production"
    assert error["release"].startswith("ultra-mvp@")
    assert "request" not in error or "data" not in error["request"]  # no bodies

    text = str(transport.events)
    assert "leaking" in text
    assert JWT_SECRET not in text
    assert headers["Authorization"].split()[1] not in text


def test_malformed_dsn_leaves_the_api_running(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(sentry_dsn="not-a-dsn")
    assert client.get("/health").status_code == 200
    assert not sentry_sdk.get_client().is_active()

    settings = client.app.state.settings  # type: ignore[attr-defined]
    logger = logging.getLogger("ultra.error_tracking")
    logger.addHandler(caplog.handler)  # create_app replaced the root handlers
    try:
        assert init_error_tracking(settings) is False
    finally:
        logger.removeHandler(caplog.handler)
    assert "SENTRY_DSN is not usable (BadDsn)" in caplog.text
    assert "not-a-dsn" not in caplog.text


def test_no_dsn_no_sdk(client: TestClient) -> None:
    assert not sentry_sdk.get_client().is_active()


def test_scrub_masks_nested_strings() -> None:
    redact = Redactor(["s3cr3t-value"])
    event = {"message": "x s3cr3t-value y", "extra": {"list": ["Bearer abc.def", 3]}, "n": None}
    assert scrub(event, redact) == {
        "message": "x *** y",
        "extra": {"list": ["Bearer ***", 3]},
        "n": None,
    }
