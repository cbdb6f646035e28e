"""CFG-082 on small repositories made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

from cfg_helpers import fails, run_cfg
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
