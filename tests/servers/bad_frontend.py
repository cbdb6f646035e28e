"""A broken static frontend: the bundle points at localhost, one script is missing, the
stylesheet is served as text/plain, and deep links are 404 (no SPA fallback)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

INDEX = """<!doctype html><html><head><title>bad</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
<script src="/assets/missing-123.js" defer></script>
</head><body><div id="root"></div></body></html>"""
APP_JS = """const API_URL = "http://localhost:8000";
fetch(API_URL + "/notes", {method: "POST", headers: {"Content-Type": "application/json",
  "Authorization": "Bearer x"}});"""


def make_app() -> Starlette:
    async def index(request: Request) -> Response:
        return HTMLResponse(INDEX)

    async def app_js(request: Request) -> Response:
        return Response(APP_JS, media_type="text/javascript")

    async def app_css(request: Request) -> Response:
        return PlainTextResponse("body { color: red }")

    async def missing(request: Request) -> Response:
        return PlainTextResponse("Not Found", 404)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/assets/app.js", app_js),
            Route("/assets/app.css", app_css),
            Route("/{path:path}", missing),
        ]
    )
