"""Reading an LLM endpoint's answer, shared by the functional LLM checks. Not a check module."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import Exchange, Finding, failed, passed

BAD_ROLE = "prodaudit-unknown-role"  # a message role no provider accepts
# what a provider's refusal says when the API passes it through (OpenAI, Azure OpenAI, Anthropic
# and their Python clients)
UPSTREAM_RE = re.compile(r"invalid_request_error|Error code: 4\d\d|openai\.\w*Error|"
                         r"anthropic\.\w*Error|Supported values are|" + re.escape(BAD_ROLE), re.I)


def judge_provider_refusal(ex: Exchange, loc: str) -> list[Finding] | None:
    """The answer to a message the provider refuses: the provider's error text in it or a 500
    fail, a JSON 502/503/504 passes; None when it shows nothing about provider errors (the API
    refused the role itself, or answered 2xx)."""
    if ex.status is None:
        return None
    leak = UPSTREAM_RE.search(ex.text[:20_000])
    what = f"a message with the role {BAD_ROLE!r}, which the provider refuses"
    if leak and (ex.status >= 500 or BAD_ROLE not in leak.group(0)):
        return [failed(f"{loc}: {what}, answers {ex.status} with the provider's error text "
                       f"({leak.group(0)!r}): upstream errors reach the client", location=loc,
                       evidence=ex.evidence())]
    if ex.status >= 500 and ex.status not in (502, 503, 504):
        return [failed(f"{loc}: {what}, answers {ex.status}: a provider error becomes an "
                       "unhandled server error (expected 502/503/504)", location=loc,
                       evidence=ex.evidence())]
    if ex.status in (502, 503, 504) and "json" in (ex.header("content-type") or "").lower():
        return [passed(f"{loc}: {what}, answers {ex.status} with a JSON error: provider errors "
                       "are handled", location=loc, evidence=ex.evidence())]
    return None

ANSWER_KEYS = (
    "reply",
    "answer",
    "content",
    "text",
    "output",
    "response",
    "message",
    "completion",
    "result",
    "generated_text",
)


def answer_text(ex: Exchange) -> str:
    """The answer's text from common response shapes (OpenAI-style, {reply}, {answer}, ...)."""
    try:
        body: Any = ex.json()
    except ValueError:
        return ex.text.strip()
    if isinstance(body, dict):
        choices = body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            msg = choices[0].get("message") or {}
            text = msg.get("content") if isinstance(msg, dict) else None
            if isinstance(text, str):
                return text.strip()
            if isinstance(choices[0].get("text"), str):
                return str(choices[0]["text"]).strip()
        for key in ANSWER_KEYS:
            val = body.get(key)
            if isinstance(val, str):
                return val.strip()
            if isinstance(val, dict):
                inner = val.get("content") or val.get("text")
                if isinstance(inner, str):
                    return inner.strip()
    if isinstance(body, str):
        return body.strip()
    return ""
