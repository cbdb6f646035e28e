"""CFG-031 follows entry points into what they run; CFG-111 development switches in the image."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, write

from prodaudit.model import Status


def test_entry_points_are_followed(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        # ENTRYPOINT runs a script whose `npm start` is react-scripts' dev server
        "frontend/Dockerfile": "FROM node:20-alpine\nWORKDIR /app\nCOPY . /app\n"
                               "ENTRYPOINT [\"/bin/bash\", \"/app/run.sh\"]\nCMD [\"start\"]\n",
        "frontend/run.sh": "#!/bin/bash\ncase $1 in\n  start)\n    npm start | cat\n    ;;\nesac\n",
        "frontend/package.json": '{"scripts": {"start": "react-scripts start", '
                                 '"build": "react-scripts build"}}\n',
        # compose runs a Python script that starts uvicorn with reload
        "backend/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n",
        "backend/app/main.py": "import uvicorn\n\nif __name__ == '__main__':\n"
                               "    uvicorn.run('main:app', host='0.0.0.0', reload=True)\n",
        "compose.yaml": "services:\n  frontend:\n    build: ./frontend\n  backend:\n"
                        "    build: ./backend\n    command: python app/main.py\n  worker:\n"
                        "    build: ./backend\n    command: celery -A app worker --loglevel=DEBUG\n",
        # gunicorn reads its configuration file from the working directory
        "api/Dockerfile": "FROM python:3.12-slim\nCOPY . /code\n"
                          "ENTRYPOINT [\"gunicorn\", \"api:create_app()\"]\n",
        "api/gunicorn.conf.py": "import os\n\nbind = '0.0.0.0:8000'\n"
                                "if not os.getenv('PRODUCTION'):\n    reload = True\n",
        # exec form: the words are read, not the JSON punctuation
        "django/Dockerfile": "FROM python:3.12-slim\n"
                             "CMD [\"python\", \"manage.py\", \"runserver\", \"0.0.0.0:8000\"]\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f.message for f in fails(r)}
    assert set(by_loc) == {"frontend/Dockerfile:4", "compose.yaml:6", "compose.yaml:9",
                           "backend/app/main.py:4", "api/gunicorn.conf.py:5",
                           "django/Dockerfile:2"}, describe(r)
    assert "react-scripts start" in by_loc["frontend/Dockerfile:4"]
    assert "via frontend/package.json:1" in by_loc["frontend/Dockerfile:4"]
    assert "via backend/app/main.py:4" in by_loc["compose.yaml:6"]
    assert "debug logging" in by_loc["compose.yaml:9"]
    assert "reload = True when not os.getenv('PRODUCTION')" in by_loc["api/gunicorn.conf.py:5"]
    assert "manage.py runserver" in by_loc["django/Dockerfile:2"]
    assert "frontend/run.sh" not in " ".join(by_loc)  # reported once, where it is started


def test_production_entry_points_pass(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nCMD [\"./boot.sh\"]\n",
        "boot.sh": "#!/bin/sh\nalembic upgrade head\nexec gunicorn -b :5000 app:app\n",
        "frontend/package.json": '{"scripts": {"start": "node server.js"}}\n',
        "Procfile": "web: npm start --prefix frontend\n",
        "run.py": "from aiohttp import web\nweb.run_app(app, host='0.0.0.0')\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)


def test_clean_procfile_and_start_script_are_judged_entry_points(tmp_path: Path) -> None:
    # a clean Procfile is a positive observation, not "no entry point found"
    repo = write(tmp_path / "r", {
        "Procfile": "# Heroku\nweb: gunicorn autoapp:app -b 0.0.0.0:$PORT -w 3\n",
        "Procfile.dev": "web: flask run --reload\n",  # the developer's machine, not judged
        "autoapp.py": "from app import create_app\napp = create_app()\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)
    assert "1 entry point(s) checked" in r.findings[0].message, describe(r)
    assert "Procfile:2" in r.findings[0].message and "Procfile.dev" not in r.findings[0].message
    # a clean start script alone is judged too, named at its first command
    (repo / "Procfile").unlink()
    write(repo, {"scripts/start.sh": "#!/bin/sh\nset -e\nexec gunicorn app:app\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)
    assert "scripts/start.sh:2" in r.findings[0].message, describe(r)
    # the same Procfile with a development server FAILs at its line
    (repo / "scripts/start.sh").unlink()
    write(repo, {"Procfile": "release: flask db upgrade\nweb: flask run --host 0.0.0.0\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {"Procfile:2"}, describe(r)
    assert "flask run" in fails(r)[0].message
    # nothing at all: SKIP, not PASS
    (repo / "Procfile").unlink()
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.SKIP, describe(r)


def test_dockerfile_cmd_is_named_when_clean(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"
                      "CMD [\"gunicorn\", \"-b\", \"0.0.0.0:8000\", \"app:app\"]\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.PASS, describe(r)
    assert "Dockerfile CMD (Dockerfile:3)" in r.findings[0].message, describe(r)


def test_development_switches_baked_into_images(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "Dockerfile": "FROM node:20 AS build\nENV NODE_ENV=development\nRUN npm ci\n"
                      "FROM python:3.12-slim\nENV PYTHONUNBUFFERED 1\nENV FLASK_ENV production\n"
                      "ENV DEBUG=1 DJANGO_SETTINGS_MODULE=config.settings.local\n"
                      "COPY --from=build /dist /app/static\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-111"]), "CFG-111")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {"Dockerfile:7"}  # not the builder's NODE_ENV
    assert {f.message.split("bakes ")[1] for f in fails(r)} == {
        "debug mode into the image", "development settings into the image"}
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nENV FLASK_ENV production\n",
                                     encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-111"]), "CFG-111").status is Status.PASS


def test_a_file_watcher_restarting_the_worker_is_a_reloader(tmp_path: Path) -> None:
    """``watchfiles 'celery -A app worker'`` restarts the worker whenever a file changes: a
    development reloader in a production Compose command; installing the package is not."""
    repo = write(tmp_path / "r", {
        "backend/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nRUN pip install watchfiles\n",
        "compose.yaml": "services:\n  worker:\n    build: ./backend\n"
                        "    command: \"watchfiles 'celery -A app.core.celery worker -l info'\"\n"
                        "  beat:\n    build: ./backend\n    command: celery -A app beat -l info\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-031"]), "CFG-031")
    assert r.status is Status.FAIL, describe(r)
    by_loc = {f.location: f.message for f in fails(r)}
    assert list(by_loc) == ["compose.yaml:4"], describe(r)
    assert "watchfiles" in by_loc["compose.yaml:4"]
