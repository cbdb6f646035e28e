"""RDY-040–044 on a copy of the reference target without tests (the problem) and with a test
suite, coverage configuration and report and an end-to-end setup added (no problem)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import check_ids
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.checks.readiness._scan import is_test_path
from prodaudit.model import Evidence, Status

__all__ = ["mvp"]

#: the static checks (RDY-041/045 run the suite: tests/checks/readiness/test_rdy_testrun.py)
OBSERVED = ("RDY-041", "RDY-045")
IDS = [i for i in check_ids(module="readiness.testing_qa") if i not in OBSERVED]

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
    for manifest in root.rglob("package.json"):  # the runner goes with its tests
        if "node_modules" not in manifest.parts:
            manifest.write_text(re.sub(r'\s*"@playwright/test"\s*:\s*"[^"]*",?', "",
                                       manifest.read_text()))
    return root


def with_tests(root: Path, line_rate: float = 0.87) -> Path:
    strip_tests(root)
    write(root / "tests" / "test_api.py", API_TESTS)
    write(root / "pyproject.toml", "[tool.coverage.report]\nfail_under = 80\n")
    write(root / "coverage.xml",
          f'<?xml version="1.0" ?>\n<coverage version="7.6" line-rate="{line_rate}" '
          'branch-rate="0"></coverage>\n')
    write(root / "playwright.config.ts",
          "export default { testDir: './e2e', projects: [\n"
          "  { name: 'chromium', use: { browserName: 'chromium' } },\n"
          "  { name: 'firefox', use: { browserName: 'firefox' } }] };\n")
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
    assert "firefox" in messages(results["RDY-044"])
    # finding tests and an e2e setup is "present": RDY-045/RDY-032 run them
    for check_id in ("RDY-040", "RDY-044"):
        assert results[check_id].evidence_level is Evidence.PRESENT
        assert not results[check_id].verified_pass


@pytest.mark.parametrize(("check_id", "needle"), [
    ("RDY-040", "no automated tests"),
    ("RDY-042", "no tests at all"),
    ("RDY-043", "no tests"),
    ("RDY-044", "no end-to-end test setup"),
])
def test_without_tests_fails(mvp: Path, check_id: str, needle: str) -> None:
    r = run_rdy(check_id, repo=strip_tests(mvp))[check_id]
    assert_status(r, Status.FAIL)
    assert needle in messages(r)


def test_committed_coverage_report_is_not_evidence(mvp: Path) -> None:
    """A hand-written coverage.xml (line-rate 0.99) passes nothing: without a run, SKIP."""
    with_tests(mvp, line_rate=0.99)
    r = run_rdy("RDY-041", repo=mvp, readiness={"run_tests": False})["RDY-041"]
    assert_status(r, Status.SKIP)
    assert "coverage.xml not used as evidence" in r.reason and "run_tests is off" in r.reason


def test_comment_only_playwright_config_is_no_setup(mvp: Path) -> None:
    strip_tests(mvp)
    write(mvp / "playwright.config.ts", "// projects: chromium, firefox, webkit\n")
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.FAIL)
    assert "has no test files" in messages(r)


def test_unit_tests_are_not_playwright_specs(mvp: Path) -> None:
    """Jest/Vitest unit tests share Playwright's default testMatch (``*.test.tsx``): a comment-only
    config next to them is still no end-to-end setup."""
    strip_tests(mvp)
    write(mvp / "playwright.config.ts", "// browsers: chromium, firefox, webkit\n")
    write(mvp / "frontend" / "src" / "__tests__" / "home.test.tsx",
          "import { render, screen } from '@testing-library/react';\n"
          "test('renders', () => { render(<p>hi</p>); expect(screen.getByText('hi')); });\n")
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.FAIL)
    assert ("has no test files under . (1 *.test/*.spec file(s) there, e.g. "
            "frontend/src/__tests__/home.test.tsx, do not use @playwright/test)") in messages(r)


def test_spec_using_playwright_through_fixtures_counts(mvp: Path) -> None:
    with_tests(mvp)
    write(mvp / "e2e" / "fixtures.ts", "import { test as base } from '@playwright/test';\n"
          "export const test = base.extend({});\nexport { expect } from '@playwright/test';\n")
    write(mvp / "e2e" / "login.spec.ts", "import { test, expect } from './fixtures';\n"
          "test('user logs in', async ({ page }) => { await page.goto('/'); });\n")
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.PASS)
    assert "1 test file(s)" in messages(r)


def test_untested_routes_and_single_browser(mvp: Path) -> None:
    with_tests(mvp)
    write(mvp / "tests" / "test_api.py", "def test_health(client):\n"
          "    assert client.get('/health').status_code == 200\n")
    write(mvp / "playwright.config.ts", "// firefox and webkit later\n"
          "export default { projects: [{ name: 'chromium', use: { browserName: 'chromium' } }] };\n")
    results = run_rdy(["RDY-042", "RDY-043", "RDY-044"], repo=mvp)
    assert_status(results["RDY-042"], Status.WARN)
    assert "untested: " in messages(results["RDY-042"]) and "/notes" in messages(
        results["RDY-042"])
    assert_status(results["RDY-043"], Status.WARN)
    assert "asserts an error status" in messages(results["RDY-043"])
    assert_status(results["RDY-044"], Status.WARN)
    assert "one browser engine" in messages(results["RDY-044"])


DJANGO_URLS = (
    "from django.urls import include, path\n"
    "urlpatterns = [path('api/', include(('shop.urls', 'api')))]\n")
SHOP_URLS = (
    "from django.urls import path\nfrom . import views\n"
    "urlpatterns = [path('orders/', views.orders, name='orders'),\n"
    "               path('cart/<int:pk>/', views.cart, name='cart')]\n")
SHOP_VIEWS = "def orders(request):\n    ...\n\n\ndef cart(request, pk):\n    ...\n"


@pytest.mark.parametrize(("test_text", "status"), [
    ("def test_orders(client):\n    client.get(reverse('api:orders'))\n"
     "def test_cart(client):\n    client.get('/api/cart/1/')\n", Status.PASS),
    ("def test_nothing():\n    assert reverse('orders')\n", Status.FAIL),
])
def test_django_routes_referenced_by_path_or_url_name(tmp_path: Path, test_text: str,
                                                      status: Status) -> None:
    """Django routes come from the URL configuration (``include()`` prefixes and namespaces);
    a test that reverses the route's full URL name references it."""
    repo = tmp_path / "repo"
    for rel, text in {"site/urls.py": DJANGO_URLS, "shop/urls.py": SHOP_URLS,
                      "shop/views.py": SHOP_VIEWS, "tests/test_shop.py": test_text}.items():
        write(repo / rel, text)
    r = run_rdy("RDY-042", repo=repo)["RDY-042"]
    assert_status(r, status)
    if status is Status.FAIL:
        assert "0 of 2 routes" in messages(r)
        assert "shop/views.py:1" in r.findings[0].evidence


