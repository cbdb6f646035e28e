"""SEC-083 without an OpenAPI document: the user writes the repository's route table declares
are sent anonymously with --allow-mutations (an empty body, a made-up id) to a real Flask API —
open ones FAIL/WARN at their operation, guarded ones (401) PASS, and a read-only audit sends
nothing (SKIP naming them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers.probe_apps import serve_wsgi
from servers.user_writes_app import DJANGO_ROUTES, USER_ROUTES, user_writes_app

from prodaudit.model import Severity, Status


@pytest.fixture(autouse=True)
def no_account(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PRODAUDIT_AUDIT_USERNAME", "PRODAUDIT_AUDIT_PASSWORD",
                 "PRODAUDIT_AUDIT2_USERNAME", "PRODAUDIT_AUDIT2_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def _run(tmp_path: Path, checks_auth: bool | str, calls: list[str], django: bool = False,
         **cfg: object) -> object:
    repo = tmp_path / "repo"
    files = DJANGO_ROUTES if django else {"app.py": USER_ROUTES}
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    with serve_wsgi(user_writes_app(checks_auth=checks_auth, calls=calls)) as url:
        run = audit_target(None, tmp_path, only=["SEC-083"], base_url=url, repo=repo, **cfg)
    return result(run, "SEC-083")


@pytest.mark.parametrize("django", [False, True], ids=["flask", "django-include"])
def test_open_user_writes_fail(tmp_path: Path, django: bool) -> None:
    """Django routes are sent under their include() prefixes only (never the bare ``/create/``)."""
    calls: list[str] = []
    r = _run(tmp_path, False, calls, django, allow_mutations=True)
    assert r.status is Status.FAIL, describe(r)
    by_op = {f.location.split("/", 3)[-1]: f for f in r.findings}
    update = by_op["api/users/999999937/update/"]
    assert update.status is Status.FAIL and update.severity is Severity.HIGH
    assert "POST /api/users/{user_id}/update/ answered 404" in update.message
    create = by_op["api/users/create/"]
    assert create.status is Status.WARN and "answered 400" in create.message
    assert calls == ["POST /api/users/create/", "POST /api/users/999999937/update/"]


@pytest.mark.parametrize(("guard", "status"), [(True, 401), ("redirect", 302)])
def test_guarded_user_writes_pass(tmp_path: Path, guard: bool | str, status: int) -> None:
    calls: list[str] = []
    r = _run(tmp_path, guard, calls, allow_mutations=True)
    assert r.status is Status.PASS, describe(r)
    assert len(r.findings) == 2, describe(r)
    assert all(f"refuses an anonymous request ({status})" in f.message for f in r.findings)


def test_read_only_sends_no_write(tmp_path: Path) -> None:
    calls: list[str] = []
    r = _run(tmp_path, False, calls)
    assert r.status is Status.SKIP, describe(r)
    assert "POST /api/users/create/" in describe(r) and "--allow-mutations" in describe(r)
    assert calls == []
