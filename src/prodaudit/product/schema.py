"""How the database schema reaches production, beyond which migration system exists
(``migrations.py``): tables created at startup (``metadata.create_all``, ``db.create_all()``,
Tortoise ``generate_schemas``, peewee ``create_tables``), Django apps with models but no
migrations, SQL files applied only by ``docker-entrypoint-initdb.d``, and the deployment steps
that apply migrations (``alembic upgrade``, ``flask db upgrade``, ``manage.py migrate``,
``aerich upgrade``). Not a check module."""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.dockerfiles import dockerfiles
from prodaudit.pysource import python_tree

if TYPE_CHECKING:
    from prodaudit.context import Context

_TEST_PARTS = frozenset({"tests", "test", "testing", "node_modules", ".venv", "venv",
                         "site-packages", "docs", "examples"})
_CREATE_RE = re.compile(r"\b(create_all|generate_schemas|create_tables)\b")
_STEP_RE = re.compile(r"(alembic\s+(?:-\S+\s+)*upgrade|flask\s+db\s+upgrade|manage\.py\s+migrate\b|"
                      r"django-admin\s+migrate\b|aerich\s+upgrade|command\.upgrade\s*\(|"
                      r"call_command\(\s*[\"']migrate|flyway\s+migrate|dbmate\s+(up|migrate)|"
                      r"migrate\s+-path|yoyo\s+apply|sqitch\s+deploy)")
_AUTOMATION = re.compile(r"(^|/)(procfile[^/]*|app\.json|[^/]*\.sh|[^/]*dockerfile[^/]*|"
                         r"[^/]*compose[^/]*\.ya?ml|makefile|[^/]*\.py|fly\.toml|render\.yaml|"
                         r"heroku\.yml|[^/]*\.ya?ml)$", re.I)
_DOC = re.compile(r"(^|/)(readme[^/]*|[^/]*\.md|[^/]*\.rst)$", re.I)
_INITDB = "docker-entrypoint-initdb.d"
_MODEL_RE = re.compile(r"class\s+\w+\s*\([^)]*models\.Model[^)]*\)")


@dataclass(frozen=True)
class Spot:
    location: str  # path:line
    text: str


def _app_file(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return rel.endswith(".py") and not set(parts[:-1]) & _TEST_PARTS and not name.startswith(
        ("test_", "conftest")) and not name.endswith("_test.py")


def create_all_calls(ctx: Context) -> list[Spot]:
    """Calls that create tables from the models, in the application's (non-test) code."""
    out = []
    for rel in ctx.files.files:
        if not _app_file(rel):
            continue
        text = ctx.read(rel) or ""
        if not _CREATE_RE.search(text):
            continue
        tree = python_tree(ctx, rel, text)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("create_all", "generate_schemas",
                                                                 "create_tables"):
                out.append(Spot(f"{rel}:{node.lineno}", ast.unparse(node)[:80]))
    return sorted(set(out), key=lambda s: s.location)


def django_apps_without_migrations(ctx: Context) -> tuple[Spot | None, list[str]]:
    """(first INSTALLED_APPS entry of such an app, app names) for the project's own Django apps
    that define models but have no migration."""
    files = ctx.files.files
    dirs = {posixpath.dirname(f) for f in files}
    missing: list[str] = []
    first: Spot | None = None
    for rel in files:
        if not rel.endswith("settings.py") and "/settings/" not in rel:
            continue
        text = ctx.read(rel) or ""
        if "INSTALLED_APPS" not in text:
            continue
        base = posixpath.dirname(posixpath.dirname(rel))
        for i, line in enumerate(text.splitlines(), 1):
            m = re.match(r"""^\s*["']([\w.]+)["']\s*,?\s*$""", line)
            if m is None:
                continue
            app_dir = posixpath.join(base, m.group(1).split(".apps.")[0].replace(".", "/")) \
                if base else m.group(1).split(".apps.")[0].replace(".", "/")
            if app_dir not in dirs or not _has_models(ctx, app_dir):
                continue
            migs = [f for f in files if f.startswith(f"{app_dir}/migrations/")
                    and re.match(r"^\d{4}_", f.rsplit("/", 1)[-1])]
            if not migs:
                missing.append(m.group(1))
                first = first or Spot(f"{rel}:{i}", m.group(1))
    return first, missing


def _has_models(ctx: Context, app_dir: str) -> bool:
    cands = [f for f in ctx.files.files if f == f"{app_dir}/models.py"
             or f.startswith(f"{app_dir}/models/")]
    return any(_MODEL_RE.search(ctx.read(f) or "") for f in cands)


def initdb_scripts(ctx: Context) -> list[Spot]:
    """Dockerfile ``COPY``/``ADD`` and Compose mounts into ``docker-entrypoint-initdb.d``."""
    out = []
    for df in dockerfiles(ctx):
        for ins in df.instructions:
            if ins.name in ("COPY", "ADD") and _INITDB in ins.value:
                out.append(Spot(df.loc(ins.line), f"{ins.name} {ins.value}"[:120]))
    for p in ctx.compose().stacks:
        for name, svc in p.services.items():
            for i, v in enumerate(svc.get("volumes") or []):
                if _INITDB in str(v):
                    out.append(Spot(p.loc("services", name, "volumes", i), str(v)[:120]))
    return out


def migrate_steps(ctx: Context) -> tuple[list[Spot], list[Spot]]:
    """(automated steps, documented manual steps) that apply migrations."""
    auto: list[Spot] = []
    docs: list[Spot] = []
    for rel in ctx.files.files:
        parts = set(rel.split("/")[:-1])
        if parts & {"node_modules", ".venv", "venv", "tests", "test"}:
            continue
        if parts & {".github", ".gitlab", ".circleci"} and not re.search(
                r"deploy|release|prod", rel.rsplit("/", 1)[-1], re.I):
            continue  # CI jobs that migrate a throw-away test database
        is_doc = bool(_DOC.search(rel))
        if not is_doc and not _AUTOMATION.search(rel):
            continue
        text = ctx.read(rel) or ""
        m = _STEP_RE.search(text)
        if m is None:
            continue
        line = text.count("\n", 0, m.start()) + 1
        (docs if is_doc else auto).append(Spot(f"{rel}:{line}", m.group(0)))
    return auto, docs
