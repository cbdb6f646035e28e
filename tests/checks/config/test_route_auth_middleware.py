"""CFG-170/CFG-177 (and RDY-006): an authentication middleware that only attaches the caller to
``request.state`` guards nothing; a check of that attached caller in the handler does; a paid
model reached through the project's own functions; a route that signs a token for an identity
written in its code (small FastAPI repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from helpers import audit_target
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

MAIN = '''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from middleware.auth import AuthMiddleware
from routers import auth, documents, qa

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
app.add_middleware(AuthMiddleware)
app.include_router(auth.router, prefix="/auth")
app.include_router(documents.router, prefix="/documents")
app.include_router(qa.router, prefix="/qa")
'''
#: attaches the caller and passes every request on
ATTACHING = '''\
from starlette.middleware.base import BaseHTTPMiddleware
from security import decode_access_token


class AuthMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        request.state.user = None
        header = request.headers.get("Authorization")
        if header and header.startswith("Bearer "):
            payload = decode_access_token(header.split(" ")[1])
            if payload:
                request.state.user = payload
        return await call_next(request)
'''
#: turns requests without a valid token away
REFUSING = '''\
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse
from security import decode_access_token


class AuthMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        payload = decode_access_token(request.headers.get("Authorization", "")[7:])
        if payload is None and request.url.path not in ("/auth/login", "/auth/register"):
            return JSONResponse({"detail": "not authenticated"}, status_code=401)
        request.state.user = payload
        return await call_next(request)
'''
AUTH = '''\
from fastapi import APIRouter, HTTPException
from security import create_access_token, authenticate

router = APIRouter()


@router.post("/login")
async def login(form: LoginForm):
    user = await authenticate(form.username, form.password)
    if not user:
        raise HTTPException(status_code=401)
    return {"access_token": create_access_token({"sub": user.username, "id": user.id})}


@router.get("/test-token")
def generate_test_token():
    user_data = {"id": 1, "username": "demo_user"}
    return {"access_token": create_access_token(user_data)}
'''
AUTH_SAFE = AUTH[:AUTH.index('@router.get("/test-token")')]
DOCUMENTS = '''\
from fastapi import APIRouter, HTTPException, Request, UploadFile, File
from services.ingest import save_and_ingest_file

router = APIRouter()


@router.post("/upload")
async def upload(request: Request, file: UploadFile = File(...)):
    user = getattr(request.state, "user", None)
    if not user or "id" not in user:
        raise HTTPException(status_code=401)
    await save_and_ingest_file(file, user["id"])
    return {"ok": True}
'''
QA = '''\
from fastapi import APIRouter, Body
from services.qa_engine import get_answer

router = APIRouter()


@router.post("/")
async def ask(payload: dict = Body(...)):
    return {"answer": await get_answer(payload["question"])}
'''
QA_SAFE = QA.replace("async def ask(payload: dict = Body(...)):",
                     "async def ask(request: Request, payload: dict = Body(...)):\n"
                     "    if request.state.user is None:\n"
                     "        raise HTTPException(status_code=401)")
QA_ENGINE = '''\
from langchain.chains.question_answering import load_qa_chain
from langchain.llms import OpenAI


def _chain():
    return load_qa_chain(OpenAI(), chain_type="stuff")


async def get_answer(question: str) -> str:
    docs = search(question)
    chain = _chain()
    return chain.run(input_documents=docs, question=question)
'''
INGEST = '''\
async def save_and_ingest_file(file, user_id):
    with open(file.filename, "wb") as f:
        f.write(file.file.read())
'''


def _files(middleware: str = ATTACHING, auth: str = AUTH, qa: str = QA) -> dict[str, str]:
    return {"main.py": MAIN, "middleware/auth.py": middleware, "routers/auth.py": auth,
            "routers/documents.py": DOCUMENTS, "routers/qa.py": qa,
            "services/qa_engine.py": QA_ENGINE, "services/ingest.py": INGEST}


def _run(tmp_path: Path, files: dict[str, str], check: str, suite: str = "config") -> object:
    repo = repo_of(tmp_path, files)
    if suite == "config":
        return res(run_cfg(repo, tmp_path, only=[check]), check)
    return res(audit_target(None, tmp_path, suites=[suite], only=[check], repo=repo), check)


def test_attaching_middleware_guards_nothing_llm_route_through_a_service_fails(
        tmp_path: Path) -> None:
    r = _run(tmp_path, _files(), "CFG-170")
    found = problems(r)
    # the upload checks the caller the middleware attached; the Q&A route checks nobody and
    # reaches the model through get_answer() -> chain.run
    assert set(found) == {ln(QA, "async def ask", "routers/qa.py")}, describe(r)
    assert "get_answer() → chain.run" in found[ln(QA, "async def ask", "routers/qa.py")]


def test_refusing_middleware_or_a_checked_caller_passes(tmp_path: Path) -> None:
    r = _run(tmp_path, _files(middleware=REFUSING), "CFG-170")
    assert r.status is Status.PASS, describe(r)
    r = _run(tmp_path / "b", _files(qa=QA_SAFE), "CFG-170")
    assert r.status is Status.PASS, describe(r)


def test_route_signing_a_token_for_a_fixed_identity_fails(tmp_path: Path) -> None:
    r = _run(tmp_path, _files(), "CFG-177")
    found = problems(r)
    where = ln(AUTH, "create_access_token(user_data)", "routers/auth.py")
    assert set(found) == {where}, describe(r)
    assert "fixed identity" in found[where] and "demo_user" in found[where]


def test_login_signing_the_authenticated_users_token_passes(tmp_path: Path) -> None:
    r = _run(tmp_path, _files(auth=AUTH_SAFE), "CFG-177")
    assert r.status in (Status.PASS, Status.SKIP), describe(r)
    assert not problems(r), describe(r)
    # behind a middleware that turns requests away, the token route is not public
    r = _run(tmp_path / "b", _files(middleware=REFUSING), "CFG-177")
    assert not problems(r), describe(r)


def test_rdy006_attaching_middleware_after_cors_is_not_flagged(tmp_path: Path) -> None:
    r = _run(tmp_path, _files(), "RDY-006", suite="readiness")
    assert not any("added after CORS" in f.message for f in r.findings), describe(r)
    r = _run(tmp_path / "b", _files(middleware=REFUSING), "RDY-006", suite="readiness")
    found = [f for f in r.findings if "added after CORS" in f.message]
    assert found and found[0].location == "main.py:8", describe(r)
