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