FLASK_VIEWS = """from flask import Blueprint

blueprint = Blueprint('user', __name__)


@blueprint.route('/api/users/<int:uid>', methods=('POST',))
def register_user(uid):
    return {}


@blueprint.route('/api/users/<int:uid>/avatar', endpoint='avatar')
def user_avatar(uid):
    return {}
"""


@pytest.mark.parametrize(("test_text", "status"), [
    ("def test_register(testapp):\n    testapp.post(url_for('user.register_user', uid=1))\n"
     "def test_avatar(testapp):\n    testapp.get(url_for(\"user.avatar\", uid=1))\n", Status.PASS),
    # a bare function name, the wrong endpoint name, a quoted name outside url_for: none resolves
    ("def test_register(testapp):\n    testapp.post(url_for('register_user', uid=1))\n"
     "def test_avatar(testapp):\n    testapp.get(url_for('user.user_avatar', uid=1))\n"
     "NAMES = ['user.register_user']\n", Status.FAIL),
])
def test_flask_routes_referenced_by_endpoint_name(tmp_path: Path, test_text: str,
                                                  status: Status) -> None:
    """A Flask test that builds the URL with ``url_for('<blueprint>.<endpoint>')`` references
    the route; only the endpoint name Flask really gives the route counts."""
    repo = tmp_path / "repo"
    for rel, text in {"app/__init__.py": "", "app/user/views.py": FLASK_VIEWS,
                      "tests/test_user.py": "from flask import url_for\n" + test_text}.items():
        write(repo / rel, text)
    r = run_rdy("RDY-042", repo=repo)["RDY-042"]
    assert_status(r, status)
    if status is Status.PASS:
        assert "2 of 2 routes" in messages(r)
    else:
        assert "0 of 2 routes" in messages(r)
        assert "app/user/views.py:7" in r.findings[0].evidence


