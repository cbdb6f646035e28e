"""Shared static facts of the readiness suite: parsed Python modules, frontend sources, test
files and documentation headings. Built once per run through ``ctx.memo``; the target's code is
parsed (``ast``), never imported or executed."""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from prodaudit.checks.api import Context, InputError, load_json
from prodaudit.product.vendored import copied_package_index, third_party_reason
from prodaudit.pysource import source_cache

FRONTEND_EXT = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".vue", ".svelte")
DOC_EXT = (".md", ".markdown", ".rst", ".txt", ".adoc")
BUILD_PARTS = frozenset({"dist", "build", "node_modules", "coverage", "out", ".next", "vendor",
                         "vendors", "third_party", "third-party", "bower_components"})
TEST_PARTS = frozenset({"tests", "test", "__tests__", "e2e", "spec", "cypress"})
MIGRATION_PARTS = frozenset({"versions", "migrations"})


def parts(rel: str) -> tuple[str, ...]:
    return PurePosixPath(rel).parts


def is_test_path(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (
        bool(TEST_PARTS & set(parts(rel)[:-1]))
        or name.startswith("test_")
        or name == "tests.py"  # a Django app's test module (the runner discovers test*.py)
        or name.endswith(("_test.py", "conftest.py"))
        or bool(re.search(r"\.(test|spec|cy)\.[cm]?[jt]sx?$", name))
    )


@dataclass
class PyModule:
    rel: str
    tree: ast.Module
    text: str

    def line(self, node: ast.AST) -> str:
        return f"{self.rel}:{getattr(node, 'lineno', 1)}"


@dataclass
class PySources:
    """Application Python modules (tests, migrations and build dirs excluded) and test modules."""

    app: list[PyModule] = field(default_factory=list)
    tests: list[PyModule] = field(default_factory=list)
    migrations: list[PyModule] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # (path, syntax error)


def py_sources(ctx: Context) -> PySources:
    def build() -> PySources:
        out = PySources()
        for rel in ctx.files.matching(".py"):
            if BUILD_PARTS & set(parts(rel)):
                continue
            text = ctx.read(rel)
            if text is None:
                continue
            parsed = source_cache(ctx).get(rel, text)
            if parsed.tree is None:
                out.broken.append((rel, parsed.note))
                continue
            mod = PyModule(rel, parsed.tree, text)
            if is_test_path(rel):
                out.tests.append(mod)
            elif MIGRATION_PARTS & set(parts(rel)[:-1]):
                out.migrations.append(mod)
            else:
                out.app.append(mod)
        return out

    return ctx.memo("rdy:py", build)


def call_name(node: ast.AST) -> str:
    """Dotted name of a call's function (``app.add_middleware``), or ''."""
    if isinstance(node, ast.Call):
        node = node.func
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    elif names:
        names.append("?")
    return ".".join(reversed(names))


def imports_any(mod: PyModule, *prefixes: str) -> bool:
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            if any(a.name.split(".")[0] in prefixes for a in node.names):
                return True
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in prefixes
        ):
            return True
    return False


# ---- frontend ---------------------------------------------------------------------------------


@dataclass
class FrontendSources:
    files: dict[str, str] = field(default_factory=dict)  # rel -> text (sources, no build output)
    package_json: dict[str, dict[str, object]] = field(default_factory=dict)  # rel -> parsed
    third_party: dict[str, str] = field(default_factory=dict)  # rel -> why it is not judged

    def dependencies(self) -> set[str]:
        deps: set[str] = set()
        for data in self.package_json.values():
            for key in ("dependencies", "devDependencies", "peerDependencies"):
                section = data.get(key)
                if isinstance(section, dict):
                    deps.update(str(k) for k in section)
        return deps


def frontend_sources(ctx: Context) -> FrontendSources:
    """The product's own frontend sources and its ``package.json`` files. Not the product's:
    build and vendor folders, ``.min.`` files, tests, tool configs, and the copied third-party
    files of ``prodaudit.product.vendored.third_party_reason``; a library's package index copied
    out of its tree (``copied_package_index``) when its folder holds a vendored bundle (a
    bannered or ``.min.`` file)."""

    def build() -> FrontendSources:
        out = FrontendSources()
        vendored_dirs: set[str] = set()
        for rel in ctx.files.files:
            p = parts(rel)
            if BUILD_PARTS & set(p[:-1]):
                continue
            name = p[-1]
            if name == "package.json":
                text = ctx.read(rel)
                try:
                    data = load_json(text or "", rel)
                except InputError:
                    continue
                if isinstance(data, dict):
                    out.package_json[rel] = data
                continue
            if not name.endswith(FRONTEND_EXT) or is_test_path(rel):
                continue
            if ".min." in name:
                vendored_dirs.add(posixpath.dirname(rel))
                continue
            if name.endswith((".config.js", ".config.ts", ".config.mjs")):
                continue
            why = third_party_reason(ctx, rel)
            text = None if why else ctx.read(rel)
            if text is not None:
                why = third_party_reason(ctx, rel, text)
            if why:
                out.third_party[rel] = why
                if why.startswith("licence"):
                    vendored_dirs.add(posixpath.dirname(rel))
            elif text is not None:
                out.files[rel] = text
        files = set(ctx.files.files)
        for rel in [r for r in out.files if posixpath.dirname(r) in vendored_dirs]:
            if copied_package_index(rel, out.files[rel], files):
                out.third_party[rel] = "a library's package index copied out of its tree"
                del out.files[rel]
        return out

    return ctx.memo("rdy:frontend", build)


