"""RDY-086: page sizes a client sets are capped — FastAPI parameters, query-string reads of
Flask/Django handlers, DRF paginators and their default; the reference target's bounded
``limit`` passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdy_helpers import assert_status, messages, problem_locs, run_rdy, write, write_repo

from prodaudit.model import Status

FASTAPI = '''\
from fastapi import APIRouter, Depends, Query

router = APIRouter()


@router.get("/items")
def list_items(db=Depends(get_db), skip: int = 0, {param}):
    return db.query(Item).offset(skip).limit(limit).all()
'''


def _fastapi(tmp_path: Path, param: str, body: str = "") -> Path:
    text = FASTAPI.replace("{param}", param)
    if body:
        text = text.replace("    return db.query", body + "    return db.query")
    return write_repo(tmp_path, {"app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
                                 "app/items.py": text})


def test_fastapi_limit_without_a_bound_fails_at_the_parameter(tmp_path: Path) -> None:
    r = run_rdy("RDY-086", repo=_fastapi(tmp_path, "limit: int = 100"))["RDY-086"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app/items.py:7"}
    assert "parameter limit of GET /items (list_items) has no upper bound" in messages(r)


@pytest.mark.parametrize(("param", "body", "said"), [
    ("limit: int = Query(100, ge=1, le=500)", "", "Query(le=500)"),
    ("limit: Annotated[int, Query(ge=1, le=100)] = 50", "", "Query(le=100)"),
    ("limit: conint(ge=1, lt=101) = 10", "", "conint(lt=101)"),
    ("limit: Literal[10, 50] = 10", "", "Literal[10, 50]"),
    ("limit: int = 100", "    limit = min(limit, 200)\n", "min(...) at line 8"),
    ("limit: int = 100", "    if limit > 200:\n        raise HTTPException(400)\n",
     "comparison at line 8"),
])
def test_fastapi_bounded_limits_pass(tmp_path: Path, param: str, body: str, said: str) -> None:
    r = run_rdy("RDY-086", repo=_fastapi(tmp_path, param, body))["RDY-086"]
    assert_status(r, Status.PASS)
    assert "1 page size(s) capped" in messages(r) and said in messages(r), messages(r)


def test_parameters_that_are_no_page_size_are_not_judged(tmp_path: Path) -> None:
    # a path parameter named size, and a limit that never reaches a call or a slice
    text = ('from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n'
            '@router.get("/shirts/{size}")\ndef shirt(size: int, limit: int = 5):\n'
            '    return {"size": size, "limit": limit}\n')
    repo = write_repo(tmp_path, {"app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                                 "app/shirts.py": text})
    r = run_rdy("RDY-086", repo=repo)["RDY-086"]
    assert_status(r, Status.SKIP)
    assert "no route takes a page size" in r.reason


FLASK = '''\
from flask import Blueprint, request

bp = Blueprint("posts", __name__)


@bp.route("/posts")
def posts():
    page = request.args.get("page", 1, type=int)
    {read}
    return Post.query.paginate(page=page, per_page=per_page)
'''


@pytest.mark.parametrize(("read", "status"), [
    ('per_page = request.args.get("per_page", 20, type=int)', Status.FAIL),
    ('per_page = min(request.args.get("per_page", 20, type=int), 100)', Status.PASS),
    ('per_page = request.args.get("per_page", 20, type=int)\n'
     '    per_page = min(per_page, 100)', Status.PASS),
])
def test_flask_query_string_page_size(tmp_path: Path, read: str, status: Status) -> None:
    repo = write_repo(tmp_path, {"app/posts.py": FLASK.replace("{read}", read)})
    r = run_rdy("RDY-086", repo=repo)["RDY-086"]
    assert_status(r, status)
    if status is Status.FAIL:
        assert problem_locs(r) == {"app/posts.py:9"}
        assert "query parameter 'per_page' read by GET /posts (posts)" in messages(r)
    else:
        assert "min(...)" in messages(r)


DRF_SETTINGS = '''\
INSTALLED_APPS = ["rest_framework"]
ROOT_URLCONF = "config.urls"
REST_FRAMEWORK = {
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.%s",
    "PAGE_SIZE": 20,
}
'''


@pytest.mark.parametrize(("paginator", "status"), [
    ("LimitOffsetPagination", Status.FAIL),  # ?limit= with no max_limit
    ("PageNumberPagination", Status.SKIP),  # the client cannot choose the size
])
def test_drf_default_pagination_class(tmp_path: Path, paginator: str, status: Status) -> None:
    write(tmp_path / "config" / "settings.py", DRF_SETTINGS % paginator)
    r = run_rdy("RDY-086", repo=tmp_path)["RDY-086"]
    assert_status(r, status)
    if status is Status.FAIL:
        assert problem_locs(r) == {"config/settings.py:4"}
        assert "DEFAULT_PAGINATION_CLASS LimitOffsetPagination" in messages(r)


PAGINATION = '''\
from rest_framework.pagination import LimitOffsetPagination as _LimitOffsetPagination
from rest_framework.pagination import PageNumberPagination


class LimitOffsetPagination(_LimitOffsetPagination):
    default_limit = 10
    {cap}


class SizedPages(PageNumberPagination):
    page_size_query_param = "page_size"
    {page_cap}
'''

VIEWS = '''\
from rest_framework.views import APIView

from app.pagination import LimitOffsetPagination


class UserListApi(APIView):
    class Pagination(LimitOffsetPagination):
        default_limit = 1
'''


def test_drf_paginator_chains_through_the_projects_classes(tmp_path: Path) -> None:
    files = {"app/views.py": VIEWS,
             "app/pagination.py": PAGINATION.replace("{cap}", "").replace("{page_cap}", "")}
    r = run_rdy("RDY-086", repo=write_repo(tmp_path / "a", files))["RDY-086"]
    assert_status(r, Status.FAIL)
    # the project's class named like DRF's, the view's paginator deriving from it, and the
    # page-number paginator that lets the client choose page_size
    assert problem_locs(r) == {"app/pagination.py:5", "app/views.py:7", "app/pagination.py:10"}
    capped = {**files, "app/pagination.py": PAGINATION.replace("{cap}", "max_limit = 50")
              .replace("{page_cap}", "max_page_size = 100")}
    r = run_rdy("RDY-086", repo=write_repo(tmp_path / "b", capped))["RDY-086"]
    assert_status(r, Status.PASS)
    assert "3 page size(s) capped" in messages(r) and "max_limit = 50" in messages(r)
    assert "max_page_size = 100" in messages(r)


def test_a_view_naming_drfs_own_paginator(tmp_path: Path) -> None:
    view = ("from rest_framework import generics\n"
            "from rest_framework.pagination import LimitOffsetPagination\n\n\n"
            "class Users(generics.ListAPIView):\n"
            "    pagination_class = LimitOffsetPagination\n")
    r = run_rdy("RDY-086", repo=write_repo(tmp_path, {"app/views.py": view}))["RDY-086"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app/views.py:6"}


def test_broken_modules_do_not_stop_the_check(tmp_path: Path) -> None:
    repo = _fastapi(tmp_path, "limit: int = 100")
    write(repo / "app" / "broken.py", "def f(:\n")
    r = run_rdy("RDY-086", repo=repo)["RDY-086"]
    assert_status(r, Status.FAIL)
    assert problem_locs(r) == {"app/items.py:7"}


def test_reference_target_caps_its_limits() -> None:
    r = run_rdy("RDY-086")["RDY-086"]
    assert_status(r, Status.PASS)
    assert "Query(le=100)" in messages(r), messages(r)
