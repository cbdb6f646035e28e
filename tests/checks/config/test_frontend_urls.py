"""CFG-039: frontend API URLs hard-coded to localhost."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

HARD_CODED = """export const BASE_URL: string = 'http://localhost:8000';
export const BACKEND_URL: string =
  'http://localhost:8000/api/v1';
"""
FROM_ENV = """export const BASE_URL = import.meta.env.VITE_API_URL ?? 'http://localhost:8000';
const api = axios.create({
  baseURL: process.env.NODE_ENV === 'production' ? '/api' : 'http://127.0.0.1:8000',
});
export const DOCS = 'https://example.com/docs';
"""


def test_api_url_hard_coded_to_localhost_warns(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"frontend/src/config/index.tsx": HARD_CODED,
                              "frontend/src/api.ts": FROM_ENV})
    r = res(run_cfg(repo, tmp_path, only=["CFG-039"]), "CFG-039")
    assert r.status is Status.WARN, describe(r)
    found = problems(r)
    assert list(found) == ["frontend/src/config/index.tsx:1"], describe(r)
    assert "BASE_URL" in found["frontend/src/config/index.tsx:1"]
    assert "BACKEND_URL" in found["frontend/src/config/index.tsx:1"]


def test_env_read_urls_tests_and_tool_configs_pass(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "frontend/src/api.ts": FROM_ENV,
        "frontend/src/config.ts": "export const API_URL = '/api/v1';\n",
        "frontend/vite.config.ts": "export default { server: { proxy: { '/api': "
                                   "{ target: 'http://localhost:8000' } } } };\n",
        "frontend/src/__tests__/api.test.ts": HARD_CODED,
        "frontend/src/setupProxy.js": HARD_CODED,
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-039"]), "CFG-039")
    assert r.status is Status.PASS, describe(r)


def test_without_frontend_sources_skips(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/main.py": "API_URL = 'http://localhost:8000'\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-039"]), "CFG-039")
    assert r.status is Status.SKIP, describe(r)


COMPOSE_LOCAL = """services:
  web:
    build: ./frontend
    environment:
      - VITE_API_URL=http://0.0.0.0:8000
"""


def test_fallback_variable_set_only_to_a_local_url_warns_where_it_is_set(tmp_path: Path) -> None:
    """The literal is only a fallback, but the one place that sets the variable for the
    deployment sets it to a local address too: the built or served frontend calls localhost."""
    api = "const API = import.meta.env.VITE_API_URL || 'http://0.0.0.0:8000'\n"
    repo = repo_of(tmp_path, {"frontend/src/App.tsx": api, "frontend/src/Chat.tsx": api,
                              "docker-compose.yml": COMPOSE_LOCAL,
                              "frontend/.env.development": "VITE_API_URL=http://localhost:8000\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-039"]), "CFG-039")
    assert r.status is Status.WARN, describe(r)
    found = problems(r)
    assert list(found) == ["docker-compose.yml:5"], describe(r)
    assert "VITE_API_URL" in found["docker-compose.yml:5"]
    assert "frontend/src/App.tsx:1 and 1 more" in found["docker-compose.yml:5"]
    prod = repo_of(tmp_path / "p", {
        "frontend/src/App.tsx": api, "docker-compose.yml": COMPOSE_LOCAL,
        "frontend/.env.production": "VITE_API_URL=https://api.example.com\n"})
    r = res(run_cfg(prod, tmp_path / "p", only=["CFG-039"]), "CFG-039")
    assert r.status is Status.PASS, describe(r)  # a production value is set next to it
    dev = repo_of(tmp_path / "d", {
        "frontend/src/App.tsx": api,
        "frontend/.env.development": "VITE_API_URL=http://localhost:8000\n"})
    r = res(run_cfg(dev, tmp_path / "d", only=["CFG-039"]), "CFG-039")
    assert r.status is Status.PASS, describe(r)
    assert "VITE_API_URL apply unless the build sets them" in r.findings[0].message
