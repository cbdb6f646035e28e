"""CFG-082 on small repositories made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

from cfg_helpers import fails, run_cfg, write
from helpers import describe
from helpers import result as res

from prodaudit.model import Status


def _app_json(postdeploy: str) -> str:
    return json.dumps({"name": "x", "scripts": {"postdeploy": postdeploy}}, indent=2) + "\n"


def test_cfg082_fake_data_in_hooks(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "app.json").write_text(_app_json("flask db upgrade && flask fake users 10"))
    (bad / "Procfile").write_text("web: gunicorn app:app\nrelease: python manage.py loaddata "
                                  "demo_users\n")
    r = res(run_cfg(bad, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.FAIL, describe(r)
    assert sorted(f.location for f in fails(r)) == ["Procfile:2", "app.json:4"]
    good = tmp_path / "good"
    good.mkdir()
    (good / "app.json").write_text(_app_json("flask db upgrade"))
    (good / "Procfile").write_text("release: python manage.py migrate\n")
    assert res(run_cfg(good, tmp_path, only=["CFG-082"]), "CFG-082").status is Status.PASS
    (good / "app.json").write_text("{not json")
    r = res(run_cfg(good, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.ERROR and "app.json" in describe(r)


START_FILES = {
    "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nWORKDIR /app\nUSER 1000\n"
                  "CMD [\"sh\", \"-c\", \"python seed_demo.py && uvicorn demo.main:app\"]\n",
    "compose.yaml": "services:\n  api:\n    build: .\n    command: >-\n"
                    "      sh -c \"python manage.py loaddata demo_users && gunicorn site.wsgi\"\n"
                    "  worker:\n    build: .\n    command: ./start.sh\n",
    "start.sh": "#!/bin/sh\nalembic upgrade head\npython -m app.demo_data\nexec celery -A demo worker\n",
    "demo/main.py": "app = None\n",
}


def test_cfg082_fake_data_generated_on_every_start(tmp_path: Path) -> None:
    """A command that starts production (Dockerfile CMD, a production Compose command, a start
    script it runs) generating demo data is judged like a release hook; an application named
    demo (``uvicorn demo.main:app``, ``celery -A demo``) is not a generator."""
    bad = write(tmp_path / "bad", START_FILES)
    r = res(run_cfg(bad, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.FAIL, describe(r)
    locs = {f.location for f in fails(r)}
    assert {"Dockerfile:5", "start.sh:3"} <= locs and any(loc.startswith("compose.yaml:")
                                                           for loc in locs), describe(r)
    assert all("on every start" in f.message for f in fails(r))
    assert any("'loaddata demo_users'" in f.message for f in fails(r))
    good = write(tmp_path / "good", {
        **START_FILES,
        "Dockerfile": START_FILES["Dockerfile"].replace("python seed_demo.py && ", ""),
        "compose.yaml": START_FILES["compose.yaml"].replace("loaddata demo_users", "migrate"),
        "start.sh": START_FILES["start.sh"].replace("python -m app.demo_data\n", ""),
    })
    r = res(run_cfg(good, tmp_path, only=["CFG-082"]), "CFG-082")
    assert r.status is Status.PASS, describe(r)
    assert "0 deployment hook(s)" in r.findings[0].message
