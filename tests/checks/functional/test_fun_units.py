"""Pure helpers of the functional suite: schema conversion and validation, parameter filling,
dependency parsing, percentiles, LLM answer shapes, token lifetimes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from prodaudit.auth import jwt_lifetime
from prodaudit.checks.functional._llm import answer_text
from prodaudit.checks.functional._operations import (
    build_request,
    collect_ids,
    documented,
    media_matches,
    validate,
)
from prodaudit.checks.functional.health import dependency_states
from prodaudit.checks.functional.llm import LlmEndpoint
from prodaudit.checks.functional.performance import percentile
from prodaudit.http import Exchange
from prodaudit.openapi import parse


def _doc(
    version: str = "3.0.3",
    schemas: dict[str, Any] | None = None,
    paths: dict[str, Any] | None = None,
) -> Any:
    return parse(
        {
            "openapi": version,
            "info": {"title": "t", "version": "1"},
            "paths": paths or {},
            "components": {"schemas": schemas or {}},
        },
        "mem",
    )


def _ex(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(
        "POST",
        "http://127.0.0.1/x",
        {},
        b"",
        status,
        headers or {"content-type": "application/json"},
        raw,
    )


def test_nullable_and_exclusive_bounds_of_openapi_30() -> None:
    doc = _doc(
        schemas={"N": {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True}}
    )
    ref = {"$ref": "#/components/schemas/N"}
    assert validate(doc, ref, None) is None
    assert validate(doc, ref, 1) is None
    assert validate(doc, ref, 0) is not None  # exclusive minimum 0
    doc31 = _doc("3.1.0", schemas={"N": {"type": ["integer", "null"]}})
    assert validate(doc31, {"$ref": "#/components/schemas/N"}, None) is None
    assert "is not of type" in (validate(doc31, {"$ref": "#/components/schemas/N"}, "x") or "")


def test_recursive_schema_validates() -> None:
    doc = _doc(
        schemas={
            "Tree": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}
                },
            }
        }
    )
    ref = {"$ref": "#/components/schemas/Tree"}
    assert validate(doc, ref, {"children": [{"children": []}]}) is None
    assert validate(doc, ref, {"children": [{"children": 3}]}) is not None


def test_documented_statuses_and_media_types() -> None:
    doc = _doc(
        paths={
            "/a": {"get": {"responses": {"200": {}, "4XX": {}, "default": {}}}},
            "/b": {"get": {"responses": {"200": {}}}},
        }
    )
    a, b = doc.operations
    assert documented(a, 200)[0] == "200"
    assert documented(a, 404)[0] == "4XX"
    assert documented(a, 503)[0] == "default"
    assert documented(b, 500)[0] is None
    assert media_matches("application/json", "application/json; charset=utf-8")
    assert media_matches("application/json", "application/problem+json")
    assert media_matches("text/*", "text/plain")
    assert not media_matches("application/json", "text/html")


def test_parameters_from_examples_enums_formats_and_seen_ids() -> None:
    doc = _doc(
        paths={
            "/things/{thing_id}/{kind}/{day}": {
                "get": {
                    "parameters": [
                        {
                            "name": "thing_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "kind",
                            "in": "path",
                            "required": True,
                            "schema": {"enum": ["a", "b"]},
                        },
                        {
                            "name": "day",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                        },
                        {"name": "q", "in": "query", "required": True, "example": "hello"},
                        {"name": "opt", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {}},
                }
            }
        }
    )
    op = doc.operations[0]
    seen: dict[str, list[Any]] = {}
    collect_ids([{"id": 41, "name": "x"}, {"thing_id": 42}], seen)
    req = build_request(doc, op, seen)
    assert req is not None
    path, query, notes = req
    assert path == "/things/42/a/2024-01-01"
    assert query == {"q": "hello"}
    assert any("seen" in n for n in notes)


def test_required_header_parameter_cannot_be_filled() -> None:
    doc = _doc(
        paths={
            "/h": {
                "get": {
                    "parameters": [{"name": "X-Tenant", "in": "header", "required": True}],
                    "responses": {"200": {}},
                }
            }
        }
    )
    assert build_request(doc, doc.operations[0], {}) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "status": "ok",
                "checks": {"database": {"status": "ok"}, "redis": {"status": "error"}},
            },
            {"database": ("database", "ok"), "redis": ("redis", "down")},
        ),
        (
            {
                "status": "UP",
                "components": {"db": {"status": "UP"}, "llm_provider": {"status": "DOWN"}},
            },
            {"db": ("database", "ok"), "llm_provider": ("llm", "down")},
        ),
        (
            {"status": "ok", "db": "up", "cache": "skipped"},
            {"db": ("database", "ok"), "cache": ("redis", "neutral")},
        ),
        ({"status": "ok", "checks": {}}, {}),
        ("garbage", {}),
    ],
)
def test_dependency_states(body: Any, expected: dict[str, tuple[str, str]]) -> None:
    assert dependency_states(body) == expected


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([], 95) == 0
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"choices": [{"message": {"role": "assistant", "content": " four "}}]}, "four"),
        ({"reply": "4", "model": "m"}, "4"),
        ({"output": {"text": "four"}}, "four"),
        ({"unrelated": 1}, ""),
    ],
)
def test_answer_shapes(body: Any, text: str) -> None:
    assert answer_text(_ex(body)) == text


def test_llm_payload_follows_the_schema() -> None:
    chat = LlmEndpoint(
        "POST",
        "/chat",
        True,
        {
            "type": "object",
            "properties": {"messages": {"type": "array"}, "stream": {"type": "boolean"}},
        },
        None,
    )
    assert chat.payload("hi", stream=False) == {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    gen = LlmEndpoint(
        "POST",
        "/gen",
        True,
        {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}},
        None,
    )
    assert gen.payload("hi", stream=True) == {"prompt": "hi"}
    assert not gen.supports_stream


def _jwt(claims: dict[str, Any]) -> str:
    def enc(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJlc2ln"


def test_jwt_lifetime_for_short_lived_tokens() -> None:
    assert jwt_lifetime(_jwt({"iat": 1000, "exp": 1005})) == 5.0
    assert jwt_lifetime(_jwt({"sub": "1"})) is None
    assert jwt_lifetime("opaque-token") is None
