"""Reading an LLM endpoint's answer, shared by the functional LLM checks. Not a check module."""

from __future__ import annotations

from typing import Any

from prodaudit.checks.api import Exchange

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
