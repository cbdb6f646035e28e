"""CFG-178: error handlers that answer with the response builder's default status 200 (small
repositories in tmp_path, one per framework shape)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

FLASK = '''\
from flask import Flask, jsonify, render_template

app = Flask(__name__)


@app.errorhandler(404)
def not_found(error):
    return render_template("404.html")


@app.errorhandler(500)
def server_error(error):
    return render_template("500.html"), 500


def forbidden(error):
    return jsonify(message="forbidden")


app.register_error_handler(403, forbidden)
'''

AIOHTTP = '''\
from aiohttp import web
from aiohttp_jinja2 import render_template


def error_pages(overrides):
    @web.middleware
    async def middleware(request, handler):
        try:
            return await handler(request)
        except web.HTTPException as ex:
            override = overrides.get(ex.status)
            if override is None:
                raise
            return await override(request, ex)
    return middleware


async def handle_40x(request, exc):
    response = render_template("errors/40x.jinja2", request, {"error": exc})
    return response


async def handle_50x(request, exc):
    return render_template("errors/50x.jinja2", request, {}, status=exc.status)


error_middleware = error_pages({x: handle_40x if x < 500 else handle_50x
                                for x in range(401, 600)})
'''

STARLETTE = '''\
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates

templates = Jinja2Templates("templates")


async def not_found(request, exc):
    return templates.TemplateResponse("404.html", {"request": request})


async def boom(request, exc):
    resp = JSONResponse({"detail": "internal error"})
    resp.status_code = 500
    return resp


app = FastAPI(exception_handlers={404: not_found, 500: boom})
'''

DJANGO = '''\
from django.shortcuts import render


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html")
'''


def test_flask_handlers_without_a_status_fail_at_the_response(tmp_path: Path) -> None:
    r = res(run_cfg(repo_of(tmp_path, {"app.py": FLASK}), tmp_path, only=["CFG-178"]), "CFG-178")
    found = problems(r)
    assert set(found) == {"app.py:8", "app.py:17"}, describe(r)
    assert "not_found" in found["app.py:8"] and "render_template" in found["app.py:8"]
    assert "register_error_handler" in found["app.py:17"]


def test_a_mapping_of_error_statuses_given_to_a_middleware(tmp_path: Path) -> None:
    r = res(run_cfg(repo_of(tmp_path, {"app/middlewares.py": AIOHTTP}), tmp_path,
                    only=["CFG-178"]), "CFG-178")
    assert list(problems(r)) == ["app/middlewares.py:19"], describe(r)


def test_starlette_and_django_handlers(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"api/main.py": STARLETTE, "site/views.py": DJANGO,
                              "site/urls.py": "handler404 = 'site.views.page_not_found'\n"
                                              "handler500 = 'site.views.server_error'\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-178"]), "CFG-178")
    assert set(problems(r)) == {"api/main.py:9", "site/views.py:9"}, describe(r)


def test_handlers_with_their_status_pass_and_none_is_skip(tmp_path: Path) -> None:
    ok = FLASK.replace('render_template("404.html")', 'render_template("404.html"), 404') \
        .replace('jsonify(message="forbidden")', 'jsonify(message="forbidden"), 403')
    r = res(run_cfg(repo_of(tmp_path, {"app.py": ok}), tmp_path, only=["CFG-178"]), "CFG-178")
    assert r.status is Status.PASS, describe(r)
    assert "3 error handler(s)" in r.findings[0].message
    none = res(run_cfg(repo_of(tmp_path, {"app.py": "print('hi')\n", "bad.py": "def f(:\n"},
                               "none"), tmp_path, only=["CFG-178"]), "CFG-178")
    assert none.status is Status.SKIP and "no error handler" in none.reason, describe(none)


FLASK_CALLED = '''\
from flask import render_template


def register_errorhandlers(app, blueprint):

    def errorhandler(error):
        response = error.to_json()
        response.status_code = error.status_code
        return response

    def not_found(error):
        return render_template("404.html")

    app.errorhandler(InvalidUsage)(errorhandler)
    blueprint.app_errorhandler(404)(not_found)
'''


def test_decorators_called_by_hand_register_handlers(tmp_path: Path) -> None:
    # app.errorhandler(E)(fn): the registered function is judged like a decorated one
    r = res(run_cfg(repo_of(tmp_path, {"conduit/app.py": FLASK_CALLED}), tmp_path,
                    only=["CFG-178"]), "CFG-178")
    found = problems(r)
    assert set(found) == {"conduit/app.py:12"}, describe(r)
    assert "not_found (blueprint.app_errorhandler(404)(...))" in found["conduit/app.py:12"]
    ok = FLASK_CALLED.replace('render_template("404.html")', 'render_template("404.html"), 404')
    r = res(run_cfg(repo_of(tmp_path, {"conduit/app.py": ok}, "ok"), tmp_path,
                    only=["CFG-178"]), "CFG-178")
    assert r.status is Status.PASS, describe(r)
    assert "2 error handler(s)" in r.findings[0].message
    assert "errorhandler (conduit/app.py:6" in r.findings[0].message, describe(r)
