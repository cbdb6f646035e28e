"""openapi.py on hostile documents: a YAML alias bomb or a ``$ref`` expansion bomb (from a file
or served by a live target) is refused with an error naming the document, within normal time,
and the checks that needed the document are ERROR (not verified), never a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import audit_target, result
from servers.serving import serve_app
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from prodaudit.errors import InputError
from prodaudit.model import Status
from prodaudit.openapi import OpenAPIError, load_text


def alias_bomb_openapi() -> str:
    """A ~1 KB OpenAPI document whose parameter schema expands to 9**9 nodes through aliases."""
    levels = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for ch in "bcdefghi":
        levels.append(f"  {ch}: &{ch} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = ch
    return textwrap.dedent("""\
        openapi: 3.0.3
        info: {title: bomb, version: "1"}
        x-bomb:
        """) + "\n".join(levels) + textwrap.dedent("""
        paths:
          /items:
            get:
              parameters:
                - {name: q, in: query, schema: {enum: *i}}
              responses: {"200": {description: ok}}
        """)


def ref_bomb_openapi(width: int = 10, depth: int = 9) -> str:
    """A JSON OpenAPI document (no YAML aliases) whose ``$ref`` chain expands to width**depth."""
    schemas: dict[str, object] = {f"L{depth}": {"type": "string"}}
    for level in range(depth - 1, -1, -1):
        schemas[f"L{level}"] = {"type": "object", "properties": {
            f"p{i}": {"$ref": f"#/components/schemas/L{level + 1}"} for i in range(width)}}
    return json.dumps({
        "openapi": "3.0.3", "info": {"title": "refs", "version": "1"},
        "components": {"schemas": schemas},
        "paths": {"/items": {"post": {
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/L0"}}}},
            "responses": {"200": {"description": "ok"}}}}},
    })


def test_alias_bomb_is_refused_naming_the_source() -> None:
    text = alias_bomb_openapi()
    assert len(text.encode()) < 1500
    with pytest.raises(InputError, match="expands to more than .* nodes") as err:
        load_text(text, "spec/openapi.yaml")
    assert err.value.source == "spec/openapi.yaml"


def test_ref_expansion_bomb_is_refused_naming_the_source() -> None:
    with pytest.raises(InputError, match=r"\$ref expansion exceeds") as err:
        load_text(ref_bomb_openapi(), "http://127.0.0.1:1/openapi.json")
    assert err.value.source == "http://127.0.0.1:1/openapi.json"


def test_a_small_ref_graph_still_resolves() -> None:
    doc = load_text(ref_bomb_openapi(width=3, depth=3), "ok.json")
    [op] = doc.operations
    assert op.request_body is not None
    schema = op.request_body["content"]["application/json"]["schema"]
    assert schema["properties"]["p0"]["properties"]["p2"]["properties"]["p1"] == {"type": "string"}


def test_garbage_is_not_an_openapi_document() -> None:
    with pytest.raises(OpenAPIError, match="neither JSON nor YAML"):
        load_text("{ this: [is, not", "x.yaml")


def _hostile_app(body: str, media: str) -> Starlette:
    async def spec(request: object) -> Response:
        return Response(body, media_type=media)

    async def health(request: object) -> Response:
        return JSONResponse({"status": "ok"})

    async def missing(request: object) -> Response:
        return PlainTextResponse("not found", status_code=404)

    return Starlette(routes=[Route("/openapi.yaml", spec), Route("/health", health),
                             Route("/openapi.json", missing)])


@pytest.mark.parametrize("kind", ["alias", "ref"])
def test_hostile_document_from_a_live_target_is_an_error_naming_it(tmp_path: Path, kind: str) -> None:
    body = alias_bomb_openapi() if kind == "alias" else ref_bomb_openapi()
    with serve_app(_hostile_app(body, "application/yaml")) as url:
        run = audit_target(None, tmp_path, suites=["functional"], only=["FUN-010"], base_url=url,
                           request_timeout=5.0, check_timeout=60.0)
    r = result(run, "FUN-010")
    assert r.status is Status.ERROR, r
    assert f"{url}/openapi.yaml" in r.reason, r.reason
    assert ("alias expansion bomb" if kind == "alias" else "$ref expansion") in r.reason, r.reason


def test_openapi_file_option_with_an_alias_bomb_ends_with_an_error(tmp_path: Path) -> None:
    bomb = tmp_path / "openapi.yaml"
    bomb.write_text(alias_bomb_openapi())
    with serve_app(_hostile_app("{}", "application/json")) as url:
        proc = subprocess.run(
            [sys.executable, "-m", "prodaudit.cli", "run", "--suite", "functional", "--only",
             "FUN-010", "--base-url", url, "--openapi", str(bomb), "--output",
             str(tmp_path / "reports"), "-q"],
            capture_output=True, text=True, timeout=300)
    data = json.loads((tmp_path / "reports" / "latest" / "audit.json").read_text())
    [r] = [r for r in data["results"] if r["id"] == "FUN-010"]
    assert r["status"] == "error" and str(bomb) in r["reason"], (r, proc.stderr[-2000:])
    assert proc.returncode == data["exit_code"]
