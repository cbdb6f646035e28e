"""LLM chat: /llm/chat in mock mode and against a provider replaced by ``httpx.MockTransport``
(answers, streaming, outages, timeouts, malformed replies) — no real provider is ever called."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from app.llm import ProviderLLM
from conftest import MakeClient, bearer, login, new_email, new_password, register
from fastapi.testclient import TestClient

PROVIDER_URL = "http://llm-provider.test/v1"
Handler = Callable[[httpx.Request], httpx.Response]
CHAT = {"messages": [{"role": "user", "content": "hello there"}]}


def _completion(reply: str) -> dict[str, object]:
    return {"model": "fake-gpt", "choices": [{"message": {"role": "assistant", "content": reply}}]}


def provider_client(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, handler: Handler, **overrides: str
) -> tuple[TestClient, dict[str, str], list[httpx.Request]]:
    """An app whose provider client talks to ``handler``; returns client, auth headers and the
    requests the provider received."""
    client = make_client(
        mock_llm=False, llm_base_url=PROVIDER_URL, llm_api_key="sk-test-provider-key", **overrides
    )
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    llm = client.app.state.llm  # type: ignore[attr-defined]
    assert isinstance(llm, ProviderLLM)
    monkeypatch.setattr(
        llm,
        "_client",
        httpx.AsyncClient(base_url=PROVIDER_URL, transport=httpx.MockTransport(recording)),
    )
    email, password = new_email(), new_password()
    register(client, email, password)
    return client, bearer(login(client, email, password)), seen


def test_mock_mode_answers_without_a_provider(
    client: TestClient, user_headers: dict[str, str]
) -> None:
    response = client.post("/llm/chat", json=CHAT, headers=user_headers)
    assert response.status_code == 200
    assert response.json() == {"reply": "[mock] echo: hello there", "model": "mock"}
    assert response.headers["x-llm-mock"] == "true"


def test_provider_reply_is_relayed(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, headers, seen = provider_client(
        make_client, monkeypatch, lambda request: httpx.Response(200, json=_completion("hi!"))
    )
    response = client.post("/llm/chat", json=CHAT, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"reply": "hi!", "model": "fake-gpt"}
    assert "x-llm-mock" not in response.headers
    sent = seen[-1]
    assert sent.url.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-provider-key"
    assert json.loads(sent.content)["messages"] == CHAT["messages"]
    # the provider key never reaches the client
    assert "sk-test-provider-key" not in response.text + str(response.headers)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("provider too slow", request=request)


@pytest.mark.parametrize(
    "handler",
    [
        _refuse,
        _time_out,
        lambda request: httpx.Response(500, json={"error": "boom"}),
        lambda request: httpx.Response(200, json={"unexpected": True}),
        lambda request: httpx.Response(200, text="not json"),
    ],
    ids=["refused", "timeout", "http-500", "malformed", "not-json"],
)
def test_provider_outage_is_a_clean_502(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, handler: Handler
) -> None:
    client, headers, _ = provider_client(make_client, monkeypatch, handler)
    response = client.post("/llm/chat", json=CHAT, headers=headers)
    assert response.status_code == 502
    assert response.json() == {"detail": "LLM provider unavailable"}
    metrics = client.get("/metrics").text
    assert 'llm_requests_total{mode="provider",outcome="error"} 1.0' in metrics


def test_outage_flaw_turns_into_an_unhandled_500(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``llm-500-on-outage`` is the weakness the default translation prevents; the 500 still
    hides the exception."""
    client, headers, _ = provider_client(
        make_client, monkeypatch, _refuse, ultra_flaws="llm-500-on-outage"
    )
    response = client.post("/llm/chat", json=CHAT, headers=headers)
    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == "Internal server error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "ConnectError" not in response.text


def test_streaming_relays_deltas(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [{"choices": [{"delta": {"content": part}}]} for part in ("Hel", "lo")]
    stream = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    client, headers, _ = provider_client(
        make_client,
        monkeypatch,
        lambda request: httpx.Response(
            200, text=stream, headers={"content-type": "text/event-stream"}
        ),
    )
    response = client.post("/llm/chat", json={**CHAT, "stream": True}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers  # event streams are never compressed
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert [json.loads(e)["delta"] for e in events[:2]] == ["Hel", "lo"]
    assert events[-1] == "[DONE]"


def test_streaming_outage_before_first_byte_is_a_502(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, headers, _ = provider_client(
        make_client, monkeypatch, lambda request: httpx.Response(503)
    )
    response = client.post("/llm/chat", json={**CHAT, "stream": True}, headers=headers)
    assert response.status_code == 502


def test_prompt_limit(make_client: MakeClient) -> None:
    client = make_client(max_prompt_chars=20)
    email, password = new_email(), new_password()
    register(client, email, password)
    headers = bearer(login(client, email, password))
    long_chat = {"messages": [{"role": "user", "content": "y" * 21}]}
    response = client.post("/llm/chat", json=long_chat, headers=headers)
    assert response.status_code == 413
    assert "Prompt too long" in response.json()["detail"]


def test_chat_validation_and_auth(client: TestClient, user_headers: dict[str, str]) -> None:
    assert client.post("/llm/chat", json=CHAT).status_code == 401
    empty = client.post("/llm/chat", json={"messages": []}, headers=user_headers)
    assert empty.status_code == 422
    bad_role = client.post(
        "/llm/chat", json={"messages": [{"role": "wizard", "content": "x"}]}, headers=user_headers
    )
    assert bad_role.status_code == 422


def test_chat_is_rate_limited_per_user(make_client: MakeClient) -> None:
    client = make_client(rate_limit_llm="2/60")
    email, password = new_email(), new_password()
    register(client, email, password)
    headers = bearer(login(client, email, password))
    statuses = [client.post("/llm/chat", json=CHAT, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