FASTAPI_ROUTERS = {
    "app/__init__.py": "",
    "app/routes/__init__.py": "",
    "app/routes/tags.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
                           "@router.get('', name='tags:get-all')\ndef all_tags():\n"
                           "    return []\n"),
    "app/routes/auth.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
                           "@router.post('/login', name='auth:login')\ndef login():\n"
                           "    return {}\n"),
    "app/routes/api.py": ("from fastapi import APIRouter\n\nfrom app.routes import auth, tags\n\n"
                          "router = APIRouter()\n"
                          "router.include_router(auth.router, prefix='/users')\n"
                          "router.include_router(tags.router, prefix='/tags')\n"),
}


@pytest.mark.parametrize(("test_text", "status"), [
    # the mounted path of a route declared as '' and a route name given to url_path_for
    ("async def test_tags(client):\n    await client.get('/api/tags')\n"
     "async def test_login(app, client):\n    await client.post(app.url_path_for('auth:login'))\n",
     Status.PASS),
    # a quoted route name outside url_path_for does not count
    ("NAMES = ['auth:login', 'tags:get-all']\n\n\ndef test_names():\n    assert NAMES\n",
     Status.FAIL),
])
def test_fastapi_routes_referenced_by_mount_prefix_or_route_name(
        tmp_path: Path, test_text: str, status: Status) -> None:
    """FastAPI routes included with ``include_router(prefix=...)`` are tested at the mounted
    path (``@router.get("")`` under ``/tags`` was dropped as a root route), and a test that
    builds the URL with ``app.url_path_for("<name>")`` references the route of that name."""
    repo = tmp_path / "repo"
    for rel, text in {**FASTAPI_ROUTERS, "tests/test_api.py": test_text}.items():
        write(repo / rel, text)
    r = run_rdy("RDY-042", repo=repo)["RDY-042"]
    assert_status(r, status)
    assert ("2 of 2 routes" if status is Status.PASS else "0 of 2 routes") in messages(r)
    if status is Status.FAIL:  # untested routes named at their mounted paths
        assert "GET /tags (app/routes/tags.py:7)" in r.findings[0].evidence
        assert "POST /users/login (app/routes/auth.py:7)" in r.findings[0].evidence


