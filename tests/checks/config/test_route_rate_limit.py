"""CFG-176: login, sign-up and LLM routes in an application without any rate limiter (small
repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import res, run_cfg

from prodaudit.model import Status

APP = '''\
from fastapi import APIRouter
from openai import AsyncOpenAI

router = APIRouter()
client = AsyncOpenAI()


@router.get("/items")
async def items():
    return []


@router.post("/chat")
async def chat(req: ChatRequest):
    return await client.chat.completions.create(model="m", messages=req.messages)
'''
FLASK = '''\
from flask import Flask, request

app = Flask(__name__)


@app.route("/login", methods=["GET", "POST"])
def login():
    return check(request.form["username"], request.form["password"])


@app.route("/logout")
def logout():
    return ""
'''
LIMITED = '''\
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
'''


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return repo


def _run(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    return res(run_cfg(_repo(tmp_path, files), tmp_path, only=["CFG-176"]), "CFG-176")


def test_llm_and_login_routes_without_any_limiter_fail_at_the_route(tmp_path: Path) -> None:
    r = _run(tmp_path, {"api/chat.py": APP, "web/views.py": FLASK,
                        "requirements.txt": "fastapi\nflask\n",
                        "tests/test_limits.py": "# rate_limit tests do not count\n"})
    assert r.status is Status.FAIL
    locs = sorted(f.location for f in r.findings if f.status is Status.FAIL)
    assert locs == ["api/chat.py:14", "web/views.py:7"], locs
    text = " ".join(f.message for f in r.findings)
    assert "POST /chat (chat)" in text and "calls an LLM" in text
    assert "logout" not in text


def test_a_limiter_in_code_or_proxy_config_passes(tmp_path: Path) -> None:
    r = _run(tmp_path, {"api/chat.py": APP, "api/limits.py": LIMITED})
    assert r.status is Status.PASS, r.findings
    assert "api/limits.py:1" in r.findings[0].message
    nginx = "http {\n  limit_req_zone $binary_remote_addr zone=login:10m rate=5r/m;\n}\n"
    r = _run(tmp_path / "b", {"web/views.py": FLASK, "deploy/nginx.conf": nginx})
    assert r.status is Status.PASS, r.findings


def test_a_limiter_mentioned_only_in_a_comment_does_not_count(tmp_path: Path) -> None:
    r = _run(tmp_path, {"web/views.py": "# TODO: add a rate limit\n" + FLASK})
    assert r.status is Status.FAIL


def test_an_application_without_costly_routes_skips(tmp_path: Path) -> None:
    r = _run(tmp_path, {"web/views.py": FLASK.split("@app.route(\"/login\"")[0]
                        + '@app.route("/items")\ndef items():\n    return ""\n'})
    assert r.status is Status.SKIP


PER_ROUTE = '''\
from fastapi import APIRouter, Body, Depends
from fastapi_limiter.depends import RateLimiter

router = APIRouter()


@router.post("/predict", dependencies=[Depends(RateLimiter(times=10, hours=24))])
async def predict(prompt: str = "x"):
    return {}


@router.post("/login")
async def login(email: str = Body(...), password: str = Body(...)):
    return {}


@router.post("/signup")
async def signup(email: str = Body(...), limit: None = Depends(RateLimiter(times=5, minutes=1))):
    return {}
'''
APP_INIT = '''\
from fastapi import FastAPI
from fastapi_limiter import FastAPILimiter

app = FastAPI()


async def startup():
    await FastAPILimiter.init(redis)
'''


def test_costly_routes_without_the_per_route_limiter_others_carry_fail(tmp_path: Path) -> None:
    r = _run(tmp_path, {"api/routes.py": PER_ROUTE, "api/main.py": APP_INIT,
                        "pyproject.toml": '[project]\ndependencies = ["fastapi-limiter"]\n'})
    assert r.status is Status.FAIL, r.findings
    (f,) = [f for f in r.findings if f.status is Status.FAIL]
    assert f.location == "api/routes.py:13", f.location
    assert "POST /login (login)" in f.message and "limits rates per route" in f.message
    assert "signup" not in f.message and "api/routes.py:8" in f.message


def test_per_route_limits_on_every_costly_route_or_a_router_limit_pass(tmp_path: Path) -> None:
    every = PER_ROUTE.replace('@router.post("/login")',
                              '@router.post("/login", dependencies=[Depends(RateLimiter(times=5))])')
    r = _run(tmp_path, {"api/routes.py": every, "api/main.py": APP_INIT})
    assert r.status is Status.PASS, r.findings
    assert "carries its own limiter" in r.findings[0].message
    router_wide = PER_ROUTE.replace(
        "router = APIRouter()", "router = APIRouter(dependencies=[Depends(RateLimiter(times=99))])")
    r = _run(tmp_path / "b", {"api/routes.py": router_wide, "api/main.py": APP_INIT})
    assert r.status is Status.PASS, r.findings
    assert "api/routes.py:4 (APIRouter(dependencies=...))" in r.findings[0].message
    middleware = APP_INIT + ('\n\n@app.middleware("http")\nasync def rate_limit(request, call_next):\n'
                             '    return await call_next(request)\n')
    r = _run(tmp_path / "c", {"api/routes.py": PER_ROUTE, "api/main.py": middleware})
    assert r.status is Status.PASS, r.findings
    assert "api/main.py:" in r.findings[0].message


def test_routes_are_named_at_the_path_their_router_is_mounted_at(tmp_path: Path) -> None:
    """``include_router(auth.router, prefix="/users")``: the finding names ``POST /users/login``
    and ``POST /users`` (the sign-up route declared as ``""``), not ``POST /login`` and ``POST``."""
    r = _run(tmp_path, {
        "app/routes/auth.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
                               "@router.post('/login')\nasync def login(password: str):\n"
                               "    return {}\n\n\n@router.post('')\nasync def register(user: "
                               "UserInCreate):\n    return {}\n"),
        "app/routes/api.py": ("from fastapi import APIRouter\n\nfrom app.routes import auth\n\n"
                              "router = APIRouter()\n"
                              "router.include_router(auth.router, prefix='/users')\n")})
    assert r.status is Status.FAIL
    text = " ".join(f.message for f in r.findings)
    assert "POST /users/login (login)" in text and "POST /users (register)" in text, text


HELPER = '''\
import httpx


async def answer(prompt: str) -> str:
    url = "https://api.example-llm.test/v1/chat/completions"
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", url, json={"prompt": prompt}) as r:
            return await r.aread()
'''
ROUTES = '''\
from fastapi import APIRouter

from app.llm import answer

router = APIRouter()


@router.get("/rooms")
async def rooms():
    return []


@router.post("/rooms/{room_id}/notes")
async def add_note(room_id: int, payload: dict):
    async def events():
        yield await answer(payload["text"])
    return events()
'''


def test_llm_route_through_a_helper_module_is_costly(tmp_path: Path) -> None:
    """The route's nested generator calls a helper that streams from an LLM provider's URL:
    the route costs money per request, and nothing limits it."""
    r = _run(tmp_path, {"app/llm.py": HELPER, "app/rooms.py": ROUTES})
    assert r.status is Status.FAIL, r.findings
    assert [f.location for f in r.findings] == ["app/rooms.py:14"]
    assert "calls an LLM: answer()" in r.findings[0].message
    assert "/rooms (rooms)" not in r.findings[0].message
    r = _run(tmp_path / "b", {"app/llm.py": HELPER, "app/rooms.py": ROUTES,
                              "app/limits.py": LIMITED})
    assert r.status is Status.PASS, r.findings
    other = HELPER.replace("api.example-llm.test/v1/chat/completions", "maps.example.test/v1/geo")
    assert _run(tmp_path / "c", {"app/llm.py": other, "app/rooms.py": ROUTES}).status \
        is Status.SKIP