#: the most own JavaScript (non-blank, non-comment lines of all files together) a
#: server-rendered site's page scripts may have before RDY-020/021 judge them as an application
TRIVIAL_JS_LINES = 20
_APP_EXT = (".jsx", ".tsx", ".ts", ".vue", ".svelte")
_FRAMEWORK = re.compile(
    r"""(?:from\s+|require\s*\(\s*)["'](?:react|react-dom(?:/client)?|preact|vue|svelte|"""
    r"""@angular/core|solid-js|lit)["']""")
_JS_COMMENT = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.S | re.M)


def page_scripts_only(src: FrontendSources) -> str:
    """Why the frontend is no JavaScript application (a server-rendered site with a page
    enhancer such as a one-line widget initialiser), or '': no ``package.json``, no component
    files (``.jsx``/``.tsx``/``.ts``/``.vue``/``.svelte``), no framework import, and at most
    ``TRIVIAL_JS_LINES`` lines of code in all its own files."""
    if src.package_json or any(rel.endswith(_APP_EXT) for rel in src.files):
        return ""
    if any(_FRAMEWORK.search(text) for text in src.files.values()):
        return ""
    lines = sum(1 for text in src.files.values()
                for line in _JS_COMMENT.sub("", text).splitlines() if line.strip())
    if lines > TRIVIAL_JS_LINES:
        return ""
    return (f"no JavaScript application: {len(src.files)} own script(s) with {lines} line(s) of "
            f"code in all (at most {TRIVIAL_JS_LINES}: {', '.join(list(src.files)[:3])}), no "
            "package.json and no framework; the pages are rendered by the server")


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# ---- documentation ----------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass(frozen=True)
class Heading:
    path: str
    line: int
    text: str


@dataclass
class Docs:
    files: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)


def docs(ctx: Context) -> Docs:
    """Documentation files of the repository (markdown, rst, txt, adoc) and their headings."""

    def build() -> Docs:
        out = Docs()
        for rel in ctx.files.files:
            name = rel.rsplit("/", 1)[-1]
            if BUILD_PARTS & set(parts(rel)[:-1]) or not name.lower().endswith(DOC_EXT):
                continue
            if name.lower() in ("requirements.txt", "license.txt", "robots.txt") or name.startswith(
                "requirements"
            ):
                continue
            text = ctx.read(rel)
            if text is None:
                continue
            out.files.append(rel)
            out.texts[rel] = text
            lines = text.splitlines()
            in_fence = False
            for i, line in enumerate(lines):
                if line.lstrip().startswith(("```", "~~~")):
                    in_fence = not in_fence
                    continue
                if in_fence:
                    continue
                m = _MD_HEADING.match(line)
                if m:
                    out.headings.append(Heading(rel, i + 1, m.group(2).strip()))
                elif (
                    i > 0
                    and _RST_UNDERLINE.match(line)
                    and lines[i - 1].strip()
                    and len(line.strip()) >= len(lines[i - 1].strip())
                ):
                    out.headings.append(Heading(rel, i, lines[i - 1].strip()))
        return out

    return ctx.memo("rdy:docs", build)


@dataclass(frozen=True)
class DocHit:
    location: str
    what: str


def find_doc_topic(ctx: Context, pattern: str, file_pattern: str | None = None) -> list[DocHit]:
    """Documentation files whose name matches ``file_pattern`` or headings matching ``pattern``."""
    d = docs(ctx)
    rx = re.compile(pattern, re.I)
    frx = re.compile(file_pattern or pattern, re.I)
    hits: list[DocHit] = []
    for rel in d.files:
        stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
        if frx.search(stem):
            hits.append(DocHit(f"{rel}:1", f"file {rel}"))
    for h in d.headings:
        if rx.search(h.text):
            hits.append(DocHit(f"{h.path}:{h.line}", f"heading '{h.text}'"))
    return hits


# ---- data stores -------------------------------------------------------------------------------
#: what names a data store in code, dependencies, compose files, settings or infrastructure code
_DATA_STORE = re.compile(
    r"postgres|psycopg|asyncpg|\bpg_|mysql|mariadb|sqlite|sqlalchemy|sqlmodel|\bdjango\b|"
    r"tortoise|peewee|prisma|sequelize|typeorm|mongoose|knex|mongo|redis|valkey|memcache|"
    r"dynamodb|cosmos|documentdb|firestore|supabase|elasticsearch|opensearch|cassandra|neo4j|"
    r"influx|clickhouse|minio|DATABASE_URL|DB_HOST|Microsoft\.(?:Storage|Sql|DBfor)|"
    r"aws_(?:db|rds|s3|dynamodb|elasticache)|google_sql",
    re.I,
)
_STORE_FILES = (".py", ".js", ".ts", ".mjs", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml",
                ".json", ".bicep", ".tf", ".env", ".example", ".sql", ".lock")


def data_store_hints(ctx: Context) -> list[str]:
    """Files that name a data store (a database, cache, search or object store, a driver or ORM,
    a compose volume, IaC storage resources); empty when the product keeps no data of its own
    (a stateless service: nothing to back up). Documentation does not count."""
    def build() -> list[str]:
        out: list[str] = []
        for rel in ctx.files.files:
            p = parts(rel)
            if BUILD_PARTS & set(p[:-1]) or not p[-1].lower().endswith(_STORE_FILES) and \
                    not p[-1].startswith(".env"):
                continue
            text = ctx.read(rel)
            if text and _DATA_STORE.search(text):
                out.append(rel)
                if len(out) >= 5:
                    break
        return out

    return ctx.memo("rdy:data-stores", build)

