"""An API laid out unlike the reference target (plain Starlette, OpenAPI 3.0 under /api/v1,
JSON login returning an opaque token used with the ``Token`` scheme, ``/whoami``, a generate
endpoint for the LLM). ``broken=True`` adds an operation whose body violates its schema and one
that crashes."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

USER = "audit@example.org"
PASSWORD = "correct-horse-battery-staple"
PREFIX = "/api/v1"

ITEM = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "note": {"type": "string", "nullable": True},
    },
}
ERR = {"description": "error", "content": {"application/json": {"schema": {"type": "object"}}}}


def spec(broken: bool) -> dict[str, Any]:
    def ok(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "ok", "content": {"application/json": {"schema": schema}}}

    paths: dict[str, Any] = {
        f"{PREFIX}/health": {"get": {"security": [], "responses": {"200": ok({"type": "object"})}}},
        f"{PREFIX}/auth/login": {
            "post": {
                "security": [],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["email", "password"],
                                "properties": {
                                    "email": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": ok({"type": "object"}), "401": ERR},
            }
        },
        f"{PREFIX}/whoami": {"get": {"responses": {"200": ok({"type": "object"}), "401": ERR}}},
        f"{PREFIX}/items": {
            "get": {
                "responses": {
                    "200": ok({"type": "array", "items": {"$ref": "#/components/schemas/Item"}}),
                    "401": ERR,
                }
            }
        },
        f"{PREFIX}/items/{{item_id}}": {
            "get": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": ok({"$ref": "#/components/schemas/Item"}),
                    "401": ERR,
                    "404": ERR,
                },
            }
        },
        f"{PREFIX}/ai/generate": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["prompt"],
                                "properties": {"prompt": {"type": "string", "maxLength": 2000}},
                            }
                        }
                    }
                },
                "responses": {"200": ok({"type": "object"}), "401": ERR, "422": ERR},
            }
        },
    }
    if broken:
        paths[f"{PREFIX}/broken"] = {
            "get": {"responses": {"200": ok({"$ref": "#/components/schemas/Item"}), "401": ERR}}
        }
        paths[f"{PREFIX}/crash"] = {"get": {"security": [], "responses": {"200": ok({})}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "other layout", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {"Item": ITEM},
            "securitySchemes": {
                "tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
        },
        "security": [{"tokenAuth": []}],
    }


def make_app(broken: bool = False) -> Starlette:
    tokens: set[str] = set()

    def authed(request: Request) -> bool:
        scheme, _, tok = request.headers.get("authorization", "").partition(" ")
        return scheme == "Token" and tok in tokens

    def denied() -> JSONResponse:
        return JSONResponse({"error": "authentication required"}, 401)

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec(broken))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "db": "up"})

    async def login(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "json expected"}, 400)
        if body.get("email") != USER or body.get("password") != PASSWORD:
            return JSONResponse({"error": "invalid credentials"}, 401)
        tok = secrets.token_hex(20)
        tokens.add(tok)
        return JSONResponse({"token": tok})

    async def whoami(request: Request) -> Response:
        return JSONResponse({"id": 7, "email": USER}) if authed(request) else denied()

    async def items(request: Request) -> Response:
        if not authed(request):
            return denied()
        return JSONResponse([{"id": 3, "name": "three", "note": None}])

    async def item(request: Request) -> Response:
        if not authed(request):
            return denied()
        if request.path_params["item_id"] != "3":
            return JSONResponse({"error": "not found"}, 404)
        return JSONResponse({"id": 3, "name": "three", "note": None})

    async def generate(request: Request) -> Response:
        if not authed(request):
            return denied()
        body = await request.json()
        prompt = str(body.get("prompt", ""))
        if len(prompt) > 2000:
            return JSONResponse({"error": "prompt too long"}, 422)
        return JSONResponse({"output": f"four ({len(prompt)} characters read)"})

    async def broken_op(request: Request) -> Response:
        if not authed(request):
            return denied()
        return JSONResponse({"id": "not-a-number", "name": "x"})

    async def crash(request: Request) -> Response:
        return Response("Internal Server Error", 500, media_type="text/plain")

    routes = [
        Route(f"{PREFIX}/openapi.json", openapi),
        Route(f"{PREFIX}/health", health),
        Route(f"{PREFIX}/auth/login", login, methods=["POST"]),
        Route(f"{PREFIX}/whoami", whoami),
        Route(f"{PREFIX}/items", items),
        Route(f"{PREFIX}/items/{{item_id}}", item),
        Route(f"{PREFIX}/ai/generate", generate, methods=["POST"]),
    ]
    if broken:
        routes += [Route(f"{PREFIX}/broken", broken_op), Route(f"{PREFIX}/crash", crash)]
    return Starlette(routes=routes)
