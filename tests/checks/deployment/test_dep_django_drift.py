"""DEP-047: Django models against the model state of their migrations, from source. A field
added to a model without a migration and a field only a migration has FAIL at their lines; a
matching app (abstract repository base, django.contrib.auth bases, models outside models.py)
PASSes; an operation the replay does not follow SKIPs with the reason."""

from __future__ import annotations

from pathlib import Path

from dep_helpers import describe, result, run_deployment

from prodaudit.model import Status

MODELS = '''from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models


class Stamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Account(Stamped, AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    nickname = models.CharField(max_length=30)
    objects = models.Manager()
'''

INITIAL = '''from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]
    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("password", models.CharField(max_length=128)),
                ("last_login", models.DateTimeField(blank=True, null=True)),
                ("is_superuser", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("email", models.EmailField(unique=True)),
                ("nick", models.CharField(max_length=30)),
                ("groups", models.ManyToManyField(to="auth.group")),
                ("user_permissions", models.ManyToManyField(to="auth.permission")),
            ],
        ),
    ]
'''

RENAME = '''from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [
        migrations.RenameField(model_name="account", old_name="nick", new_name="nickname"),
        migrations.RunSQL("CREATE INDEX x ON accounts_account (email)"),
    ]
'''

NOTE = '''from django.db import models


class Note(models.Model):
    text = models.TextField()
'''

NOTE_MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_rename")]
    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[("id", models.AutoField(primary_key=True)), ("text", models.TextField())],
        ),
    ]
'''


def make_app(root: Path, migrations: dict[str, str]) -> Path:
    repo = root / "repo"
    app = repo / "accounts"
    (app / "migrations").mkdir(parents=True)
    (app / "notes").mkdir()
    for path, text in {"__init__.py": "", "models.py": MODELS, "migrations/__init__.py": "",
                       "notes/__init__.py": "", "notes/models.py": NOTE,
                       **{f"migrations/{k}": v for k, v in migrations.items()}}.items():
        (app / path).write_text(text, encoding="utf-8")
    return repo


def test_drift_fails_at_the_field_on_each_side(tmp_path: Path) -> None:
    repo = make_app(tmp_path, {"0001_initial.py": INITIAL})
    r = result(run_deployment(tmp_path, ["DEP-047"], repo=repo), "DEP-047")
    assert r.status is Status.FAIL, describe(r)
    got = {(f.status, f.location, f.message.split(" ")[1]) for f in r.findings}
    assert (Status.FAIL, "accounts/models.py:14", "accounts.Account.nickname") in got
    assert (Status.FAIL, "accounts/migrations/0001_initial.py:17", "migrations") in got
    assert (Status.FAIL, "accounts/notes/models.py:4", "accounts.Note") in got  # no migration
    assert len(r.findings) == 3, describe(r)


def test_matching_app_passes(tmp_path: Path) -> None:
    repo = make_app(tmp_path, {"0001_initial.py": INITIAL, "0002_rename.py": RENAME,
                               "0003_note.py": NOTE_MIGRATION})
    r = result(run_deployment(tmp_path, ["DEP-047"], repo=repo), "DEP-047")
    assert r.status is Status.PASS, describe(r)
    assert "2 models in 1 apps" in r.findings[0].message


def test_operations_not_followed_skip_with_the_reason(tmp_path: Path) -> None:
    custom = RENAME.replace('migrations.RunSQL("CREATE INDEX x ON accounts_account (email)")',
                            "migrations.SeparateDatabaseAndState(state_operations=[])")
    repo = make_app(tmp_path, {"0001_initial.py": INITIAL, "0002_rename.py": custom,
                               "0003_note.py": NOTE_MIGRATION})
    r = result(run_deployment(tmp_path, ["DEP-047"], repo=repo), "DEP-047")
    assert r.status is Status.SKIP, describe(r)
    text = " ".join(f.message for f in r.findings) + r.reason
    assert "0002_rename.py:8" in text and "SeparateDatabaseAndState" in text


def test_no_django_migrations_skips(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "app.py").write_text("print('hi')\n", encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-047"], repo=tmp_path / "repo"), "DEP-047")
    assert r.status is Status.SKIP and "no Django migrations" in r.reason, describe(r)
