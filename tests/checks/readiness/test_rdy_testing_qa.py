"""RDY-040–044 on a copy of the reference target without tests (the problem) and with a test
suite, coverage configuration and report and an end-to-end setup added (no problem)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import check_ids
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.checks.readiness._scan import is_test_path
from prodaudit.model import Status

__all__ = ["mvp"]

IDS = check_ids(module="readiness.testing_qa")

API_TESTS = '''
import pytest
import respx


def test_register_and_login(client):
    assert client.post("/auth/register", json={}).status_code == 422
    assert client.post("/auth/login", data={}).status_code == 422


def test_refresh_logout_me(client):
    assert client.post("/auth/refresh").status_code == 401
    assert client.post("/auth/logout").status_code in (204, 401)
    assert client.get("/users/me").status_code == 401


def test_notes(client):
    assert client.get("/notes").status_code == 401
    assert client.post("/notes", json={}).status_code == 401


def test_health_and_metrics(client):
    for path in ("/health", "/health/ready", "/metrics", "/admin/users", "/llm/chat"):
        client.get(path)


@respx.mock
def test_provider_outage(client):
    with pytest.raises(RuntimeError):
        raise RuntimeError("provider down")
'''


def strip_tests(root: Path) -> Path:
    for p in sorted(root.rglob("*"), reverse=True):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and (is_test_path(rel) or p.name in ("coverage.xml", "pyproject.toml")
                            or "playwright.config" in p.name):
            p.unlink()
    for d in ("tests", "e2e"):
        shutil.rmtree(root / d, ignore_errors=True)
    return root


def with_tests(root: Path, line_rate: float = 0.87) -> Path:
    strip_tests(root)
    write(root / "tests" / "test_api.py", API_TESTS)
    write(root / "pyproject.toml", "[tool.coverage.report]\nfail_under = 80\n")
    write(root / "coverage.xml",
          f'<?xml version="1.0" ?>\n<coverage version="7.6" line-rate="{line_rate}" '
          'branch-rate="0"></coverage>\n')
    write(root / "playwright.config.ts",
          "export default { projects: [{ name: 'chromium' }, { name: 'firefox' }, "
          "{ name: 'webkit' }] };\n")
    write(root / "e2e" / "login.spec.ts",
          "import { test, expect } from '@playwright/test';\n"
          "test('user logs in', async ({ page }) => { await page.goto('/'); });\n")
    return root


def test_with_tests_passes(mvp: Path) -> None:
    results = run_rdy(IDS, repo=with_tests(mvp))
    for check_id in IDS:
        assert_status(results[check_id], Status.PASS)
    assert "pytest 5" in messages(results["RDY-040"]) and "playwright 1" in messages(
        results["RDY-040"])
    assert "87.0%" in messages(results["RDY-041"])
    assert "firefox" in messages(results["RDY-044"])


@pytest.mark.parametrize(("check_id", "needle"), [
    ("RDY-040", "no automated tests"),
    ("RDY-041", "neither configured nor reported"),
    ("RDY-042", "no tests at all"),
    ("RDY-043", "no tests"),
    ("RDY-044", "no end-to-end test setup"),
])
def test_without_tests_fails(mvp: Path, check_id: str, needle: str) -> None:
    r = run_rdy(check_id, repo=strip_tests(mvp))[check_id]
    assert_status(r, Status.FAIL)
    assert needle in messages(r)


def test_low_coverage_fails(mvp: Path) -> None:
    r = run_rdy("RDY-041", repo=with_tests(mvp, line_rate=0.42))["RDY-041"]
    assert_status(r, Status.FAIL)
    assert "42.0%" in messages(r) and "below 60%" in messages(r)
    r = run_rdy("RDY-041", repo=with_tests(mvp, line_rate=0.42),
                readiness={"min_coverage_percent": 40})["RDY-041"]
    assert_status(r, Status.PASS)


def test_untested_routes_and_single_browser(mvp: Path) -> None:
    with_tests(mvp)
    write(mvp / "tests" / "test_api.py", "def test_health(client):\n"
          "    assert client.get('/health').status_code == 200\n")
    write(mvp / "playwright.config.ts", "export default { projects: [{ name: 'chromium' }] };\n")
    results = run_rdy(["RDY-042", "RDY-043", "RDY-044"], repo=mvp)
    assert_status(results["RDY-042"], Status.WARN)
    assert "untested: " in messages(results["RDY-042"]) and "/notes" in messages(
        results["RDY-042"])
    assert_status(results["RDY-043"], Status.WARN)
    assert "asserts an error status" in messages(results["RDY-043"])
    assert_status(results["RDY-044"], Status.WARN)
    assert "one browser engine" in messages(results["RDY-044"])
