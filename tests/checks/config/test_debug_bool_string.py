"""CFG-030: a debug flag read through the builtin ``bool()`` is true for every non-empty string,
so the ``DEBUG=0`` a deployment (or its example env file) sets switches debug on."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg, write

from prodaudit.model import Status

SETTINGS = ('import os\n\nSECRET_KEY = os.environ.get("SECRET_KEY")\n\n'
            'DEBUG = {expr}\n\nALLOWED_HOSTS = ["example.com"]\n')
COMPOSE = ("services:\n  web:\n    build: ./app\n    command: gunicorn site.wsgi --bind "
           "0.0.0.0:8000\n    env_file:\n      - ./.env.prod\n")


def _repo(tmp_path: Path, expr: str, name: str = "repo", **extra: str) -> Path:
    return write(tmp_path / name, {
        "app/site/settings.py": SETTINGS.format(expr=expr),
        "app/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nCMD [\"gunicorn\", \"site.wsgi\"]\n",
        "docker-compose.yml": COMPOSE, **extra})


def _cfg030(repo: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")


def test_bool_of_the_env_string_with_debug_0_in_the_example_fails(tmp_path: Path) -> None:
    repo = _repo(tmp_path, 'bool(os.environ.get("DEBUG", default=0))',
                 **{".env.prod-sample": "DEBUG=0\nSECRET_KEY=change_me\n"})
    r = _cfg030(repo, tmp_path)
    assert r.status is Status.FAIL, describe(r)
    found = [f for f in r.findings if f.status is Status.FAIL]
    assert [f.location for f in found] == ["app/site/settings.py:5"], describe(r)
    assert "DEBUG=0 at .env.prod-sample:1" in found[0].message, describe(r)
    assert "bool()" in found[0].remediation or "parse the string" in found[0].remediation


def test_bool_of_the_env_string_nothing_sets_it_warns(tmp_path: Path) -> None:
    r = _cfg030(_repo(tmp_path, 'bool(os.getenv("DEBUG", 0))'), tmp_path)
    assert r.status is Status.WARN, describe(r)
    assert [f.location for f in r.findings if f.status is Status.WARN] == \
        ["app/site/settings.py:5"], describe(r)


def test_bool_of_a_string_default_is_on(tmp_path: Path) -> None:
    r = _cfg030(_repo(tmp_path, 'bool(os.getenv("DEBUG", "False"))'), tmp_path)
    assert r.status is Status.FAIL, describe(r)
    assert "defaults to True" in r.findings[0].message, describe(r)


def test_a_parsed_debug_string_passes(tmp_path: Path) -> None:
    parsed = _repo(tmp_path, 'os.environ.get("DEBUG", "0").lower() in ("1", "true")',
                   **{".env.prod-sample": "DEBUG=0\nSECRET_KEY=change_me\n"})
    r = _cfg030(parsed, tmp_path)
    assert r.status is Status.PASS, describe(r)
    # int() first, then bool(): "0" is off
    ints = _repo(tmp_path, 'bool(int(os.environ.get("DEBUG", 0)))', "ints",
                 **{".env.prod-sample": "DEBUG=0\nSECRET_KEY=change_me\n"})
    r = _cfg030(ints, tmp_path)
    assert r.status is Status.PASS, describe(r)
