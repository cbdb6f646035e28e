"""LLM chat: an OpenAI-compatible provider behind the API, or the mock (MOCK_LLM=true)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse

from app.deps import CurrentUser, SettingsDep
from app.llm import LLM, LLMUnavailable
from app.metrics import Metrics
from app.ratelimit import enforce
from app.responses import errors
from app.schemas import ChatRequest, ChatResponse
from app.settings import Settings

log = logging.getLogger("ultra.llm")
router = APIRouter(prefix="/llm", tags=["llm"])

UNAVAILABLE = "LLM provider unavailable"


def _extra_headers(llm: LLM, settings: Settings) -> dict[str, str]:
    headers: dict[str, str] = {}
    if llm.is_mock:
        headers["X-LLM-Mock"] = "true"
    if settings.has("leak-provider-key") and settings.llm_api_key is not None:
        headers["X-Debug-Provider-Key"] = settings.llm_api_key.get_secret_value()
    return headers


def _sse(payload: object) -> str:
    return f"data: {json.dumps(payload)}\n\n"


@router.post(
    "/chat",
    response_model=ChatResponse,
    summary="Chat with the configured LLM",
    description=(
        "Sends the conversation to the LLM provider and returns its reply. With `stream: true` "
        'the answer is a `text/event-stream` of `data: {"delta": ...}` events ending with '
        "`data: [DONE]`. In mock mode no provider is called and the response carries "
        "`X-LLM-Mock: true`. The total prompt is limited to MAX_PROMPT_CHARS characters."
    ),
    responses={
        200: {
            "description": "The reply (JSON), or an event stream when `stream` is true",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **errors(401, 413, 429, 502),
    },
)
async def chat(
    request: Request,
    response: Response,
    body: ChatRequest,
    user: CurrentUser,
    settings: SettingsDep,
) -> ChatResponse | StreamingResponse:
    await enforce(request, "llm", f"user:{user.id}", settings.llm_rate)
    llm: LLM = request.app.state.llm
    metrics: Metrics = request.app.state.metrics
    headers = _extra_headers(llm, settings)
    prompt_chars = sum(len(message.content) for message in body.messages)
    if prompt_chars > settings.max_prompt_chars and not settings.has("no-prompt-limit"):
        raise HTTPException(
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            detail=(
                f"Prompt too long: {prompt_chars} characters (maximum {settings.max_prompt_chars})"
            ),
            headers=headers,
        )
    mode = "mock" if llm.is_mock else "provider"
    started = time.perf_counter()

    if body.stream:
        try:
            deltas = await llm.open_stream(body.messages)
        except LLMUnavailable:
            metrics.llm_requests.labels(mode=mode, outcome="error").inc()
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, UNAVAILABLE, headers=headers) from None

        async def events() -> AsyncIterator[str]:
            outcome = "ok"
            try:
                async for delta in deltas:
                    yield _sse({"delta": delta})
                yield _sse({"done": True, "model": llm.model})
            except LLMUnavailable:
                outcome = "error"
                yield "event: error\n" + _sse({"detail": UNAVAILABLE})
            finally:
                metrics.llm_requests.labels(mode=mode, outcome=outcome).inc()
                metrics.llm_latency.labels(mode=mode).observe(time.perf_counter() - started)
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={**headers, "X-Accel-Buffering": "no"},
        )

    try:
        result = await llm.complete(body.messages)
    except LLMUnavailable:
        metrics.llm_requests.labels(mode=mode, outcome="error").inc()
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, UNAVAILABLE, headers=headers) from None
    metrics.llm_requests.labels(mode=mode, outcome="ok").inc()
    metrics.llm_latency.labels(mode=mode).observe(time.perf_counter() - started)
    response.headers.update(headers)
    return ChatResponse(reply=result.reply, model=result.model)
