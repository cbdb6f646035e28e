"""The migration system of the audited repository — detection only: Alembic, Flask-Migrate
(Alembic under Flask), Django migrations, Aerich (Tortoise ORM), raw SQL migration files, or
none. What each system's files say is judged by the deployment checks (DEP-040–045)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.context import Context

_SQL_NAME = re.compile(r"^(V\d+(_\d+)*__\w+|\d{1,14}[_-][\w.-]+|[\w-]+\.(up|down))\.sql$", re.I)
_SQL_DIRS = frozenset({"migrations", "migration", "migrate", "sql", "db", "schema", "flyway",
                       "changelog", "changes"})
_ALEMBIC_REV = re.compile(r"^(down_)?revision\s*(:\s*[\w\[\], |.]+)?\s*=", re.M)
_DJANGO_MIGRATION = re.compile(r"class\s+Migration\s*\(\s*migrations\.Migration\s*\)")
_FLASK_MIGRATE = re.compile(r"\bfrom\s+flask_migrate\s+import\b|\bimport\s+flask_migrate\b")
_AERICH = re.compile(r"\baerich\b")
_SKIP_PARTS = frozenset({"node_modules", ".venv", "venv", "site-packages", "dist", "build"})


@dataclass
class MigrationSystem:
    """One migration system found in the repository."""

    kind: str  # "alembic" | "flask-migrate" | "django" | "aerich" | "sql"
    root: str  # repo-relative directory of the migrations
    config: str = ""  # alembic.ini, pyproject.toml [tool.aerich] ... ("" when none)
    files: list[str] = field(default_factory=list)  # the migration files


@dataclass
class Migrations:
    """Every migration system of the repository; ``kind`` is ``none`` without one."""

    systems: list[MigrationSystem] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return ", ".join(sorted({s.kind for s in self.systems})) or "none"

    def of(self, kind: str) -> list[MigrationSystem]:
        return [s for s in self.systems if s.kind == kind]

    def describe(self) -> str:
        if not self.systems:
            return "no migration system (no alembic.ini, Django, Aerich or SQL migration files)"
        return "; ".join(f"{s.kind} in {s.root or '.'} ({len(s.files)} migration file(s))"
                         for s in self.systems)


def _parts(rel: str) -> set[str]:
    return set(rel.split("/")[:-1])


def _alembic(ctx: Context, files: list[str], flask: bool) -> list[MigrationSystem]:
    out: list[MigrationSystem] = []
    envs = [f for f in files if f.endswith("/env.py") and not _parts(f) & _SKIP_PARTS]
    inis = [f for f in files if f.rsplit("/", 1)[-1] == "alembic.ini"]
    for env in envs:
        root = posixpath.dirname(env)
        versions = [f for f in files if f.startswith(root + "/versions/") and f.endswith(".py")]
        text = ctx.read(env) or ""
        if "alembic" not in text and not versions:
            continue
        revs = [v for v in versions if _ALEMBIC_REV.search(ctx.read(v) or "")]
        ini = next((i for i in inis if posixpath.dirname(i) in (posixpath.dirname(root), root)), "")
        kind = "flask-migrate" if flask and not ini else "alembic"
        out.append(MigrationSystem(kind, root, ini, revs))
    return out


def detect(ctx: Context) -> Migrations:
    files = [f for f in ctx.files.files if not _parts(f) & _SKIP_PARTS]
    py = [f for f in files if f.endswith(".py")]
    flask = any(_FLASK_MIGRATE.search(ctx.read(f) or "") for f in py)
    found = Migrations(_alembic(ctx, files, flask))
    django: dict[str, list[str]] = {}
    for f in py:
        parts = f.split("/")
        if len(parts) >= 2 and parts[-2] == "migrations" and parts[-1][:4].isdigit() \
                and _DJANGO_MIGRATION.search(ctx.read(f) or ""):
            django.setdefault(posixpath.dirname(f), []).append(f)
    for root, migs in sorted(django.items()):
        found.systems.append(MigrationSystem("django", root, "", sorted(migs)))
    aerich_cfg = next((f for f in files if f.rsplit("/", 1)[-1] == "aerich.ini"
                       or (f.rsplit("/", 1)[-1] == "pyproject.toml"
                           and "[tool.aerich]" in (ctx.read(f) or ""))), "")
    if aerich_cfg:
        migs = [f for f in py if "/migrations/" in f"/{f}"
                and ("/migrations/models/" in f"/{f}" or _AERICH.search(ctx.read(f) or ""))]
        root = posixpath.dirname(migs[0]) if migs else posixpath.dirname(aerich_cfg)
        found.systems.append(MigrationSystem("aerich", root, aerich_cfg, sorted(migs)))
    sql: dict[str, list[str]] = {}
    for f in files:
        name = f.rsplit("/", 1)[-1]
        if f.endswith(".sql") and _SQL_NAME.match(name) and _parts(f) & _SQL_DIRS:
            sql.setdefault(posixpath.dirname(f), []).append(f)
    for root, migs in sorted(sql.items()):
        found.systems.append(MigrationSystem("sql", root, "", sorted(migs)))
    return found


def migrations(ctx: Context) -> Migrations:
    """The repository's migration systems, detected once per audit (``ctx.migrations()``)."""
    return ctx.memo("product:migrations", lambda: detect(ctx))
