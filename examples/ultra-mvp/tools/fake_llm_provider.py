"""A deterministic OpenAI-compatible LLM provider for local runs and tests.

    cd examples/ultra-mvp/tools
    python -m uvicorn fake_llm_provider:app --host 127.0.0.1 --port 9000

Endpoints (all under /v1 need ``Authorization: Bearer <non-empty>``):
- GET  /v1/models                 the model list (one model, ``fake-gpt``)
- POST /v1/chat/completions       reply ``echo: <last user message>``; ``stream: true`` answers
                                  with server-sent events ending in ``data: [DONE]``
- GET  /_stats                    request counters (no auth)
- POST /_control                  ``{"delay_seconds": float, "fail_status": int|null}`` to
                                  simulate a slow or failing provider (no auth)
- POST /_reset                    zero the counters and clear the control settings
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

MODEL_ID = "fake-gpt"
ROLES = ("system", "user", "assistant", "tool", "developer", "function")


class Message(BaseModel):
    role: str
    content: str | None = ""


class ChatCompletionRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


class Control(BaseModel):
    delay_seconds: float = Field(default=0.0, ge=0, le=60)
    fail_status: int | None = Field(default=None, ge=400, le=599)


class State:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.control = Control()


state = State()


class CountingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_"):
            state.counts["requests"] += 1
            state.counts[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)


app = FastAPI(title="fake LLM provider", docs_url=None, redoc_url=None)
app.add_middleware(CountingMiddleware)


def openai_error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status)


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    kind = "invalid_request_error" if exc.status_code != 401 else "authentication_error"
    return openai_error(exc.status_code, str(exc.detail), kind)


def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status_code=401, detail="Missing or invalid API key")


async def apply_control() -> None:
    if state.control.delay_seconds:
        await asyncio.sleep(state.control.delay_seconds)
    if state.control.fail_status:
        raise HTTPException(status_code=state.control.fail_status, detail="simulated failure")


Auth = Annotated[None, Depends(require_key)]


@app.get("/v1/models")
async def models(_: Auth) -> dict[str, Any]:
    await apply_control()
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ultra-mvp"}],
    }


def reply_for(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return f"echo: {message.content or ''}"
    return "echo: "


@app.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, _: Auth
) -> dict[str, Any] | StreamingResponse | JSONResponse:
    await apply_control()
    for i, message in enumerate(body.messages):  # as the OpenAI API refuses an unknown role
        if message.role not in ROLES:
            return openai_error(400, f"Invalid value: '{message.role}'. Supported values are: "
                                f"{', '.join(repr(r) for r in ROLES)}. (messages[{i}].role)",
                                "invalid_request_error")
    state.counts["chat_completions"] += 1
    reply = reply_for(body.messages)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        prompt_tokens = sum(len((m.content or "").split()) for m in body.messages)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model or MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(reply.split()),
                "total_tokens": prompt_tokens + len(reply.split()),
            },
        }

    async def events() -> AsyncIterator[str]:
        def chunk(delta: dict[str, str], finish: str | None) -> str:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model or MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk({"role": "assistant"}, None)
        words = reply.split(" ")
        for index, word in enumerate(words):
            yield chunk({"content": word if index == 0 else " " + word}, None)
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/_stats")
async def stats() -> dict[str, Any]:
    return {
        "requests": state.counts["requests"],
        "chat_completions": state.counts["chat_completions"],
        "by_route": {k: v for k, v in state.counts.items() if " " in k},
        "control": state.control.model_dump(),
    }


@app.post("/_control")
async def control(body: Control) -> dict[str, Any]:
    state.control = body
    return {"control": body.model_dump()}


@app.post("/_reset")
async def reset() -> dict[str, Any]:
    state.counts.clear()
    state.control = Control()
    return {"reset": True}
