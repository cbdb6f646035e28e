"""LLM integration: an OpenAI-compatible provider over httpx, or a mock for development.

Provider failures (connection errors, timeouts, non-2xx answers, malformed bodies) become
``LLMUnavailable``; the router turns that into 502 without detail. The provider key is sent only
in the Authorization header to the provider and never appears in errors or logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from app.schemas import ChatMessage

log = logging.getLogger("ultra.llm")

MOCK_MODEL = "mock"
READINESS_TIMEOUT = 2.0


class LLMUnavailable(Exception):
    """The provider could not produce an answer."""


@dataclass(frozen=True)
class ChatResult:
    """A complete (non-streamed) answer: the reply text and the model that produced it."""

    reply: str
    model: str


def last_user_message(messages: list[ChatMessage]) -> str:
    """The content of the last ``user`` message, or an empty string."""
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""


class MockLLM:
    """Deterministic answers without any network call (MOCK_LLM=true)."""

    model = MOCK_MODEL
    is_mock = True

    async def complete(self, messages: list[ChatMessage]) -> ChatResult:
        """Echo the last user message, prefixed ``[mock] echo:``."""
        return ChatResult(f"[mock] echo: {last_user_message(messages)[:500]}", MOCK_MODEL)

    async def open_stream(self, messages: list[ChatMessage]) -> AsyncIterator[str]:
        """The mock reply as a stream of word deltas."""
        reply = (await self.complete(messages)).reply

        async def chunks() -> AsyncIterator[str]:
            words = reply.split(" ")
            for index, word in enumerate(words):
                yield word if index == 0 else " " + word

        return chunks()

    async def check(self) -> dict[str, Any]:
        """Readiness: the mock needs no provider, so the check is skipped."""
        return {"status": "skipped", "detail": "MOCK_LLM is on"}

    async def aclose(self) -> None:
        """Nothing to release."""
        return None


class ProviderLLM:
    """An OpenAI-compatible provider (``POST {LLM_BASE_URL}/chat/completions``)."""

    is_mock = False

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str,
        timeout: float,
        translate_errors: bool = True,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self._api_key = api_key or ""
        self._translate = translate_errors
        self._client = httpx.AsyncClient(
            base_url=base_url or "http://llm-provider.invalid",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            follow_redirects=False,
            trust_env=False,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}

    def _payload(self, messages: list[ChatMessage], stream: bool) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "stream": stream,
        }

    def _fail(self, exc: Exception, what: str) -> Exception:
        """The exception to raise: LLMUnavailable, or the raw error (llm-500-on-outage)."""
        log.warning("LLM provider call failed: %s (%s)", what, type(exc).__name__)
        return LLMUnavailable(what) if self._translate else exc

    async def complete(self, messages: list[ChatMessage]) -> ChatResult:
        """One chat completion from the provider; LLMUnavailable on any failure."""
        if not self.base_url:
            raise self._fail(RuntimeError("LLM_BASE_URL is not configured"), "not configured")
        try:
            response = await self._client.post(
                "/chat/completions", json=self._payload(messages, False), headers=self._headers()
            )
            response.raise_for_status()
            data = response.json()
            reply = data["choices"][0]["message"]["content"]
            model = str(data.get("model") or self.model)
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise self._fail(exc, "chat completion") from None
        if not isinstance(reply, str):
            raise self._fail(TypeError("reply is not text"), "malformed reply")
        return ChatResult(reply, model)

    async def open_stream(self, messages: list[ChatMessage]) -> AsyncIterator[str]:
        """Start a streamed completion; raise before the first byte when the provider fails."""
        if not self.base_url:
            raise self._fail(RuntimeError("LLM_BASE_URL is not configured"), "not configured")
        request = self._client.build_request(
            "POST",
            "/chat/completions",
            json=self._payload(messages, True),
            headers={**self._headers(), "Accept": "text/event-stream"},
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._fail(exc, "stream open") from None
        if response.status_code != 200:
            await response.aclose()
            raise self._fail(
                httpx.HTTPStatusError(
                    f"provider answered {response.status_code}", request=request, response=response
                ),
                "stream status",
            )

        async def deltas() -> AsyncIterator[str]:
            try:
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    choices = chunk.get("choices") or [{}]
                    text = (choices[0].get("delta") or {}).get("content")
                    if text:
                        yield str(text)
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                raise LLMUnavailable("stream interrupted") from exc
            finally:
                await response.aclose()

        return deltas()

    async def check(self) -> dict[str, Any]:
        """Readiness: ``GET {LLM_BASE_URL}/models`` within 2 s, with the provider key."""
        if not self.base_url:
            return {"status": "error", "detail": "LLM_BASE_URL is not configured"}
        try:
            response = await self._client.get(
                "/models", headers=self._headers(), timeout=READINESS_TIMEOUT
            )
        except httpx.TimeoutException:
            return {"status": "error", "detail": "timeout"}
        except httpx.HTTPError as exc:
            return {"status": "error", "detail": f"unreachable ({type(exc).__name__})"}
        if response.status_code in (401, 403):
            return {"status": "error", "detail": "provider rejected the credentials"}
        if response.status_code != 200:
            return {"status": "error", "detail": f"HTTP {response.status_code}"}
        return {"status": "ok"}

    async def aclose(self) -> None:
        """Close the provider's connection pool."""
        await self._client.aclose()


LLM = MockLLM | ProviderLLM
