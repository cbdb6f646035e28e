"""Shared fixtures of the API tests.

Every test gets its own application built by ``create_app`` with a temporary SQLite database
(migrated by the real alembic migrations in the lifespan), the in-process rate-limit store and
the mock LLM unless it asks for something else. FastAPI's ``TestClient`` drives it in-process:
no server, no network, no external service. Secrets and passwords are generated per run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from app.settings import Settings
from fastapi.testclient import TestClient

# A clean environment: nothing of the developer's shell (ULTRA_FLAWS, DATABASE_URL ...) leaks in.
for _name in Settings.model_fields:
    os.environ.pop(_name.upper(), None)
JWT_SECRET = secrets.token_urlsafe(48)
# ``app.main`` builds a module-level ``app`` from the environment when imported: give it one.
os.environ["JWT_SECRET"] = JWT_SECRET
os.environ["DATABASE_URL"] = "sqlite:///" + str(
    Path(os.environ.get("TMPDIR", "/tmp")) / f"ultra-import-{secrets.token_hex(4)}.db"
)

from app.main import create_app  # noqa: E402 - needs the environment above

BASE_URL = "http://localhost"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-" + secrets.token_urlsafe(12)

TEST_BCRYPT_ROUNDS = 4

MakeClient = Callable[..., TestClient]


def new_password() -> str:
    """A fresh password that passes the 12-character rule."""
    return "pw-" + secrets.token_urlsafe(12)


def new_email() -> str:
    """A fresh, unused email address."""
    return f"user-{secrets.token_hex(4)}@example.com"


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """Factory: ``make_client(**settings_overrides)`` -> a started TestClient (lifespan run)."""
    counter = 0
    with ExitStack() as stack:

        def factory(**overrides: Any) -> TestClient:
            nonlocal counter
            counter += 1
            base_url = overrides.pop("base_url", BASE_URL)
            values: dict[str, Any] = {
                "environment": "production",
                "jwt_secret": JWT_SECRET,
                "database_url": f"sqlite:///{tmp_path / f'ultra-{counter}.db'}",
                "auto_migrate": True,
                "mock_llm": True,
            }
            values.update(overrides)
            settings = Settings(**values)
            if "bcrypt_rounds" not in overrides:
                # bcrypt's minimum cost (production refuses < 10): hashing stays real, tests fast
                settings = settings.model_copy(update={"bcrypt_rounds": TEST_BCRYPT_ROUNDS})
            app = create_app(settings)
            client = TestClient(app, base_url=base_url)
            stack.enter_context(client)
            return client

        yield factory


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """The hardened default application."""
    return make_client()


def register(client: TestClient, email: str, password: str) -> dict[str, Any]:
    """Create an account; assert 201 and return the body."""
    response = client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def login(client: TestClient, email: str, password: str) -> dict[str, Any]:
    """Log in with the OAuth2 password form; assert 200 and return the token pair."""
    response = client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def user_headers(client: TestClient) -> dict[str, str]:
    """A registered, logged-in user of ``client``."""
    email, password = new_email(), new_password()
    register(client, email, password)
    return bearer(login(client, email, password))