@pytest.mark.parametrize(("assertion", "status"), [
    ("resp = testapp.post_json('/api/users', {}, expect_errors=True)\n"
     "    assert resp.status_int == 422\n", Status.PASS),
    ("testapp.post_json('/api/users', {}, status=422)\n", Status.PASS),
    ("resp = client.post('/api/users')\n    self.assertEqual(resp.status_code, 400)\n",
     Status.PASS),
    ("resp = self.get('/api/users/9')\n    self.assertResponse404(resp)\n", Status.PASS),
    ("resp = self.get('/api/users/9')\n    self.assertResponse200(resp)\n", Status.WARN),
    ("resp = testapp.post_json('/api/users', {})\n    assert resp.status_int == 200\n"
     "    assert resp.status_code == 201\n", Status.WARN),
    # starlette/fastapi status constants, imported bare or through the module
    ("resp = client.post('/api/users')\n    assert resp.status_code == HTTP_400_BAD_REQUEST\n",
     Status.PASS),
    ("resp = client.get('/api/users/9')\n    assert status.HTTP_404_NOT_FOUND == resp.status_code"
     "\n", Status.PASS),
    ("resp = client.get('/api/users')\n    assert resp.status_code == HTTP_200_OK\n",
     Status.WARN),
])
def test_error_status_asserted_with_webtest_and_unittest(tmp_path: Path, assertion: str,
                                                        status: Status) -> None:
    """WebTest's ``status_int``, ``status=4xx`` and ``expect_errors=True`` and unittest's
    ``assertEqual(resp.status_code, 4xx)`` are error-path assertions; 2xx ones are not."""
    repo = tmp_path / "repo"
    write(repo / "app" / "views.py", "def register():\n    return {}\n")
    write(repo / "tests" / "test_users.py", "def test_register(testapp):\n    " + assertion)
    r = run_rdy("RDY-043", repo=repo)["RDY-043"]
    assert_status(r, status)
    if status is Status.WARN:
        assert "none of 1 test file(s) asserts an error status" in messages(r)
    else:
        assert "error paths asserted in 1 file(s)" in messages(r)


FSFT_PACKAGE = ('{\n  "name": "frontend",\n  "devDependencies": {\n    "@playwright/test": "^1.52.0",\n'
                '    "vite": "^6.3.4"\n  }\n}\n')
FSFT_WORKFLOW = ("name: Playwright Tests\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                 "    steps:\n    - uses: actions/checkout@v4\n"
                 "    - run: docker compose run --rm playwright npx playwright test --shard=1/4\n")
FSFT_COMPOSE = ("services:\n  backend:\n    image: backend\n  playwright:\n    build:\n"
                "      context: ./frontend\n      dockerfile: Dockerfile.playwright\n")


def test_declared_e2e_setup_without_config_is_recognised(mvp: Path) -> None:
    """A runner in ``devDependencies``, a CI workflow that runs it and a Compose service that
    carries it are an end-to-end setup (not "none"); its tests are not in the repository: WARN."""
    strip_tests(mvp)
    write(mvp / "frontend" / "package.json", FSFT_PACKAGE)
    write(mvp / ".github" / "workflows" / "playwright.yml", FSFT_WORKFLOW)
    write(mvp / "docker-compose.override.yml", FSFT_COMPOSE)
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.WARN)
    text = messages(r)
    assert "no end-to-end test setup" not in text
    assert "frontend/package.json:4: Playwright (@playwright/test in devDependencies)" in text
    assert ".github/workflows/playwright.yml:8: CI runs `playwright test`" in text
    assert "docker-compose.override.yml:4: Compose service playwright" in text
    assert r.findings[0].location in {"frontend/package.json:4", ".github/workflows/playwright.yml:8",
                                      "docker-compose.override.yml:4"}


def test_unit_test_runner_alone_is_no_e2e_setup(mvp: Path) -> None:
    strip_tests(mvp)
    write(mvp / "frontend" / "package.json", '{"devDependencies": {"vitest": "^1.0.0"}}\n')
    write(mvp / ".github" / "workflows" / "ci.yml", "jobs:\n  t:\n    steps:\n    - run: npx vitest run\n")
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.FAIL)
    assert "no end-to-end test setup" in messages(r)


def test_tests_in_an_e2e_folder_count(mvp: Path) -> None:
    """Tests in an ``e2e/`` folder are end-to-end tests whatever drives the browser."""
    strip_tests(mvp)
    write(mvp / "frontend" / "e2e" / "login.test.js",
          "const { Builder } = require('thirdparty-driver');\n"
          "test('user logs in', async () => { await open('/login'); });\n")
    r = run_rdy("RDY-044", repo=mvp)["RDY-044"]
    assert_status(r, Status.PASS)
    assert "1 test file(s)" in messages(r)
