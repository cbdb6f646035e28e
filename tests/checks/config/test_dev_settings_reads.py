"""CFG-001 and the reads only development or test settings make
(prodaudit.product.dev_reads): a variable required only by ``settings/local.py``,
``settings/test.py`` or a development settings class is not required in production, unless the
deployment runs that module."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, fails, res, run_cfg, write

from prodaudit.model import Status

DJANGO = {
    "config/__init__.py": "",
    "config/settings/__init__.py": "",
    "config/settings/base.py":
        'import os\n\nSECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n'
        'INSTALLED_APPS = ["django.contrib.auth"]\nROOT_URLCONF = "config.urls"\n',
    "config/settings/production.py":
        'import os\n\nfrom .base import *  # noqa\n\nSENTRY_DSN = os.environ["SENTRY_DSN"]\n',
    "config/settings/local.py":
        'import os\n\nfrom .base import *  # noqa\n\nDEBUG = True\n'
        'MAILHOG_TOKEN = os.environ["MAILHOG_TOKEN"]\n',
    "config/settings/test.py":
        'import os\n\nfrom .base import *  # noqa\n\nTEST_RUNNER_DB = os.environ["TEST_RUNNER_DB"]\n',
    "config/wsgi.py":
        'import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n'
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")\n'
        'application = get_wsgi_application()\n',
    "manage.py":
        'import os\nimport sys\n\nif __name__ == "__main__":\n'
        '    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")\n'
        '    from django.core.management import execute_from_command_line\n'
        '    execute_from_command_line(sys.argv)\n',
    "requirements.txt": "django==5.2.1\n",
}
PROD_ENV = "DJANGO_SECRET_KEY=a-long-random-value-from-the-vault-0123456789\n" \
           "SENTRY_DSN=https://key@sentry.example.com/1\n"


def _env(tmp_path: Path, text: str = PROD_ENV) -> Path:
    path = tmp_path / "prod.env"
    path.write_text(text, encoding="utf-8")
    return path


def test_django_development_and_test_settings_reads_are_not_required(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", DJANGO)
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=_env(tmp_path)), "CFG-001")
    assert r.status is Status.PASS, describe(r)
    (f,) = r.findings
    assert "all 2 required variable(s)" in f.message
    assert "only by development or test settings (MAILHOG_TOKEN)" in f.message
    # a production read missing still fails, at its own line
    env = _env(tmp_path, "DJANGO_SECRET_KEY=a-long-random-value-from-the-vault-0123456789\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert [x.location for x in fails(r)] == ["config/settings/production.py:5"], describe(r)
    # the development profile needs what development reads
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=_env(tmp_path),
                    profile="development"), "CFG-001")
    assert [x.location for x in fails(r)] == ["config/settings/local.py:6"], describe(r)


def test_a_development_module_the_deployment_runs_is_required(tmp_path: Path) -> None:
    files = dict(DJANGO)
    files["Dockerfile"] = ('FROM python:3.12-slim\nCOPY . /app\n'
                           'ENV DJANGO_SETTINGS_MODULE=config.settings.local\n'
                           'CMD ["gunicorn", "config.wsgi"]\n')
    repo = write(tmp_path / "repo", files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=_env(tmp_path)), "CFG-001")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == "config/settings/local.py:6" and "MAILHOG_TOKEN" in f.message


def test_a_server_falling_back_to_development_settings_requires_them(tmp_path: Path) -> None:
    files = dict(DJANGO)
    files["config/wsgi.py"] = files["config/wsgi.py"].replace("settings.production",
                                                              "settings.local")
    repo = write(tmp_path / "repo", files)
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=_env(tmp_path)), "CFG-001")
    assert [x.location for x in fails(r)] == ["config/settings/local.py:6"], describe(r)


PYDANTIC = '''\
import os

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    api_key: str
    log_level: str = "INFO"


class TestSettings(Settings):
    fixture_token: str


settings = TestSettings() if os.getenv("TESTING", "") else Settings()
'''


def test_fields_of_a_test_settings_class_are_not_required(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {"app/__init__.py": "", "app/config.py": PYDANTIC})
    env = _env(tmp_path, "API_KEY=key-from-the-vault\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert r.status is Status.PASS, describe(r)
    assert "(FIXTURE_TOKEN)" in r.findings[0].message
    # the production class's field is still required
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=_env(tmp_path, "X=1\n")),
            "CFG-001")
    assert [(x.location, "API_KEY" in x.message) for x in fails(r)] == [("app/config.py:7", True)]


def test_only_settings_modules_named_for_development_count(tmp_path: Path) -> None:
    """``config/dev.py`` is a development settings module; ``storage/local.py`` (a local-disk
    backend) is production code whose required read stays required."""
    repo = write(tmp_path / "repo", {
        "config/__init__.py": "",
        "config/dev.py": 'import os\n\nMAIL_CATCHER_TOKEN = os.environ["MAIL_CATCHER_TOKEN"]\n',
        "config/prod.py": 'import os\n\nAPI_TOKEN = os.environ["API_TOKEN"]\n',
        "storage/__init__.py": "",
        "storage/local.py": 'import os\n\nSTORAGE_ROOT = os.environ["STORAGE_ROOT"]\n',
    })
    env = _env(tmp_path, "API_TOKEN=token-from-the-vault\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert [(x.location, "STORAGE_ROOT" in x.message) for x in fails(r)] == [
        ("storage/local.py:3", True)], describe(r)
    env = _env(tmp_path, "API_TOKEN=token-from-the-vault\nSTORAGE_ROOT=/data\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-001"], env_file=env), "CFG-001")
    assert r.status is Status.PASS and "(MAIL_CATCHER_TOKEN)" in r.findings[0].message, \
        describe(r)
