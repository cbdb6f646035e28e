"""CFG-030..034: production settings."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import (
    append,
    describe,
    fails,
    line_of,
    ref_copy,
    replace,
    res,
    run_cfg,
    strong_env,
)

from prodaudit.model import Status


def test_debug_and_dev_environment_fail(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path, DEBUG="true", ENVIRONMENT="development")
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"], env_file=env), "CFG-030")
    assert r.status is Status.FAIL, describe(r)
    msgs = {f.message.split("=")[0]: f.location for f in fails(r)}
    assert msgs["DEBUG"] == f"{env}:{line_of(env, 'DEBUG')}" and "ENVIRONMENT" in msgs
    dev = res(run_cfg(repo, tmp_path, only=["CFG-030"], env_file=env, profile="development"),
              "CFG-030")
    assert dev.status is Status.SKIP


def test_debug_code_default_counts_when_nothing_sets_it(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    replace(repo / "backend/app/settings.py", "    debug: bool = False\n",
            "    debug: bool = True\n")
    env = tmp_path / "min.env"
    env.write_text("JWT_SECRET=" + "k9" * 30 + "\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"], env_file=env), "CFG-030")
    assert r.status is Status.FAIL and "code default" in fails(r)[0].message, describe(r)


def test_reload_and_dev_servers_in_entry_points(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    df = repo / "Dockerfile"
    replace(df, '"--port", "8000",', '"--port", "8000", "--reload",')  # the api CMD
    (repo / "backend/run_dev.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n\nif __name__ == '__main__':\n"
        "    app.run(host='0.0.0.0', debug=True)\n", encoding="utf-8")
    (repo / "Procfile").write_text("web: fastapi dev app/main.py\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.FAIL, describe(r)
    locs = {f.location for f in fails(r)}
    assert f"Dockerfile:{line_of(df, '--reload')}" in locs
    assert "backend/run_dev.py:5" in locs and "Procfile:1" in locs
    assert res(run_cfg(ref_copy(tmp_path, "ok"), tmp_path, only=["CFG-031"]),
               "CFG-031").status is Status.PASS


def test_redis_without_auth_and_sqlite(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path, REDIS_URL="redis://cache:6379/0")
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"], env_file=env), "CFG-032")
    assert r.status is Status.FAIL, describe(r)
    assert "without authentication" in fails(r)[0].message
    assert any(f.status is Status.WARN and "SQLite" in f.message for f in r.findings)
    good = strong_env(tmp_path, "good.env", REDIS_URL="redis://:s3cr3t-Long-Pw-99@cache:6379/0",
                      DATABASE_URL="postgresql+psycopg://app:Pg-Pass-Long-77@db:5432/app")
    run = run_cfg(repo, tmp_path, only=["CFG-032"], env_file=good)
    assert res(run, "CFG-032").status is Status.PASS, describe(res(run, "CFG-032"))
    assert "Pg-Pass-Long-77" not in str(run.to_dict())


_FLASK_SETTINGS = ("import os\n\n\nclass ProdConfig:\n    DEBUG = False\n"
                   "    SQLALCHEMY_DATABASE_URI = os.environ.get('DATABASE_URL',\n"
                   "                                             'postgresql://localhost/example')\n")


def test_localhost_database_default_names_a_container_only_when_there_is_one(
        tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "conduit").mkdir(parents=True)
    (repo / "conduit" / "settings.py").write_text(_FLASK_SETTINGS, encoding="utf-8")
    (repo / "Procfile").write_text("web: gunicorn autoapp:app -b 0.0.0.0:$PORT\n",
                                   encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"]), "CFG-032")
    (w,) = [f for f in r.findings if f.status is Status.WARN]
    assert w.location == "conduit/settings.py:6", describe(r)
    assert "localhost" in w.message and "container" not in w.message, describe(r)
    assert "another host" in w.message
    # the same default in a product that runs in a container
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n"
                                     'CMD ["gunicorn", "autoapp:app"]\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-032"]), "CFG-032")
    (w,) = [f for f in r.findings if f.status is Status.WARN]
    assert "inside a container (Dockerfile) that is the container itself" in w.message, describe(r)


def test_mock_mode_on_in_production(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-033"],
                    env_file=strong_env(tmp_path, MOCK_LLM="true")), "CFG-033")
    assert r.status is Status.FAIL, describe(r)
    replace(repo / "docker-compose.yml", "MOCK_LLM: ${MOCK_LLM:-false}",
            "MOCK_LLM: ${MOCK_LLM:-true}")
    env = tmp_path / "no-mock.env"  # MOCK_LLM unset: the Compose fallback decides
    env.write_text("JWT_SECRET=" + "k9" * 30 + "\n", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-033"], env_file=env), "CFG-033")
    assert any(f.location.startswith("docker-compose.yml:") for f in fails(r2)), describe(r2)


def test_docs_exposure_policy(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path, DOCS_ENABLED="true")
    r = res(run_cfg(repo, tmp_path, only=["CFG-034"], env_file=env), "CFG-034")
    assert r.status is Status.WARN, describe(r)
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-034"], env_file=env,
                     exposure={"docs_in_production": "fail"}), "CFG-034")
    assert r2.status is Status.FAIL
    append(repo / "backend/app/extra_app.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    r3 = res(run_cfg(repo, tmp_path, only=["CFG-034"], env_file=strong_env(tmp_path, "c.env"),
                     exposure={"docs_in_production": "fail"}), "CFG-034")
    assert [f.location for f in fails(r3)] == ["backend/app/extra_app.py:3"]
