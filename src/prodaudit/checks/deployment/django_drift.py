"""DEP-047: Django models and their migrations declare the same models and fields (what
``makemigrations --check`` compares), read from source."""

from __future__ import annotations

import posixpath
import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.product.django_schema import DjangoApp, class_index, read_models, replay_app
from prodaudit.product.pyindex import PyModule, py_index

_MIGRATION = re.compile(r"^(?P<root>.+)/migrations/(?!__init__)\w+\.py$")
HOW = ("read from the source: the app's migrations replayed in dependency order (CreateModel, "
       "AddField, RemoveField, RenameField, DeleteModel, RenameModel) against the fields its "
       "model classes declare (names only)")


def _apps(ctx: Context) -> list[DjangoApp]:
    modules = py_index(ctx)
    migrations: dict[str, list[PyModule]] = {}
    models: dict[str, list[PyModule]] = {}
    for m in modules:
        mig = _MIGRATION.match(m.rel)
        if mig and "class Migration" in m.text:
            migrations.setdefault(mig["root"], []).append(m)
    roots = sorted(migrations, key=len, reverse=True)  # the innermost app holds a module
    for m in modules:
        root = next((r for r in roots if m.rel.startswith(r + "/")), None)
        if root is not None and "/migrations/" not in m.rel and "class " in m.text:
            models.setdefault(root, []).append(m)
    if not migrations:
        return []
    in_apps = {m.rel for group in models.values() for m in group}
    classes = class_index([(m.rel, m.tree) for m in modules if m.rel in in_apps or (
        "class " in m.text and "Model" in m.text and "/migrations/" not in m.rel)])
    apps: list[DjangoApp] = []
    for root, migs in sorted(migrations.items()):
        app = DjangoApp(posixpath.basename(root), root)
        replay_app(app, [(m.rel, m.tree) for m in migs])
        own = models.get(root, [])
        read_models(app, {m.rel for m in own}, classes)
        app.loose = any(re.search(r"^from \S+ import \*", m.text, re.M) for m in own)
        apps.append(app)
    return apps


def _compare(app: DjangoApp) -> list[Finding]:
    out: list[Finding] = []
    for key, model in sorted(app.declared.items()):
        if key in app.unknown:
            continue
        made = app.migrated.get(key)
        if made is None:
            out.append(failed(f"model {app.label}.{model.name} has no migration "
                              "(makemigrations would create it)", location=str(model.where),
                              evidence=HOW))
            continue
        for name, where in model.fields.items():
            if name not in made.fields:
                out.append(failed(f"field {app.label}.{model.name}.{name} is in no migration",
                                  location=str(where), evidence=HOW))
        for name, where in made.fields.items():
            if name not in model.fields and name != "id" and not name.startswith("_"):
                out.append(failed(f"the migrations give {app.label}.{made.name} a field {name!r} "
                                  f"the model ({model.where}) does not declare",
                                  location=str(where), evidence=HOW))
    if not app.loose:
        for key, made in sorted(app.migrated.items()):
            if key not in app.declared and key not in app.unknown:
                out.append(warned(f"the migrations create model {app.label}.{made.name} that no "
                                  f"model class of {app.root} declares", location=str(made.where),
                                  evidence=HOW))
    return out


@check("DEP-047", "Django models and migrations agree (no missing migration)",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.2.1", "1.1.4"),
       evidence=Evidence.PARSED)
def django_models_match(ctx: Context) -> list[Finding]:
    """Every Django app's model classes declare the models and fields its migrations build, and
    nothing more: a field added to a model without ``makemigrations`` works nowhere until a
    migration exists (the column is missing in production), and a field a migration creates
    that no model declares is dropped by the next ``makemigrations``.

    Read from the source, per app (a directory with a ``migrations`` package): the operations
    of its migrations replayed in dependency order (``CreateModel``, ``AddField``,
    ``RemoveField``, ``RenameField``, ``DeleteModel``, ``RenameModel``; ``RunSQL``,
    ``RunPython`` and index/constraint operations change no model state) against the concrete
    fields its ``models.py`` / ``models/`` classes declare, abstract bases of the repository
    included (``id`` and ``_order`` are Django's own). A field or model on one side only is a
    FAIL at its line; a migrated model no class declares is a WARN (the class may live
    elsewhere). Whatever is not followed (custom or ``SeparateDatabaseAndState`` operations,
    squashed migrations, bases from other packages such as ``AbstractUser``, multi-table
    inheritance, proxy and unmanaged models, class attributes that may be fields) makes that
    model or app SKIP with the reason; PASS needs every model compared. Field options are not
    compared (``manage.py makemigrations --check`` does that with the project importable).

    Remediation: run ``python manage.py makemigrations``, review the generated migration, and
    commit it with the model change; add ``makemigrations --check --dry-run`` to CI.
    """
    apps = _apps(ctx)
    if not apps:
        raise Skip("no Django migrations in the repository")
    out: list[Finding] = []
    not_compared: list[str] = []
    compared = 0
    for app in apps:
        if app.blocked:
            not_compared.append(f"app {app.root}: {app.blocked[0]}")
            continue
        out += _compare(app)
        compared += len([k for k in app.declared if k not in app.unknown])
        not_compared += [f"{app.label}.{k}: {why}" for k, why in sorted(app.unknown.items())]
    if not_compared:
        listing = "; ".join(not_compared[:4]) + (
            f" (+{len(not_compared) - 4} more)" if len(not_compared) > 4 else "")
        out.append(skipped(f"not compared: {listing}"))
    elif not out and compared:
        out.append(passed(f"{compared} models in {len(apps)} apps match their migrations field "
                          "by field", location=apps[0].root, evidence=HOW))
    elif not out:
        raise Skip("no Django model class found next to the migrations")
    return out
