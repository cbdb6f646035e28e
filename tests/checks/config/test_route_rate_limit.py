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
