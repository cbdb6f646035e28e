"""CFG-170/176/177 and the routes registered only outside production (a FastAPI router included
under ``if settings.ENVIRONMENT == "local":``, the full-stack FastAPI template's private
router; Django URL patterns added under ``if settings.DEBUG:``): the same routes mounted
unconditionally are judged (small repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

API_MAIN = '''\
from fastapi import APIRouter

from app.api.routes import items, private
from app.core.config import settings

api_router = APIRouter()
api_router.include_router(items.router)

if settings.ENVIRONMENT == "local":
    api_router.include_router(private.router)
'''
PRIVATE = '''\
from fastapi import APIRouter
from openai import OpenAI

router = APIRouter(tags=["private"], prefix="/private")
client = OpenAI()


@router.post("/users/", response_model=UserPublic)
def create_user(user_in: PrivateUserCreate, session: SessionDep):
    user = User(email=user_in.email, hashed_password=hash(user_in.password))
    session.add(user)
    session.commit()
    return user


@router.post("/draft")
def draft(req: DraftRequest):
    return client.chat.completions.create(model="m", messages=req.messages)
'''
ITEMS = '''\
from fastapi import APIRouter

router = APIRouter(prefix="/items")


@router.post("/")
def create_item(item: ItemCreate, session: SessionDep, current_user: CurrentUser):
    session.add(Item(**item.model_dump(), owner_id=current_user.id))
    session.commit()
'''


def _files(main: str = API_MAIN) -> dict[str, str]:
    return {"app/api/main.py": main, "app/api/routes/private.py": PRIVATE,
            "app/api/routes/items.py": ITEMS}


def test_unguarded_private_router_fails_cfg170(tmp_path: Path) -> None:
    main = API_MAIN.replace('if settings.ENVIRONMENT == "local":\n    ', "")
    r = res(run_cfg(repo_of(tmp_path, _files(main)), tmp_path, only=["CFG-170"]), "CFG-170")
    rel = "app/api/routes/private.py"
    # the POST that creates a user is a sign-up (exempt); the LLM route fails
    assert set(problems(r)) == {ln(PRIVATE, "def draft", rel)}, describe(r)


def test_local_only_private_router_is_not_judged_cfg170_cfg176(tmp_path: Path) -> None:
    run = run_cfg(repo_of(tmp_path, _files()), tmp_path, only=["CFG-170", "CFG-176"])
    r = res(run, "CFG-170")
    assert r.status is Status.PASS, describe(r)
    message = r.findings[0].message
    assert "2 development-only route(s) not judged" in message
    assert "`if settings.ENVIRONMENT == 'local'` (app/api/main.py:9)" in message
    # the only LLM route is local-only: nothing costly is served in production
    assert res(run, "CFG-176").status is Status.SKIP, describe(res(run, "CFG-176"))


def test_production_else_branch_is_judged(tmp_path: Path) -> None:
    main = API_MAIN.replace('== "local"', '== "production"')
    r = res(run_cfg(repo_of(tmp_path, _files(main)), tmp_path, only=["CFG-170"]), "CFG-170")
    assert r.status is Status.FAIL, describe(r)


DJANGO_URLS = '''\
from django.conf import settings
from django.urls import path

from . import views

urlpatterns = [path("notes/", views.notes)]

if settings.DEBUG:
    urlpatterns += [path("users/", views.users)]
'''
DJANGO_VIEWS = '''\
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "is_superuser", "password"]


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def notes(request):
    return Response([])


@api_view(["GET"])
@permission_classes([AllowAny])
def users(request):
    return Response(UserSerializer(User.objects.all(), many=True).data)
'''


def test_django_debug_urlpatterns_are_not_judged_cfg177(tmp_path: Path) -> None:
    files = {"site/urls.py": DJANGO_URLS, "site/views.py": DJANGO_VIEWS}
    r = res(run_cfg(repo_of(tmp_path, files), tmp_path, only=["CFG-177"]), "CFG-177")
    assert r.status is not Status.FAIL, describe(r)
    live = DJANGO_URLS.replace("if settings.DEBUG:\n    ", "")
    files["site/urls.py"] = live
    r = res(run_cfg(repo_of(tmp_path, files, "live"), tmp_path, only=["CFG-177"]), "CFG-177")
    assert set(problems(r)) == {ln(DJANGO_VIEWS, "def users", "site/views.py")}, describe(r)
