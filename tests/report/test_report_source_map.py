"""The source map finds the handler of a live finding in real route code (FastAPI with router
prefixes, Flask blueprints, aiohttp, Django), through the OpenAPI operation when there is one, and
anchors findings without a file at the audit's configuration."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from github_sarif import github_problems

from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status
from prodaudit.report import write_reports
from prodaudit.report.source_map import build_source_map, scan_routes, template_regex

FASTAPI_MAIN = """
from fastapi import FastAPI
from app.routers import items, users

app = FastAPI()
app.include_router(items.router, prefix="/api")
app.include_router(users.router)
"""
FASTAPI_ITEMS = """
from fastapi import APIRouter

router = APIRouter(prefix="/items")


@router.get("/{item_id}")
async def read_item(item_id: int):
    return {}


@router.delete("/{item_id}")
async def delete_item(item_id: int):
    return None
"""
FASTAPI_USERS = """
from fastapi import APIRouter

router = APIRouter(prefix="/users")


@router.get("/me")
def me():
    return {}


@router.get("/{user_id}")
def user(user_id: int):
    return {}
"""
FLASK_APP = """
from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/stats", methods=["GET", "POST"])
def stats():
    return "ok"


@bp.get("/users/<int:uid>")
def admin_user(uid):
    return "ok"
"""
AIOHTTP_APP = """
from aiohttp import web


async def health(request):
    return web.Response(text="ok")

app = web.Application()
app.router.add_get("/health", health)
"""
DJANGO_URLS = """
from django.urls import include, path
from . import views

