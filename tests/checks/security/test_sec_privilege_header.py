"""SEC-094 against a real Flask API whose source is the audited repository: a privilege header
the handlers read (``X-Staff-Access: yes``) turns a refused GET into 200 (FAIL, read-only) and,
with --allow-mutations, lets a DELETE of a made-up id past the permission check (403 -> 404:
FAIL) without deleting anything; the API that decides from a credential keeps refusing (PASS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers.privilege_header_app import privilege_app, source
from servers.probe_apps import serve_wsgi

from prodaudit.model import Severity, Status


@pytest.fixture(autouse=True)
def no_account(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PRODAUDIT_AUDIT_USERNAME", "PRODAUDIT_AUDIT_PASSWORD",
                 "PRODAUDIT_AUDIT2_USERNAME", "PRODAUDIT_AUDIT2_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def _run(tmp_path: Path, flawed: bool, **cfg: object) -> object:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text(source(flawed), encoding="utf-8")
    app = privilege_app(flawed)
    with serve_wsgi(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-094"], base_url=url, repo=repo, **cfg)
    assert app.config["NOTES"] == {1: "first", 2: "second"}  # nothing the run did not create
    return result(run, "SEC-094"), url


def test_header_privilege_fails_read_only_and_write_waits_for_mutations(tmp_path: Path) -> None:
    r, url = _run(tmp_path, True)
    assert r.status is Status.FAIL, describe(r)
    fail = next(f for f in r.findings if f.status is Status.FAIL)
    assert fail.location == f"GET {url}/api/reports"
    assert "answers 403 without credentials and 200" in fail.message
    assert "X-Staff-Access: yes" in fail.message  # the repository's header, not a guessed one
    skip = next(f for f in r.findings if f.status is Status.SKIP)
    assert "--allow-mutations" in skip.message and "app.py:" in skip.message
    assert not any(f.location.startswith("DELETE") for f in r.findings)


def test_header_privilege_passes_a_made_up_delete_with_mutations(tmp_path: Path) -> None:
    r, url = _run(tmp_path, True, allow_mutations=True)
    delete = next(f for f in r.findings if f.location.startswith("DELETE"))
    assert delete.status is Status.FAIL and (delete.severity or r.severity) is Severity.HIGH, describe(r)
    assert delete.location.startswith(f"DELETE {url}/api/notes/")
    assert int(delete.location.rsplit("/", 1)[1]) >= 100_000_000  # a made-up id, never 1 or 2
    assert "answers HTTP 403 without the header and 404" in delete.message
    assert "X-Staff-Access: yes (read at app.py:" in delete.message


def test_credential_decided_privileges_pass(tmp_path: Path) -> None:
    r, _ = _run(tmp_path, False, allow_mutations=True)
    assert r.status is Status.PASS, describe(r)
    assert "1 refused GET(s) replayed" in r.findings[-1].message
