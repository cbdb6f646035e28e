"""DEP-046: the schema reaches production through applied migrations (small repositories)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dep_helpers import describe, result, run_deployment

from prodaudit.model import CheckResult, Status

ALEMBIC = {
    "alembic.ini": "[alembic]\nscript_location = migrations\n",
    "migrations/env.py": "from alembic import context\n",
    "migrations/versions/001_init.py": "revision = '001'\ndown_revision = None\n\n"
                                       "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n",
}


def _repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _dep046(tmp_path: Path, files: dict[str, str]) -> CheckResult:
    return result(run_deployment(tmp_path, ["DEP-046"], {}, repo=_repo(tmp_path / "r", files)),
                  "DEP-046")


def test_tables_created_at_startup_without_history(tmp_path: Path) -> None:
    r = _dep046(tmp_path, {
        "app/models.py": "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
                         "engine = None\nBase.metadata.create_all(bind=engine)\n",
        "tests/conftest.py": "Base.metadata.create_all(engine)\n",  # tests may
        "migrations/env.py": "from alembic import context\n", "alembic.ini": "[alembic]\n",
    })
    assert r.status is Status.FAIL, describe(r)
    (f,) = r.findings
    assert f.location == "app/models.py:4" and "holds no migration" in f.message


@pytest.mark.parametrize(("step", "status"), [
    ({"Procfile": "release: alembic upgrade head\nweb: gunicorn app:app\n"}, Status.PASS),
    ({"README.md": "Run `alembic upgrade head` after each deploy.\n"}, Status.PASS),
    ({".github/workflows/test.yml": "run: alembic upgrade head\n"}, Status.WARN),  # a CI job
])
def test_history_and_the_step_that_applies_it(tmp_path: Path, step: dict[str, str],
                                              status: Status) -> None:
    r = _dep046(tmp_path, {**ALEMBIC, **step})
    assert r.status is status, describe(r)


def test_django_apps_without_migrations(tmp_path: Path) -> None:
    r = _dep046(tmp_path, {
        "proj/settings.py": "INSTALLED_APPS = [\n    'django.contrib.auth',\n    'shop.apps.ShopConfig',"
                            "\n    'blog',\n]\n",
        "shop/models.py": "from django.db import models\nclass Item(models.Model):\n    pass\n",
        "shop/apps.py": "",
        "blog/models.py": "from django.db import models\nclass Post(models.Model):\n    pass\n",
        "blog/migrations/0001_initial.py": "from django.db import migrations\n"
                                           "class Migration(migrations.Migration):\n    pass\n",
        "Procfile": "release: python manage.py migrate\n",
    })
    assert r.status is Status.FAIL, describe(r)
    (f,) = [x for x in r.findings if x.status is Status.FAIL]
    assert f.location == "proj/settings.py:3" and "shop.apps.ShopConfig" in f.message
    assert "blog" not in f.message.split("(")[1]


def test_sql_applied_only_by_initdb(tmp_path: Path) -> None:
    r = _dep046(tmp_path, {
        "Dockerfile.db": "FROM postgres:16\nCOPY ./migrations/* /docker-entrypoint-initdb.d/\n",
        "migrations/000-init.sql": "CREATE TABLE t (id int);\n",
    })
    assert r.status is Status.FAIL, describe(r)
    assert r.findings[0].location == "Dockerfile.db:2"


def test_no_database_is_skip(tmp_path: Path) -> None:
    r = _dep046(tmp_path, {"app.py": "print('stateless')\n"})
    assert r.status is Status.SKIP, describe(r)
