"""LLM endpoints are recognised by whole words and the request body's shape, never by
substrings ("email" holds "ai"); a read-only audit calls none of them (llmdetect.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import audit_target, result
from pydantic import BaseModel
from servers.serving import serve_app

from prodaudit.llmdetect import is_llm_operation, words_of
from prodaudit.model import Status
from prodaudit.openapi import Operation


def _op(path: str, op_id: str = "", props: dict[str, Any] | None = None) -> Operation:
    body = None
    if props is not None:
        body = {"content": {"application/json": {"schema": {"type": "object", "properties": props}}}}
    return Operation("POST", path, op_id, "", (), (), body, {}, None)


def test_whole_words_not_substrings() -> None:
    assert words_of("/notifications/test-email", "sendTestEmail") == {
        "notifications", "test", "email", "send"
    }
    assert not is_llm_operation(_op("/notifications/test-email", "sendTestEmail", {"to": {}}))
    assert not is_llm_operation(_op("/emails/detail"))  # "ai" inside words, no schema
    assert is_llm_operation(_op("/llm/chat", "chat", {"messages": {"type": "array"}}))
    assert is_llm_operation(_op("/ai/complete"))  # a strong word, no body schema declared
    assert is_llm_operation(_op("/assistant/ask", "ask", {"question": {"type": "string"}}))


def test_body_shape_decides_weak_and_contradicted_words() -> None:
    assert not is_llm_operation(_op("/reports/generate", "generateReport", {"format": {}}))
    assert is_llm_operation(_op("/text/generate", "generate", {"prompt": {"type": "string"}}))
    assert not is_llm_operation(_op("/chat/rooms", "createRoom", {"name": {"type": "string"}}))
    assert not is_llm_operation(_op("/auth/token", "login", {"username": {}, "password": {}}))


class Email(BaseModel):
    to: str


class Report(BaseModel):
    format: str


class Question(BaseModel):
    question: str


def _app(calls: list[str]) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/notifications/test-email", operation_id="sendTestEmail")
    def test_email(body: Email) -> dict[str, str]:
        calls.append("test-email")
        return {"sent": body.to}

    @app.post("/reports/generate", operation_id="generateReport")
    def generate(body: Report) -> dict[str, str]:
        calls.append("generate")
        return {"report": body.format}

    @app.post("/assistant/ask", operation_id="ask")
    def ask(body: Question) -> dict[str, str]:
        calls.append("ask")
        return {"answer": "4"}

    return app


def test_read_only_audit_calls_no_detected_endpoint(tmp_path: Path) -> None:
    calls: list[str] = []
    with serve_app(_app(calls)) as url:
        run = audit_target(None, tmp_path, suites=["functional", "security"], base_url=url,
                           skip=["FUN-050", "SEC-04", "SEC-09"])
        assert calls == []  # not the e-mail endpoint, not the LLM: read-only
        r = result(run, "FUN-030")
        assert r.status is Status.SKIP and "/assistant/ask" in r.reason
        assert "needs --allow-mutations" in r.reason
        # with mutations allowed, the LLM checks call the LLM endpoint and nothing else
        run = audit_target(None, tmp_path / "m", only=["FUN-03", "SEC-020"], base_url=url,
                           allow_mutations=True)
    assert set(calls) == {"ask"}
    assert run.requests["llm_calls"] == len(calls)
    assert result(run, "FUN-030").status is Status.PASS
