"""CFG-170/171: route authentication and object ownership read from handlers of FastAPI, Flask,
aiohttp and Django REST framework (small repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

FASTAPI = '''\
from fastapi import APIRouter, Depends
from openai import AsyncOpenAI

router = APIRouter()
client = AsyncOpenAI()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return user


@router.post("/items")
async def create_item(item: Item, db=Depends(get_db)):
    db.add(Item(**item.dict()))
    db.commit()


@router.post("/chat")
async def chat(req: ChatRequest):
    out = await client.chat.completions.create(model="m", messages=req.messages)
    return out
'''
FASTAPI_SAFE = '''\
from fastapi import APIRouter, Depends

router = APIRouter()
admin = APIRouter(dependencies=[Depends(require_admin)])


@router.post("/items")
async def create_item(item: Item, user=Depends(get_current_user), db=Depends(get_db)):
    db.add(Item(owner_id=user.id, name=item.name))
    db.commit()


@router.post("/chat")
async def chat(req: ChatRequest, user: CurrentUser):
    return await client.chat.completions.create(model="m", messages=req.messages)


@admin.delete("/items/{item_id}")
async def drop(item_id: int, db=Depends(get_db)):
    db.delete(db.get(Item, item_id))


@router.post("/login")
async def login(form: LoginForm, db=Depends(get_db)):
    db.add(Session(user=form.username))
'''
FLASK = '''\
from flask import request
from flask_login import login_required, current_user
from app import app, db


@app.route("/account")
@login_required
def account():
    return current_user.email


@app.route("/notes", methods=["POST"])
def add_note():
    db.session.add(Note(text=request.form["text"]))
    db.session.commit()


@app.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete_note(note_id):
    note = db.session.get(Note, note_id)
    db.session.delete(note)
    db.session.commit()


@app.route("/users/<int:user_id>/notes")
@login_required
def user_notes(user_id):
    return Note.query.filter(Note.user_id == user_id).all()
'''
FLASK_SAFE = '''\
from flask import request
from flask_login import login_required, current_user
from app import app, db


@app.route("/notes", methods=["POST"])
@login_required
def add_note():
    db.session.add(Note(text=request.form["text"], user_id=current_user.id))
    db.session.commit()


@app.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete_note(note_id):
    note = Note.query.filter_by(id=note_id, user_id=current_user.id).first_or_404()
    db.session.delete(note)
    db.session.commit()


@app.route("/posts/<int:post_id>")
@login_required
def post(post_id):
    return db.session.get(Post, post_id)


@app.route("/signup", methods=["POST"])
def signup():
    db.session.add(User(name=request.form["name"]))
    db.session.commit()
'''
MODELS = '''\
class Note(Model):
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))


class Post(Model):
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"))
    author = relationship("User")
'''
AIOHTTP_VIEWS = '''\
from aiohttp.web import Request
from app.auth import authorize


async def index(request: Request):
    return {}


async def students(request: Request):
    if request.method == "POST":
        data = await request.post()
        async with request.app["db"].acquire() as conn:
            await Student.create(conn, data["name"])
    return {}


@authorize()
async def logout(request: Request):
    return {}
'''
AIOHTTP_ROUTES = '''\
from aiohttp.web import Application
from app import views


def setup_routes(app: Application):
    app.router.add_route("GET", "/", views.index)
    app.router.add_route("POST", "/students/", views.students)
    app.router.add_post("/logout/", views.logout)
'''
DRF = '''\
from rest_framework.views import APIView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated, BasePermission, SAFE_METHODS


class AuthMixin:
    permission_classes = (IsAuthenticated,)


class ItemListApi(AuthMixin, APIView):
    def get(self, request):
        return Response([])


class ItemUpdateApi(APIView):
    def post(self, request, item_id):
        item = item_get(item_id)
        item_update(item=item, data=request.data)
        return Response({})


class OpenDelete(BasePermission):
    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        elif request.method == 'DELETE':
            return True
        return False


@api_view(['GET', 'DELETE'])
@permission_classes((IsAuthenticated,))
def score(request, score_id):
    card = ScoreCard.objects.get(pk=score_id)
    if request.method == 'DELETE':
        if request.META['HTTP_ISADMIN'] == "True":
            card.delete()
    return Response({})
'''
DRF_MODELS = '''\
class ScoreCard(models.Model):
    user = models.ForeignKey(User)
    score = models.IntegerField()
'''
DRF_SAFE = '''\
from rest_framework.views import APIView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated


class ItemUpdateApi(APIView):
    def post(self, request, item_id):
        item = item_get(item_id)
        item_update(item=item, data=request.data)
        return Response({})


@api_view(['GET'])
@permission_classes((IsAuthenticated,))
def score(request, score_id):
    return Response(ScoreCard.objects.get(pk=score_id, user=request.user).score)
'''
DRF_SETTINGS = '''\
INSTALLED_APPS = ["rest_framework"]
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
'''


def ln(text: str, needle: str, rel: str, offset: int = 0) -> str:
    """``rel:line`` of the first line of ``text`` containing ``needle`` (plus ``offset``)."""
    line = next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)
    return f"{rel}:{line + offset}"


def _run(tmp_path: Path, files: dict[str, str], check: str) -> object:
    repo = repo_of(tmp_path, files)
    return res(run_cfg(repo, tmp_path, only=[check]), check)


def test_fastapi_unauthenticated_write_and_llm_fail(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/api.py": FASTAPI}, "CFG-170")
    found = problems(r)
    assert set(found) == {ln(FASTAPI, "def create_item", "app/api.py"),
                          ln(FASTAPI, "def chat", "app/api.py")}, describe(r)
    assert "without authentication" in found[ln(FASTAPI, "def create_item", "app/api.py")]
    assert "paid model" in found[ln(FASTAPI, "def chat", "app/api.py")]


def test_fastapi_dependencies_and_router_auth_pass(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/api.py": FASTAPI_SAFE}, "CFG-170")
    assert r.status is Status.PASS, describe(r)
    r = _run(tmp_path / "b", {"app/api.py": FASTAPI_SAFE}, "CFG-171")
    assert r.status is Status.PASS, describe(r)  # the admin router may delete any item


def test_flask_route_without_login_required_fails(tmp_path: Path) -> None:
    r = _run(tmp_path, {"routes.py": FLASK, "models.py": MODELS}, "CFG-170")
    assert set(problems(r)) == {ln(FLASK, "def add_note", "routes.py")}, describe(r)


def test_flask_object_lookups_without_owner_fail(tmp_path: Path) -> None:
    r = _run(tmp_path, {"routes.py": FLASK, "models.py": MODELS}, "CFG-171")
    found = problems(r)
    note = ln(FLASK, "db.session.get(Note", "routes.py")
    notes = ln(FLASK, "Note.query.filter", "routes.py")
    assert set(found) == {note, notes}, describe(r)
    assert "'note_id'" in found[note] and "'user_id'" in found[notes]


def test_flask_scoped_lookups_and_signup_pass(tmp_path: Path) -> None:
    files = {"routes.py": FLASK_SAFE, "models.py": MODELS}
    assert _run(tmp_path, files, "CFG-170").status is Status.PASS
    r = _run(tmp_path / "b", files, "CFG-171")
    assert r.status is Status.PASS, describe(r)  # a Post (authored content) is public


def test_aiohttp_registered_handlers(tmp_path: Path) -> None:
    files = {"app/views.py": AIOHTTP_VIEWS, "app/routes.py": AIOHTTP_ROUTES}
    r = _run(tmp_path, files, "CFG-170")
    assert set(problems(r)) == {ln(AIOHTTP_VIEWS, "def students", "app/views.py")}, describe(r)
    safe = AIOHTTP_VIEWS.replace("async def students", "@authorize()\nasync def students")
    r = _run(tmp_path / "b", {**files, "app/views.py": safe}, "CFG-170")
    assert r.status is Status.PASS, describe(r)


def test_drf_views_permissions_and_header_authorisation(tmp_path: Path) -> None:
    r = _run(tmp_path, {"items/apis.py": DRF, "items/models.py": DRF_MODELS}, "CFG-170")
    found = problems(r)
    assert set(found) == {ln(DRF, "class ItemUpdateApi", "items/apis.py"),
                          ln(DRF, "== 'DELETE'", "items/apis.py", 1),
                          ln(DRF, "HTTP_ISADMIN", "items/apis.py")}, describe(r)
    assert "item_update" in found[ln(DRF, "class ItemUpdateApi", "items/apis.py")]
    assert any("OpenDelete" in m for m in found.values())
    assert "HTTP_ISADMIN" in found[ln(DRF, "HTTP_ISADMIN", "items/apis.py")]
    r = _run(tmp_path / "b", {"items/apis.py": DRF, "items/models.py": DRF_MODELS}, "CFG-171")
    assert set(problems(r)) == {ln(DRF, "ScoreCard.objects.get", "items/apis.py")}, describe(r)


def test_drf_default_permission_and_scoped_lookup_pass(tmp_path: Path) -> None:
    files = {"items/apis.py": DRF_SAFE, "items/models.py": DRF_MODELS,
             "proj/settings.py": DRF_SETTINGS,
             "items/other.py": "from rest_framework.decorators import api_view\n"
                               "from rest_framework.permissions import IsAuthenticated\n"
                               "@api_view(['GET'])\n@permission_classes((IsAuthenticated,))\n"
                               "def ping(request):\n    return Response({})\n"}
    r = _run(tmp_path, files, "CFG-170")
    assert r.status is Status.PASS, describe(r)
    r = _run(tmp_path / "b", files, "CFG-171")
    assert r.status is Status.PASS, describe(r)


def test_no_routes_skip(tmp_path: Path) -> None:
    r = _run(tmp_path, {"lib.py": "def f():\n    return 1\n"}, "CFG-170")
    assert r.status is Status.SKIP, describe(r)


def test_fastapi_include_router_dependencies_protect_the_router(tmp_path: Path) -> None:
    items = ("from fastapi import APIRouter\nrouter = APIRouter()\n\n"
             "@router.post('/items')\nasync def create(item: Item, db=Depends(get_db)):\n"
             "    db.add(item)\n")
    me = ("from fastapi import APIRouter, Depends\nrouter = APIRouter()\n\n"
          "@router.get('/me')\nasync def me(user=Depends(get_current_user)):\n    return user\n")
    main = ("from fastapi import FastAPI, Depends\n"
            "from app.routers.items import router as items_router\nfrom app.routers import me\n"
            "app = FastAPI()\n"
            "app.include_router(items_router, dependencies=[Depends(verify_token)])\n"
            "app.include_router(me.router)\n")
    files = {"app/routers/items.py": items, "app/routers/me.py": me, "app/main.py": main}
    r = _run(tmp_path, files, "CFG-170")
    assert r.status is Status.PASS, describe(r)
    unguarded = main.replace(", dependencies=[Depends(verify_token)]", "")
    r = _run(tmp_path / "b", {**files, "app/main.py": unguarded}, "CFG-170")
    assert set(problems(r)) == {"app/routers/items.py:5"}, describe(r)


def test_flask_before_request_guard_protects_every_route(tmp_path: Path) -> None:
    guard = ("from flask import g, abort\nfrom app import app\n\n@app.before_request\n"
             "def require_login():\n    if g.user is None:\n        abort(401)\n")
    files = {"routes.py": FLASK, "models.py": MODELS, "guard.py": guard}
    r = _run(tmp_path, files, "CFG-170")
    assert r.status is Status.PASS, describe(r)


def test_side_effects_that_are_not_data_writes_pass(tmp_path: Path) -> None:
    src = ("from fastapi import APIRouter, Depends\nimport asyncio\nrouter = APIRouter()\n"
           "seen = set()\nstats = {}\n\n"
           "@router.get('/me')\nasync def me(user=Depends(get_current_user)):\n    return user\n\n"
           "@router.post('/ping')\nasync def ping(body: Ping, response: Response):\n"
           "    asyncio.create_task(warm())\n    seen.add(body.id)\n    stats.update(n=1)\n"
           "    response.delete_cookie('x')\n")
    r = _run(tmp_path, {"app/api.py": src}, "CFG-170")
    assert r.status is Status.PASS, describe(r)


LLM_HELPER = '''\
import httpx

ENDPOINT = "https://api.example-llm.test/v1/chat/completions"


async def complete(prompt: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(ENDPOINT, json={"messages": [{"role": "user", "content": prompt}]})
        return r.json()["choices"][0]["message"]["content"]
'''
ASK = '''\
from fastapi import APIRouter, Depends

from app.llm import complete

router = APIRouter()


@router.post("/questions")
async def ask(payload: dict):
    return {"answer": await complete(payload["q"])}
'''


def test_route_reaching_an_llm_through_a_helper_module_fails_without_auth(tmp_path: Path) -> None:
    """The provider call (an HTTP request to an OpenAI-compatible URL) lives in another module:
    the route still calls a paid model for anyone."""
    r = _run(tmp_path, {"app/llm.py": LLM_HELPER, "app/api.py": ASK}, "CFG-170")
    found = problems(r)
    assert set(found) == {ln(ASK, "def ask", "app/api.py")}, describe(r)
    assert "paid model (complete()" in found[ln(ASK, "def ask", "app/api.py")]
    safe = ASK.replace("async def ask(payload: dict):",
                       "async def ask(payload: dict, user=Depends(get_current_user)):")
    r = _run(tmp_path / "b", {"app/llm.py": LLM_HELPER, "app/api.py": safe}, "CFG-170")
    assert r.status is Status.PASS, describe(r)