urlpatterns = [
    path("reports/<slug:name>/", views.report),
    path("api/", include("api.urls")),
]
"""


def _repo(tmp_path: Path) -> Path:
    files = {
        "app/main.py": FASTAPI_MAIN,
        "app/routers/items.py": FASTAPI_ITEMS,
        "app/routers/users.py": FASTAPI_USERS,
        "admin/views.py": FLASK_APP,
        "svc/server.py": AIOHTTP_APP,
        "site/urls.py": DJANGO_URLS,
        "tests/test_api.py": '@router.get("/users/me")\ndef fake():\n    pass\n',
        "docker-compose.yml": "services: {}\n",
        "prodaudit.toml": 'profile = "production"\n',
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def _run(repo: Path, *locations: str, facts: dict | None = None) -> AuditRun:
    results = tuple(
        CheckResult(
            id=f"SEC-0{i:02d}",
            suite="security",
            title=f"check {i}",
            severity=Severity.HIGH,
            status=Status.FAIL,
            findings=(Finding(Status.FAIL, f"problem at {loc}", loc),),
        )
        for i, loc in enumerate(locations)
    )
    from prodaudit.gate import decide

    return AuditRun(
        run_id="r1",
        target={"repo": str(repo), "compose_files": [str(repo / "docker-compose.yml")], "env_file": None},
        profile="production",
        tool_version="0.1.0",
        config_digest="x",
        started_at="2026-11-20T10:15:00+00:00",
        finished_at="2026-11-20T10:16:00+00:00",
        results=results,
        decision=decide(results, "production"),
        facts=facts or {},
    )


def test_routes_of_every_framework(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    from prodaudit.files import FileIndex

    routes = {(r.methods, r.path, r.file, r.func) for r in scan_routes(repo, FileIndex.build(repo).files)}
    assert (("GET",), "/api/items/{item_id}", "app/routers/items.py", "read_item") in routes
    assert (("GET",), "/users/me", "app/routers/users.py", "me") in routes
    assert (("GET", "POST"), "/admin/stats", "admin/views.py", "stats") in routes
    assert (("GET",), "/admin/users/<int:uid>", "admin/views.py", "admin_user") in routes
    assert (("GET",), "/health", "svc/server.py", "health") in routes
    assert ((), "/reports/<slug:name>/", "site/urls.py", "views.report") in routes
    assert not any(r[2].startswith("tests/") for r in routes)  # test code is not the product


def test_template_regex() -> None:
    assert template_regex("/notes/{note_id}").match("/notes/7")
    assert not template_regex("/notes/{note_id}").match("/notes/7/edit")
    assert template_regex("/files/{p:path}").match("/files/a/b")
    assert template_regex("reports/<slug:name>/").match("/reports/q3")


def test_live_locations_resolve_to_handlers(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    run = _run(
        repo,
        "GET http://127.0.0.1:41234/api/items/42",
        "DELETE http://127.0.0.1:41234/api/items/42",
        "GET http://127.0.0.1:41234/users/me",  # literal beats /users/{user_id}
        "POST http://127.0.0.1:41234/admin/stats",
        "GET http://127.0.0.1:41234/nowhere",
    )
    smap = build_source_map(run)
    loc = smap["locations"]
    assert loc["GET http://127.0.0.1:41234/api/items/42"]["uri"] == "app/routers/items.py"
    assert loc["GET http://127.0.0.1:41234/api/items/42"]["line"] == 7  # the decorator
    assert loc["DELETE http://127.0.0.1:41234/api/items/42"]["line"] == 12
    assert loc["GET http://127.0.0.1:41234/users/me"]["line"] == 7
    assert "me" in loc["GET http://127.0.0.1:41234/users/me"]["why"]
    assert loc["POST http://127.0.0.1:41234/admin/stats"]["uri"] == "admin/views.py"
    assert "GET http://127.0.0.1:41234/nowhere" not in loc
    assert smap["anchors"]["config"] == {"uri": "prodaudit.toml", "why": "the audit's configuration file"}
    assert smap["anchors"]["deployment"]["uri"] == "docker-compose.yml"


def test_openapi_operation_id_names_the_handler(tmp_path: Path) -> None:
    """A path the code declares through an unknown mount: the OpenAPI operationId still finds it."""
    repo = _repo(tmp_path)
    ops = [
        {"method": "GET", "path": "/v2/things/{item_id}", "operation_id": "read_item_v2_things__item_id__get"}
    ]
    run = _run(repo, "GET http://127.0.0.1:41234/v2/things/9", facts={"operations": ops})
    hit = build_source_map(run)["locations"]["GET http://127.0.0.1:41234/v2/things/9"]
    assert hit["uri"] == "app/routers/items.py" and hit["line"] == 7
    assert "read_item" in hit["why"] and "OpenAPI operation" in hit["why"]


def test_written_sarif_points_at_handlers(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    run = _run(repo, "GET http://127.0.0.1:41234/users/me", "env DATABASE_URL")
    out = write_reports(run, tmp_path / "reports", ["sarif"])
    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert audit["extras"]["source_map"]["locations"]  # stored with the run
    doc = json.loads((out / "audit.sarif").read_text(encoding="utf-8"))
    assert github_problems(doc) == []
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
    ]
    assert uris == ["app/routers/users.py", "prodaudit.toml"]
    # re-rendering without the repository gives the same file (the map is in audit.json)
    moved = replace(run, target={**run.target, "repo": str(tmp_path / "gone")})
    assert build_source_map(moved) == {}


def test_django_include_prefixes_and_plain_url_regexes(tmp_path: Path) -> None:
    """``path("api/", include(("site.api.urls", "api")))`` chains to the included URL tables;
    ``url(r"^activities/$", view)`` with a plain regex is a route; a real regex is not."""
    files = {
        "config/urls.py": 'from django.urls import include, path\nurlpatterns = [\n'
                          '    path("api/", include(("site_app.api.urls", "api"))),\n]\n',
        "site_app/api/urls.py": 'from django.urls import include, path\nurlpatterns = [\n'
                                '    path("errors/", include(("site_app.errors.urls", "errors"))),\n'
                                '    url(r"^v1/", include("site_app.health.urls")),\n]\n',
        "site_app/errors/urls.py": 'from django.urls import path\nurlpatterns = [\n'
                                   '    path("trigger/exception/", TriggerApi.as_view()),\n]\n',
        "site_app/health/urls.py": 'urlpatterns = [\n    url(r"^activities/$", views.activity),\n'
                                   '    url(r"^(?P<pk>[0-9]+)/$", views.detail),\n]\n',
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    paths = {(r.path, r.file, r.line) for r in scan_routes(tmp_path, list(files))}
    assert ("/api/errors/trigger/exception/", "site_app/errors/urls.py", 3) in paths
    assert ("/api/v1/activities/", "site_app/health/urls.py", 2) in paths
    assert not any("pk" in p or "(" in p for p, _, _ in paths)
