"""DEP-046: the database schema reaches production through versioned migrations that the
deployment applies — not tables created at startup, not initdb scripts, not Django apps without
migrations."""

from __future__ import annotations

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.product.migrations import Migrations
from prodaudit.product.schema import (
    Spot,
    create_all_calls,
    django_apps_without_migrations,
    initdb_scripts,
    migrate_steps,
)

RUNNERS = ("alembic", "flask-migrate", "django", "aerich")


def _history(found: Migrations) -> list[str]:
    """Migration systems with at least one migration a runner applies."""
    return [f"{s.kind} in {s.root or '.'}" for s in found.systems
            if s.kind in RUNNERS and s.files]


def _startup_tables(calls: list[Spot], found: Migrations, history: list[str]) -> list[Finding]:
    if history:
        return [warned(f"tables are also created at startup ({c.text}) next to {history[0]}: "
                       "tables the migrations should create appear outside them",
                       location=c.location) for c in calls]
    empty = [f"{s.kind} in {s.root or '.'}" for s in found.systems if s.kind in RUNNERS]
    why = (f"{empty[0]} holds no migration" if empty else "no migration system")
    return [failed(f"tables are created at startup ({c.text}) and {why}: schema changes never "
                   "reach an existing database", location=c.location) for c in calls]


@check("DEP-046", "The schema is managed by applied migrations", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.2.1",), evidence=Evidence.PARSED)
def schema_management(ctx: Context) -> list[Finding]:
    """The application's tables come from versioned migrations (Alembic, Flask-Migrate, Django,
    Aerich) that a deployment step applies, not from shortcuts that only work on an empty
    database: tables created at startup from the models (``metadata.create_all``,
    ``db.create_all()``, ``generate_schemas``) with no migration history (FAIL; next to a
    history, WARN), project Django apps with models but no migration (FAIL at the first such
    ``INSTALLED_APPS`` entry), SQL files applied only through ``docker-entrypoint-initdb.d``
    without a migration tool (FAIL at the copy or mount). With a history, some step must apply
    it — a Procfile ``release:``, an entrypoint or start script, a Compose command, code calling
    ``alembic.command.upgrade``, or at least documented commands (``alembic upgrade head``,
    ``manage.py migrate``: a pass at the *present* level only, not verified); none at all is a
    WARN.

    ``create_all`` creates missing tables but never alters existing ones, and initdb scripts run
    only on an empty data directory: the first release that changes a model breaks production,
    or is silently not applied.

    Remediation: adopt the framework's migration tool (``alembic revision --autogenerate``,
    ``manage.py makemigrations``, ``flask db migrate``, ``aerich``), commit the migrations, and
    run the upgrade as a release step (``release: alembic upgrade head``) before the new code
    starts.
    """
    found = ctx.migrations()
    calls = create_all_calls(ctx)
    first, apps = django_apps_without_migrations(ctx)
    initdb = initdb_scripts(ctx)
    history = _history(found)
    if not calls and not apps and not initdb and not found.systems:
        raise Skip("no migration system, no table creation at startup and no initdb scripts: "
                   "the application does not manage a database schema here")
    out = _startup_tables(calls, found, history)
    if first is not None:
        out.append(failed(f"{len(apps)} Django app(s) define models but have no migrations "
                          f"({', '.join(apps[:6])}): `migrate` on a new database does not create "
                          "their tables", location=first.location))
    if initdb and not history:
        out += [failed(f"the schema is applied by {_short(s.text)} into docker-entrypoint-initdb.d, "
                       "which runs only on an empty data directory: no versioned upgrade path",
                       location=s.location) for s in initdb]
    if history and not any(f.status.value == "fail" for f in out):
        auto, docs = migrate_steps(ctx)
        what = ", ".join(history[:3]) + (f" and {len(history) - 3} more" if len(history) > 3
                                         else "")
        if auto:
            out.append(passed(f"{what}; applied by {auto[0].text} at "
                              f"{auto[0].location}", location=auto[0].location))
        elif docs:
            out.append(passed(f"{what}; applied by a documented step "
                              f"({docs[0].text} at {docs[0].location}): documented, not "
                              "seen in a deployment step", location=docs[0].location,
                              level=Evidence.PRESENT))
        else:
            out.append(warned(f"{what}, but no deployment step applies them "
                              "(no Procfile release, entrypoint, script or documented command)"))
    if not out:
        out.append(passed(f"schema management: {found.describe()}"))
    return out


def _short(text: str) -> str:
    return text if len(text) < 60 else text[:57] + "…"
